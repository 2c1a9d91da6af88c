#pragma once

// The Raft log writer: the one actor that writes a node's storage::raft_log_store. Every Raft
// group actor of the node hands it the contents of its ready (raft_persist_atom,
// persist_request: the log entries and hard state, and the committed commands for a durable
// state machine to apply); it commits everything that queued up meanwhile, of all groups, in
// ONE store write (one LMDB transaction, one fsync unless no request of the batch must sync),
// the applies inside it, then answers each request. Detached: a commit blocks on fsync.
//
// Contract: a reply is sent only after the request's transaction committed (in journal mode,
// see spawn_journaled_raft_log_writer: after the journal sync that made it durable, its
// applies visible through the overlay). Requests of one sender are carried out in the order
// they arrived (a snapshot record never overtakes an earlier persist of its group, nor the
// reverse). On a storage failure every request of the failed transaction is answered with
// errc::storage_failure and none of it is on disk. The proposals an apply job carries
// (apply_job::answers) are answered earlier: once their entries are applied, before the sync.
//
// persist_request travels only inside the process: it has no type id and no inspect, and is
// whitelisted as an unsafe message type below, so CAF moves it between local actors but
// cannot serialize it (a send to another node fails instead of sending garbage).

#include "actors/state_machine.hpp"
#include "actors/type_ids.hpp"
#include "storage/raft_log_store.hpp"

#include <caf/allowed_unsafe_message_type.hpp>
#include <caf/fwd.hpp>
#include <caf/replies_to.hpp>
#include <caf/response_promise.hpp>
#include <caf/typed_actor.hpp>

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace ck::storage {
class environment;
class journaled_log;
class table_overlay;
}

namespace ck::runtime {
class storage_health;
struct node_metrics;
}

namespace ck::actors {

/// A proposal the writer answers itself, with its entry's result, as soon as the entry is
/// applied: before the batch's sync. Safe because such an entry is committed (durable on a
/// majority) and was persisted here by an earlier ready (raft_group_ready.cpp, plan_applies);
/// the batch's sync is for the other requests' new entries, not for it.
struct early_answer {
  size_t entry = 0;                // into apply_job::entries
  caf::response_promise promise;   // expects a raft_propose_reply
};

/// Committed commands of one ready for a durable machine, applied in the writer's transaction.
struct apply_job {
  std::shared_ptr<replicated_state_machine> owner;  // keeps `applier` alive
  log_txn_applier* applier = nullptr;
  std::vector<raft::entry> entries;  // consecutive commands, increasing index
  std::vector<std::string> results;  // one per entry, set before the request is answered
  /// Proposals the writer answers (moved out of the group's parked proposals): with their
  /// results once the applies are written, or with errc::timeout when the write failed.
  std::vector<early_answer> answers;
};

struct persist_request {
  storage::group_write write;
  std::shared_ptr<apply_job> apply;  // null: nothing to apply
  /// raft::ready::must_sync. A batch of requests none of which must sync (commit indexes and
  /// applies only: the log holds them on a majority, a restart replays them) is committed
  /// without an fsync; the next synced batch makes it durable with its own.
  bool must_sync = true;
};

}  // namespace ck::actors

CAF_ALLOW_UNSAFE_MESSAGE_TYPE(ck::actors::persist_request)

namespace ck::actors {

/// Replies: how many requests the transaction that carried this one committed (>= 1).
using raft_log_writer_actor = caf::typed_actor<
    caf::replies_to<atoms::raft_persist_atom, persist_request>::with<uint64_t>,
    /// Records a snapshot the group's state machine took (record_snapshot), then drops the
    /// entries below compact_index (compact; no-op when 0).
    caf::replies_to<atoms::raft_snapshot_atom, raft::group_id, raft::snapshot_meta,
                    raft::index_t>::with<uint64_t>,
    /// Drops the group's log, hard state and snapshot meta (drop_group): the replica left this
    /// node. Requires: its group actor stopped; in mailbox order, so after its last persist.
    caf::replies_to<atoms::raft_drop_atom, raft::group_id>::with<uint64_t>,
    caf::reacts_to<atoms::flush_atom>, caf::reacts_to<atoms::checkpoint_timer_atom>,
    caf::reacts_to<atoms::checkpoint_now_atom>>;

/// Requests carried out in one flush at most; the rest wait for the next one. Bounds the
/// latency a burst adds to the requests at its head.
constexpr size_t raft_write_batch_max = 4096;

/// Spawns the writer (detached). `store` must outlive the actor (the shared_ptr keeps it).
/// With `sync_env` (the store's environment, opened with defer_meta_sync: commits sync their
/// data pages, not the meta page), every flush in which a request must sync ends with one
/// sync_now() before any request hears "persisted": the durability point of the batch.
/// With `health`, a write that meets a full disk is not an error: the writer keeps it and
/// what follows, marks `health` full, and tries again every second until it goes through
/// (then clears it); requesters wait meanwhile (runtime/base/storage_health.hpp).
raft_log_writer_actor spawn_raft_log_writer(
    caf::actor_system& sys, std::shared_ptr<storage::raft_log_store> store,
    std::shared_ptr<storage::environment> sync_env = nullptr,
    std::shared_ptr<runtime::storage_health> health = nullptr);

/// The journal design (docs/performance.md, sessions 15-16; storage.journal, the node's
/// default): the writer writes through `journal` (storage/journaled_log.hpp) instead: each
/// flush stages its persists and applies into the one open transaction and appends them to
/// the journal (persists that need not sync only stage: journaled_log::stage), one journal
/// sync per flush that must sync; the answers leave after it, the
/// applies visible to queries through `overlay` (the machines record into it:
/// partition_machines::set_overlay).
/// A checkpoint (seal the overlay, commit, release the journal) follows when the open
/// transaction is `checkpoint_interval` old or holds `checkpoint_bytes` of journal, comes
/// before every snapshot record and group drop, and ends the writer.
/// A full disk: with `health`, a flush first checks the free space against
/// storage::journal_space_needed; below it the writer checkpoints, and if that is not enough
/// it waits as spawn_raft_log_writer does on a full disk (requests wait, `health` says full,
/// retried every second). A failure the check did not foresee (an append, sync or checkpoint
/// that fails) breaks the journal: `on_broken` is called once with the reason (the node stops:
/// a restart replays the journal), and every later request fails with storage_failure.
struct journal_mode {
  std::shared_ptr<storage::journaled_log> journal;
  std::shared_ptr<storage::table_overlay> overlay;
  std::shared_ptr<runtime::storage_health> health{};
  std::function<void(const std::string&)> on_broken{};
  /// 200 ms since session 21 (50 before): with the KV table's changes in the overlay a
  /// checkpoint commits the log's pages and hard states, whose count per commit grows far
  /// slower than the interval (each group's log tail is a page or two); 100 and 200 ms made
  /// 1.03-1.06x the writes at 64 connections for 0.93-0.97x the CPU per write, p99 within
  /// noise (docs/performance.md, session 21).
  std::chrono::milliseconds checkpoint_interval{200};
  uint64_t checkpoint_bytes = uint64_t{8} << 20;
  /// The applies' changes wait in the overlay (storage/table_overlay.hpp, deferred
  /// materialisation) until a checkpoint stages them into LMDB: the first checkpoint after
  /// this long since the last such flush, or once the overlay holds this many changes, bytes,
  /// or changes that dirty about this many leaf pages (storage::table_dirty_pages_estimate),
  /// and before every group drop, snapshot install and stop. A snapshot record waits for the
  /// next flush of its group (it may compact the log: LMDB must hold the applies before it).
  /// The limits bound a flush's work, and so how long it stalls the writer: a key written many
  /// times in between costs one put and the keys sharing a leaf one page, where each 50 ms
  /// checkpoint used to rewrite most of the KV table's leaves (docs/performance.md, session
  /// 20). A large key space reaches the page limit first and flushes about as often as it
  /// checkpoints. A small table (fewer leaves than the page limit) has most of its leaves
  /// dirtied by a couple of thousand random changes already, so each flush rewrites it whole:
  /// there the change limit only sets how often, and 16,384 (2,048 before) leaves it to the
  /// interval at 20,000 writes/s over 10,000 keys (single-target, 64 connections: 1.10x, p99
  /// 13.1 -> 10.5 ms over 45 s; session 22).
  std::chrono::milliseconds table_flush_interval{1000};
  std::size_t table_flush_changes = 16384;
  uint64_t table_flush_bytes = uint64_t{4} << 20;
  uint64_t table_flush_pages = 1024;
  /// A due flush is staged in up to this many slices of the groups holding changes, about
  /// equal in changes, one per checkpoint (a checkpoint_interval apart): each checkpoint writes
  /// a slice of the table's leaves, so the writer stalls a slice's time instead of the whole
  /// flush's (storage::table_overlay::pending_slices). A snapshot record waits for the slice of
  /// its group only. Group drops, snapshot installs and the stop stage everything. 1: one piece.
  std::size_t table_flush_slices = 4;
  /// Where flushes are counted (storage_table_flushes, storage_table_flushed_changes); may be
  /// null; must outlive the writer.
  runtime::node_metrics* metrics = nullptr;
  /// How long a free-space measurement (a statvfs) stands: within it, a flush goes ahead
  /// unmeasured while the last figure, less four times the journal bytes taken in since, still
  /// covers twice the need (a statvfs per flush was 1.2 syscalls per write). 0: every flush.
  std::chrono::milliseconds free_space_recheck{10};
};
raft_log_writer_actor spawn_journaled_raft_log_writer(
    caf::actor_system& sys, std::shared_ptr<storage::raft_log_store> store,
    std::shared_ptr<storage::environment> env, journal_mode mode);

}  // namespace ck::actors
