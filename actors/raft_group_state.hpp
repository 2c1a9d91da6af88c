#pragma once

// Internals of the Raft group actor (actors/raft_group.hpp), shared by its two source files:
// raft_group.cpp (inputs: steps, ticks, proposals, reads, status) and raft_group_ready.cpp
// (the ready loop: persist, send, apply, snapshot, advance).

#include "actors/raft_group.hpp"
#include "runtime/raft/node.hpp"

#include <caf/typed_event_based_actor.hpp>
#include <caf/typed_response_promise.hpp>

#include <chrono>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace ck::actors::detail {

struct parked_proposal {
  raft::term_t term = 0;  // the leader's term when proposed: the entry is ours iff it matches
  caf::typed_response_promise<raft_propose_reply> promise;
  bool at_commit = false;  // answer once committed and persisted here, before the apply
};

/// A snapshot transfer to one follower (leader side).
struct outgoing_snapshot {
  uint64_t session = 0;
  uint64_t seq = 0;                          // of the next chunk
  raft::message message;                     // the core's install_snapshot, sent after the data
  std::unique_ptr<snapshot_source> source;
};

/// A snapshot transfer from the leader (follower side).
struct incoming_snapshot {
  raft::node_id from = 0;
  uint64_t session = 0;
  uint64_t next_seq = 0;
  raft::snapshot_meta meta;
  raft::index_t data_applied = 0;
  std::unique_ptr<snapshot_sink> sink;  // null once complete
};

struct raft_group_state {
  static inline const char* name = "raft_group";

  raft_group_options options;
  std::shared_ptr<storage::raft_log_store> store;
  raft_log_writer_actor writer;
  raft_transport_actor transport;
  std::shared_ptr<replicated_state_machine> sm;
  std::unique_ptr<raft::node> node;

  uint64_t tick_generation = 0;  // ticks of another generation are stale (no cancel in 0.17)
  bool tick_armed = false;       // a raft_tick_atom is on its way (none while quiescent)
  bool tick_subscribed = false;  // with options.ticker: subscribed to its ticks
  bool ready_scheduled = false;  // a raft_ready_atom is queued to self
  bool ready_outstanding = false;  // between get_ready() and advance()
  std::optional<raft::ready> current;  // the outstanding ready, while the writer persists it
  // The outstanding ready's commands the writer applies (null: none). While it is set, the
  // machine's data may be ahead of machine_applied, so snapshot installs wait in
  // deferred_installs until the writer answered.
  std::shared_ptr<apply_job> job;
  std::chrono::steady_clock::time_point persist_started;  // of the outstanding ready
  std::vector<raft::message> deferred_installs;
  bool leader = false;
  // What options.on_status last saw: a change of these (or status_dirty) pushes a status.
  bool status_dirty = true;
  bool pushed_quiescent = false;
  raft::term_t pushed_term = 0;

  raft::index_t applied = 0;
  raft::term_t applied_term = 0;

  // The state machine reflects entries up to here (>= applied): a streamed snapshot may carry
  // data newer than its Raft snapshot, and a restart may resume below what the data reflects.
  // Entries up to it are not handed to the machine again.
  raft::index_t machine_applied = 0;
  // What the machine's stored applied index shows once LMDB holds its applies: the last
  // command it applied, the data swapped in, or what the store held at start. Entries the
  // machine never sees (a leader's empty entry, a conf change) leave it behind applied, and a
  // snapshot waits until they meet: the snapshot's record may compact the log, so the stored
  // data must cover its index (a restart resumes from that data; a transfer sends it).
  raft::index_t machine_noted = 0;

  raft::index_t snapshot_index = 0;  // newest snapshot recorded, being recorded or installed
  uint64_t bytes_since_snapshot = 0;  // entry data applied after snapshot_index (this run)
  bool snapshot_recording = false;

  // Snapshot transfers this leader runs, by follower: one at a time per follower.
  std::map<raft::node_id, outgoing_snapshot> sending;
  uint64_t next_session = 1;
  // The transfer this replica receives, and the last one it received completely (staged in
  // the machine, waiting for its install_snapshot message).
  std::optional<incoming_snapshot> receiving;
  std::optional<incoming_snapshot> staged;

  std::map<raft::index_t, parked_proposal> proposals;
  uint64_t read_sequence = 0;  // makes read contexts unique
  std::map<std::string, caf::typed_response_promise<raft::index_t>> reads_unconfirmed;
  std::multimap<raft::index_t, caf::typed_response_promise<raft::index_t>> reads_confirmed;
};

using raft_group_pointer = raft_group_actor::stateful_pointer<raft_group_state>;

/// Adds n to one of the node's Raft counters (none when the group has no metrics).
inline void count(raft_group_pointer self, runtime::counter runtime::node_metrics::*which,
                  uint64_t n = 1) {
  if (auto* m = self->state.options.metrics; m != nullptr && n > 0) {
    (m->*which).add(n);
  }
}

/// Queues one raft_ready_atom to self when the node has work and none is outstanding.
void schedule_ready(raft_group_pointer self);
/// Arms the next tick unless one is on its way or the core is quiescent (then nothing ticks
/// until an input wakes it: every input ends in schedule_ready, which calls this).
void keep_ticking(raft_group_pointer self);
/// Handles raft_ready_atom: takes the ready and hands its persistent part to the writer.
void start_ready(raft_group_pointer self);
/// Stops the replica when the outstanding ready waited for the writer longer than
/// options.persist_timeout (checked at each tick); true when it stopped it.
bool check_persist_deadline(raft_group_pointer self);
/// Fails every unconfirmed read with errc::no_leader (leadership lost). With `stopping`, also
/// the confirmed reads that wait for the state machine (no_leader) and the parked proposals
/// (errc::timeout: they may still commit elsewhere); without, parked proposals wait for their
/// index to be applied (complete_proposals).
void fail_waiting(raft_group_pointer self, const std::string& why, bool stopping);
/// Takes and records a snapshot when snapshot_every_entries (or snapshot_every_bytes of entry
/// data) were applied since the last one.
void maybe_snapshot(raft_group_pointer self);
/// Starts streaming the state machine to the target of an install_snapshot message.
void start_snapshot_transfer(raft_group_pointer self, raft::message&& message);
/// True while a snapshot chunk arrived at any group of this node within busy_after_chunk.
bool receiving_snapshots(raft_group_pointer self);
/// Handles one chunk from the leader (follower side); the answer of snapshot_chunk_atom.
caf::result<uint64_t> receive_snapshot_chunk(raft_group_pointer self, snapshot_chunk& chunk);
/// Follower side of an install_snapshot message: swaps in the staged data it describes and
/// returns true, or returns false (no complete transfer staged for it: drop the message).
bool install_staged_snapshot(raft_group_pointer self, const raft::message& message);
/// Abandons every transfer this replica sends (leadership lost).
void abandon_snapshot_transfers(raft_group_pointer self);
/// Records a snapshot at the applied index in the store and compacts the log below it.
/// Requires: applied > snapshot_index; no snapshot is being recorded.
void take_snapshot(raft_group_pointer self);

}  // namespace ck::actors::detail
