// Rules beyond Figure 2: snapshots (paper 7), fast back-off and flow control (etcd),
// membership changes one voter at a time and learners (thesis 4), PreVote (thesis 9.6),
// CheckQuorum and the leader lease (thesis 6.2), ReadIndex (thesis 6.4), leadership transfer
// (thesis 3.10), and the ready/advance contract. Every fixture checks every node's
// invariants on destruction.

#include "raft_test_network.hpp"

using namespace ck::raft;
using namespace ck::raft::test;

namespace {

void no_pre_vote(config& c) {
  c.pre_vote = false;
  c.check_quorum = false;
}

conf_change change_of(conf_change_type type, node_id id) {
  conf_change change;
  change.type = type;
  change.node = id;
  return change;
}

const progress_status& progress_of(const status_info& s, node_id id) {
  for (const progress_status& p : s.progress) {
    if (p.id == id) {
      return p;
    }
  }
  FAIL("no progress for node");
  return s.progress.front();
}

size_t count_of(const std::deque<message>& messages, message_type type, node_id to) {
  size_t count = 0;
  for (const message& m : messages) {
    count += m.type == type && m.to == to ? 1u : 0u;
  }
  return count;
}

// Snapshots the leader's state machine at its applied index and compacts its log there.
index_t snapshot_and_compact(network& net, node_id id) {
  replica& r = net.get(id);
  const index_t applied = r.applied.back().index;
  REQUIRE(r.storage->create_snapshot(applied, r.storage->initial_conf_state(), "image"));
  REQUIRE(r.storage->compact(applied));
  return applied;
}

}  // namespace

// --- snapshots (paper 7) -------------------------------------------------------------------

TEST_CASE("7 leader sends its snapshot to a follower that needs compacted entries") {
  network net(3);
  net.elect(1);
  net.isolate(3);
  for (int i = 0; i < 5; ++i) {
    net.propose(1, "v" + std::to_string(i));
  }
  const index_t snap_index = snapshot_and_compact(net, 1);
  net.propose(1, "after");

  net.heal();
  net.tick(1);
  net.stabilize();

  replica& r3 = net.get(3);
  CHECK(r3.snapshot_index == snap_index);
  CHECK(r3.snapshot_data == "image");
  CHECK(r3.storage->first_index() == snap_index + 1);
  CHECK(applied_data(r3) == std::vector<std::string>{"after"});  // the rest came as entries
  const status_info leader = net.at(1).status();
  CHECK(progress_of(leader, 3).state == "replicate");
  CHECK(progress_of(leader, 3).match == leader.last_index);

  net.restart(3);  // restarts from the snapshot
  CHECK(net.at(3).status().commit >= snap_index);
  CHECK(net.at(3).status().applied >= snap_index);
}

TEST_CASE("7 report_snapshot moves a follower out of snapshot state") {
  network net(3);
  net.elect(1);
  net.isolate(3);
  net.propose(1, "x");
  const index_t snap_index = snapshot_and_compact(net, 1);
  net.heal();
  net.report_snapshots = false;  // reported by hand below
  // The follower installs the snapshot, but its answer is lost.
  bool installed = false;
  net.filter = [&installed](const message& m) {
    installed = installed || m.type == message_type::install_snapshot;
    return !(installed && m.from == 3 && m.type == message_type::append_response);
  };
  net.tick(1);
  net.stabilize();
  REQUIRE(progress_of(net.at(1).status(), 3).state == "snapshot");

  net.at(1).report_snapshot(3, true);

  const progress_status p = progress_of(net.at(1).status(), 3);
  CHECK(p.state == "probe");
  CHECK(p.next == snap_index + 1);
  net.filter = nullptr;
  net.tick(1);  // the heartbeat answer releases the probe
  net.stabilize();
  CHECK(progress_of(net.at(1).status(), 3).state == "replicate");
}

TEST_CASE("7 leader holds the snapshot for a follower it has not heard from, without spinning") {
  network net(3);
  net.elect(1);
  net.isolate(3);
  net.propose(1, "x");
  for (int i = 0; i < 2 * 10; ++i) {  // two CheckQuorum periods: 3 is no longer active
    net.tick(1);
    net.stabilize();
  }
  REQUIRE(net.leader() == 1);
  snapshot_and_compact(net, 1);
  net.at(1).report_unreachable(3);  // back to probe: the next append needs the snapshot

  net.stabilize();  // fails if the leader keeps reporting work it cannot do

  CHECK(count_of(net.queued(), message_type::install_snapshot, 3) == 0);
  net.heal();
  net.tick(1);  // 3 answers the heartbeat: active again, so the snapshot goes
  net.stabilize();
  CHECK(net.get(3).snapshot_index > 0);  // "x" arrives inside the image
  CHECK(net.at(3).status().commit == net.at(1).status().commit);
}

TEST_CASE("7 follower ignores a snapshot that is not newer than its commit index") {
  solo s(1, voters_of({1, 2, 3}));
  s.with_log({1, 1, 1}, hard_state{1, no_node, 3});
  node& n = s.start();
  message m = msg(message_type::install_snapshot, 2, 1, 1);
  m.snap.meta.index = 2;
  m.snap.meta.term = 1;
  m.snap.meta.conf = voters_of({1, 2, 3});

  n.step(m);
  ready rd = n.get_ready();

  CHECK_FALSE(rd.snap.has_value());
  const auto answers = of_type(rd.messages, message_type::append_response);
  REQUIRE(answers.size() == 1);
  CHECK(answers[0].index == 3);  // where we are: the leader moves on from there
  n.advance();
}

// --- replication details -------------------------------------------------------------------

TEST_CASE("5.3 fast back-off: a divergent tail is skipped a term at a time") {
  network net(3, no_pre_vote);
  std::vector<entry> leader_log;
  std::vector<entry> follower_log;
  for (index_t i = 1; i <= 51; ++i) {
    leader_log.push_back(entry{i == 1 ? 1u : 3u, i, entry_type::normal, ""});
    follower_log.push_back(entry{i == 1 ? 1u : 2u, i, entry_type::normal, ""});
  }
  net.get(1).storage->append(leader_log);
  net.get(2).storage->append(follower_log);
  net.get(3).storage->append({leader_log.front()});
  for (node_id id = 1; id <= 3; ++id) {
    net.get(id).storage->set_hard_state(hard_state{3, no_node, 1});
    net.get(id).applied.clear();  // the state machine is rebuilt with the log
    net.restart(id);
  }

  net.elect(1);

  REQUIRE(net.leader() == 1);
  size_t rejections = 0;
  for (const message& m : net.delivered()) {
    rejections += m.type == message_type::append_response && m.from == 2 && m.reject ? 1u : 0u;
  }
  CHECK(rejections <= 2);  // one entry at a time would take 50
  term_t t = 0;
  REQUIRE(net.get(2).storage->term(51, t) == log_error::none);
  CHECK(t == 3);
  CHECK(net.get(2).storage->last_index() == net.get(1).storage->last_index());
}

TEST_CASE("flow control: no more than inflight_msgs_max appends in flight per follower") {
  network net(3, [](config& c) {
    c.inflight_msgs_max = 3;
    c.append_bytes_max = 1;  // one entry per append
  });
  net.elect(1);
  REQUIRE(progress_of(net.at(1).status(), 2).state == "replicate");
  for (int i = 0; i < 10; ++i) {
    REQUIRE(net.at(1).propose("e" + std::to_string(i)) == propose_result::ok);
  }

  net.collect();

  CHECK(count_of(net.queued(), message_type::append, 2) == 3);
  CHECK(progress_of(net.at(1).status(), 2).inflight == 3);
  net.stabilize();  // acks open the window again until everything is through
  CHECK(applied_data(net.get(2)).size() == 10);
}

TEST_CASE("flow control: a heartbeat answer lets one append through a full window") {
  network net(3, [](config& c) {
    c.inflight_msgs_max = 2;
    c.append_bytes_max = 1;
  });
  net.elect(1);
  for (int i = 0; i < 5; ++i) {
    REQUIRE(net.at(1).propose("e" + std::to_string(i)) == propose_result::ok);
  }
  net.filter = [](const message& m) { return m.type != message_type::append; };
  net.collect();
  net.deliver_queued();  // the appends are lost
  REQUIRE(progress_of(net.at(1).status(), 2).inflight == 2);

  net.tick(1);
  net.collect();
  net.deliver_queued();  // the heartbeats
  net.collect();
  net.deliver_queued();  // their answers
  net.collect();

  CHECK(count_of(net.queued(), message_type::append, 2) == 1);
  net.filter = nullptr;
  net.stabilize();
  net.tick(1);
  net.stabilize();
  CHECK(applied_data(net.get(2)).size() == 5);
}

TEST_CASE("report_unreachable moves a replicating follower back to probe") {
  network net(3);
  net.elect(1);
  REQUIRE(progress_of(net.at(1).status(), 2).state == "replicate");

  net.at(1).report_unreachable(2);

  CHECK(progress_of(net.at(1).status(), 2).state == "probe");
  net.propose(1, "x");
  CHECK(applied_data(net.get(2)) == std::vector<std::string>{"x"});
}

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

// --- PreVote (thesis 9.6) ------------------------------------------------------------------

TEST_CASE("9.6 pre-vote does not raise the term of a partitioned node") {
  network net(3);
  net.elect(1);
  const term_t term = net.at(1).status().term;
  net.isolate(3);

  net.tick(3, 100);
  CHECK(net.at(3).status().term == term);
  CHECK(net.at(3).status().state == role::pre_candidate);

  net.heal();
  net.tick(1);
  net.stabilize();
  CHECK(net.leader() == 1);  // the rejoining node disrupts nothing
  CHECK(net.at(1).status().term == term);
  CHECK(net.at(3).status().state == role::follower);
}

TEST_CASE("9.6 a node refuses a pre-vote while it hears from a leader") {
  network net(3, [](config& c) { c.check_quorum = false; });
  net.elect(1);
  const term_t term = net.at(1).status().term;
  net.cut(1, 3);  // 3 no longer hears from 1, but 2 does

  net.tick(3, 20);
  net.stabilize();

  CHECK(net.leader() == 1);
  CHECK(net.at(2).status().term == term);
  CHECK(net.at(3).status().term == term);
}

TEST_CASE("9.6 a pre-candidate that wins its pre-vote campaigns at the next term") {
  network net(3);
  net.elect(1);
  const term_t term = net.at(1).status().term;
  net.isolate(1);
  net.tick(2, 10);  // 2 and 3 stop hearing from the leader
  net.tick(3, 10);

  net.elect(2);

  CHECK(net.leader() == 2);
  CHECK(net.at(2).status().term == term + 1);
}

// --- CheckQuorum and the lease (thesis 6.2) ------------------------------------------------

TEST_CASE("6.2 check quorum: a leader that hears from no quorum steps down") {
  network net(3);
  net.elect(1);
  net.isolate(1);

  net.tick(1, 2 * 10);

  CHECK(net.at(1).status().state == role::follower);
  CHECK(net.at(1).propose("x") == propose_result::not_leader);
}

TEST_CASE("6.2 leader lease: followers ignore vote requests while they hear from the leader") {
  network net(3, [](config& c) { c.pre_vote = false; });
  net.elect(1);
  const term_t term = net.at(1).status().term;
  net.cut(1, 3);

  net.tick(3, 20);  // 3 campaigns at a higher term
  net.stabilize();

  CHECK(net.at(3).status().term > term);
  CHECK(net.at(2).status().term == term);  // in lease: ignored
  CHECK(net.leader() == 1);
  CHECK(net.at(1).status().term == term);
}

// --- ReadIndex (thesis 6.4) ----------------------------------------------------------------

TEST_CASE("6.4 read index waits for a heartbeat quorum") {
  network net(3);
  net.elect(1);
  net.propose(1, "x");
  const index_t commit = net.at(1).status().commit;
  net.isolate(2);
  net.isolate(3);

  REQUIRE(net.at(1).read_index("r1") == propose_result::ok);
  net.stabilize();
  CHECK(net.get(1).reads.empty());

  net.heal();
  net.tick(1);  // the heartbeat carries the pending read's context
  net.stabilize();
  REQUIRE(net.get(1).reads.size() == 1);
  CHECK(net.get(1).reads[0].context == "r1");
  CHECK(net.get(1).reads[0].index == commit);
  CHECK(net.at(2).read_index("r2") == propose_result::not_leader);
}

TEST_CASE("6.4 read index waits until the leader committed an entry of its term") {
  solo s(1, voters_of({1, 2, 3}), no_pre_vote);
  s.with_log({1, 1}, hard_state{1, no_node, 1});
  node& n = s.start();
  for (int i = 0; i < 20 && n.status().state == role::follower; ++i) {
    n.tick();
  }
  n.step(msg(message_type::vote_response, 2, 1, 2));
  REQUIRE(n.status().state == role::leader);
  s.drain();

  REQUIRE(n.read_index("r") == propose_result::ok);
  message beat = msg(message_type::heartbeat_response, 2, 1, 2);
  beat.context = "r";
  n.step(beat);
  s.drain();
  CHECK(s.r.reads.empty());  // our commit index may still lag: no answer yet

  message ack = msg(message_type::append_response, 2, 1, 2);
  ack.index = 3;  // the no-op of term 2
  n.step(ack);
  const auto heartbeats = of_type(s.drain(), message_type::heartbeat);
  REQUIRE(heartbeats.size() == 2);
  CHECK(heartbeats[0].context == "r");
  n.step(beat);
  s.drain();
  REQUIRE(s.r.reads.size() == 1);
  CHECK(s.r.reads[0].index == 3);
}

// --- leadership transfer (thesis 3.10) -----------------------------------------------------

TEST_CASE("3.10 leadership transfer to an up-to-date follower bypasses the lease") {
  network net(3);
  net.elect(1);
  net.propose(1, "x");
  const term_t term = net.at(1).status().term;

  REQUIRE(net.at(1).transfer_leadership(2) == propose_result::ok);
  net.stabilize();

  CHECK(net.leader() == 2);
  CHECK(net.at(2).status().term == term + 1);
  CHECK(net.at(1).status().state == role::follower);
}

TEST_CASE("3.10 leadership transfer first brings a lagging target up to date") {
  network net(3);
  net.elect(1);
  net.isolate(3);
  net.propose(1, "x");
  net.propose(1, "y");
  net.heal();

  REQUIRE(net.at(1).transfer_leadership(3) == propose_result::ok);
  net.tick(1);
  net.stabilize();

  CHECK(net.leader() == 3);
  CHECK(applied_data(net.get(3)) == std::vector<std::string>{"x", "y"});
}

TEST_CASE("3.10 leader drops proposals while transferring and aborts after an election timeout") {
  network net(3);
  net.elect(1);
  net.isolate(3);

  REQUIRE(net.at(1).transfer_leadership(3) == propose_result::ok);
  CHECK(net.at(1).propose("x") == propose_result::dropped);
  CHECK(net.at(1).propose_conf_change(change_of(conf_change_type::remove_node, 2)) ==
        propose_result::dropped);
  CHECK(net.at(1).transfer_leadership(4) == propose_result::invalid);

  for (int i = 0; i < 10; ++i) {
    net.tick(1);
    net.stabilize();
  }

  CHECK(net.leader() == 1);
  CHECK(net.at(1).propose("x") == propose_result::ok);
  net.stabilize();
  CHECK(applied_data(net.get(2)) == std::vector<std::string>{"x"});
}

// --- the ready / advance contract ----------------------------------------------------------

TEST_CASE("ready: committed entries are handed out only once they are durable here") {
  solo s(1, voters_of({1, 2, 3}));
  node& n = s.start();
  message m = msg(message_type::append, 2, 1, 1);
  m.entries.push_back(entry{1, 1, entry_type::normal, "a"});
  m.entries.push_back(entry{1, 2, entry_type::normal, "b"});
  m.commit = 2;

  n.step(m);
  ready first = n.get_ready();

  CHECK(first.entries.size() == 2);
  CHECK(first.committed.empty());  // committed, but not yet persisted here
  REQUIRE(first.hard.has_value());
  CHECK(first.hard->commit == 2);
  CHECK(first.must_sync);
  s.r.storage->append(first.entries);
  s.r.storage->set_hard_state(*first.hard);
  n.advance();

  ready second = n.get_ready();
  CHECK(second.entries.empty());
  REQUIRE(second.committed.size() == 2);
  CHECK(second.committed[1].data == "b");
  CHECK_FALSE(second.must_sync);
  n.advance();
  CHECK_FALSE(n.has_ready());
}

TEST_CASE("ready: must_sync for entries, term or vote, but not for a commit index alone") {
  solo s(1, voters_of({1, 2, 3}), no_pre_vote);
  node& n = s.start();
  n.step(msg(message_type::vote, 2, 1, 1));
  ready voted = n.get_ready();
  CHECK(voted.must_sync);
  REQUIRE(voted.hard.has_value());
  CHECK(voted.hard->vote == 2);
  CHECK(voted.messages.size() == 1);  // sent only after the vote is durable
  s.r.storage->set_hard_state(*voted.hard);
  n.advance();

  message m = msg(message_type::append, 2, 1, 1);
  m.entries.push_back(entry{1, 1, entry_type::normal, "a"});
  n.step(m);
  s.drain();
  message beat = msg(message_type::heartbeat, 2, 1, 1);
  beat.commit = 1;
  n.step(beat);
  ready committed = n.get_ready();
  REQUIRE(committed.hard.has_value());
  CHECK(committed.hard->commit == 1);
  CHECK_FALSE(committed.must_sync);
  n.advance();
}
