#pragma once

// PUBLIC API: what a node binary adds to the runtime, and its entry point.
//
//   int main(int argc, char** argv) {
//     ck::node::extensions ext;
//     ck::kv::add_kv_module(ext);                       // the built-in KV store (optional)
//     ext.register_state_machine("counter", [](uint32_t) { return std::make_unique<counter>(); });
//     ext.add_route(ck::node::api::kv, "POST", "/counter/add", ck::node::access::write, add);
//     return ck::node::run(argc, argv, ext);
//   }
//
// Every node of a cluster must run a binary with the same state machines registered in the
// same order (a machine's position is its storage slot; the node records the names in its
// DATA_DIR and refuses to start over data written with other names). New machines may be
// added at the end in a later binary.

#include "runtime/node/entity.hpp"
#include "runtime/node/routes.hpp"
#include "runtime/node/service.hpp"
#include "runtime/node/state_machine.hpp"

#include <functional>
#include <string>
#include <vector>

namespace caf {
class actor_system;
}

namespace ck::node {

/// Called once the node serves (all actors running, HTTP listening): spawn node services
/// (actors of your own) here. They must stop when the actor system stops (the node sends
/// every actor it knows an exit; link yours to nothing or monitor nothing that outlives it).
using start_hook = std::function<void(caf::actor_system& system, const context& node)>;

class extensions {
 public:
  struct route {
    node::api api;
    std::string method;
    std::string path;
    node::access access;
    route_handler handler;
  };

  /// Registers a state machine type under `name` (1..64 bytes of [a-z0-9_.-]); `factory`
  /// makes the instance of one partition replica. A duplicate or invalid name makes run()
  /// refuse to start. `on_applied`, when set, is told of every command of this machine applied
  /// on this node (state_machine.hpp's apply_listener: per partition in log order, after the
  /// apply committed); the KV module's watch streams are fed this way.
  extensions& register_state_machine(std::string name, state_machine_factory factory,
                                     apply_listener on_applied = {});

  /// Registers a sharded entity type (runtime/node/entity.hpp) under `name` (the rules of a
  /// machine name). The first one also registers the state machine that holds every entity's
  /// saved state ("ck.entities") at this point of the registration order.
  extensions& register_entity_type(std::string name, entity_factory factory,
                                   entity_options options = {});

  /// Adds a node service (runtime/node/service.hpp) under `name` (1..64 bytes of
  /// [a-z0-9_.-]; not "kv", which names the node's KV API address in `services`, and not
  /// starting with "ck.", the built-in services' prefix).
  extensions& add_service(std::string name, service_scope scope, service_factory factory);

  /// Adds a route; the built-in routes of the same listener win a clash (run() refuses to start
  /// on one).
  extensions& add_route(node::api api, std::string method, std::string path, node::access access,
                        route_handler handler);

  /// Adds a section `name` to the node's metrics (/metrics JSON object `name`, Prometheus
  /// names as given): `define(section, node)` adds its counters, latencies and gauges once the
  /// node's context exists and before it serves (keep the references it returns to update
  /// them from your routes and actors).
  extensions& add_metrics(std::string name,
                          std::function<void(runtime::metrics_section&, const context&)> define);

  /// Adds a hook run once the node serves.
  extensions& on_start(start_hook hook);

  const std::vector<cluster::machine_type>& machines() const { return machines_; }
  const std::vector<route>& routes() const { return routes_; }
  const std::vector<start_hook>& start_hooks() const { return start_hooks_; }
  const std::vector<entity_type>& entity_types() const { return entity_types_; }
  const std::vector<service_type>& services() const { return services_; }
  struct metrics_definition {
    std::string name;
    std::function<void(runtime::metrics_section&, const context&)> define;
  };
  const std::vector<metrics_definition>& metrics() const { return metrics_; }

  /// Why these extensions cannot run ("" when they can): an invalid or duplicate name.
  std::string check() const;

 private:
  std::vector<cluster::machine_type> machines_;
  std::vector<route> routes_;
  std::vector<start_hook> start_hooks_;
  std::vector<entity_type> entity_types_;
  std::vector<service_type> services_;
  std::vector<metrics_definition> metrics_;
};

/// The node's entry point: reads the configuration (flags, environment, YAML file as
/// docs/configuration.md says), starts the node with `ext`, serves until SIGTERM or SIGINT and
/// returns the process exit code (0 stopped, 1 could not start, 2 bad configuration; the reason
/// is one line on stderr). Call it from main() before any other thread exists.
int run(int argc, char** argv, const extensions& ext);

}  // namespace ck::node
