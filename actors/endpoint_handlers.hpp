#pragma once

// The local actors behind the node's published transport endpoint: what a remote node's
// request reaches once the endpoint (actors/net_transport) hands it on, and the local
// interfaces of the same actors.

#include "actors/type_ids.hpp"

#include <caf/replies_to.hpp>
#include <caf/typed_actor.hpp>

namespace ck::actors {

/// Runs node service calls on this node: the runtime/node service host for user services,
/// and the built-in control-plane services (net_transport.hpp's "ck.*" names).
/// (service_call_atom, call) answers the service's reply; errc::not_found for a service this
/// node does not run (errc::no_leader for a singleton that runs elsewhere now).
using service_handler_actor =
    caf::typed_actor<caf::replies_to<atoms::service_call_atom, service_call>::with<std::string>>;

/// Who answers joins and meta commands: the cluster member (which hands them to its join
/// service); the cluster API's interface for POST /join and /leave.
/// (join_atom, request): answered once the meta leader committed the join; errc::conflict,
/// errc::invalid_argument or errc::no_leader (retry) otherwise.
/// (meta_command_atom, encoded cluster::command): proposed by the meta leader (forwarded there
/// by a follower); answered with the applied result (decode_meta_apply_result).
using join_handler_actor = caf::typed_actor<
    caf::replies_to<atoms::join_atom, join_request>::with<join_reply>,
    caf::replies_to<atoms::meta_command_atom, std::string>::with<raft_propose_reply>>;

/// The join service itself (actors/join_service): the same requests, and from other nodes as
/// the services "ck.join" and "ck.meta".
using join_service_actor = join_handler_actor::extend_with<service_handler_actor>;

/// Runs routed partition requests on this node's replicas (the partition host), for the
/// transport's endpoint: (partition_route_atom, request, origin node) answers not_leader /
/// not_hosted with a leader hint when this node cannot run it. The origin is the authenticated
/// peer that relayed it (a leader counts where its requests come from: load_follow.hpp).
using partition_route_handler_actor = caf::typed_actor<
    caf::replies_to<atoms::partition_route_atom, partition_request, std::string>::with<
        partition_reply>>;

/// Who runs entity requests on the node that leads their partition (runtime/node's entity
/// host): (entity_deliver_atom, request with op entity) answers the entity's reply;
/// errc::no_leader when this node turned out not to lead the partition.
using entity_host_actor = caf::typed_actor<
    caf::replies_to<atoms::entity_deliver_atom, partition_request>::with<std::string>>;

}  // namespace ck::actors
