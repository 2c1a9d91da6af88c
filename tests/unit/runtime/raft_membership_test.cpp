// Membership changes one voter at a time, and learners (thesis 4). Every fixture checks
// every node's invariants on destruction.

#include "raft_test_network.hpp"

using namespace ck::raft;
using namespace ck::raft::test;

// --- membership (thesis 4) -----------------------------------------------------------------

TEST_CASE("4.1 one conf change at a time") {
  network net(3);
  net.add(4, {});
  net.add(5, {});
  net.elect(1);

  CHECK(net.at(1).propose_conf_change(change_of(conf_change_type::add_learner, 4)) ==
        propose_result::ok);
  CHECK(net.at(1).propose_conf_change(change_of(conf_change_type::add_learner, 5)) ==
        propose_result::dropped);
  net.stabilize();
  CHECK(net.at(1).propose_conf_change(change_of(conf_change_type::add_learner, 5)) ==
        propose_result::ok);
  net.stabilize();
  CHECK(net.at(1).status().conf.learners == std::vector<node_id>{4, 5});
  CHECK(net.at(5).status().conf.learners == std::vector<node_id>{4, 5});
}

TEST_CASE("4.1 adding a voter makes it count in the quorum") {
  network net(3);
  net.add(4, {});
  net.elect(1);

  REQUIRE(net.at(1).propose_conf_change(change_of(conf_change_type::add_voter, 4)) ==
          propose_result::ok);
  net.stabilize();
  for (node_id id = 1; id <= 4; ++id) {
    CHECK(net.at(id).status().conf.voters == std::vector<node_id>{1, 2, 3, 4});
  }

  net.isolate(3);
  net.isolate(4);
  REQUIRE(net.at(1).propose("x") == propose_result::ok);
  net.stabilize();
  CHECK(applied_data(net.get(1)).empty());  // 2 of 4 is no majority
  net.heal();
  net.tick(1);
  net.stabilize();
  CHECK(applied_data(net.get(1)) == std::vector<std::string>{"x"});
}

TEST_CASE("4.1 removing a voter shrinks the quorum") {
  network net(4);
  net.elect(1);
  net.isolate(4);
  REQUIRE(net.at(1).propose_conf_change(change_of(conf_change_type::remove_node, 4)) ==
          propose_result::ok);
  net.stabilize();
  REQUIRE(net.at(1).status().conf.voters == std::vector<node_id>{1, 2, 3});

  net.isolate(3);
  net.propose(1, "x");

  CHECK(applied_data(net.get(1)) == std::vector<std::string>{"x"});  // 2 of 3
}

TEST_CASE("4.1 refuses removing or demoting the last voter") {
  network net(1);
  net.elect(1);

  CHECK(net.at(1).propose_conf_change(change_of(conf_change_type::remove_node, 1)) ==
        propose_result::invalid);
  CHECK(net.at(1).propose_conf_change(change_of(conf_change_type::add_learner, 1)) ==
        propose_result::invalid);
  CHECK(net.at(1).propose_conf_change(change_of(conf_change_type::add_voter, 0)) ==
        propose_result::invalid);
  CHECK(net.at(2 - 1).status().conf.voters == std::vector<node_id>{1});
}

TEST_CASE("4.2.1 learners receive the log but do not vote or count") {
  network net(3);
  net.add(4, {});
  net.elect(1);
  REQUIRE(net.at(1).propose_conf_change(change_of(conf_change_type::add_learner, 4)) ==
          propose_result::ok);
  net.stabilize();
  net.propose(1, "x");
  CHECK(applied_data(net.get(4)) == std::vector<std::string>{"x"});

  // Not counted for commits: with both other voters away, 1 and learner 4 are no quorum.
  net.isolate(2);
  net.isolate(3);
  const index_t commit = net.at(1).status().commit;
  REQUIRE(net.at(1).propose("y") == propose_result::ok);
  net.stabilize();
  CHECK(net.at(4).status().last_index == net.at(1).status().last_index);
  CHECK(net.at(1).status().commit == commit);

  // Never campaigns.
  const term_t term = net.at(4).status().term;
  net.tick(4, 100);
  CHECK(net.at(4).status().state == role::follower);
  CHECK(net.at(4).status().term == term);
}

TEST_CASE("4.2.1 a candidate does not count a learner's vote") {
  conf_state conf = voters_of({1, 2, 3});
  conf.learners = {4};
  solo s(1, conf, no_pre_vote);
  node& n = s.start();
  for (int i = 0; i < 20 && n.status().state == role::follower; ++i) {
    n.tick();
  }
  REQUIRE(n.status().state == role::candidate);

  n.step(msg(message_type::vote_response, 4, 1, 1));

  CHECK(n.status().state == role::candidate);
  const auto requests = of_type(s.drain(), message_type::vote);
  CHECK(requests.size() == 2);  // only the other voters are asked
}

TEST_CASE("4.2.2 a leader removed from the configuration steps down after applying it") {
  network net(3);
  net.elect(1);

  REQUIRE(net.at(1).propose_conf_change(change_of(conf_change_type::remove_node, 1)) ==
          propose_result::ok);
  net.stabilize();

  CHECK(net.at(1).status().state == role::follower);
  for (int i = 0; i < 50 && net.leader() == no_node; ++i) {
    net.tick_all();
    net.stabilize();
  }
  const node_id leader = net.leader();
  CHECK((leader == 2 || leader == 3));  // 1 is no voter: it never campaigns
  net.propose(leader, "x");
  CHECK(applied_data(net.get(5 - leader)) == std::vector<std::string>{"x"});
  CHECK(net.at(1).status().conf.voters == std::vector<node_id>{2, 3});
}

TEST_CASE("4.1 a joiner catches up from a snapshot taken before it was added") {
  network net(3);
  net.add(4, {});
  net.elect(1);
  net.propose(1, "x");
  const index_t snap_index = snapshot_and_compact(net, 1);  // membership {1, 2, 3}

  REQUIRE(net.at(1).propose_conf_change(change_of(conf_change_type::add_learner, 4)) ==
          propose_result::ok);
  net.stabilize();
  net.tick(1);
  net.stabilize();
  net.propose(1, "y");

  CHECK(net.get(4).snapshot_index == snap_index);
  CHECK(net.at(4).status().conf.learners == std::vector<node_id>{4});
  CHECK(net.at(4).status().conf.voters == std::vector<node_id>{1, 2, 3});
  CHECK(applied_data(net.get(4)) == std::vector<std::string>{"y"});
}

TEST_CASE("4.1 a restarted node replays conf changes its stored membership predates") {
  network net(3);
  net.add(4, {});
  net.elect(1);
  REQUIRE(net.at(1).propose_conf_change(change_of(conf_change_type::add_learner, 4)) ==
          propose_result::ok);
  net.stabilize();
  REQUIRE(net.at(2).status().conf.learners == std::vector<node_id>{4});
  // A storage that keeps only the snapshot's membership (as the LMDB store does): the
  // change above, applied before the restart, is not in it.
  net.get(2).storage->set_conf_state(voters_of({1, 2, 3}));

  net.restart(2);  // with applied = the conf change's index

  CHECK(net.at(2).status().conf.voters == std::vector<node_id>{1, 2, 3});
  CHECK(net.at(2).status().conf.learners == std::vector<node_id>{4});
}
