#pragma once

// An in-memory log_storage (like etcd's MemoryStorage): the double the unit tests and the
// deterministic simulator persist into. "Persisting" is a method call, so a simulated crash
// is modelled by the caller (e.g. keep a copy of the storage as of the last fsync).
//
// Layout: entries_[0] is a dummy standing for the snapshot's last entry (index and term
// only), so term(first_index() - 1) is always available; real entries follow, contiguous.
// Not thread-safe.

#include "runtime/raft/log_storage.hpp"

#include <string>
#include <vector>

namespace ck::raft {

class memory_log_storage final : public log_storage {
 public:
  /// A founding replica's storage: `founding` (the same for every founder) is persisted
  /// as make_bootstrap() says: committed conf_change entries 1..n of term 1, hard state
  /// {1, none, n}. Empty (the default): a node joining an existing group, which learns
  /// the membership from the leader's log or snapshot.
  explicit memory_log_storage(const conf_state& founding = {});

  hard_state initial_hard_state() const override { return hard_; }
  conf_state initial_conf_state() const override { return conf_; }
  /// Appends to `out`.
  log_error entries(index_t lo, index_t hi, uint64_t bytes_max,
                    std::vector<entry>& out) const override;
  log_error term(index_t i, term_t& out) const override;
  index_t first_index() const override;
  index_t last_index() const override;
  snapshot current_snapshot() const override { return snapshot_; }

  /// Persists ready::entries: entries at or below the snapshot are skipped (already
  /// covered); an entry at an existing index replaces it and everything after it.
  /// Requires: indices contiguous; the first at most last_index() + 1.
  void append(const std::vector<entry>& entries);
  void set_hard_state(const hard_state& hard) { hard_ = hard; }
  /// The membership after the shell applied a conf change (node::apply_conf_change).
  void set_conf_state(conf_state conf) { conf_ = std::move(conf); }
  /// Persists ready::snap: the log becomes exactly the snapshot (entries are dropped).
  /// Returns false, changing nothing, when `snap` is not newer than the current snapshot.
  bool apply_snapshot(snapshot snap);
  /// Records the state machine image as of `index` (the caller's applied index) with the
  /// membership `conf` of that index. Returns false when `index` is not past the current
  /// snapshot. Requires: index <= last_index().
  bool create_snapshot(index_t index, conf_state conf, std::string data);
  /// Discards entries up to and including `index`, which the snapshot must cover. Returns
  /// false when they were already discarded. Requires: index <= current snapshot index.
  bool compact(index_t index);

 private:
  /// Position of `i` in entries_. Requires: first_index() - 1 <= i <= last_index().
  size_t position(index_t i) const;

  hard_state hard_;
  conf_state conf_;
  snapshot snapshot_;
  std::vector<entry> entries_;  // Invariant: non-empty; entries_[k].index == entries_[0].index + k.
};

}  // namespace ck::raft
