#pragma once

// The part of the log the shell has not yet persisted (etcd's log_unstable.go): entries
// appended since the last advance(), and possibly a snapshot received from the leader. It
// sits on top of log_storage: for an index at or past `offset()` it wins over storage, whose
// entries there may be stale until the shell persists this tail.

#include "runtime/raft/types.hpp"

#include <optional>
#include <vector>

namespace ck::raft {

class unstable_log {
 public:
  /// Requires: offset = the storage's last_index() + 1.
  explicit unstable_log(index_t offset) : offset_(offset) {}

  /// The index of entries()[0] (or where the next entry would go).
  index_t offset() const { return offset_; }
  const std::vector<entry>& entries() const { return entries_; }
  const std::optional<snapshot>& pending_snapshot() const { return snapshot_; }

  /// first_index() the log has when a snapshot is pending.
  std::optional<index_t> maybe_first_index() const;
  /// last_index() of the log when this tail holds entries or a snapshot.
  std::optional<index_t> maybe_last_index() const;
  /// The term of `i` when this tail knows it.
  std::optional<term_t> maybe_term(index_t i) const;

  /// Appends [begin, end) (contiguous), first dropping every entry at or after
  /// begin->index. Requires: a non-empty range; begin->index <=
  /// last known index + 1 (the caller checks against the whole log).
  void truncate_and_append(std::vector<entry>::const_iterator begin,
                           std::vector<entry>::const_iterator end);
  /// The leader's path: one entry at the end. Requires: e.index == maybe_last_index() + 1
  /// (or offset() when empty).
  void append(entry e);
  /// The shell persisted entries up to `i` with term `t` (ready/advance). Ignored when the
  /// tail changed meanwhile (the entry at i is gone or has another term): the newer
  /// entries are then handed out again.
  void stable_to(index_t i, term_t t);
  /// The shell persisted the pending snapshot with index `i`.
  void stable_snapshot_to(index_t i);
  /// Replaces everything by `snap`: entries are dropped, the next entry goes at index + 1.
  void restore(snapshot snap);
  /// Copies entries in [lo, hi) into `out` while they fit in bytes_max (at least one when
  /// `out` is empty). Requires: offset() <= lo <= hi <= offset() + entries().size().
  void slice(index_t lo, index_t hi, uint64_t bytes_max, uint64_t& bytes,
             std::vector<entry>& out) const;

  /// Aborts unless the tail's ends sit at offset() and offset() + size - 1 with ordered
  /// terms, and a pending snapshot sits right below offset(). O(1): contiguity and term
  /// order of every entry are asserted by the mutators, where they could break.
  void check_invariants() const;

 private:
  std::optional<snapshot> snapshot_;
  std::vector<entry> entries_;  // Invariant: entries_[k].index == offset_ + k.
  index_t offset_;
};

}  // namespace ck::raft
