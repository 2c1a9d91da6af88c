#pragma once

// A startup check: every partition replica's data must reach its Raft snapshot.
//
// The log store keeps a snapshot's meta only; the snapshot's data is the partition's tables,
// whose stored applied index (storage/partition_state.hpp) says how far they reflect the log.
// A group restarts from max(applied, snapshot), and the entries below the snapshot are gone:
// data applied through A < S would silently miss whatever the commands in (A, S] did. The
// writer orders things so this never happens (a snapshot is recorded only after its group's
// data up to it is committed), so a store that breaks it was damaged, or written by a build
// older than baed5db, which could record a snapshot at an entry the machines never see (a new
// leader's empty entry) above the last command. Either way the node must not run the replica;
// it says so in one line rather than failing an assertion inside the group.

#include "storage/status.hpp"

namespace ck::storage {

class environment;
class raft_log_store;

/// Success when, for every partition group (id >= 1) in `store` with a snapshot, the applied
/// index stored in `env` is at least the snapshot's index; otherwise corruption naming the
/// first such partition ("partition-N", the group id minus one) and both indexes. Failures
/// reading the applied index as load_partition_applied returns them.
status check_snapshots_covered(environment& env, raft_log_store& store);

}  // namespace ck::storage
