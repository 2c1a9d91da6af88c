#pragma once

// An in-process raft transport: every replica of every group lives in this actor system, so
// delivering a message is handing it to the registered group actor of (message::group,
// message::to). For tests and single-process setups; the node transport replaces it across
// processes behind the same raft_transport_actor interface.
//
// Test hooks: raft_drop_atom isolates a replica (every message from or to it is dropped), as a
// network partition would, or cuts one direction only (a replica that sends but hears nothing).

#include "actors/raft_group.hpp"
#include "actors/raft_transport.hpp"

#include <caf/fwd.hpp>
#include <caf/replies_to.hpp>
#include <caf/typed_actor.hpp>

namespace ck::actors {

using local_transport_actor = raft_transport_actor::extend<
    /// Routes messages for (group, replica) to the actor; replaces an earlier registration
    /// (a restarted replica).
    caf::reacts_to<atoms::raft_register_atom, raft::group_id, raft::node_id, raft_group_actor>,
    /// true: drop every message from or to the replica; false: deliver again.
    caf::reacts_to<atoms::raft_drop_atom, raft::node_id, bool>,
    /// Per direction: drop messages to the replica (`inbound`), from it (`outbound`).
    caf::reacts_to<atoms::raft_drop_atom, raft::node_id, bool, bool>>;

local_transport_actor spawn_local_transport(caf::actor_system& sys);

}  // namespace ck::actors
