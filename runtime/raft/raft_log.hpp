#pragma once

// The replicated log as one node sees it (etcd's log.go): the stable part the shell
// persisted (log_storage, read only here), the unstable tail on top of it, and the commit
// and apply bookkeeping.
//
//   snapshot      stable (storage)          unstable tail (not yet persisted)
//   [1 .. f-1]    [f .. stable_last]        [offset .. last]
//                 ^ first_index()           ^ unstable().offset()     ^ last_index()
//
// Invariants (check_invariants): applied <= committed <= last_index(); committed >=
// first_index() - 1; terms never decrease along the log.

#include "runtime/raft/log_storage.hpp"
#include "runtime/raft/unstable_log.hpp"

#include <functional>
#include <optional>
#include <utility>
#include <vector>

namespace ck::raft {

class raft_log {
 public:
  /// Starts from what `storage` holds: committed = applied = first_index() - 1.
  explicit raft_log(const log_storage& storage);

  index_t first_index() const;
  index_t last_index() const;
  term_t last_term() const;
  /// The term of entry `i` in [first_index() - 1, last_index()]; compacted below,
  /// unavailable above.
  log_error term(index_t i, term_t& out) const;
  /// The term of `i`, or 0 when it is not available (0 is no entry's term).
  term_t term_or_zero(index_t i) const;
  bool match_term(index_t i, term_t t) const;
  /// Raft 5.4.1: a log ending at (last_index, last_term) is at least as up to date as ours.
  bool is_up_to_date(index_t last_index, term_t last_term) const;

  index_t committed() const { return committed_; }
  index_t applied() const { return applied_; }
  /// The last index the shell persisted that is still part of the log; committed entries
  /// are handed out for applying only up to here (apply only what is durable locally).
  index_t stable_last_index() const;
  const unstable_log& unstable() const { return unstable_; }

  /// A follower's append (Raft 5.3): when the entry at prev_index has prev_term, appends
  /// `entries` (skipping those already present, truncating at the first conflict), commits
  /// up to min(commit, last new index) and returns that last new index; else nullopt.
  std::optional<index_t> maybe_append(index_t prev_index, term_t prev_term, index_t commit,
                                      const std::vector<entry>& entries);
  /// The leader's append of its own entry. Requires: e.index == last_index() + 1.
  void append(entry e);
  /// The index of the first entry of `entries` that is not in the log with the same term
  /// (a conflict, or past the end); 0 when all are present.
  index_t find_conflict(const std::vector<entry>& entries) const;
  /// Fast back-off (etcd's findConflictByTerm): the largest index <= `index` whose term is
  /// <= `term`, with that term (0 when compacted or none).
  std::pair<index_t, term_t> find_conflict_by_term(index_t index, term_t term) const;

  /// Requires: i <= last_index(). A lower i is ignored (commit never falls).
  void commit_to(index_t i);
  /// Requires: committed() >= i >= applied().
  void applied_to(index_t i);
  void stable_to(index_t i, term_t t) { unstable_.stable_to(i, t); }
  void stable_snapshot_to(index_t i) { unstable_.stable_snapshot_to(i); }
  /// Replaces the log by `snap` (a follower behind the leader's first index).
  /// Requires: snap.meta.index > committed().
  void restore(snapshot snap);

  /// Copies entries in [lo, hi) into `out` (empty), at least one, then while they fit in
  /// bytes_max. Errors: compacted (lo < first_index()), unavailable (hi > last_index() + 1).
  log_error slice(index_t lo, index_t hi, uint64_t bytes_max, std::vector<entry>& out) const;
  /// Calls visit(e) for each entry in [lo, hi), reading pages of at most page_bytes, until
  /// visit returns false. Errors as slice(); none when all were visited or visit stopped.
  log_error scan(index_t lo, index_t hi, uint64_t page_bytes,
                 const std::function<bool(const entry&)>& visit) const;
  /// Whether committed entries wait to be handed out for applying.
  bool has_entries_to_apply() const;
  /// The next committed, durable, unapplied entries: (applied, min(committed, stable_last)].
  void entries_to_apply(uint64_t bytes_max, std::vector<entry>& out) const;

  /// Aborts on a broken invariant. Cost: the unstable tail plus a few term lookups.
  void check_invariants() const;

 private:
  index_t apply_limit() const;

  const log_storage& storage_;
  unstable_log unstable_;
  index_t committed_;  // Invariant: first_index() - 1 <= committed_ <= last_index().
  index_t applied_;    // Invariant: applied_ <= committed_.
};

}  // namespace ck::raft
