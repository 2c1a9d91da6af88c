#pragma once

// What a Raft group actor sends its messages through: any actor that takes
// (raft_send_atom, raft_batch) and delivers each message as (raft_step_atom, raft::message) to
// the group actor of message::group on the replica message::to. Fire-and-forget: a message may
// be lost (Raft retries on its own); delivery order per (sender, receiver) pair is kept.
// Implementations: actors/local_transport.hpp (in-process; tests), the node transport (BASP).

#include "actors/type_ids.hpp"

#include <caf/replies_to.hpp>
#include <caf/typed_actor.hpp>

namespace ck::actors {

using raft_transport_actor = caf::typed_actor<caf::reacts_to<atoms::raft_send_atom, raft_batch>>;

}  // namespace ck::actors
