// Quiescence (config::quiesce): an idle group goes quiet after one last heartbeat and costs
// nothing per tick; it wakes on a proposal, a read, a conf change, a transfer, any message
// but that heartbeat, and -- the shell's failure detector -- forget_leader() on the followers.
// Every fixture checks every node's invariants on destruction.

#include "raft_test_network.hpp"

using namespace ck::raft;
using namespace ck::raft::test;

namespace {

void quiesce_on(config& c) { c.quiesce = true; }

// A 3-voter group led by 1 that went quiet: elected, one entry, then heartbeat ticks.
void make_quiet(network& net) {
  net.elect(1);
  net.propose(1, "x");
  net.tick(1);
  net.stabilize();
  REQUIRE(net.at(1).quiescent());
}

size_t deliver_after_ticks(network& net, uint32_t ticks) {
  net.delivered().clear();
  net.tick_all(ticks);
  return net.stabilize();
}

}  // namespace

TEST_CASE("quiesce: an idle group goes quiet after one heartbeat; ticks then send nothing") {
  network net(3, quiesce_on);
  make_quiet(net);
  for (node_id id : {2, 3}) {
    CHECK(net.at(id).quiescent());
    CHECK(net.at(id).status().commit == net.at(1).status().commit);  // learnt from that beat
  }
  const term_t term = net.at(1).status().term;
  CHECK(deliver_after_ticks(net, 200) == 0);  // 20 election timeouts: no message, no election
  CHECK(net.leader() == 1);
  CHECK(net.at(2).status().term == term);
}

TEST_CASE("quiesce: off by default, a group heartbeats forever") {
  network net(3);
  net.elect(1);
  net.propose(1, "x");
  CHECK_FALSE(net.at(1).quiescent());
  CHECK(deliver_after_ticks(net, 5) == 20);  // 5 heartbeat rounds, 2 followers, 2 ways
}

TEST_CASE("quiesce: a leader does not go quiet while a follower lags or a read waits") {
  network net(3, quiesce_on);
  net.elect(1);
  net.isolate(3);
  net.propose(1, "x");
  net.tick(1, 3);
  net.stabilize();
  CHECK_FALSE(net.at(1).quiescent());  // 3 lacks the entry
  net.heal();
  net.tick(1);
  net.stabilize();  // the heartbeat answer shows 3 behind; the append catches it up
  net.tick(1);
  net.stabilize();
  CHECK(net.at(1).quiescent());
  CHECK(net.at(3).quiescent());

  net.isolate(2);
  net.isolate(3);
  REQUIRE(net.at(1).read_index("r1") == propose_result::ok);  // wakes; unconfirmable now
  net.tick(1, 3);
  net.stabilize();
  CHECK_FALSE(net.at(1).quiescent());
}

TEST_CASE("quiesce: a proposal wakes the leader, it commits, and the group goes quiet again") {
  network net(3, quiesce_on);
  make_quiet(net);
  const index_t before = net.at(1).status().commit;
  REQUIRE(net.at(1).propose("y") == propose_result::ok);
  CHECK_FALSE(net.at(1).quiescent());
  net.stabilize();
  for (node_id id : {1, 2, 3}) {
    CHECK(net.at(id).status().commit == before + 1);
    CHECK_FALSE(net.at(id).quiescent());  // the followers woke on the append
  }
  net.tick(1);
  net.stabilize();
  CHECK(net.at(1).quiescent());
  CHECK(net.at(2).quiescent());
}

TEST_CASE("quiesce: a read index wakes the leader and is confirmed by one heartbeat round") {
  network net(3, quiesce_on);
  make_quiet(net);
  REQUIRE(net.at(1).read_index("r1") == propose_result::ok);
  net.stabilize();
  REQUIRE(net.get(1).reads.size() == 1);
  CHECK(net.get(1).reads.front().context == "r1");
  CHECK(net.at(1).read_index(std::string(quiesce_context)) == propose_result::invalid);
}

TEST_CASE("quiesce: a membership change and a transfer wake the group") {
  network net(3, quiesce_on);
  make_quiet(net);
  net.add(4, conf_state{});
  conf_change add;
  add.type = conf_change_type::add_learner;
  add.node = 4;
  REQUIRE(net.at(1).propose_conf_change(add) == propose_result::ok);
  net.stabilize();
  net.tick(1);
  net.stabilize();
  CHECK(net.at(4).status().commit == net.at(1).status().commit);  // the learner caught up
  net.tick(1);
  net.stabilize();
  CHECK(net.at(1).quiescent());

  REQUIRE(net.at(1).transfer_leadership(2) == propose_result::ok);
  net.stabilize();
  CHECK(net.leader() == 2);
  CHECK_FALSE(net.at(2).quiescent());
}

TEST_CASE("quiesce: the leader's death is noticed only through forget_leader, then one wins") {
  network net(3, quiesce_on);
  make_quiet(net);
  const term_t term = net.at(1).status().term;
  net.isolate(1);  // the leader's node dies
  net.tick(2, 100);
  net.tick(3, 100);
  net.stabilize();
  CHECK(net.at(2).status().term == term);  // quiet followers do not count ticks
  CHECK(net.at(2).status().leader == 1);

  net.at(2).forget_leader();  // the node-level failure detector suspects node 1
  net.at(3).forget_leader();
  CHECK(net.at(2).status().leader == no_node);
  CHECK_FALSE(net.at(2).quiescent());
  for (int round = 0; round < 20 && net.leader() == 1; ++round) {
    net.tick(2);
    net.tick(3);
    net.stabilize();
  }
  const node_id leader = net.leader();
  CHECK((leader == 2 || leader == 3));
  CHECK(net.at(leader).status().term > term);

  net.heal();  // the old leader (still quiet, thinking it leads) learns the new term
  net.tick(leader);
  net.stabilize();
  CHECK(net.at(1).status().state == role::follower);
  CHECK(net.at(1).status().leader == leader);
}

TEST_CASE("quiesce: a follower that missed the last heartbeat wakes the leader, not a new term") {
  network net(3, quiesce_on);
  net.elect(1);
  net.propose(1, "x");
  const term_t term = net.at(1).status().term;
  net.filter = [](const message& m) {
    return !(m.to == 3 && m.type == message_type::heartbeat && m.context == quiesce_context);
  };
  net.tick(1);
  net.stabilize();
  net.filter = nullptr;
  REQUIRE(net.at(1).quiescent());
  REQUIRE_FALSE(net.at(3).quiescent());
  for (int i = 0; i < 40; ++i) {  // 3 times out and pre-votes: the others refuse, 1 wakes
    net.tick(3);
    net.stabilize();
  }
  CHECK(net.leader() == 1);
  CHECK(net.at(1).status().term == term);
  net.tick(1);
  net.stabilize();
  CHECK(net.at(1).quiescent());
  CHECK(net.at(3).quiescent());
}

TEST_CASE("quiesce: a false suspicion costs at most an election, never safety") {
  network net(3, quiesce_on);
  make_quiet(net);
  net.at(2).forget_leader();  // node 1 is fine; 2 wrongly suspects it
  for (int i = 0; i < 40; ++i) {
    net.tick_all();
    net.stabilize();
  }
  CHECK(net.leader() != no_node);
  net.propose(net.leader(), "after");
  for (auto& [id, r] : net.replicas()) {
    CHECK(r.applied.back().data == "after");
  }
}

// Session 10: a partition mid-move (voters {1,2,3} + 4 just promoted, 1 leading) lost its
// leader's node right after the promotion, and the three live voters elected nobody. Here the
// promotion's commit reaches the followers or not (the leader dies before telling them), the
// group is quiet or not, and 4 is told to forget the leader or not (it may not know 1 as its
// leader): in every case one of {2,3,4} must win once 2 and 3 forget the leader.
TEST_CASE("quiesce: a group that just promoted a learner elects a leader when the leader dies") {
  for (int variant = 0; variant < 8; ++variant) {
    const bool quiet_before_death = (variant & 1) != 0;
    const bool commit_reaches_followers = (variant & 2) != 0;
    const bool forget_on_4 = (variant & 4) != 0;
    CAPTURE(quiet_before_death);
    CAPTURE(commit_reaches_followers);
    CAPTURE(forget_on_4);
    network net(3, quiesce_on);
    make_quiet(net);
    net.add(4, conf_state{});
    REQUIRE(net.at(1).propose_conf_change(change_of(conf_change_type::add_learner, 4)) ==
            propose_result::ok);
    net.stabilize();
    net.tick(1);
    net.stabilize();
    REQUIRE(net.at(4).status().commit == net.at(1).status().commit);
    if (!commit_reaches_followers) {
      // The promotion is appended everywhere, but only the leader learns it committed.
      net.filter = [](const message& m) {
        return m.from != 1 || m.type != message_type::append || m.entries.empty() ||
               m.commit < m.index + 1;
      };
    }
    REQUIRE(net.at(1).propose_conf_change(change_of(conf_change_type::add_voter, 4)) ==
            propose_result::ok);
    net.stabilize();
    net.filter = nullptr;
    if (quiet_before_death) {
      net.tick(1);
      net.stabilize();
      net.tick(1);
      net.stabilize();
    }
    const term_t term = net.at(1).status().term;
    net.isolate(1);
    for (node_id id : {2, 3, 4}) {
      if (id != 4 || forget_on_4) {
        net.at(id).forget_leader();
      }
    }
    node_id leader = no_node;
    for (int round = 0; round < 60 && leader == no_node; ++round) {
      for (node_id id : {2, 3, 4}) {
        net.tick(id);
      }
      net.stabilize();
      for (node_id id : {2, 3, 4}) {
        if (net.at(id).status().state == role::leader) {
          leader = id;
        }
      }
    }
    REQUIRE_MESSAGE(leader != no_node, "no leader among 2, 3, 4 after 60 election rounds");
    CHECK(net.at(leader).status().term > term);
    CHECK(net.at(leader).status().conf.voters.size() == 4);
  }
}
