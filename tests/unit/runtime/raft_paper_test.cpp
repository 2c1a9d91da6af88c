// One test per rule of the Raft paper (Ongaro & Ousterhout 2014), Figure 2 and section 5,
// named after the rule with its section; each is init / act / check, and ends with the
// invariant check of every node (solo and network fixtures do it on destruction).

#include "raft_test_network.hpp"

using namespace ck::raft;
using namespace ck::raft::test;

namespace {

// Ticks `n` until it leaves the follower role (it campaigns).
uint32_t ticks_until_campaign(node& n) {
  for (uint32_t ticks = 1; ticks <= 100; ++ticks) {
    n.tick();
    if (n.status().state != role::follower) {
      return ticks;
    }
  }
  return 0;
}

}  // namespace

TEST_CASE("5.1 a node that sees a newer term adopts it and becomes follower") {
  solo s(1, voters_of({1, 2, 3}), no_pre_vote);
  node& n = s.start();
  ticks_until_campaign(n);
  n.step([] {
    message m = msg(message_type::vote_response, 2, 1, 1);
    return m;
  }());
  REQUIRE(n.status().state == role::leader);
  REQUIRE(n.status().term == 1);

  n.step(msg(message_type::heartbeat, 3, 1, 2));

  const status_info st = n.status();
  CHECK(st.state == role::follower);
  CHECK(st.term == 2);
  CHECK(st.leader == 3);
  CHECK(st.vote == no_node);
}

TEST_CASE("5.1 a node rejects a request with a stale term and tells the sender its term") {
  solo s(1, voters_of({1, 2, 3}));
  s.with_log({1, 2}, hard_state{2, no_node, 1});
  node& n = s.start();
  message stale = msg(message_type::append, 2, 1, 1);
  stale.index = 2;
  stale.log_term = 2;
  stale.entries.push_back(entry{1, 3, entry_type::normal, "x"});

  n.step(stale);
  const auto out = s.drain();

  CHECK(n.status().last_index == 2);
  CHECK(n.status().term == 2);
  const auto answers = of_type(out, message_type::append_response);
  REQUIRE(answers.size() == 1);
  CHECK(answers[0].term == 2);  // the stale leader learns the newer term and steps down
}

TEST_CASE("5.1 a stale candidate learns the newer term from the refusal") {
  solo s(1, voters_of({1, 2, 3}), no_pre_vote);
  s.with_log({1}, hard_state{5, no_node, 1});
  node& n = s.start();

  n.step(msg(message_type::vote, 2, 1, 3));
  const auto answers = of_type(s.drain(), message_type::vote_response);

  REQUIRE(answers.size() == 1);  // not dropped silently: it could campaign forever below us
  CHECK(answers[0].reject);
  CHECK(answers[0].term == 5);
  CHECK(n.status().vote == no_node);
}

TEST_CASE("5.2 a follower starts an election after its election timeout") {
  solo s(1, voters_of({1, 2, 3}), no_pre_vote);
  node& n = s.start();

  const uint32_t ticks = ticks_until_campaign(n);
  const auto out = s.drain();

  CHECK(ticks >= 10);
  CHECK(ticks < 20);
  const status_info st = n.status();
  CHECK(st.state == role::candidate);
  CHECK(st.term == 1);
  CHECK(st.vote == 1);
  const auto requests = of_type(out, message_type::vote);
  REQUIRE(requests.size() == 2);
  for (const message& m : requests) {
    CHECK(m.term == 1);
    CHECK(m.index == 0);
    CHECK(m.log_term == 0);
  }
}

TEST_CASE("5.2 election timeouts are randomized in [election_ticks, 2 * election_ticks)") {
  std::set<uint32_t> seen;
  for (node_id id = 1; id <= 20; ++id) {
    solo s(id, voters_of({id, 100}), no_pre_vote);
    const uint32_t ticks = ticks_until_campaign(s.start());
    CHECK(ticks >= 10);
    CHECK(ticks < 20);
    seen.insert(ticks);
  }
  CHECK(seen.size() > 3);  // split votes are unlikely
}

TEST_CASE("5.2 replicas of one group draw different timeouts even when the seed follows the id") {
  // A shell once seeded each replica with id * K + group, and the core mixed the id in with
  // the same K: for group 0 every replica drew the same sequence, so after losing the leader
  // the survivors campaigned in the same tick and split the vote again and again.
  for (group_id group = 0; group < 4; ++group) {
    std::set<uint32_t> seen;
    for (node_id id = 1; id <= 5; ++id) {
      solo s(id, voters_of({1, 2, 3, 4, 5}), [&](config& c) {
        no_pre_vote(c);
        c.group = group;
        c.seed = id * 0x9e3779b97f4a7c15ull + group;
      });
      seen.insert(ticks_until_campaign(s.start()));
    }
    CHECK_MESSAGE(seen.size() >= 3, "group " << group << ": " << seen.size() << " distinct timeouts");
  }
}

TEST_CASE("5.2 a candidate becomes leader with the votes of a majority") {
  solo s(1, voters_of({1, 2, 3, 4, 5}), no_pre_vote);
  node& n = s.start();
  ticks_until_campaign(n);

  n.step(msg(message_type::vote_response, 2, 1, 1));
  CHECK(n.status().state == role::candidate);  // 2 of 5
  n.step(msg(message_type::vote_response, 3, 1, 1));

  CHECK(n.status().state == role::leader);  // 3 of 5
  CHECK(n.status().leader == 1);
}

TEST_CASE("5.2 a candidate that a majority rejects becomes follower") {
  solo s(1, voters_of({1, 2, 3}), no_pre_vote);
  node& n = s.start();
  ticks_until_campaign(n);
  message reject = msg(message_type::vote_response, 2, 1, 1);
  reject.reject = true;

  n.step(reject);
  CHECK(n.status().state == role::candidate);
  reject.from = 3;
  n.step(reject);

  CHECK(n.status().state == role::follower);
  CHECK(n.status().term == 1);
}

TEST_CASE("5.2 follower grants at most one vote per term") {
  solo s(1, voters_of({1, 2, 3}), no_pre_vote);
  node& n = s.start();
  s.drain();

  n.step(msg(message_type::vote, 2, 1, 1));
  n.step(msg(message_type::vote, 3, 1, 1));
  n.step(msg(message_type::vote, 2, 1, 1));  // a retransmission gets the same answer
  const auto answers = of_type(s.drain(), message_type::vote_response);

  REQUIRE(answers.size() == 3);
  CHECK_FALSE(answers[0].reject);
  CHECK(answers[1].reject);
  CHECK_FALSE(answers[2].reject);
  CHECK(n.status().vote == 2);
  CHECK(s.r.storage->initial_hard_state().vote == 2);  // persisted before the answer left
}

TEST_CASE("5.2 a candidate steps down when a leader of its term appears") {
  solo s(1, voters_of({1, 2, 3}), no_pre_vote);
  node& n = s.start();
  ticks_until_campaign(n);

  n.step(msg(message_type::heartbeat, 2, 1, 1));

  CHECK(n.status().state == role::follower);
  CHECK(n.status().leader == 2);
  CHECK(n.status().term == 1);
}

TEST_CASE("5.2 a leader sends a heartbeat to every follower each heartbeat interval") {
  network net(3);
  net.elect(1);
  REQUIRE(net.leader() == 1);

  net.tick(1);
  net.collect();

  size_t heartbeats = 0;
  for (const message& m : net.queued()) {
    heartbeats += m.type == message_type::heartbeat ? 1u : 0u;
  }
  CHECK(heartbeats == 2);
  net.stabilize();
}

TEST_CASE("5.3 leader appends a proposal and replicates it to every follower") {
  network net(3);
  net.elect(1);

  net.propose(1, "x");

  const index_t last = net.at(1).status().last_index;
  CHECK(net.get(1).applied.back().data == "x");
  for (node_id id = 1; id <= 3; ++id) {
    CHECK(applied_data(net.get(id)) == std::vector<std::string>{"x"});
    CHECK(net.get(id).storage->last_index() == last);
  }
}

TEST_CASE("5.3 follower rejects append whose prev entry does not match") {
  solo s(1, voters_of({1, 2, 3}));
  s.with_log({1, 2}, hard_state{2, no_node, 1});
  node& n = s.start();
  message mismatch = msg(message_type::append, 2, 1, 3);
  mismatch.index = 2;
  mismatch.log_term = 3;
  message beyond = msg(message_type::append, 2, 1, 3);
  beyond.index = 5;
  beyond.log_term = 3;

  n.step(mismatch);
  n.step(beyond);
  const auto answers = of_type(s.drain(), message_type::append_response);

  REQUIRE(answers.size() == 2);
  CHECK(answers[0].reject);
  CHECK(answers[0].index == 2);
  CHECK(answers[0].reject_hint == 2);  // our entry 2 has term 2 <= 3: may match there
  CHECK(answers[0].reject_hint_term == 2);
  CHECK(answers[1].reject);
  CHECK(answers[1].reject_hint == 2);  // our log ends at 2
  CHECK(n.status().last_index == 2);
}

TEST_CASE("5.3 follower deletes a conflicting suffix and appends the leader's entries") {
  solo s(1, voters_of({1, 2, 3}));
  s.with_log({1, 1, 2, 2}, hard_state{3, no_node, 1});
  node& n = s.start();
  message m = msg(message_type::append, 2, 1, 3);
  m.index = 2;
  m.log_term = 1;
  m.entries.push_back(entry{3, 3, entry_type::normal, "a"});
  m.entries.push_back(entry{3, 4, entry_type::normal, "b"});

  n.step(m);
  const auto answers = of_type(s.drain(), message_type::append_response);

  REQUIRE(answers.size() == 1);
  CHECK_FALSE(answers[0].reject);
  CHECK(answers[0].index == 4);
  term_t t = 0;
  REQUIRE(s.r.storage->term(3, t) == log_error::none);
  CHECK(t == 3);
  CHECK(s.r.storage->last_index() == 4);
}

TEST_CASE("5.3 an entry commits once a majority stored it, and followers learn it") {
  network net(3);
  net.elect(1);
  net.isolate(3);

  net.propose(1, "x");
  CHECK(applied_data(net.get(1)) == std::vector<std::string>{"x"});
  CHECK(applied_data(net.get(2)) == std::vector<std::string>{"x"});
  CHECK(applied_data(net.get(3)).empty());

  net.heal();
  net.tick(1);  // a heartbeat: 3 answers, gets the entries and the commit index
  net.stabilize();
  CHECK(applied_data(net.get(3)) == std::vector<std::string>{"x"});
}

TEST_CASE("5.3 a new leader brings a divergent follower's log in line with its own") {
  network net(3, no_pre_vote);
  net.elect(1);
  net.isolate(1);
  REQUIRE(net.at(1).propose("lost-1") == propose_result::ok);
  REQUIRE(net.at(1).propose("lost-2") == propose_result::ok);
  net.stabilize();
  net.elect(2);
  REQUIRE(net.leader() == 2);
  net.propose(2, "kept");

  net.heal();
  net.tick(2);
  net.stabilize();

  for (node_id id = 1; id <= 3; ++id) {
    CHECK(applied_data(net.get(id)) == std::vector<std::string>{"kept"});
    CHECK(net.get(id).storage->last_index() == net.get(2).storage->last_index());
  }
  CHECK(net.at(1).status().state == role::follower);
}

TEST_CASE("5.4.1 voter refuses a candidate with a less up-to-date log") {
  solo s(1, voters_of({1, 2, 3}), no_pre_vote);
  s.with_log({1, 2}, hard_state{2, no_node, 1});
  node& n = s.start();
  message older_term = msg(message_type::vote, 2, 1, 3);
  older_term.index = 5;  // longer, but its last term is older
  older_term.log_term = 1;
  message shorter = msg(message_type::vote, 3, 1, 3);
  shorter.index = 1;
  shorter.log_term = 2;
  message equal = msg(message_type::vote, 2, 1, 3);
  equal.index = 2;
  equal.log_term = 2;

  n.step(older_term);
  n.step(shorter);
  n.step(equal);
  const auto answers = of_type(s.drain(), message_type::vote_response);

  REQUIRE(answers.size() == 3);
  CHECK(answers[0].reject);
  CHECK(answers[1].reject);
  CHECK_FALSE(answers[2].reject);
  CHECK(n.status().vote == 2);
}

TEST_CASE("5.4.2 leader does not commit an entry of an earlier term by counting replicas") {
  solo s(1, voters_of({1, 2, 3}), no_pre_vote);
  s.with_log({1, 2}, hard_state{2, no_node, 1});
  node& n = s.start();
  ticks_until_campaign(n);
  n.step(msg(message_type::vote_response, 2, 1, 3));
  REQUIRE(n.status().state == role::leader);
  s.drain();  // persists the no-op at index 3 (term 3)
  REQUIRE(n.status().last_index == 3);

  message ack_old = msg(message_type::append_response, 2, 1, 3);
  ack_old.index = 2;  // a majority (1, 2) now stores entry 2 of term 2 ...
  n.step(ack_old);
  CHECK(n.status().commit == 1);  // ... which must not commit it (Figure 8)

  message ack_new = ack_old;
  ack_new.index = 3;
  n.step(ack_new);
  CHECK(n.status().commit == 3);  // the entry of term 3 commits, and 2 with it
}

TEST_CASE("5.4.2 a leader's entries of earlier terms commit with its first own entry") {
  network net(3, no_pre_vote);
  net.elect(1);
  net.isolate(2);
  net.isolate(3);
  REQUIRE(net.at(1).propose("old") == propose_result::ok);  // only 1 stores it (term 1)
  net.stabilize();
  net.heal();
  net.isolate(2);
  net.elect(3);  // 3 lacks "old": 1 refuses it, but adopts term 2 and steps down
  REQUIRE(net.at(1).status().state == role::follower);

  net.elect(1);  // term 3: 3 votes for 1, whose log is more up to date
  REQUIRE(net.leader() == 1);

  CHECK(applied_data(net.get(3)) == std::vector<std::string>{"old"});
  CHECK(applied_data(net.get(1)) == std::vector<std::string>{"old"});
  CHECK(net.get(1).applied.back().term == net.at(1).status().term);  // its no-op
}

TEST_CASE("5.5 a restarted node keeps its term, vote, log and commit index") {
  network net(3);
  net.elect(1);
  net.propose(1, "x");
  const status_info before = net.at(2).status();

  net.restart(2);

  const status_info after = net.at(2).status();
  CHECK(after.term == before.term);
  CHECK(after.vote == before.vote);
  CHECK(after.last_index == before.last_index);
  CHECK(after.commit == before.commit);
  CHECK(after.state == role::follower);
  net.tick(1);
  net.stabilize();
  CHECK(net.at(2).status().leader == 1);
}

TEST_CASE("8 a new leader appends an empty no-op entry of its term") {
  network net(3);

  net.elect(1);

  // The founding membership occupies indices 1..3 (make_bootstrap); the no-op follows.
  const replica& leader = net.get(1);
  REQUIRE(leader.applied.size() == 4);
  CHECK(leader.applied[3].index == 4);
  CHECK(leader.applied[3].type == entry_type::normal);
  CHECK(leader.applied[3].term == net.at(1).status().term);
  CHECK(leader.applied[3].data.empty());
  CHECK(net.get(2).applied.size() == 4);
}
