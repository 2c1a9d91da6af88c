#pragma once

// The changes made to the storage tables (storage/table.hpp) in a write transaction that is not
// committed yet, for readers on other threads: the read buffer of the planned journal design
// (docs/performance.md, session 15: the log writer keeps one LMDB transaction open between
// checkpoints, and answers a write once its apply is here, before LMDB has it).
//
// Generations. The writer records each change under the current generation. A checkpoint
// seals it (seal(): later changes get the next generation), commits the LMDB transaction, and
// calls committed(g): LMDB now holds every change of generations <= g, so the overlay drops
// them (a key changed again in a later generation keeps its later change).
//
// Reading without missing a change. A reader calls committed_generation() BEFORE it opens its
// read transaction, so that transaction holds at least the generations up to the number it got
// (`seen`), and passes `seen` with every question. The overlay answers only while it still
// holds every change above `seen`; once it has dropped a later generation (its committed()
// ran after the reader's number was taken), the answer is "retry": renew the read transaction
// with a fresh number and ask again. So every change is found in the overlay or in the reader's
// transaction, never in neither; checkpoints are tens of milliseconds apart, so retries are rare.
//
// Order. Changes are kept by their stored key (storage/format.hpp table_key: partition, form,
// then the key or its digest), the order table_list pages in, so a listing merges exactly,
// long keys included.
//
// Deferred materialisation (session 20). In the journal design the applies no longer write the
// open transaction at all: they record their changes here only (put/erase, note_applied), and
// the writer stages everything the overlay holds into LMDB every second or so (stage_into, then
// committed() once that checkpoint commits). A key written many times in between reaches LMDB
// once, and most checkpoints carry only the Raft log: with random keys every checkpoint used to
// rewrite most of the KV table's leaves. The changes' applied indexes are staged with them
// (note_applied), so LMDB's data and applied index always match; a restart applies the log
// again from there (the log is compacted only behind a staged applied index).
//
// Replacing a partition's data outside the writer (a snapshot installed, a replica removed):
// the changes the overlay holds for it are older than the new data and must never reach LMDB
// after it. The replacing thread, inside its write transaction (the writer holds none then),
// takes hold_staging() and mark(), commits, then discard()s the partition's changes up to the
// mark and lets go: the writer cannot stage in between, and readers see the old changes until
// the new data is committed, never older data.
//
// Threads: the writer methods from one thread at a time; the reader methods from any thread,
// concurrently with them.

#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <vector>

#include "storage/status.hpp"
#include "storage/table.hpp"

namespace ck::storage {

class table_overlay {
 public:
  // What the overlay knows of one key.
  struct change {
    std::optional<std::string> value;  // nullopt: erased
  };

  // Writer: (partition, key) was set to `value` / erased in the open transaction.
  void put(uint32_t partition, std::string_view key, std::string_view value);
  void erase(uint32_t partition, std::string_view key);
  // Writer: ends the current generation and returns it; the checkpoint about to commit holds
  // every change recorded so far.
  uint64_t seal();
  // Writer: the checkpoint of `generation` (a value seal() or stage_into() returned) has
  // committed. Generations at or below one already committed are accepted (a discard() may
  // have sealed past it meanwhile).
  void committed(uint64_t generation);

  // Writer: the changes recorded so far reflect `group`'s log through `index`.
  void note_applied(uint32_t group, uint64_t index);
  // Writer, inside its open transaction: seals the generation and stages every change held
  // and every applied index noted into `txn` (save_partition_applied); returns the generation
  // to pass to committed() once `txn` has committed. Waits while a replacement holds staging.
  result<uint64_t> stage_into(write_txn& txn);
  // What stage_into would stage now: changes, their key and value bytes, applied indexes.
  struct pending_figures {
    std::size_t changes = 0;
    uint64_t bytes = 0;
    std::size_t applied = 0;
    bool empty() const { return changes == 0 && applied == 0; }
  };
  pending_figures pending() const;

  // Any thread: the applied index noted for `group` and not committed to LMDB yet.
  std::optional<uint64_t> pending_applied(uint32_t group) const;

  // Replacing a partition's data (see above): stage_into() waits while the lock is held.
  std::unique_lock<std::mutex> hold_staging() { return std::unique_lock<std::mutex>(staging_); }
  // The newest change so far: discard() forgets the changes up to it.
  uint64_t mark() const;
  // Forgets the changes of `tables` and the applied index of `group` recorded up to `mark`;
  // readers that may have missed the new data are told to retry. Requires: hold_staging()
  // held, and the replacing transaction committed.
  void discard(const std::vector<uint32_t>& tables, uint32_t group, uint64_t mark);

  // Reader: the newest generation LMDB holds; take it before opening the read transaction.
  uint64_t committed_generation() const;
  // Reader: the overlay's change of (partition, key): nullopt when the key is unchanged since
  // the generation `seen` (read it from the transaction); `retry` set when the caller must
  // renew its transaction (see above).
  std::optional<change> get(uint32_t partition, std::string_view key, uint64_t seen,
                            bool& retry) const;

  // Reader: table_list over the one partition `partition` as the open transaction sees it:
  // `stored(after, limit)` must answer table_list(txn, {partition, partition}, after, limit) from
  // the reader's transaction. Keys erased in the overlay are left out, keys set in it merged in.
  // Returns the page, the status of `stored` when it fails, or nullopt for "retry".
  using stored_list = std::function<result<table_page>(
      const std::optional<table_cursor_position>& after, std::size_t limit)>;
  std::optional<result<table_page>> list(uint32_t partition,
                                         const std::optional<table_cursor_position>& after,
                                         std::size_t limit, uint64_t seen,
                                         const stored_list& stored) const;
  // Reader: the same over the partitions of `range`: `stored` answers table_list(txn, range,
  // after, limit), and `partition_of_key` says which partition a key it lists is stored in (a
  // page holds keys only; the caller's key placement knows).
  std::optional<result<table_page>> list(
      table_range range, const std::optional<table_cursor_position>& after, std::size_t limit,
      uint64_t seen, const stored_list& stored,
      const std::function<uint32_t(std::string_view)>& partition_of_key) const;

  // Reader: what the overlay changes in the number of keys of `range` that the reader's
  // transaction holds: +1 for each key set in the overlay that `stored_has(partition, key)`
  // says the transaction lacks, -1 for each erased one it holds. Returns the change, the
  // status of `stored_has` when it fails, or nullopt for "retry".
  using stored_contains = std::function<result<bool>(uint32_t partition, const std::string& key)>;
  std::optional<result<int64_t>> count_change(table_range range, uint64_t seen,
                                              const stored_contains& stored_has) const;

  // Changes held (for tests and metrics).
  std::size_t size() const;

 private:
  struct entry {
    uint32_t partition = 0;
    std::string user_key;
    std::optional<std::string> value;
    uint64_t generation = 0;
    uint64_t seq = 0;  // the order of the changes (mark(), discard())
  };
  struct applied_note {
    uint64_t index = 0;
    uint64_t generation = 0;
    uint64_t seq = 0;
  };
  void record(uint32_t partition, std::string_view key, std::optional<std::string> value);
  std::map<std::string, entry>::iterator forget(std::map<std::string, entry>::iterator it);
  // Requires: mutex_ held (shared or exclusive).
  bool answers(uint64_t seen) const { return dropped_ <= seen; }

  mutable std::shared_mutex mutex_;
  std::map<std::string, entry> changes_;  // by stored key
  uint64_t current_ = 1;                  // the generation changes are recorded under
  uint64_t committed_ = 0;                // guarded by mutex_ too
  uint64_t dropped_ = 0;                  // changes of generations <= this may be gone
  uint64_t seq_ = 0;                      // the last change's seq
  uint64_t bytes_ = 0;                    // key and value bytes of changes_
  std::map<uint32_t, applied_note> applied_;  // by group
  std::mutex staging_;                    // held by stage_into() and by a replacement
};

}  // namespace ck::storage
