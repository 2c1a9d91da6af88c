// carts-node: a ClusterKit node serving shopping carts as sharded entities with durable state,
// an event-log service on every node and a small singleton. Run it like the stock binary.

#include "cart.hpp"
#include "event_log.hpp"
#include "routes.hpp"

#include <runtime/node/extensions.hpp>

#include <caf/actor_system.hpp>
#include <caf/typed_event_based_actor.hpp>
#include <nlohmann/json.hpp>

int main(int argc, char** argv) {
  ck::node::extensions ext;
  ck::node::entity_options cart_options;
  cart_options.idle_timeout = std::chrono::seconds(30);
  ext.register_entity_type(carts::entity_type, carts::spawn_cart, cart_options);
  ext.add_service(carts::event_log_service, ck::node::service_scope::every_node,
                  carts::spawn_event_log);
  // The singleton answers where it runs (the meta leader's node).
  ext.add_service(
      carts::singleton_service, ck::node::service_scope::singleton,
      [](caf::actor_system& system, const ck::node::context& node) {
        const auto here = node.node_id();
        return system.spawn([here]() -> ck::node::service_actor::behavior_type {
          return {[here](std::string&) { return nlohmann::json{{"runs_on", here}}.dump(); }};
        });
      });
  carts::add_routes(ext);
  return ck::node::run(argc, argv, ext);
}
