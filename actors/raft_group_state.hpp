#pragma once

// Internals of the Raft group actor (actors/raft_group.hpp), shared by its two source files:
// raft_group.cpp (inputs: steps, ticks, proposals, reads, status) and raft_group_ready.cpp
// (the ready loop: persist, send, apply, snapshot, advance).

#include "actors/raft_group.hpp"
#include "runtime/raft/node.hpp"

#include <caf/typed_event_based_actor.hpp>
#include <caf/typed_response_promise.hpp>

#include <map>
#include <memory>
#include <optional>
#include <string>

namespace ck::actors::detail {

struct parked_proposal {
  raft::term_t term = 0;  // the leader's term when proposed: the entry is ours iff it matches
  caf::typed_response_promise<raft_propose_reply> promise;
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
  bool ready_scheduled = false;  // a raft_ready_atom is queued to self
  bool ready_outstanding = false;  // between get_ready() and advance()
  std::optional<raft::ready> current;  // the outstanding ready, while the writer persists it
  bool leader = false;

  raft::index_t applied = 0;
  raft::term_t applied_term = 0;

  // Snapshot images by index: the one the store records (or is about to) and, while the
  // writer records a newer one, that one too. Invariant: at most two.
  std::map<raft::index_t, std::string> images;
  raft::index_t snapshot_index = 0;  // newest snapshot recorded, being recorded or installed
  bool snapshot_recording = false;

  std::map<raft::index_t, parked_proposal> proposals;
  uint64_t read_sequence = 0;  // makes read contexts unique
  std::map<std::string, caf::typed_response_promise<raft::index_t>> reads_unconfirmed;
  std::multimap<raft::index_t, caf::typed_response_promise<raft::index_t>> reads_confirmed;
};

using raft_group_pointer = raft_group_actor::stateful_pointer<raft_group_state>;

/// Queues one raft_ready_atom to self when the node has work and none is outstanding.
void schedule_ready(raft_group_pointer self);
/// Handles raft_ready_atom: takes the ready and hands its persistent part to the writer.
void start_ready(raft_group_pointer self);
/// Fails every parked proposal and unconfirmed read with errc::no_leader (leadership lost);
/// with `stopping`, also the confirmed reads that wait for the state machine.
void fail_waiting(raft_group_pointer self, const std::string& why, bool stopping);
/// Takes and records a snapshot when snapshot_every_entries were applied since the last one.
void maybe_snapshot(raft_group_pointer self);
/// Snapshots the state machine at the applied index and has the writer record it.
/// Requires: applied > snapshot_index; no snapshot is being recorded.
void take_snapshot(raft_group_pointer self);

}  // namespace ck::actors::detail
