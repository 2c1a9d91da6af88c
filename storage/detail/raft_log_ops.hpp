#pragma once

// Internal: the LMDB work of the Raft log store (storage/raft_log_store.hpp) on the
// "raft_log" and "raft_state" databases: loading groups at open, reading entries and terms
// in a read transaction, and applying one group_write inside the write transaction.
// Threads: whichever thread uses the transaction.

#include <cstdint>
#include <map>
#include <vector>

#include "runtime/raft/log_storage.hpp"
#include "runtime/raft/types.hpp"
#include "storage/format.hpp"
#include "storage/raft_log_store.hpp"
#include "storage/status.hpp"

namespace ck::storage {
class read_txn;
class write_txn;
}  // namespace ck::storage

namespace ck::storage::detail {

// What is stored for one group, as of one transaction.
// Invariants (check_invariants): first.first_index >= 1; last_index >= first.first_index - 1;
// an empty log (last_index == first.first_index - 1) has last_term == first.prev_term;
// first.prev_term <= last_term; first.first_index - 1 <= snapshot.index; no snapshot
// (index 0) means first == {1, 0}; hard.commit <= last_index.
struct raft_group_state {
  raft::hard_state hard;
  raft::snapshot_meta snapshot;  // index 0: none
  raft_first_index first;
  raft::index_t last_index = 0;
  raft::term_t last_term = 0;

  bool empty_log() const noexcept { return last_index + 1 == first.first_index; }
  // More than a term and a vote: entries, a snapshot or a commit index. Neither nothing nor
  // what drop_group leaves (its tombstone), nor a replica that has only heard of a term.
  bool holds_log() const noexcept {
    return !empty_log() || snapshot.index != 0 || first.first_index != 1 || hard.commit != 0;
  }
};

// Aborts when `state` breaks an invariant above (a bug in this layer).
void check_invariants(const raft_group_state& state);

// A group as open() finds it: its state and the tail of its log for the cache.
struct loaded_group {
  raft_group_state state;
  std::vector<raft::entry> tail;  // the last entries, within the options' cache limits
};

// Reads every group stored in the environment (see raft_log_store::open for the failures).
result<std::map<raft::group_id, loaded_group>> load_groups(read_txn& txn,
                                                           const raft_log_store_options& options);

// raft::log_storage::entries of `group` answered from the snapshot `txn` alone, appended to
// `out` (left as it was unless the answer is none). compacted / unavailable are decided by the
// first index record and the highest key of the group in that snapshot. Requires: lo <= hi.
result<raft::log_error> read_entries(read_txn& txn, raft::group_id group, raft::index_t lo,
                                     raft::index_t hi, uint64_t bytes_max,
                                     std::vector<raft::entry>& out);

// raft::log_storage::term of `group` answered from the snapshot `txn` alone.
result<raft::log_error> read_term(read_txn& txn, raft::group_id group, raft::index_t index,
                                  raft::term_t& out);

// Applies `change` to `txn` and to `state` (the group as of the earlier writes of `txn`), as
// group_write documents. Returns whether a snapshot in `change` kept the entries after it (for
// the cache), or the failure (corruption, or a failed LMDB write that spoils `txn`).
// Requires: the group_write requirements (asserted); change.group is the state's group.
result<bool> apply_group_write(write_txn& txn, const group_write& change, raft_group_state& state);

// Records `meta` of a snapshot taken from this log (record_snapshot()), dropping nothing.
// Requires: as raft_log_store::record_snapshot (the term is checked against the stored entry).
status apply_record_snapshot(write_txn& txn, raft::group_id group, const raft::snapshot_meta& meta,
                             raft_group_state& state);

// Deletes the entries of `group` below `index` (compact()). Requires: as raft_log_store::compact.
status apply_compact(write_txn& txn, raft::group_id group, raft::index_t index,
                     raft_group_state& state);

// Deletes the group's entries and records, then stores `kept` as its hard state unless it is
// empty (the tombstone of raft_log_store::drop_group).
status apply_drop(write_txn& txn, raft::group_id group, const raft::hard_state& kept);

}  // namespace ck::storage::detail
