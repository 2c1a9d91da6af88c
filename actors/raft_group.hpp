#pragma once

// The Raft group actor: one per (group, local replica). It owns a raft::node over the group's
// view of the node's storage::raft_log_store and drives it with real time and real storage:
//
//   tick timer ---> node.tick()          transport ---> (raft_step_atom, message) -> node.step()
//   clients -----> propose / read_index  -> parked promises, answered once applied
//   ready loop:  get_ready -> raft_log_writer persists {snap meta, entries, hard} and replies
//                -> send the ready's messages (one raft_batch) -> apply snap / committed
//                entries to the replicated_state_machine (conf changes to the node)
//                -> answer reads -> advance -> again while has_ready() (self-queued, so a
//                burst of proposals shares one ready, one fsync and one transport message).
// While the log writer works, steps, ticks and proposals go on; the core holds their output
// for the next ready (node.hpp).
//
// Snapshots: every snapshot_every_entries applied entries (or snapshot_every_bytes of their
// data, whichever comes first) the actor records a snapshot at the applied index in the store
// (meta only: the state machine's own tables hold the data) and compacts the log up to
// snapshot_keep_entries (at most about snapshot_keep_bytes) below it. A follower that needs
// entries the log no longer has gets the state machine's data instead, streamed: for the
// core's install_snapshot message the leader opens sm.read_snapshot() (a consistent view,
// usually newer than the recorded snapshot) and sends it in chunks of snapshot_chunk_bytes
// through the transport, one at a time, each acknowledged by the follower's group actor within
// snapshot_chunk_timeout; after the last one it sends the install_snapshot message itself and
// reports success to the core (a failed chunk reports failure; the core retries later). The
// follower stages the chunks (sm.begin_restore) and, when the matching install_snapshot
// message arrives, swaps the staged data in (sm.install_restored) before stepping the message;
// a message without a complete staged transfer is dropped. No replica ever holds a whole
// snapshot in memory unless its state machine is an image_state_machine.

#include "actors/group_ticker.hpp"
#include "actors/raft_log_writer.hpp"
#include "actors/raft_transport.hpp"
#include "actors/state_machine.hpp"
#include "actors/type_ids.hpp"
#include "runtime/base/metrics.hpp"

#include <caf/fwd.hpp>
#include <caf/replies_to.hpp>
#include <caf/typed_actor.hpp>

#include <atomic>
#include <chrono>
#include <functional>
#include <cstdint>
#include <memory>
#include <string>

namespace ck::actors {

/// raft_propose: answered once the command is committed and applied here; errc::no_leader
///   (message names the leader hint) when this replica is not the leader or when the entry
///   was overwritten by another leader's: both mean "not done, will never be done", so a retry
///   is safe. A proposal parked when leadership is lost keeps waiting until this replica
///   applies its index (then it gets its result, or no_leader if overwritten); errc::timeout
///   ("may or may not have been applied") when the replica stops, a snapshot replaces the
///   entry before it is applied here, or the index is reused in a later term.
///   With `at_commit` true the answer comes as soon as the entry is committed and persisted on
///   this node, with an empty result, before the machine applies it: for a caller that does
///   not need the result (a KV set). What the acknowledgment promises is unchanged (durable on
///   a majority, and on this node), and so is what reads see: a linearizable read waits until
///   the replica applied its read index, which is at least the commit index that covered the
///   entry; only a stale read may miss it for the moment the apply takes. CockroachDB
///   acknowledges committed writes before their application the same way.
/// raft_conf: one membership change (add_learner, add_voter, remove_node), answered like a
///   proposal once the change is applied here (the result is empty); errc::no_leader also
///   while an earlier change is pending (retry), errc::invalid_argument for a change that
///   would remove the last voter.
/// raft_transfer: asks the leader to hand leadership to a voter; answers the target at once
///   (the transfer completes, or is abandoned after an election timeout, on its own).
/// raft_read: a linearizable read barrier (ReadIndex); answers the read index once this
///   replica applied it; errc::no_leader as for proposals.
/// snapshot_chunk: one chunk of a snapshot from the group's leader (see above); answers its
///   seq once staged; an error for a chunk out of order or of bytes the machine rejects.
/// raft_tick and raft_ready are the actor's own timer and loop messages (a typed actor can only
///   send itself what its interface lists); nobody else sends them.
using raft_group_actor = caf::typed_actor<
    caf::reacts_to<atoms::raft_step_atom, raft::message>,
    caf::replies_to<atoms::raft_propose_atom, std::string>::with<raft_propose_reply>,
    caf::replies_to<atoms::raft_propose_atom, std::string, bool>::with<raft_propose_reply>,
    caf::replies_to<atoms::raft_conf_atom, raft::conf_change>::with<raft_propose_reply>,
    caf::replies_to<atoms::raft_transfer_atom, raft::node_id>::with<raft::node_id>,
    caf::replies_to<atoms::raft_read_atom>::with<raft::index_t>,
    caf::replies_to<atoms::raft_status_atom>::with<raft::status_info>,
    caf::replies_to<atoms::snapshot_chunk_atom, snapshot_chunk>::with<uint64_t>,
    caf::reacts_to<atoms::raft_tick_atom, uint64_t>, caf::reacts_to<atoms::raft_ready_atom>,
    /// The transport suspects the node hosting these replica ids is down: a follower whose
    /// leader is one of them forgets it (raft::node::forget_leader; what wakes a quiescent
    /// group whose leader died).
    caf::reacts_to<atoms::raft_forget_leader_atom, std::vector<raft::node_id>>>;

struct raft_group_options {
  /// id, group, ticks and limits of the core. `seed` is replaced by a value derived from the
  /// id; `applied` by the field below.
  raft::config raft;
  /// This node's name, as raft_batch::from_node.
  std::string node_name;
  /// One logical tick of the core (heartbeat = raft.heartbeat_ticks ticks).
  std::chrono::milliseconds tick_interval{100};
  /// The node's shared timer (group_ticker.hpp), ticking at tick_interval; null: the group
  /// arms its own timer per tick.
  group_ticker_actor ticker;
  /// The last index the state machine already reflects (a durable state machine restarting);
  /// 0 for an empty one. Requires: >= the store's snapshot index for the group.
  raft::index_t applied = 0;
  /// Called on the group's thread with the core's status whenever its role, leader, term,
  /// membership or quiescence changed (may be empty). Lets an owner keep statuses without
  /// polling groups that went quiet.
  std::function<void(const raft::status_info&)> on_status;
  /// Entries applied between two snapshots; 0: no bound by count.
  uint64_t snapshot_every_entries = 10'000;
  /// Bytes of entry data applied between two snapshots; 0: no bound by size. With large
  /// values the count bound alone lets a log grow to gigabytes, and a replica that joins
  /// then replays it entry by entry (about 3x the CPU of a streamed snapshot).
  uint64_t snapshot_every_bytes = 0;
  /// Entries kept in the log below a new snapshot, so a follower slightly behind still gets
  /// entries instead of a whole snapshot. Costs that much disk per group.
  uint64_t snapshot_keep_entries = 1'000;
  /// Bound on the bytes those kept entries hold (estimated from the mean entry size since the
  /// previous snapshot); 0: no bound.
  uint64_t snapshot_keep_bytes = 0;
  /// When a snapshot chunk last arrived at any group of this node (steady ms, 0: never),
  /// shared by the node's groups; null: not tracked. While chunks arrived within
  /// busy_after_chunk, a group ignores timeout_now: a node still receiving replicas takes no
  /// leadership handed over (it would serve those partitions from threads busy with the move;
  /// the transfer lapses and the leader's host asks again later).
  std::shared_ptr<std::atomic<int64_t>> last_chunk_received_ms;
  std::chrono::milliseconds busy_after_chunk{1'000};
  /// Size of one snapshot chunk on the wire (one record may make a chunk longer).
  size_t snapshot_chunk_bytes = 256u << 10;
  /// Longest wait for a follower to acknowledge a chunk; past it the transfer is abandoned.
  std::chrono::milliseconds snapshot_chunk_timeout{10'000};
  /// Where the actor counts proposals, commits, elections and snapshots; may be null. Must
  /// outlive the actor.
  runtime::node_metrics* metrics = nullptr;
  /// Longest wait for the log writer; past it the actor stops (its ready cannot go on).
  /// Not while `storage` says the disk is full: the writer is alive then, retrying.
  std::chrono::milliseconds persist_timeout{30'000};
  /// The node's disk state (set by the log writer); null: not tracked. While full, proposals
  /// are refused at once with errc::storage_full (HTTP 507) instead of queueing behind a
  /// write that waits for space.
  std::shared_ptr<const runtime::storage_health> storage;
};

/// Spawns the group actor. `store` holds the group's log (a founder's bootstrap already
/// persisted); `sm` reflects `options.applied` and is used only by this actor while it runs.
raft_group_actor spawn_raft_group(caf::actor_system& sys, raft_group_options options,
                                  std::shared_ptr<storage::raft_log_store> store,
                                  raft_log_writer_actor writer, raft_transport_actor transport,
                                  std::shared_ptr<replicated_state_machine> sm);

}  // namespace ck::actors
