#pragma once

// What a partition replica's state machine keeps beside its KV data: the last Raft index whose
// command is reflected in the "kv" database, written in the same write transaction as the data
// it covers, so a restart knows exactly which log entries to apply again.
// Layout: meta/"applied:" + u32_be group -> u64_be index (see storage/format.hpp).

#include <cstdint>

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

}  // namespace ck::storage
