#pragma once

// The Raft log store: every Raft group's log, hard state and snapshot metadata of this node, in
// the "raft_log" and "raft_state" databases of one environment (layouts in storage/format.hpp).
// Each group is read by its raft::node through raft::log_storage (group()); every group's
// writes of a storage flush share one LMDB transaction and so one fsync (write()).
//
// The stored model of one group (Raft paper §5.3, §7; like raft::memory_log_storage):
//   snapshot meta  (index S, term, membership) of the latest snapshot; none until one is given.
//   log            the entries [first_index(), last_index()], contiguous, with
//                  first_index() - 1 <= S: a snapshot written through write() drops what it
//                  covers (first_index() - 1 == S), one recorded with record_snapshot() drops
//                  nothing until compact(). term(first_index() - 1) is always available (the
//                  term of the last entry dropped; 0 before any).
//   hard state     term, vote, commit; commit <= last_index().
// The snapshot's data is not stored here: the state machine's tables hold it.
//
// Threads and actors:
//  - write(), record_snapshot(), compact() and drop_group() may be called from any thread;
//    they serialize on an internal mutex. The intended caller is the one storage writer actor.
//  - group() may be called from any thread. The returned view's methods (and read_entries /
//    read_term) may be called from any thread, concurrently with each other and with write():
//    each view guards its state and cache with its own mutex, held only for memory work, never
//    across an LMDB read or a commit. The intended caller is the group's owning actor.
//  - A read answers from the state as of some commit: the state before a concurrent write, or
//    after it, never a mix. Scenario: (1) the writer commits a truncation of group g at index
//    50; (2) a reader asks g for entries [40, 60) before the writer has updated g's view; (3) the
//    view still shows the old last index, so the reader goes to LMDB, whose snapshot already
//    holds the new log: it answers from that snapshot alone (new entries, or unavailable past
//    its end), never old entries below 50 joined to new ones above. The Raft core reads from
//    storage only below the first index it is handing over for persistence (its unstable log
//    answers from there on), and a write never changes those indexes, so in practice both
//    answers agree.
//  - None of these may be called while the calling thread holds a read_txn of the environment
//    (map growth in write() waits for every read_txn to end).

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <vector>

#include "runtime/raft/log_storage.hpp"
#include "runtime/raft/types.hpp"
#include "storage/status.hpp"

namespace ck::storage {

class environment;
class write_txn;

namespace detail {
class raft_group_view;
struct raft_group_state;
struct pending_group;
}  // namespace detail

struct raft_log_store_options {
  // Entries of each group's log tail kept in memory, so that term() and entries() near the end
  // of the log do not read LMDB. 0..raft_cache_entries_limit (0: no cache).
  uint32_t cache_entries_max = 4096;
  // Bytes (raft::entry_bytes) of those entries per group; the cache holds the longest suffix
  // of the log within both limits. Memory is about groups * cache_bytes_max at most.
  // 0..raft_cache_bytes_limit.
  uint64_t cache_bytes_max = uint64_t{1} << 20;
};

inline constexpr uint32_t raft_cache_entries_limit = 1u << 20;
inline constexpr uint64_t raft_cache_bytes_limit = uint64_t{1} << 30;

// Returns success, or invalid_argument naming the field that is out of range.
status validate(const raft_log_store_options& options);

// One group's part of a storage flush: the contents of one raft::ready, persisted in the order
// the ready contract requires. Several group_writes of one group in one batch apply in order.
struct group_write {
  raft::group_id group = 0;
  // Appended after `snapshot`. An entry at an index that already exists replaces it and every
  // later entry of the group (Raft's truncation rule). Requires: consecutive indexes; the
  // first in [first_index(), last_index() + 1] (after `snapshot`) and above the stored commit
  // when it replaces entries; terms never decrease along the log; data of at most
  // raft_entry_data_bytes_max bytes (else invalid_argument).
  std::vector<raft::entry> entries;
  // Written last. Requires: term and commit not below the stored ones; commit <= the last
  // index after `entries`.
  std::optional<raft::hard_state> hard;
  // Written first (meta only): ready::snap, or a snapshot taken from this log that should
  // compact it at once. Requires: index above the stored snapshot's index; at most
  // raft_conf_nodes_max voters and learners (else invalid_argument). Entries <= index are
  // dropped. Entries after it are kept only if the log holds an entry at `index` with `term`
  // (the snapshot was taken from this log); otherwise the log ends at the snapshot (Raft paper
  // §7: "if existing log entry has same index and term as snapshot's last included entry,
  // retain log entries following it ... otherwise, discard the entire log"). The core hands a
  // snapshot only when its log does not match, so for ready::snap the whole log goes, as in
  // raft::memory_log_storage::apply_snapshot.
  std::optional<raft::snapshot_meta> snapshot;
};

class raft_log_store {
  struct private_tag {};

 public:
  // Loads every group found in the environment: hard state, snapshot meta, first and last
  // index, and the tail of its log into the cache (reading at most the cache's limits per
  // group). Returns the store, or: invalid_argument (options, naming the field); corruption (a
  // malformed key or record, a record whose crc fails, or records that contradict each other:
  // a log not starting at the first index, a first index record without snapshot meta or
  // beyond it, a commit index beyond the last entry, a gap or falling term in the tail that was
  // read); busy or io_error from LMDB.
  // Requires: env outlives the store; at most one store per environment.
  static result<std::unique_ptr<raft_log_store>> open(environment& env,
                                                      const raft_log_store_options& options = {});

  // Use open(); public only so that std::make_unique can reach it.
  raft_log_store(private_tag, environment& env, const raft_log_store_options& options);
  raft_log_store(const raft_log_store&) = delete;
  raft_log_store& operator=(const raft_log_store&) = delete;
  ~raft_log_store();

  // The view of `group`, created empty on first use (first_index() 1, last_index() 0, empty
  // hard state, no snapshot). Lifetime: as long as the store; the same object on every call
  // (drop_group empties it rather than destroying it).
  // initial_hard_state() and initial_conf_state() return the latest committed hard state and
  // the latest snapshot's membership (at open: what was stored), so a raft::node created later
  // in the process starts from what is durable; membership changed by conf_change entries after
  // the snapshot (the founders' bootstrap entries included) is the core's to replay.
  // entries() appends to `out` (as raft::memory_log_storage does). current_snapshot() has the
  // meta only (empty data).
  // The raft::log_storage methods cannot report a storage failure: when an LMDB read fails
  // (corruption, io_error, busy) they print the status and abort the process. Use read_entries
  // / read_term to get the failure as a status instead.
  raft::log_storage& group(raft::group_id group);

  // Groups with anything stored (entries, a commit index or snapshot), ascending; not those
  // holding only a term and a vote (a dropped group's tombstone). Any thread.
  std::vector<raft::group_id> groups() const;

  // raft::log_storage::entries of `group` (see there; appends to `out`, which is left as it
  // was unless the answer is none), with storage failures as statuses: corruption (a record
  // fails its crc, or the stored log has a gap), busy or io_error.
  result<raft::log_error> read_entries(raft::group_id group, raft::index_t lo, raft::index_t hi,
                                       uint64_t bytes_max, std::vector<raft::entry>& out);
  // raft::log_storage::term of `group`, failures as for read_entries.
  result<raft::log_error> read_term(raft::group_id group, raft::index_t index, raft::term_t& out);

  // Persists the batch in ONE write transaction (environment::write, so the map grows when
  // full), each group_write as documented there, in order. Returns once committed, so durable
  // per the environment's sync policy: with sync on, everything a success returned for
  // survives a crash. Only after the commit are the views updated; a failure leaves the views
  // and the disk as they were.
  // Returns: success; invalid_argument (an entry over raft_entry_data_bytes_max or a snapshot
  // over raft_conf_nodes_max nodes; nothing written); corruption (a stored record read to
  // apply the batch is malformed, or the stored log has a gap); map_full, busy, io_error from
  // the environment. A broken `Requires:` of group_write aborts (a bug in the caller).
  // `also`, when set, runs inside the same transaction after the batch's writes (the node's
  // state machines apply committed commands there), again from the start whenever the
  // transaction is retried; its failure fails the whole write.
  status write(const std::vector<group_write>& batch,
               const std::function<status(write_txn&)>& also = {});

  // The journal design (docs/performance.md, sessions 15-16; storage.journal): writes
  // `batch` into the caller's open transaction `txn` as write() would, but does not commit it,
  // and publishes the result at once: readers see the batch, and the entries it appends stay in
  // the views' caches (pinned) until checkpointed(), because LMDB has them only when `txn`
  // commits. The caller makes the batch durable before anyone relies on it (its journal) and
  // commits `txn` later, with other batches. Returns success; invalid_argument as write()
  // (nothing written); corruption or an LMDB failure that spoils `txn`: the views may then
  // be ahead of every transaction, so the caller must abort `txn` and reopen the store (a
  // restart replays its journal). Requires: `txn` belongs to this store's environment; no
  // record_snapshot(), compact(), drop_group() or write() while a staged transaction is open
  // (they commit their own).
  status stage(write_txn& txn, const std::vector<group_write>& batch);
  // The transaction the staged batches went into committed: the pinned entries may leave the
  // caches again.
  void checkpointed();

  // Records the meta of a snapshot the state machine took at `meta.index` (its data lives in
  // its own tables), dropping no entry, so that followers that lag behind it get the snapshot
  // while the entries stay for those that do not (raft::memory_log_storage::create_snapshot).
  // One transaction of its own. Requires: meta.index above the stored snapshot's index, in
  // [first_index(), last_index()] and <= the stored commit index; meta.term == term(meta.index).
  // Returns success once committed; invalid_argument (over raft_conf_nodes_max nodes; nothing
  // written); corruption, map_full, busy, io_error as for write().
  status record_snapshot(raft::group_id group, const raft::snapshot_meta& meta);

  // Deletes the entries of `group` below `index` and makes `index` the first index (the term
  // of index - 1 is kept, as term(first_index() - 1) needs it). A no-op when index <=
  // first_index(). (raft::memory_log_storage::compact(i) is compact(i + 1) here.)
  // Requires: the stored snapshot covers index - 1 (snapshot index >= index - 1); index <=
  // last_index() + 1.
  // Returns success once committed; corruption, map_full, busy, io_error as for write().
  status compact(raft::group_id group, raft::index_t index);

  // One snapshot to record (record_snapshot) and the compaction that follows it (compact;
  // none when compact_index is 0).
  struct snapshot_record {
    raft::group_id group = 0;
    raft::snapshot_meta meta;
    raft::index_t compact_index = 0;
  };
  // record_snapshot() then compact() for each of `records`, all in ONE transaction: when many
  // groups reach their snapshot interval together (equal load), one commit instead of two per
  // group, which each stalled the log writer. Requires: as record_snapshot() and compact() for
  // each; no group twice. Returns success once committed (every view then updated);
  // invalid_argument (a snapshot over raft_conf_nodes_max nodes; nothing written);
  // corruption, map_full, busy, io_error as for write() (nothing written).
  status record_snapshots(const std::vector<snapshot_record>& records);

  // Deletes everything stored for `group` (entries, snapshot meta, commit index) in one
  // transaction, for a replica that moved away, and empties its view (group() keeps returning
  // the same, now empty, object) but for a tombstone: the hard state's term and vote (commit
  // 0). A replica that returns to this node has the same raft id (the node's) and starts from
  // them, so it never votes twice in a term (tests/sim --readd-tombstone; docs/architecture.md).
  // Requires: the group's raft::node is stopped.
  // Returns success (also when nothing was stored); corruption, map_full, busy, io_error.
  status drop_group(raft::group_id group);

 private:
  // Runs `change` on the group's state in one write transaction and publishes the result.
  // Requires: write_mutex_ held.
  status change_group(raft::group_id group,
                      const std::function<status(write_txn&, detail::raft_group_state&)>& change);
  // Each group of `batch` with its view and its state before the batch.
  // Requires: write_mutex_ held.
  std::map<raft::group_id, detail::pending_group> pending_for(const std::vector<group_write>& batch);
  detail::raft_group_view& view(raft::group_id group);
  detail::raft_group_view* find_view(raft::group_id group) const;

  environment& env_;
  const raft_log_store_options options_;
  std::mutex write_mutex_;  // serializes write(), record_snapshot(), compact(), drop_group()
  mutable std::mutex views_mutex_;
  // Guarded by views_mutex_; a view, once created, lives as long as the store.
  std::map<raft::group_id, std::unique_ptr<detail::raft_group_view>> views_;
  // Views with entries pinned by stage() since the last checkpointed(). Guarded by write_mutex_.
  std::vector<detail::raft_group_view*> pinned_;
};

}  // namespace ck::storage
