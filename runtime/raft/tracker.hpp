#pragma once

// The membership and the leader's view of every member (etcd's tracker/tracker.go): one
// progress per voter and learner, the votes of an election, and the quorum questions
// asked of them (commit index, quorum active, vote outcome). Learners are tracked for
// replication but never counted.

#include "runtime/raft/progress.hpp"
#include "runtime/raft/quorum.hpp"
#include "runtime/raft/types.hpp"

#include <cstdint>
#include <utility>
#include <vector>

namespace ck::raft {

enum class conf_check : uint8_t {
  ok,
  node_missing,  // the change names node 0
  last_voter,    // it would remove or demote the last voter
};

class progress_tracker {
 public:
  progress_tracker(uint32_t inflight_msgs_max, uint64_t inflight_bytes_max);

  /// Replaces the membership (start, snapshot restore); members start at next_index.
  void reset(const conf_state& conf, index_t next_index);
  /// A new leader's view: every member probes from next_index, nothing known matched.
  void reset_progress(index_t next_index);

  const conf_state& conf() const { return conf_; }
  bool is_voter(node_id id) const;
  /// A member and not a voter.
  bool is_learner(node_id id) const;
  progress* find(node_id id);
  const progress* find(node_id id) const;
  /// Every member's progress, sorted by id (a deterministic order for the simulator).
  std::vector<progress>& members() { return progress_; }
  const std::vector<progress>& members() const { return progress_; }

  /// Whether `change` may be applied to the current membership.
  conf_check check_change(const conf_change& change) const;
  /// Requires: check_change(change) == ok. A new member starts at next_index.
  void apply_change(const conf_change& change, index_t next_index);

  /// The largest index a majority of voters stored (their match); the leader's own match
  /// counts like any other. 0 without voters.
  index_t committed_index() const;
  /// Whether a majority of voters was heard from since the last reset_recent_active.
  bool quorum_active() const;
  /// Starts a new CheckQuorum period; `self` stays active.
  void reset_recent_active(node_id self);

  void reset_votes() { votes_.clear(); }
  /// Records the first answer of each voter; answers of non-voters are ignored.
  void record_vote(node_id id, bool granted);
  vote_result vote_outcome() const;
  /// The outcome of a round in which `acks` answered yes (ReadIndex heartbeats).
  vote_result tally_acks(const std::vector<node_id>& acks) const;

  /// Aborts unless voters and learners are disjoint, sorted, and match the progress list;
  /// with `last_index` (the leader's), checks every progress.
  void check_invariants(index_t last_index, bool check_progress) const;

 private:
  void add_progress(node_id id, bool learner, index_t next_index);

  uint32_t inflight_msgs_max_;
  uint64_t inflight_bytes_max_;
  conf_state conf_;                              // Invariant: sorted, disjoint.
  std::vector<progress> progress_;               // Invariant: one per member, sorted by id.
  std::vector<std::pair<node_id, bool>> votes_;  // Invariant: voters only, once each.
  mutable std::vector<index_t> match_scratch_;   // reused by committed_index()
};

}  // namespace ck::raft
