#pragma once

// What a Raft group replicates: the group actor applies every committed command, in log order
// and exactly once per index, and moves snapshots between replicas as streams of chunks.
// Called only from the group actor that owns it (one thread at a time); implementations need
// no locking of their own. The one exception is a durable machine's log_txn_apply(): the log
// writer runs it on its own thread, while the group waits for the writer's answer.
//
// Snapshot transfer (actors/raft_group.hpp): the leader opens read_snapshot() (one consistent
// view, as of the last index applied) and sends its chunks one at a time; the follower stages
// them through a sink from begin_restore() beside its live state, and only when every chunk
// arrived and the leader's install_snapshot message is stepped does install_restored() swap
// the staged state in, atomically. The data may reflect MORE entries than the Raft snapshot it
// travels for (the leader kept applying after the snapshot was recorded): `applied` says how
// many, and the group never hands the machine an index at or below what it reflects.

#include "runtime/raft/types.hpp"
#include "storage/status.hpp"

#include <cstddef>
#include <memory>
#include <string>
#include <vector>

namespace ck::storage {
class write_txn;
}

namespace ck::actors {

/// A durable machine whose applies can join the node's Raft log write (actors/raft_log_writer.hpp):
/// the committed commands of a ready are applied inside the same LMDB transaction that persists
/// the ready's log entries and hard state, so a ready costs one transaction and one sync in all.
class log_txn_applier {
 public:
  virtual ~log_txn_applier() = default;
  /// Applies consecutive committed commands (same rules as apply_batch) inside `txn`, recording
  /// the last one's index as applied, and returns one result per command. Runs on the writer's
  /// thread while the owning group waits; runs again from the start when the writer retries the
  /// transaction. A storage failure is returned and fails the whole transaction.
  virtual storage::result<std::vector<std::string>> log_txn_apply(
      storage::write_txn& txn, const std::vector<const raft::entry*>& entries) = 0;
};

/// One consistent snapshot of a state machine, read as a sequence of chunks.
class snapshot_source {
 public:
  virtual ~snapshot_source() = default;
  /// The last index the data reflects.
  virtual raft::index_t applied() const = 0;
  /// The next chunk: about `max_bytes` (one record may make it longer). Requires: !done().
  virtual std::string next_chunk(size_t max_bytes) = 0;
  /// True once every chunk was returned (a machine with no data returns one empty chunk first).
  virtual bool done() const = 0;
};

/// Stages the chunks of one snapshot beside the live state.
class snapshot_sink {
 public:
  virtual ~snapshot_sink() = default;
  /// Stages one chunk, in order. False: the bytes are not this machine's format (the transfer
  /// is abandoned; the live state is untouched).
  virtual bool write(const std::string& chunk) = 0;
};

class replicated_state_machine {
 public:
  virtual ~replicated_state_machine() = default;
  /// Applies the command committed at `index` and returns the result the proposer receives.
  /// Requires: index is above every index applied or installed before (gaps are the leader's
  /// no-ops and conf changes, which are not handed here).
  virtual std::string apply(raft::index_t index, const std::string& command) = 0;
  /// Applies consecutive committed commands (one ready's, in log order; no gaps but those of
  /// apply()) and returns one result per command. The default applies them one by one; a
  /// durable machine overrides it to write them in one storage transaction.
  /// Requires: !entries.empty(), entries in increasing index order.
  virtual std::vector<std::string> apply_batch(const std::vector<const raft::entry*>& entries);
  /// Non-null for a machine whose applies may run inside the log writer's transaction instead
  /// of apply_batch() (the default: none; applies then run on the group actor).
  virtual log_txn_applier* txn_applier() { return nullptr; }
  /// Tells the machine that the command `e` is applied for good (its result `result`), after
  /// the transaction holding the apply committed: called once per command, in log order,
  /// before the proposer is answered. Default: nothing.
  virtual void applied(const raft::entry& e, const std::string& result) {
    (void)e;
    (void)result;
  }
  /// Opens a consistent view of the state as of the last index applied.
  virtual std::unique_ptr<snapshot_source> read_snapshot() = 0;
  /// Starts staging a snapshot, discarding anything staged before. The sink is used before
  /// the next call of any other method.
  virtual std::unique_ptr<snapshot_sink> begin_restore() = 0;
  /// Replaces the live state with what the last sink staged (all chunks written), which
  /// reflects entries up to `applied` (the source's applied()), in one atomic step. False
  /// when it could not (the disk is full): nothing changed, the transfer is dropped and the
  /// leader sends the snapshot again later.
  virtual bool install_restored(raft::index_t applied) = 0;
};

/// A state machine small enough to snapshot as one in-memory image (the meta group, tests):
/// chunks are slices of snapshot(); the sink collects them and install_restored() calls
/// restore() with the whole image.
class image_state_machine : public replicated_state_machine {
 public:
  /// Applies the command (apply_command) and remembers the index for read_snapshot().
  std::string apply(raft::index_t index, const std::string& command) final;
  /// What apply() does for the derived machine; same contract.
  virtual std::string apply_command(raft::index_t index, const std::string& command) = 0;
  /// The whole state as one image, as of the last index applied.
  virtual std::string snapshot() = 0;
  /// Replaces the whole state with `image` (taken by snapshot() on some replica).
  virtual void restore(const std::string& image) = 0;

  std::unique_ptr<snapshot_source> read_snapshot() final;
  std::unique_ptr<snapshot_sink> begin_restore() final;
  bool install_restored(raft::index_t applied) final;

 private:
  raft::index_t last_applied_ = 0;  // the last index applied or installed
  std::shared_ptr<std::string> staged_;  // the image being received
};

}  // namespace ck::actors
