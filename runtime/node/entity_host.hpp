#pragma once

// The node's entity host (internal to runtime/node; entity.hpp is the API): runs the
// activations of the entities whose partition this node leads. The partition host hands it
// every entity request that reached the partition's leader here (actors::entity_host_actor);
// it activates the entity on its first message (reading its saved state linearizably, which
// also confirms this node still leads), delegates each message to the activation, stops
// activations idle past their type's idle_timeout, and stops every activation of a partition
// whose leadership moved to another node (partition_leader_changed from the event bus).

#include "actors/endpoint_handlers.hpp"
#include "runtime/node/entity.hpp"

#include <memory>
#include <vector>

namespace ck::node::detail {

using entity_host_full_actor = actors::entity_host_actor::extend<
    caf::reacts_to<cluster::cluster_event>, caf::reacts_to<atoms::entity_tick_atom>,
    /// Stops the activation of "type/id" (its save lost a compare-and-set: it is stale).
    caf::reacts_to<atoms::entity_passivate_atom, std::string>>;

/// Spawns the host. `node` must outlive it; `types` are the registered entity types.
entity_host_full_actor spawn_entity_host(caf::actor_system& sys, const context* node,
                                         std::shared_ptr<const std::vector<entity_type>> types);

}  // namespace ck::node::detail
