#include "runtime/node/service_host.hpp"

#include "runtime/base/assert.hpp"
#include "runtime/base/log.hpp"

#include <caf/actor_system.hpp>
#include <caf/stateful_actor.hpp>
#include <caf/typed_event_based_actor.hpp>

#include <map>

namespace ck::node::detail {

namespace {

using namespace std::chrono_literals;

// A call relayed to another node: the hop plus the service's own work.
constexpr auto relay_timeout = 5s;
// Reading the bus's history at start (to learn the current meta leader).
constexpr auto history_timeout = 5s;

struct running_service {
  service_type type;
  service_actor actor;  // unset while not running here (a singleton on another node)
};

struct service_host_state {
  static inline const char* name = "service_host";
  const context* node = nullptr;
  actors::net_transport_actor transport;
  std::map<std::string, running_service> services;
  std::string meta_leader;  // node id, "" unknown
  uint64_t last_seq = 0;    // of the last event seen (history replay skips older ones)
};

using host_pointer = service_host_actor::stateful_pointer<service_host_state>;

void start(host_pointer self, running_service& s) {
  if (s.actor) {
    return;
  }
  s.actor = s.type.factory(self->system(), *self->state.node);
  if (s.actor) {
    CK_LOG_INFO("service: {} started on this node{}", s.type.name,
                s.type.scope == service_scope::singleton ? " (singleton)" : "");
  }
}

void stop(host_pointer self, running_service& s, const char* why) {
  if (!s.actor) {
    return;
  }
  self->send_exit(s.actor, caf::exit_reason::user_shutdown);
  s.actor = service_actor{};
  CK_LOG_INFO("service: {} stopped on this node ({})", s.type.name, why);
}

// Singletons follow the meta leader.
void on_event(host_pointer self, const cluster::cluster_event& e) {
  auto& st = self->state;
  if (e.seq != 0 && e.seq <= st.last_seq) {
    return;
  }
  st.last_seq = std::max(st.last_seq, e.seq);
  if (e.kind != cluster::event_kind::meta_leader_changed) {
    return;
  }
  st.meta_leader = e.node;
  const bool here = e.node == st.node->node_id();
  for (auto& [name, s] : st.services) {
    if (s.type.scope != service_scope::singleton) {
      continue;
    }
    if (here) {
      start(self, s);
    } else {
      stop(self, s, "the meta leader moved");
    }
  }
}

caf::result<std::string> call_local(host_pointer self, actors::service_call& call) {
  auto& st = self->state;
  auto it = st.services.find(call.service);
  if (it == st.services.end()) {
    return caf::make_error(errc::not_found,
                           "no service named \"" + call.service + "\" on " + st.node->node_id());
  }
  if (!it->second.actor) {
    return caf::make_error(
        errc::no_leader, "the singleton " + call.service + " does not run on this node now; retry");
  }
  return self->delegate(it->second.actor, std::move(call.payload));
}

caf::result<std::string> route(host_pointer self, std::string& node_id,
                               actors::service_call& call) {
  auto& st = self->state;
  std::string target = call.singleton ? st.meta_leader : node_id;
  if (target.empty() && !call.singleton) {
    target = st.node->node_id();
  }
  if (target.empty()) {
    return caf::make_error(errc::no_leader, "no meta leader known yet; retry");
  }
  if (target == st.node->node_id()) {
    return call_local(self, call);
  }
  return self->delegate(st.transport, atoms::service_relay_atom_v, std::move(target),
                        std::move(call));
}

service_host_actor::behavior_type service_host(host_pointer self,
                                               std::shared_ptr<const context*> node,
                                               std::vector<service_type> types,
                                               actors::net_transport_actor transport) {
  auto& st = self->state;
  CK_ASSERT(*node != nullptr);  // set before the first message (spawned lazily)
  st.node = *node;
  st.transport = std::move(transport);
  for (auto& type : types) {
    auto name = type.name;
    st.services.emplace(name, running_service{std::move(type), service_actor{}});
  }
  for (auto& [name, s] : st.services) {
    if (s.type.scope == service_scope::every_node) {
      start(self, s);
    }
  }
  self->set_exit_handler([self](caf::exit_msg& msg) {
    for (auto& [name, s] : self->state.services) {
      if (s.actor) {
        self->send_exit(s.actor, msg.reason);
      }
    }
    self->quit(msg.reason);
  });
  self->request(st.node->events(), history_timeout, atoms::events_atom_v, uint64_t{0})
      .then(
          [self](std::vector<cluster::cluster_event>& history) {
            for (const auto& e : history) {
              on_event(self, e);
            }
          },
          [](caf::error& error) {
            CK_LOG_WARN("service: reading the event history failed: {}", to_string(error));
          });
  return {
      [self](atoms::service_call_atom, actors::service_call& call) {
        return call_local(self, call);
      },
      [self](atoms::service_route_atom, std::string& node_id, actors::service_call& call) {
        return route(self, node_id, call);
      },
      [self](cluster::cluster_event& e) { on_event(self, e); },
      [self](atoms::events_atom, std::vector<cluster::cluster_event>& history) {
        for (const auto& e : history) {
          on_event(self, e);
        }
      },
  };
}

}  // namespace

service_host_actor spawn_service_host(caf::actor_system& sys, std::shared_ptr<const context*> node,
                                      std::vector<service_type> types,
                                      actors::net_transport_actor transport) {
  CK_ASSERT(node != nullptr);
  return sys.spawn<caf::lazy_init>(service_host, std::move(node), std::move(types),
                                   std::move(transport));
}

}  // namespace ck::node::detail
