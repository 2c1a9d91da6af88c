#include "runtime/node/entity_host.hpp"

#include "runtime/base/assert.hpp"
#include "runtime/base/clock.hpp"
#include "runtime/base/log.hpp"
#include "runtime/node/entity_machine.hpp"

#include <caf/actor_system.hpp>
#include <caf/stateful_actor.hpp>
#include <caf/send.hpp>
#include <caf/typed_event_based_actor.hpp>

#include <algorithm>
#include <map>

namespace ck::node::detail {

namespace {

using namespace std::chrono_literals;

// The passivation sweep runs this often (an idle activation lives at most this much longer
// than its idle_timeout).
constexpr auto sweep_interval = 1s;
// Messages that may wait for one activation to load; beyond it the sender gets no_leader.
constexpr size_t waiting_max = 1024;

struct activation {
  entity_actor actor;
  uint32_t partition = 0;
  int64_t last_used_ms = 0;
  int64_t idle_timeout_ms = 0;
};

struct waiting_message {
  std::string payload;
  caf::typed_response_promise<std::string> promise;
};

struct entity_host_state {
  static inline const char* name = "entity_host";
  const context* node = nullptr;
  std::shared_ptr<const std::vector<entity_type>> types;
  std::map<std::string, activation> active;                     // by "type/id"
  std::map<std::string, std::vector<waiting_message>> loading;  // activations being loaded
  std::map<caf::actor_addr, std::string> keys;                  // activation -> "type/id"
};

using host_pointer = entity_host_full_actor::stateful_pointer<entity_host_state>;

const entity_type* find_type(host_pointer self, std::string_view name) {
  for (const auto& t : *self->state.types) {
    if (t.name == name) {
      return &t;
    }
  }
  return nullptr;
}

void passivate(host_pointer self, const std::string& key, const char* why) {
  auto& st = self->state;
  auto it = st.active.find(key);
  if (it == st.active.end()) {
    return;
  }
  CK_LOG_DEBUG("entity: {} passivated ({})", key, why);
  st.keys.erase(it->second.actor.address());
  self->send_exit(it->second.actor, caf::exit_reason::user_shutdown);
  st.active.erase(it);
}

void fail_waiting(host_pointer self, const std::string& key, const caf::error& error) {
  auto it = self->state.loading.find(key);
  if (it == self->state.loading.end()) {
    return;
  }
  for (auto& w : it->second) {
    w.promise.deliver(error);
  }
  self->state.loading.erase(it);
}

// The state is loaded: spawn the activation and hand it the messages that waited.
void activate(host_pointer self, const entity_type& type, const std::string& key, std::string id,
              uint32_t partition, std::optional<stored_entity> stored) {
  auto& st = self->state;
  auto shared = std::make_shared<entity_context::shared>();
  shared->type = type.name;
  shared->id = std::move(id);
  shared->node = st.node;
  if (stored) {
    shared->state = std::move(stored->state);
    shared->version = stored->version;
  }
  auto host = caf::actor_cast<entity_host_full_actor>(self);
  shared->on_conflict = [host, key] {
    // A stale activation: the next message activates a fresh one over the newer state.
    caf::anon_send(host, atoms::entity_passivate_atom_v, key);
  };
  auto actor = type.factory(self->system(), entity_context{shared});
  if (!actor) {
    fail_waiting(
        self, key,
        caf::make_error(errc::internal, "entity factory of " + type.name + " returned no actor"));
    return;
  }
  self->monitor(actor);
  st.keys[actor.address()] = key;
  st.active[key] = activation{actor, partition, runtime::steady_now_ms(),
                              static_cast<int64_t>(type.options.idle_timeout.count())};
  CK_LOG_DEBUG("entity: {} activated (version {})", key, shared->version);
  auto waiting = std::move(st.loading[key]);
  st.loading.erase(key);
  for (auto& w : waiting) {
    w.promise.delegate(actor, std::move(w.payload));
  }
}

// Reads the entity's saved state (linearizable: it also confirms this node leads), then
// activates it.
void start_loading(host_pointer self, const entity_type& type, const std::string& key,
                   std::string id, uint32_t partition) {
  const std::string type_name = type.name;
  self->state.node->query(
      self, entity_machine_name, id, key, consistency::linearizable,
      [self, type_name, key, id, partition](std::string& answer) {
        const auto* t = find_type(self, type_name);
        CK_ASSERT(t != nullptr);
        activate(self, *t, key, id, partition, decode_entity_answer(answer));
      },
      [self, key](caf::error& error) {
        CK_LOG_DEBUG("entity: loading {} failed: {}", key, to_string(error));
        fail_waiting(self, key,
                     caf::make_error(errc::no_leader, "entity " + key + " could not be activated"));
      });
}

caf::result<std::string> deliver(host_pointer self, actors::partition_request& request) {
  auto& st = self->state;
  const auto slash = request.machine.find('/');
  if (slash == std::string::npos) {
    return caf::make_error(errc::invalid_argument, "not an entity address: " + request.machine);
  }
  const auto* type = find_type(self, std::string_view{request.machine}.substr(0, slash));
  if (type == nullptr) {
    return caf::make_error(errc::not_found, "no entity type for " + request.machine);
  }
  const std::string& key = request.machine;
  if (auto it = st.active.find(key); it != st.active.end()) {
    it->second.last_used_ms = runtime::steady_now_ms();
    return self->delegate(it->second.actor, std::move(request.payload));
  }
  auto& waiting = st.loading[key];
  if (waiting.size() >= waiting_max) {
    return caf::make_error(errc::no_leader, "entity " + key + " is loading; retry");
  }
  auto promise = self->make_response_promise<std::string>();
  waiting.push_back(waiting_message{std::move(request.payload), promise});
  if (waiting.size() == 1) {
    start_loading(self, *type, key, request.machine.substr(slash + 1), request.partition);
  }
  return promise;
}

// Stops the activations of a partition another node leads now.
void on_event(host_pointer self, const cluster::cluster_event& e) {
  auto& st = self->state;
  if (e.kind != cluster::event_kind::partition_leader_changed) {
    return;
  }
  if (e.node == st.node->node_id()) {
    return;
  }
  std::vector<std::string> leaving;
  for (const auto& [key, a] : st.active) {
    if (a.partition == e.partition) {
      leaving.push_back(key);
    }
  }
  for (const auto& key : leaving) {
    passivate(self, key, "the partition's leader moved");
  }
}

void sweep(host_pointer self) {
  auto& st = self->state;
  const int64_t now = runtime::steady_now_ms();
  std::vector<std::string> idle;
  for (const auto& [key, a] : st.active) {
    if (now - a.last_used_ms >= a.idle_timeout_ms) {
      idle.push_back(key);
    }
  }
  for (const auto& key : idle) {
    passivate(self, key, "idle");
  }
  self->delayed_send(self, sweep_interval, atoms::entity_tick_atom_v);
}

entity_host_full_actor::behavior_type entity_host(
    host_pointer self, const context* node, std::shared_ptr<const std::vector<entity_type>> types) {
  self->state.node = node;
  self->state.types = std::move(types);
  self->set_down_handler([self](caf::down_msg& msg) {
    auto& st = self->state;
    auto it = st.keys.find(msg.source);
    if (it == st.keys.end()) {
      return;
    }
    CK_LOG_DEBUG("entity: {} stopped ({})", it->second, to_string(msg.reason));
    st.active.erase(it->second);
    st.keys.erase(it);
  });
  self->set_exit_handler([self](caf::exit_msg& msg) {
    for (auto& [key, a] : self->state.active) {
      self->send_exit(a.actor, msg.reason);
    }
    self->quit(msg.reason);
  });
  self->send(self, atoms::entity_tick_atom_v);
  return {
      [self](atoms::entity_deliver_atom, actors::partition_request& request) {
        return deliver(self, request);
      },
      [self](cluster::cluster_event& e) { on_event(self, e); },
      [self](atoms::entity_tick_atom) { sweep(self); },
      [self](atoms::entity_passivate_atom, const std::string& key) {
        passivate(self, key, "another activation saved first");
      },
  };
}

}  // namespace

entity_host_full_actor spawn_entity_host(caf::actor_system& sys, const context* node,
                                         std::shared_ptr<const std::vector<entity_type>> types) {
  CK_ASSERT(node != nullptr);
  return sys.spawn(entity_host, node, std::move(types));
}

}  // namespace ck::node::detail
