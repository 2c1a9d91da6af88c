#include "runtime/raft/progress.hpp"

#include "runtime/base/assert.hpp"

#include <algorithm>

namespace ck::raft {

std::string_view to_string(progress_state state) {
  switch (state) {
    case progress_state::probe:
      return "probe";
    case progress_state::replicate:
      return "replicate";
    case progress_state::snapshot:
      return "snapshot";
  }
  return "unknown";
}

// --- inflights -------------------------------------------------------------------------

inflights::inflights(uint32_t count_max, uint64_t bytes_max)
    : count_max_(count_max), bytes_max_(bytes_max) {
  CK_ASSERT_GE(count_max, 1u);
}

void inflights::add(index_t last_index, uint64_t bytes) {
  CK_ASSERT(!full());
  if (ring_.empty()) {
    ring_.resize(count_max_);  // allocated once, when the follower first replicates
  }
  if (count_ > 0) {
    CK_ASSERT_GT(last_index, ring_[(start_ + count_ - 1) % count_max_].last_index);
  }
  ring_[(start_ + count_) % count_max_] = slot{last_index, bytes};
  ++count_;
  bytes_ += bytes;
}

void inflights::free_le(index_t index) {
  // Bounded by count_ <= count_max_.
  while (count_ > 0 && ring_[start_].last_index <= index) {
    bytes_ -= ring_[start_].bytes;
    start_ = (start_ + 1) % count_max_;
    --count_;
  }
  if (count_ == 0) {
    start_ = 0;
  }
}

void inflights::free_first_one() {
  if (count_ > 0) {
    free_le(ring_[start_].last_index);
  }
}

void inflights::reset() {
  start_ = 0;
  count_ = 0;
  bytes_ = 0;
}

bool inflights::full() const {
  return count_ == count_max_ || (bytes_max_ != 0 && bytes_ >= bytes_max_);
}

// --- progress --------------------------------------------------------------------------

progress::progress(node_id peer, index_t next_index, bool is_learner, uint32_t inflight_count_max,
                   uint64_t inflight_bytes_max)
    : id(peer),
      next(next_index),
      learner(is_learner),
      window(inflight_count_max, inflight_bytes_max) {
  CK_ASSERT_GE(next_index, 1u);
}

void progress::reset_state(progress_state to) {
  state = to;
  probe_sent = false;
  pending_snapshot = 0;
  window.reset();
}

void progress::become_probe() {
  // Out of snapshot state the follower has at least the snapshot (or will ask again).
  const index_t after_snapshot = state == progress_state::snapshot ? pending_snapshot + 1 : 0;
  reset_state(progress_state::probe);
  next = std::max(match + 1, after_snapshot);
  sent_commit = std::min(sent_commit, next - 1);
}

void progress::become_replicate() {
  reset_state(progress_state::replicate);
  next = match + 1;
  sent_commit = std::min(sent_commit, next - 1);
}

void progress::become_snapshot(index_t snapshot_index) {
  CK_ASSERT_GT(snapshot_index, match);
  reset_state(progress_state::snapshot);
  pending_snapshot = snapshot_index;
  next = snapshot_index + 1;
}

void progress::lost_log(index_t follower_last) {
  CK_ASSERT_LT(follower_last, match);
  match = follower_last;
  reset_state(progress_state::probe);
  next = match + 1;
  sent_commit = std::min(sent_commit, match);
}

bool progress::maybe_update(index_t index) {
  if (index <= match) {
    return false;
  }
  match = index;
  next = std::max(next, index + 1);
  probe_sent = false;
  return true;
}

bool progress::maybe_decrease_to(index_t rejected, index_t match_hint) {
  if (state == progress_state::replicate) {
    // Pipelined appends after a matched point: a rejection at or below match is stale.
    if (rejected <= match) {
      return false;
    }
    next = match + 1;  // send again from the known match (the caller moves to probe)
    sent_commit = std::min(sent_commit, next - 1);
    return true;
  }
  // In probe only the answer to the latest probe (sent from next - 1) counts.
  if (next - 1 != rejected) {
    return false;
  }
  next = std::max(std::min(rejected, match_hint + 1), match + 1);
  sent_commit = std::min(sent_commit, next - 1);
  probe_sent = false;
  return true;
}

void progress::sent_append(index_t last_index, size_t entry_count, uint64_t bytes, index_t commit) {
  switch (state) {
    case progress_state::replicate:
      if (entry_count > 0) {
        CK_ASSERT_EQ(last_index + 1, next + entry_count);
        next = last_index + 1;
        window.add(last_index, bytes);
      }
      break;
    case progress_state::probe:
      probe_sent = true;  // any append in probe is a probe: wait for its answer
      break;
    case progress_state::snapshot:
      CK_ASSERT(false);  // no append while the snapshot is pending
  }
  sent_commit = std::max(sent_commit, commit);
  append_wanted = false;
}

bool progress::paused() const {
  switch (state) {
    case progress_state::probe:
      return probe_sent;
    case progress_state::replicate:
      return window.full();
    case progress_state::snapshot:
      return true;
  }
  return true;
}

bool progress::can_bump_commit(index_t commit) const {
  return commit > sent_commit && sent_commit < next - 1;
}

void progress::check_invariants(index_t last_index) const {
  CK_ASSERT_LT(match, next);
  CK_ASSERT_LE(match, last_index);
  CK_ASSERT_LE(next, last_index + 1);
  if (state == progress_state::snapshot) {
    CK_ASSERT_GT(pending_snapshot, 0u);
  } else {
    CK_ASSERT_EQ(pending_snapshot, 0u);
  }
  if (state != progress_state::replicate) {
    CK_ASSERT_EQ(window.count(), 0u);
  }
}

}  // namespace ck::raft
