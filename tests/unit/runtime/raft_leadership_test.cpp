// Keeping and moving leadership: PreVote (thesis 9.6), CheckQuorum and the leader lease
// (thesis 6.2), ReadIndex (thesis 6.4) and leadership transfer (thesis 3.10). Every fixture
// checks every node's invariants on destruction.

#include "raft_test_network.hpp"

using namespace ck::raft;
using namespace ck::raft::test;

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
  CHECK(net.at(1).read_index("r1") == propose_result::dropped);  // already pending
  CHECK(net.at(1).read_index("") == propose_result::invalid);
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
  CHECK(n.read_index("r") == propose_result::dropped);
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

namespace {

// Writes what `rd` asks of `r`'s disk (step 1 of the ready contract) without the rest.
void persist(replica& r, const ready& rd) {
  r.storage->append(rd.entries);
  if (rd.hard) {
    r.storage->set_hard_state(*rd.hard);
  }
}

// Node 1 leads a settled 3-node `net`, takes proposal `data` and hands out its ready, with
// nothing of it persisted yet.
ready leader_ready_for(network& net, const std::string& data) {
  net.elect(1);
  net.stabilize();
  REQUIRE(net.at(1).propose(data) == propose_result::ok);
  return net.at(1).get_ready();
}

// `from`'s acknowledgement of the leader's (node 1's) log up to `index`.
message append_ack(network& net, node_id from, index_t index) {
  message ack = msg(message_type::append_response, from, 1, net.at(1).status().term);
  ack.index = index;
  return ack;
}

}  // namespace

TEST_CASE("6.4 reads recorded before one ready share one heartbeat round") {
  network net(3);
  net.elect(1);
  net.propose(1, "x");
  net.stabilize();
  const index_t commit = net.at(1).status().commit;
  for (const char* context : {"r1", "r2", "r3", "r4"}) {
    REQUIRE(net.at(1).read_index(context) == propose_result::ok);
  }
  ready rd = net.at(1).get_ready();
  // One heartbeat per follower, carrying the newest context, instead of one per read.
  const auto beats = of_type(rd.messages, message_type::heartbeat);
  REQUIRE(beats.size() == 2);
  CHECK(beats[0].context == "r4");
  CHECK(beats[1].context == "r4");
  // A quorum's answer to the newest read confirms all four, oldest first.
  net.at(1).advance();
  message ack = msg(message_type::heartbeat_response, 2, 1, net.at(1).status().term);
  ack.context = "r4";
  net.at(1).step(ack);
  rd = net.at(1).get_ready();
  REQUIRE(rd.reads.size() == 4);
  CHECK(rd.reads[0].context == "r1");
  CHECK(rd.reads[3].context == "r4");
  for (const read_state& r : rd.reads) {
    CHECK(r.index == commit);
  }
  net.at(1).advance();
}

TEST_CASE("10.2.1 a leader's messages may leave before its entries are durable") {
  network net(3);
  ready rd = leader_ready_for(net, "y");
  CHECK(rd.must_sync);
  CHECK(rd.send_before_persist);
  const auto appends = of_type(rd.messages, message_type::append);
  REQUIRE(appends.size() == 2);
  const index_t index = appends[0].entries.back().index;
  // Both followers acknowledge before the leader persisted: the entry is committed by them
  // alone (a quorum of durable copies), not by the leader's copy that is not on disk yet.
  for (node_id follower : {node_id{2}, node_id{3}}) {
    net.at(1).step(append_ack(net, follower, index));
  }
  CHECK(net.at(1).status().commit == index);
  persist(net.get(1), rd);
  net.at(1).advance();
}

TEST_CASE("10.2.1 a follower's acknowledgements wait for its disk") {
  network net(3);
  ready leader_rd = leader_ready_for(net, "z");
  persist(net.get(1), leader_rd);
  net.at(1).advance();
  const auto& out = leader_rd.messages;
  const auto to_two = of_type(out, message_type::append);
  REQUIRE(!to_two.empty());
  net.at(2).step(to_two[0].to == 2 ? to_two[0] : to_two[1]);
  ready follower_rd = net.at(2).get_ready();
  CHECK(follower_rd.must_sync);
  CHECK_FALSE(follower_rd.send_before_persist);
  persist(net.get(2), follower_rd);
  net.at(2).advance();
}

TEST_CASE("10.2.1 one ack and the leader's unsynced copy do not commit an entry") {
  network net(3);
  ready rd = leader_ready_for(net, "w");
  const index_t commit_before = net.at(1).status().commit;
  const auto appends = of_type(rd.messages, message_type::append);
  REQUIRE(!appends.empty());
  const message ack = append_ack(net, 2, appends[0].entries.back().index);
  net.at(1).step(ack);
  CHECK(net.at(1).status().commit == commit_before);  // the leader's copy is not durable yet
  persist(net.get(1), rd);
  net.at(1).advance();  // now it is: leader + node 2
  CHECK(net.at(1).status().commit == ack.index);
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

// A transfer right after a conf change commits (a promotion, then the leader leaves): the
// append that carries the commit and the timeout_now arrive together, before the target's
// shell applied the change, and campaign() refuses while a committed conf change is unapplied.
// The target campaigns after the apply instead of the leader retrying seconds later.
namespace {
void commit_conf_change_then_transfer(network& net) {
  net.elect(1);
  REQUIRE(net.at(1).propose_conf_change(change_of(conf_change_type::add_learner, 4)) ==
          propose_result::ok);
  const index_t conf_index = net.at(1).status().last_index;
  // Rounds until the leader counts the change committed.
  for (int round = 0; net.at(1).status().commit < conf_index; ++round) {
    REQUIRE(round < 10);
    net.collect();
    net.deliver_queued();
  }
  net.collect();  // the leader's commit broadcast, and it applies the change (as a shell does)
  net.deliver_queued();
  REQUIRE(net.at(1).transfer_leadership(2) == propose_result::ok);
  // Only the leader's ready runs before timeout_now arrives: 2's shell is still busy.
  for (message& m : process_ready(net.get(1))) {
    if (m.to == 2 && m.type == message_type::timeout_now) {
      net.at(2).step(m);
    } else {
      net.queued().push_back(std::move(m));
    }
  }
  // 2 refused to campaign: it knows the conf change committed but has not applied it.
  REQUIRE(net.at(2).status().state == role::follower);
  REQUIRE(net.at(2).status().commit >= conf_index);
  REQUIRE(net.get(2).applied.back().index < conf_index);
}
}  // namespace

TEST_CASE("3.10 a transfer target campaigns once it applied a committed conf change") {
  network net(3);
  commit_conf_change_then_transfer(net);
  const term_t term = net.at(1).status().term;

  net.stabilize();  // 2's shell applies the change; no tick passes

  CHECK(net.leader() == 2);
  CHECK(net.at(2).status().term == term + 1);
}

TEST_CASE("3.10 a deferred transfer campaign lapses after an election timeout") {
  network net(3);
  commit_conf_change_then_transfer(net);
  const term_t term = net.at(1).status().term;

  net.tick(2, 10);  // one election timeout (make_config) before 2's shell applies anything
  net.stabilize();

  CHECK(net.leader() == 1);  // the leader's own transfer timer decides what happens next
  CHECK(net.at(2).status().term == term);
}
