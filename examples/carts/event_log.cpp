#include "event_log.hpp"

#include <runtime/node/events.hpp>

#include <caf/actor_system.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/stateful_actor.hpp>
#include <caf/typed_event_based_actor.hpp>
#include <nlohmann/json.hpp>

#include <deque>

namespace carts {

namespace {

using json = nlohmann::json;
constexpr size_t kept_max = 200;

// The service's interface plus the events it subscribes to.
using event_log_actor = ck::node::service_actor::extend<caf::reacts_to<ck::node::cluster_event>>;

struct event_log_state {
  std::deque<json> events;
};

json to_json(const ck::node::cluster_event& e) {
  json out = {
      {"seq", e.seq}, {"kind", std::string{ck::node::to_string(e.kind)}}, {"unix_ms", e.unix_ms}};
  if (!e.node.empty()) out["node"] = e.node;
  if (e.kind == ck::node::event_kind::partition_moved ||
      e.kind == ck::node::event_kind::partition_leader_changed) {
    out["partition"] = e.partition;
  }
  if (!e.from.empty() || !e.to.empty()) {
    out["from"] = e.from;
    out["to"] = e.to;
  }
  if (e.term != 0) out["term"] = e.term;
  return out;
}

}  // namespace

ck::node::service_actor spawn_event_log(caf::actor_system& system, const ck::node::context& node) {
  auto actor = system.spawn([](event_log_actor::stateful_pointer<event_log_state> self)
                                -> event_log_actor::behavior_type {
    return {
        [self](ck::node::cluster_event& e) {
          self->state.events.push_back(to_json(e));
          if (self->state.events.size() > kept_max) {
            self->state.events.pop_front();
          }
        },
        [self](std::string& call) -> std::string {
          if (call != "recent") {
            return json{{"error", "unknown call"}}.dump();
          }
          return json(self->state.events).dump();
        },
    };
  });
  node.subscribe(actor);
  return caf::actor_cast<ck::node::service_actor>(actor);
}

}  // namespace carts
