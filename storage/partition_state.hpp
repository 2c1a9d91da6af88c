#pragma once

// What a partition replica's state machine keeps beside its KV data: the last Raft index whose
// command is reflected in the "kv" database, written in the same write transaction as the data
// it covers, so a restart knows exactly which log entries to apply again.
// Layout: meta/"applied:" + u32_be group -> u64_be index (see storage/format.hpp).
//
// Also, while a replica receives a Raft snapshot, a "staged snapshot" record: which snapshot is
// being streamed into the group's staging partition of "kv" (kv_staging_partition in
// storage/format.hpp) and how far, written in the same write transaction as each chunk, so a
// restart knows whether the staging area holds a usable prefix of that snapshot.
// Layout: meta/"staged:" + u32_be group -> 3 x u64_be (24 bytes; see storage/format.hpp).

#include <cstdint>
#include <optional>

#include "storage/status.hpp"

namespace ck::storage {

class environment;
class write_txn;

/// The stored applied index of `group`, 0 when none is stored (a new replica).
/// Reads in its own read transaction. Any thread.
result<uint64_t> load_partition_applied(environment& env, uint32_t group);

/// Records `index` as the applied index of `group` inside `txn`.
status save_partition_applied(write_txn& txn, uint32_t group, uint64_t index);

/// Forgets the applied index of `group` (the replica was removed from this node).
status erase_partition_applied(write_txn& txn, uint32_t group);

/// The snapshot being received into the staging partition of a group.
struct staged_snapshot {
  uint64_t snapshot_index = 0;  // the Raft index the snapshot covers
  uint64_t snapshot_term = 0;   // the term of the entry at snapshot_index
  // How much of the snapshot's data the staging partition holds, in the caller's own unit (e.g.
  // the offset of the next chunk); storage only stores it.
  uint64_t data_applied = 0;

  friend bool operator==(const staged_snapshot& a, const staged_snapshot& b) {
    return a.snapshot_index == b.snapshot_index && a.snapshot_term == b.snapshot_term &&
           a.data_applied == b.data_applied;
  }
};

/// Records `value` as the staged snapshot of `group` inside `txn`, replacing any earlier one.
/// Returns success; failures spoil txn as for kv_put. Requires: txn.active().
status save_staged_snapshot(write_txn& txn, uint32_t group, const staged_snapshot& value);

/// The stored staged snapshot of `group`; nullopt when none is stored. Reads in its own read
/// transaction. Returns corruption when the stored record is not exactly 24 bytes; io_error.
/// Any thread.
result<std::optional<staged_snapshot>> load_staged_snapshot(environment& env, uint32_t group);

/// Forgets the staged snapshot of `group` (installed, abandoned, or the replica removed); success
/// when none was stored. Failures spoil txn as for kv_put. Requires: txn.active().
status erase_staged_snapshot(write_txn& txn, uint32_t group);

}  // namespace ck::storage
