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
// after it. The replacing thread calls begin_replacement() inside its write transaction (the
// writer holds none then, so it is not staging) and end_replacement() once that transaction
// committed or failed. Meanwhile stage_into() holds the partition's changes back (they stay, as
// readers still need them until the new data is committed); end_replacement() then forgets them
// (committed) or lets the next stage_into() write them (failed). Nobody waits for anybody.
//
// Threads: the writer methods from one thread at a time; the reader methods from any thread,
// concurrently with them.

#include <cstdint>
#include <functional>
#include <map>
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

  // Writer: (partition, key) was set to `value` / erased by an apply of `group` (whose applied
  // index note_applied records: a slice stages a group's changes and its index together).
  void put(uint32_t group, uint32_t partition, std::string_view key, std::string_view value);
  void erase(uint32_t group, uint32_t partition, std::string_view key);
  // Writer: ends the current generation and returns it; the checkpoint about to commit holds
  // every change recorded so far.
  uint64_t seal();
  // Writer: the checkpoint of `generation` (a value seal() or stage_into() returned) has
  // committed. Generations at or below one already committed are accepted (an
  // end_replacement() may have sealed past it meanwhile).
  void committed(uint64_t generation);

  // Writer: the changes recorded so far reflect `group`'s log through `index`.
  void note_applied(uint32_t group, uint64_t index);
  // Writer, inside its open transaction: seals the generation and stages every change held
  // and every applied index noted into `txn` (save_partition_applied), except what a
  // replacement holds back; returns the generation to pass to committed() once `txn` has
  // committed (which keeps what was held back).
  result<uint64_t> stage_into(write_txn& txn);
  // Writer: the same for the groups in `groups` (sorted) only: their changes and applied
  // indexes are staged together, everything else stays for a later stage_into (committed()
  // keeps it, as it keeps what a replacement holds back). A flush staged in slices of groups
  // dirties a slice of the table's leaves per checkpoint instead of all of them in one.
  result<uint64_t> stage_into(write_txn& txn, const std::vector<uint32_t>& groups);
  // What stage_into would stage now: changes, their key and value bytes, applied indexes.
  struct pending_figures {
    std::size_t changes = 0;
    uint64_t bytes = 0;
    std::size_t applied = 0;
    bool empty() const { return changes == 0 && applied == 0; }
  };
  pending_figures pending() const;
  // The groups with changes or an applied index to stage, in order, cut into at most `count`
  // runs of about equal changes: the slices of a flush staged over `count` checkpoints.
  struct slice {
    std::vector<uint32_t> groups;  // sorted
    std::size_t changes = 0;
  };
  std::vector<slice> pending_slices(std::size_t count) const;

  // Any thread: the applied index noted for `group` and not committed to LMDB yet.
  std::optional<uint64_t> pending_applied(uint32_t group) const;

  // Replacing a partition's data (see above): `tables` and `group`'s applied index are held
  // back from stage_into() until end_replacement(); returns the mark to pass to it (the newest
  // change so far: later changes are not the replacement's business).
  uint64_t begin_replacement(const std::vector<uint32_t>& tables, uint32_t group);
  // Ends it: with `replaced`, forgets the changes of `tables` and `group`'s applied index
  // recorded up to `mark`, and tells readers that may have missed the new data to retry;
  // otherwise the next stage_into() writes them.
  void end_replacement(const std::vector<uint32_t>& tables, uint32_t group, uint64_t mark,
                       bool replaced);

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
    uint32_t group = 0;
    uint32_t partition = 0;
    std::string user_key;
    std::optional<std::string> value;
    uint64_t generation = 0;
    uint64_t seq = 0;  // the order of the changes (replacement marks)
    // Held back by the last stage_into (a replacement of its table ran): committed() keeps it.
    // Written by the writer's stage_into under the shared lock: readers never look at it.
    mutable bool held = false;
  };
  struct applied_note {
    uint64_t index = 0;
    uint64_t generation = 0;
    uint64_t seq = 0;
    mutable bool held = false;  // as entry::held
  };
  // Requires: mutex_ held (shared or exclusive). Whether a running replacement holds `seq`
  // back in `marks` (table or group -> mark).
  static bool held_back(const std::map<uint32_t, uint64_t>& marks, uint32_t id, uint64_t seq) {
    auto it = marks.find(id);
    return it != marks.end() && seq <= it->second;
  }
  void record(uint32_t group, uint32_t partition, std::string_view key,
              std::optional<std::string> value);
  // stage_into's work: stages what `selected(group)` picks and is not held back.
  template <class Selected>
  result<uint64_t> stage_selected(write_txn& txn, const Selected& selected);
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
  std::map<uint32_t, uint64_t> replacing_tables_;  // running replacements: table -> mark
  std::map<uint32_t, uint64_t> replacing_groups_;  // and group -> mark
};

}  // namespace ck::storage
