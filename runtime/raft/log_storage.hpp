#pragma once

// The log as the Raft core reads it: entries the shell has made stable (persisted) plus the
// latest snapshot. The core never writes through this interface; the shell persists what
// ready() hands it (entries, hard state, snapshot) and only then calls advance(). Two
// implementations: raft::memory_log_storage (tests, simulation) and the LMDB log store.
//
// Layout: a snapshot covers [1, first_index() - 1]; entries cover [first_index(),
// last_index()]; term(first_index() - 1) is the snapshot's term (always available).

#include "runtime/raft/types.hpp"

#include <cstdint>
#include <vector>

namespace ck::raft {

enum class log_error : uint8_t {
  none = 0,
  compacted = 1,    // the index is covered by the snapshot: send the snapshot instead
  unavailable = 2,  // the index is past last_index()
};

class log_storage {
 public:
  virtual ~log_storage() = default;

  /// The state persisted at the last start (hard state and membership).
  virtual hard_state initial_hard_state() const = 0;
  /// The membership as of any index from first_index() - 1 up to config::applied: the
  /// snapshot's, or the one node::apply_conf_change last returned. The node replays the conf
  /// changes the log holds up to config::applied on top of it, so either is right.
  virtual conf_state initial_conf_state() const = 0;

  /// Entries in [lo, hi), at least one when lo < hi and lo is available, then as many as fit
  /// in bytes_max (entry_bytes). Requires: lo <= hi. Errors: compacted (lo < first_index()),
  /// unavailable (hi > last_index() + 1). The core always passes an empty `out`.
  virtual log_error entries(index_t lo, index_t hi, uint64_t bytes_max,
                            std::vector<entry>& out) const = 0;

  /// The term of entry i, for i in [first_index() - 1, last_index()].
  virtual log_error term(index_t i, term_t& out) const = 0;

  virtual index_t first_index() const = 0;
  virtual index_t last_index() const = 0;

  /// The latest snapshot (empty when none was taken).
  virtual snapshot current_snapshot() const = 0;
};

}  // namespace ck::raft
