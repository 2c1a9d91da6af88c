#pragma once

// What the leader knows about one follower's log, and the flow control of appends to it
// (etcd's tracker/progress.go and inflights.go).
//
//   probe      the leader does not know where the follower's log matches; it sends one
//              append per heartbeat interval and moves `next` down on each rejection.
//   replicate  the position is known; appends are pipelined (next is moved optimistically
//              past what was sent), bounded by the inflight window.
//   snapshot   the follower needs entries the leader compacted; it waits for the snapshot.

#include "runtime/raft/types.hpp"

#include <cstdint>
#include <string_view>
#include <vector>

namespace ck::raft {

enum class progress_state : uint8_t { probe, replicate, snapshot };
std::string_view to_string(progress_state state);

/// The appends in flight to one follower, oldest first: the last index each carried and
/// its bytes. A ring of fixed capacity (allocated once), so a busy follower costs no
/// allocation per message.
class inflights {
 public:
  /// Requires: count_max >= 1. bytes_max 0: no byte limit.
  inflights(uint32_t count_max, uint64_t bytes_max);

  /// Requires: !full(); last_index above the newest in flight.
  void add(index_t last_index, uint64_t bytes);
  /// The follower acknowledged up to `index`: frees every append that ended there or below.
  void free_le(index_t index);
  /// Frees the oldest append (a heartbeat answer shows the follower is alive while the
  /// window is full, so one more append may go).
  void free_first_one();
  void reset();

  bool full() const;
  uint32_t count() const { return count_; }
  uint64_t bytes() const { return bytes_; }

 private:
  struct slot {
    index_t last_index = 0;
    uint64_t bytes = 0;
  };
  std::vector<slot> ring_;  // capacity count_max, allocated on first use
  uint32_t count_max_;
  uint64_t bytes_max_;
  uint32_t start_ = 0;
  uint32_t count_ = 0;  // Invariant: count_ <= count_max_.
  uint64_t bytes_ = 0;  // Invariant: the sum of the slots' bytes.
};

struct progress {
  progress(node_id peer, index_t next_index, bool is_learner, uint32_t inflight_count_max,
           uint64_t inflight_bytes_max);

  node_id id;
  index_t match = 0;  // Invariant: match < next. The follower's log equals ours up to here.
  index_t next;       // The next index to send.
  progress_state state = progress_state::probe;
  /// Snapshot state: the index of the snapshot sent. Invariant: 0 in other states.
  index_t pending_snapshot = 0;
  /// Heard from since the leader's last quorum check (CheckQuorum).
  bool recent_active = false;
  /// Probe state: an append is out; wait for its answer or for a heartbeat answer.
  bool probe_sent = false;
  bool learner;
  /// The highest commit index sent; an empty append is worth sending only above it.
  index_t sent_commit = 0;
  /// A heartbeat answer showed the follower behind: send at least one (possibly empty)
  /// append, whose rejection reveals a lost pipelined append. Cleared by sent_append.
  bool append_wanted = false;
  inflights window;

  void become_probe();
  void become_replicate();
  /// Requires: snapshot_index > match.
  void become_snapshot(index_t snapshot_index);

  /// The follower stored everything up to `index`. Returns false for a stale answer.
  bool maybe_update(index_t index);
  /// The follower rejected the append after `rejected`; `match_hint` is where its log may
  /// match. Returns false (changing nothing) when the rejection is stale: it answers an
  /// append sent before the leader's view moved on.
  bool maybe_decrease_to(index_t rejected, index_t match_hint);
  /// The follower's log ends at `follower_last`, below match: it lost the rest (a replica
  /// started again empty under its id). Back to probe from there. Requires: follower_last <
  /// match.
  void lost_log(index_t follower_last);
  /// An append went out with `entry_count` entries ending at `last_index`, carrying commit.
  void sent_append(index_t last_index, size_t entry_count, uint64_t bytes, index_t commit);
  /// Whether another append must wait (probe out, window full, or a snapshot pending).
  bool paused() const;
  /// Whether sending `commit` could move the follower's commit index (worth an empty
  /// append): its commit can reach next - 1 at most.
  bool can_bump_commit(index_t commit) const;

  /// Aborts unless the fields satisfy their invariants; `last_index` is the leader's.
  void check_invariants(index_t last_index) const;

 private:
  void reset_state(progress_state to);
};

}  // namespace ck::raft
