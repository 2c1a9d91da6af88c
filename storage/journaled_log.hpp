#pragma once

// The Raft log store with the write-ahead journal in front of it (the journal design of
// docs/performance.md, sessions 15-16; the node's default write path, storage.journal).
//
// write() stages a batch into one LMDB write transaction kept open across batches
// (raft_log_store::stage: readers of the store see it at once) and appends it to the journal as
// one flush record (storage/flush_record.hpp); with `sync` the journal is synced, and from then
// on the batch survives a crash: one sequential write and one fdatasync per batch, where a
// commit of its own would write and sync LMDB's scattered pages. checkpoint() commits the open
// transaction together with the journal position it covers (meta/"journal_checkpoint"), syncs
// the environment, and drops the journal segments before that position. open() takes the
// environment as of the last checkpoint and replays the journal after it, so a restart finds
// every batch a synced write() returned for (and possibly later ones that reached the disk).
//
// Failures: a failed write() or checkpoint() leaves the object broken (every later call fails
// with the first failure): the views of the store may then be ahead of both the journal and
// LMDB, and only a reopen (a restart, which replays the journal) puts them right.
//
// Threads: one caller at a time (the log writer). Requires: while the object lives, nothing
// else writes the store's environment except through open_transaction() (a second writer
// would wait for the open transaction until the next checkpoint).

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "storage/environment.hpp"
#include "storage/journal.hpp"
#include "storage/raft_log_store.hpp"
#include "storage/status.hpp"

namespace ck::storage {

class journaled_log {
  struct private_tag {};

 public:
  // Replays the journal in `dir` after the checkpoint recorded in `env` into `store` and
  // commits the result as a checkpoint. Returns the object, or: corruption (journal::open's
  // cases, a record that is not a flush record, or a replayed batch the store refuses);
  // the failures of the environment and the store. Requires: `env` and `store` outlive it.
  static result<std::unique_ptr<journaled_log>> open(environment& env, raft_log_store& store,
                                                     const std::string& dir,
                                                     journal_recovery* found = nullptr);

  journaled_log(private_tag, environment& env, raft_log_store& store,
                std::unique_ptr<journal> wal);
  journaled_log(const journaled_log&) = delete;
  journaled_log& operator=(const journaled_log&) = delete;
  // Aborts an open transaction: what it held is in the journal, and the next open replays it.
  ~journaled_log();

  // Stages `batch` (begins a transaction when none is open), runs `also` in the same
  // transaction (applies), appends the batch to the journal and, with `sync`, syncs it.
  // Returns success (the batch is durable if `sync`, or once a later synced write() or
  // checkpoint() returns); invalid_argument from the store's checks (nothing changed, the
  // object stays usable); any other failure breaks the object.
  status write(const std::vector<group_write>& batch, bool sync,
               const std::function<status(write_txn&)>& also = {});

  // Stages `batch` and runs `also` as write() does, but appends nothing to the journal: for
  // batches a restart may lose, whose hard states change only the commit index
  // (raft::ready::must_sync false: a quorum holds the commit, a restarted replica learns it
  // again). They reach the disk with the next checkpoint; a crash before it loses them, and
  // the replay does not miss them: every hard state a later write() journals is complete
  // (term, vote, commit) and not below theirs, and applies are never journaled (the state
  // machines resume from the applied index the last checkpoint committed). Returns as write().
  status stage(const std::vector<group_write>& batch,
               const std::function<status(write_txn&)>& also = {});

  // Commits the open transaction with the journal position it covers, syncs the environment
  // and releases the journal before that position. No-op without an open transaction.
  status checkpoint();

  // The open transaction (nullptr when none): for writes that must commit with the next
  // checkpoint (they are not journaled, so only what the journal replays may depend on them).
  write_txn* open_transaction() { return txn_ ? &*txn_ : nullptr; }
  // Journal bytes appended since the last checkpoint.
  uint64_t bytes_since_checkpoint() const { return bytes_since_checkpoint_; }
  // Where the journal continues.
  journal_position journal_end() const { return wal_->end(); }
  // The failure that broke the object (success while it works).
  const status& failure() const { return failure_; }

 private:
  status broken(status failure);

  environment& env_;
  raft_log_store& store_;
  std::unique_ptr<journal> wal_;
  std::optional<write_txn> txn_;
  uint64_t bytes_since_checkpoint_ = 0;
  status failure_;  // the first failure; every later call returns it
};

// Free disk space a writer should see before it appends `batch_bytes` more to a journaled_log
// holding `bytes_since_checkpoint` since its last checkpoint: room for the append, for the next
// checkpoint's LMDB commit (its pages: bounded here by twice the journal bytes it covers, plus
// `floor_bytes` for the page overhead of small writes), and for a restart's replay of it.
// Writers refuse batches below it (a full disk, not a broken journal: an append or commit that
// meets ENOSPC breaks the object).
// 8 MiB of floor: 2,000 pages, more than a checkpoint of small writes dirties here (50 ms).
constexpr uint64_t journal_space_floor_bytes = uint64_t{8} << 20;
constexpr uint64_t journal_space_needed(uint64_t bytes_since_checkpoint, uint64_t batch_bytes,
                                        uint64_t floor_bytes = journal_space_floor_bytes) {
  return floor_bytes + 2 * (bytes_since_checkpoint + batch_bytes);
}

// The journal position of the last checkpoint stored in `env` ({1, 0} when none was).
// corruption when the record is malformed; io_error.
result<journal_position> load_journal_checkpoint(environment& env);

}  // namespace ck::storage
