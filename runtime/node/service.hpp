#pragma once

// PUBLIC API: node services: your own actors, run by the node and reachable by name from any
// node through the node-to-node transport.
//
//   every_node: one instance on every node, started once the node serves.
//   singleton:  one instance in the whole cluster, on the node that leads the meta group;
//               started there when it becomes leader and stopped when it stops leading (so
//               after a failover it runs on the new leader; state held only in its memory is
//               lost then: keep what must survive in a state machine).
//
// Each node lists the names of the services its binary registers in its `services` map of
// GET /cluster (address: the node's RAFT_ADDR, where the transport reaches it), so clients and
// other services can discover them.
//
// Messages are bytes both ways (as for entities). Call a service from any actor or route:
//
//   node.call_service(self, "node-2", "echo", "hello", on_reply, on_error);  // "" = this node
//   node.call_singleton(self, "scheduler", "tick", on_reply, on_error);
//
// Errors: errc::not_found (no such service on that node), errc::no_leader (no connection to
// the node, or the singleton is moving: retry), errc::timeout (no answer in time: the service
// may have handled the call). Calls are never retried by the runtime (at most once).

#include "runtime/node/context.hpp"

#include <caf/replies_to.hpp>
#include <caf/typed_actor.hpp>

#include <functional>
#include <string>

namespace ck::node {

/// The interface of every service actor: a call is the payload bytes, its reply the answer.
using service_actor = caf::typed_actor<caf::replies_to<std::string>::with<std::string>>;

enum class service_scope : uint8_t { every_node, singleton };

/// Spawns the service's actor (on every node, or on the meta leader for a singleton). The node
/// stops it (an exit message) when the node stops or, for a singleton, when leadership moves.
using service_factory =
    std::function<service_actor(caf::actor_system& system, const context& node)>;

struct service_type {
  std::string name;
  service_scope scope = service_scope::every_node;
  service_factory factory;
};

}  // namespace ck::node
