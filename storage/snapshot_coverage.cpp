#include "storage/snapshot_coverage.hpp"

#include "storage/environment.hpp"
#include "storage/partition_state.hpp"
#include "storage/raft_log_store.hpp"

#include <fmt/format.h>

namespace ck::storage {

status check_snapshots_covered(environment& env, raft_log_store& store) {
  result<read_txn> txn = env.begin_read();  // one for all groups: a node may host a thousand
  if (!txn.ok()) {
    return txn.status();
  }
  for (const raft::group_id group : store.groups()) {
    if (group == 0) {
      continue;  // the meta group: its machine restores from the snapshot itself
    }
    const raft::index_t snapshot = store.group(group).current_snapshot().meta.index;
    if (snapshot == 0) {
      continue;
    }
    auto applied = load_partition_applied(txn.value(), static_cast<uint32_t>(group));
    if (!applied.ok()) {
      return applied.status();
    }
    if (applied.value() < snapshot) {
      return status::corruption(fmt::format(
          "partition-{}'s data is applied through index {}, below its Raft snapshot at {}; the "
          "entries in between are compacted, so this replica cannot be completed (written by a "
          "build older than baed5db, or damaged): remove this node (POST /leave?node=<id>) and "
          "join a new one with an empty DATA_DIR (docs/operations.md)",
          group - 1, applied.value(), snapshot));
    }
  }
  return status::success();
}

}  // namespace ck::storage
