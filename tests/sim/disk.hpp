#pragma once

// The simulated disk of one node: everything that survives a crash. It holds the core's
// memory_log_storage (the log, the hard state and the latest snapshot, whose data is the
// state machine's image). Writes reach it only when the shell persists a ready, so a crash
// before that loses them, exactly as an unsynced write would be lost.

#include "runtime/raft/log_storage.hpp"
#include "runtime/raft/memory_log_storage.hpp"
#include "runtime/raft/node.hpp"

#include <memory>

namespace ck::sim {

class disk {
 public:
  /// A fresh disk: bootstrapped with `voters` for a founding member, empty for a node that
  /// joins later (it learns the membership from the leader's snapshot or log).
  explicit disk(const raft::conf_state& bootstrap);

  const raft::log_storage& storage() const { return storage_; }

  /// Step 1 of the ready contract: snapshot, then entries, then hard state (one atomic write,
  /// as the LMDB shell does in one transaction). Returns whether rd.snap was installed (the
  /// storage refuses a snapshot that is not newer than its own).
  bool persist(const raft::ready& rd);

  /// Stores a snapshot of the state machine at `index` and drops log entries up to
  /// `compact_index` (<= index), and records the snapshot's membership as the durable one.
  /// Returns false when `index` is not newer than the snapshot.
  bool take_snapshot(raft::index_t index, const raft::conf_state& conf, std::string image,
                     raft::index_t compact_index);

  raft::snapshot snapshot() const { return storage_.current_snapshot(); }
  /// A returning replica's tombstone: the hard state it starts from, with no log.
  void seed_hard_state(const raft::hard_state& hard) { storage_.set_hard_state(hard); }

 private:
  raft::memory_log_storage storage_;
};

}  // namespace ck::sim
