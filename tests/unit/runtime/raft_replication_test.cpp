// Replication beyond Figure 2: snapshots (paper 7), fast back-off and flow control (etcd),
// and the ready/advance contract. Every fixture checks every node's invariants on
// destruction.

#include "raft_test_network.hpp"

#include <algorithm>

using namespace ck::raft;
using namespace ck::raft::test;

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

TEST_CASE("a replica that lost its log is probed again from where its log ends, not trusted") {
  network net(3);
  net.elect(1);
  for (int i = 0; i < 3; ++i) {
    net.propose(1, "v" + std::to_string(i));
  }
  const index_t last = net.at(1).status().last_index;
  REQUIRE(progress_of(net.at(1).status(), 3).match == last);
  // Node 3's replica is dropped and started again empty under its id (a node does that when
  // a group removes its replica and wants it back), while leader 1 still counts the old log.
  net.get(3).applied.clear();
  net.add(3, conf_state{});
  // The heartbeat says commit `last`; the replica answers that its log is empty instead of
  // committing entries it does not hold, and the leader sends the log again from the start.
  net.tick(1);
  net.stabilize();
  CHECK(applied_data(net.get(3)) == std::vector<std::string>{"v0", "v1", "v2"});
  CHECK(net.at(3).status().commit == last);
  CHECK(progress_of(net.at(1).status(), 3).match == last);
  CHECK(progress_of(net.at(1).status(), 3).state == "replicate");
  net.propose(1, "after");
  CHECK(applied_data(net.get(3)).back() == "after");
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

// --- defer_commit_broadcast ----------------------------------------------------------------

namespace {

size_t appends_to(const std::vector<message>& delivered, node_id to) {
  return static_cast<size_t>(std::count_if(delivered.begin(), delivered.end(), [to](const auto& m) {
    return m.type == message_type::append && m.to == to;
  }));
}

}  // namespace

TEST_CASE("defer_commit_broadcast: a commit alone sends nothing; the next append or beat says it") {
  for (const bool defer : {false, true}) {
    CAPTURE(defer);
    network net(3, [defer](config& c) { c.defer_commit_broadcast = defer; });
    net.elect(1);
    net.delivered().clear();
    net.propose(1, "a");
    const index_t first = net.at(1).status().commit;
    for (node_id id : {2, 3}) {
      // Without deferring, a second append tells each follower the commit at once.
      CHECK(appends_to(net.delivered(), id) == (defer ? 1u : 2u));
      CHECK((net.at(id).status().commit < first) == defer);
    }

    net.propose(1, "b");  // its append carries the commit of "a"
    for (node_id id : {2, 3}) {
      CHECK(net.at(id).status().commit >= first);
      CHECK(applied_data(net.get(id)).front() == "a");
    }

    net.tick(1);  // heartbeat_ticks = 1: the beat carries the commit of "b"
    net.stabilize();
    for (node_id id : {2, 3}) {
      CHECK(net.at(id).status().commit == net.at(1).status().commit);
      CHECK(applied_data(net.get(id)) == std::vector<std::string>{"a", "b"});
    }
  }
}

TEST_CASE("defer_commit_broadcast: the commit of a conf change goes out at once") {
  network net(3, [](config& c) { c.defer_commit_broadcast = true; });
  net.add(4, {});
  net.elect(1);
  REQUIRE(net.at(1).propose_conf_change(change_of(conf_change_type::add_learner, 4)) ==
          propose_result::ok);
  net.stabilize();  // no tick: no heartbeat carries it
  for (node_id id : {2, 3, 4}) {
    CHECK(net.at(id).status().commit == net.at(1).status().commit);
    CHECK(net.at(id).status().conf.learners == std::vector<node_id>{4});
  }
}
