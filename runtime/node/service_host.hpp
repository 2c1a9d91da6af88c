#pragma once

// The node's service host (internal to runtime/node; service.hpp is the API): spawns the
// every-node services at start, runs the singletons while this node leads the meta group
// (meta_leader_changed from the event bus, the bus's history read at start), answers calls
// relayed to this node by the transport (actors::service_handler_actor), and routes calls made
// here to the node that runs the service (through the transport's service relay).

#include "actors/endpoint_handlers.hpp"
#include "actors/net_transport.hpp"
#include "runtime/node/service.hpp"

#include <memory>
#include <vector>

namespace ck::node::detail {

using service_host_actor = actors::service_handler_actor::extend_with<service_router_actor>::extend<
    caf::reacts_to<cluster::cluster_event>,
    caf::reacts_to<atoms::events_atom, std::vector<cluster::cluster_event>>>;

/// Spawns the host, lazily: it starts (and starts the services) at its first message, so the
/// node's context, which holds the host's handle, can be built in between. `node` is read then
/// and must outlive the host; kick it off with (events_atom, empty vector).
service_host_actor spawn_service_host(caf::actor_system& sys, std::shared_ptr<const context*> node,
                                      std::vector<service_type> types,
                                      actors::net_transport_actor transport);

}  // namespace ck::node::detail
