#pragma once

// The join service: answers POST /join and meta commands (POST /leave, a node publishing its
// services) for this node. On the meta leader's node it proposes them on the meta group and
// answers once applied; elsewhere it hands them to the leader's node through the transport
// (the reply goes straight back to the requester). One per node, linked to the cluster member
// (which spawns it); the transport and the cluster API know it as join_service_actor.

#include "actors/endpoint_handlers.hpp"
#include "actors/meta_state_machine.hpp"
#include "actors/net_transport.hpp"
#include "actors/raft_group.hpp"

#include <memory>
#include <string>

namespace ck::actors {

/// Spawns the service for the node `node_id`, over its meta replica `group` and state `meta`.
join_service_actor spawn_join_service(caf::actor_system& sys, std::string node_id,
                                      raft_group_actor group,
                                      std::shared_ptr<const meta_state_machine> meta,
                                      net_transport_actor transport);

}  // namespace ck::actors
