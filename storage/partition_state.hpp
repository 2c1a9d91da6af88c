#pragma once

// What a partition replica's state machine keeps beside its KV data: the last Raft index whose
// command is reflected in the "kv" database, written in the same write transaction as the data
// it covers, so a restart knows exactly which log entries to apply again.
// Layout: meta/"applied:" + u32_be group -> u64_be index (see storage/format.hpp).

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "storage/status.hpp"

namespace ck::storage {

class environment;
class read_txn;
class write_txn;

/// The stored applied index of `group`, 0 when none is stored (a new replica).
/// Reads in its own read transaction. Any thread.
result<uint64_t> load_partition_applied(environment& env, uint32_t group);
/// The same, as `txn` sees it.
result<uint64_t> load_partition_applied(read_txn& txn, uint32_t group);

/// Records `index` as the applied index of `group` inside `txn`.
status save_partition_applied(write_txn& txn, uint32_t group, uint64_t index);

/// Forgets the applied index of `group` (the replica was removed from this node).
status erase_partition_applied(write_txn& txn, uint32_t group);

/// The state machine names stored in meta/"machines" (storage/format.hpp); nullopt when the
/// record is absent; corruption when it does not decode.
result<std::optional<std::vector<std::string>>> load_machine_names(environment& env);

/// Stores `names` as meta/"machines", in its own write transaction.
/// Requires: each name 1..255 bytes.
status save_machine_names(environment& env, const std::vector<std::string>& names);

}  // namespace ck::storage
