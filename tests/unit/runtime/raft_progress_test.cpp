// Flow control and quorum arithmetic: inflights, progress, quorum (checked against a naive
// version on random inputs), the tracker, and the ReadIndex queue.

#include "runtime/raft/progress.hpp"
#include "runtime/raft/quorum.hpp"
#include "runtime/raft/read_only.hpp"
#include "runtime/raft/tracker.hpp"

#include <doctest/doctest.h>

#include <random>

using namespace ck::raft;

TEST_CASE("inflights: full at the message count and at the byte limit; freed in order") {
  inflights by_count(3, 0);
  by_count.add(5, 10);
  by_count.add(7, 10);
  CHECK_FALSE(by_count.full());
  by_count.add(9, 10);
  CHECK(by_count.full());

  by_count.free_le(7);
  CHECK(by_count.count() == 1);
  CHECK(by_count.bytes() == 10);
  by_count.add(11, 5);  // wraps around the ring
  by_count.add(12, 5);
  CHECK(by_count.full());
  by_count.free_first_one();
  CHECK(by_count.count() == 2);
  by_count.free_le(100);
  CHECK(by_count.count() == 0);

  inflights by_bytes(100, 25);
  by_bytes.add(1, 20);
  CHECK_FALSE(by_bytes.full());
  by_bytes.add(2, 20);
  CHECK(by_bytes.full());
}

TEST_CASE("progress: maybe_update moves match and next forward only") {
  progress pr(2, 5, false, 4, 0);

  CHECK(pr.maybe_update(6));
  CHECK(pr.match == 6);
  CHECK(pr.next == 7);
  CHECK_FALSE(pr.maybe_update(4));
  CHECK(pr.match == 6);
  pr.check_invariants(10);
}

TEST_CASE("progress: maybe_decrease_to ignores a stale rejection") {
  progress pr(2, 1, false, 4, 0);
  pr.maybe_update(5);
  pr.become_replicate();
  pr.sent_append(8, 3, 30, 0);  // next is 9, three entries in flight
  REQUIRE(pr.next == 9);

  CHECK_FALSE(pr.maybe_decrease_to(5, 5));  // at or below match: an old append's answer
  CHECK(pr.next == 9);
  CHECK(pr.maybe_decrease_to(7, 6));  // a real gap after the match
  CHECK(pr.next == 6);

  pr.become_probe();
  pr.sent_append(5, 0, 0, 0);
  CHECK(pr.paused());
  CHECK_FALSE(pr.maybe_decrease_to(3, 2));  // not the probe we sent (from next - 1 = 5)
  CHECK(pr.maybe_decrease_to(5, 2));
  CHECK(pr.next == 6);  // never below match + 1
  CHECK_FALSE(pr.paused());
}

TEST_CASE("progress: probe sends one append, replicate pipelines up to the window") {
  progress pr(2, 1, false, 2, 0);
  CHECK_FALSE(pr.paused());
  pr.sent_append(3, 3, 30, 0);
  CHECK(pr.paused());   // probe: wait for the answer
  CHECK(pr.next == 1);  // probes do not move next

  pr.maybe_update(3);
  pr.become_replicate();
  pr.sent_append(5, 2, 20, 0);
  CHECK_FALSE(pr.paused());
  pr.sent_append(6, 1, 10, 0);
  CHECK(pr.paused());  // two appends in flight
  pr.window.free_le(5);
  CHECK_FALSE(pr.paused());
}

TEST_CASE("progress: snapshot state pauses until the follower catches up") {
  progress pr(2, 3, false, 4, 0);
  pr.become_snapshot(10);
  CHECK(pr.paused());
  CHECK(pr.next == 11);
  pr.check_invariants(12);

  pr.become_probe();
  CHECK(pr.next == 11);  // the follower has (or will ask again for) the snapshot
  CHECK(pr.pending_snapshot == 0);
}

TEST_CASE("quorum: majority_index matches a naive computation on random inputs") {
  std::mt19937_64 random(7);
  std::vector<index_t> scratch;
  for (int round = 0; round < 2000; ++round) {
    const size_t voters = 1 + random() % 7;
    std::vector<index_t> matches;
    for (size_t k = 0; k < voters; ++k) {
      matches.push_back(random() % 10);
    }
    // Naive: the largest index that at least a majority reached.
    index_t naive = 0;
    for (index_t candidate = 0; candidate < 10; ++candidate) {
      size_t reached = 0;
      for (const index_t m : matches) {
        reached += m >= candidate ? 1u : 0u;
      }
      if (reached >= voters / 2 + 1) {
        naive = candidate;
      }
    }
    scratch = matches;
    CHECK(majority_index(scratch) == naive);
  }
}

TEST_CASE("quorum: tally decides won, lost or pending") {
  CHECK(tally(3, 2, 0) == vote_result::won);
  CHECK(tally(3, 1, 1) == vote_result::pending);
  CHECK(tally(3, 1, 2) == vote_result::lost);
  CHECK(tally(4, 2, 1) == vote_result::pending);
  CHECK(tally(4, 2, 2) == vote_result::lost);
  CHECK(tally(1, 1, 0) == vote_result::won);
}

TEST_CASE("tracker: learners are replicated to but never counted") {
  progress_tracker tracker(4, 0);
  tracker.reset(conf_state{{1, 2, 3}, {4}}, 1);
  tracker.find(1)->maybe_update(9);
  tracker.find(4)->maybe_update(9);

  CHECK(tracker.committed_index() == 0);  // 1 of 3 voters
  tracker.find(2)->maybe_update(5);
  CHECK(tracker.committed_index() == 5);

  tracker.record_vote(1, true);
  tracker.record_vote(4, true);
  CHECK(tracker.vote_outcome() == vote_result::pending);
  tracker.record_vote(2, true);
  CHECK(tracker.vote_outcome() == vote_result::won);
  CHECK(tracker.tally_acks({1, 4}) == vote_result::pending);
  tracker.check_invariants(9, true);
}

TEST_CASE("tracker: refuses removing or demoting the last voter") {
  progress_tracker tracker(4, 0);
  tracker.reset(conf_state{{1}, {2}}, 1);
  conf_change change;
  change.node = 1;

  change.type = conf_change_type::remove_node;
  CHECK(tracker.check_change(change) == conf_check::last_voter);
  change.type = conf_change_type::add_learner;
  CHECK(tracker.check_change(change) == conf_check::last_voter);
  change.node = 2;
  change.type = conf_change_type::add_voter;
  REQUIRE(tracker.check_change(change) == conf_check::ok);
  tracker.apply_change(change, 5);
  CHECK(tracker.conf().voters == std::vector<node_id>{1, 2});
  CHECK(tracker.conf().learners.empty());
  change.node = 0;
  CHECK(tracker.check_change(change) == conf_check::node_missing);
  tracker.check_invariants(5, false);
}

TEST_CASE("read_only: a quorum ack releases that read and every earlier one, in order") {
  read_only reads(3);
  REQUIRE(reads.add_request(5, "a", 1));
  REQUIRE(reads.add_request(6, "b", 1));
  CHECK_FALSE(reads.add_request(6, "b", 1));  // duplicate context
  REQUIRE(reads.add_request(7, "c", 1));
  CHECK_FALSE(reads.add_request(7, "d", 1));  // full
  CHECK(reads.last_pending_context() == "c");
  CHECK(reads.receive_ack(2, "zzz") == nullptr);

  const std::vector<node_id>* acks = reads.receive_ack(2, "b");
  REQUIRE(acks != nullptr);
  CHECK(acks->size() == 2);
  std::vector<read_state> released;
  reads.release_through("b", released);

  REQUIRE(released.size() == 2);
  CHECK(released[0].context == "a");
  CHECK(released[0].index == 5);
  CHECK(released[1].context == "b");
  CHECK(reads.pending_count() == 1);
}
