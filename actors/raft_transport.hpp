#pragma once

// What a Raft group actor sends its messages through: any actor that takes
// (raft_send_atom, raft_batch) and delivers each message as (raft_step_atom, raft::message) to
// the group actor of message::group on the replica message::to. Fire-and-forget: a message may
// be lost (Raft retries on its own); delivery order per (sender, receiver) pair is kept.
// Implementations: actors/local_transport.hpp (in-process; tests), the node transport (actors/net_transport.hpp).

#include "actors/type_ids.hpp"

#include <caf/replies_to.hpp>
#include <caf/typed_actor.hpp>

namespace ck::actors {

///
/// Snapshot chunks travel separately, one at a time and acknowledged: (snapshot_chunk_atom,
/// chunk) is delivered to the group actor of (chunk.group, chunk.to), whose answer (the chunk's
/// seq) goes back to the sender; an error when the replica is unknown or unreachable.
using raft_transport_actor =
    caf::typed_actor<caf::reacts_to<atoms::raft_send_atom, raft_batch>,
                     caf::replies_to<atoms::snapshot_chunk_atom, snapshot_chunk>::with<uint64_t>>;

}  // namespace ck::actors
