#pragma once

// PUBLIC API: sharded entities (virtual actors keyed by id), in the spirit of Orleans grains and
// Akka Cluster Sharding, with state replicated by Raft instead of an external database.
//
// An entity type is a name and a factory that spawns one actor for one id. The runtime keeps at
// most one live activation per (type, id) on the node that leads the id's partition
// (partition_of(id), as for every key): it is activated by the first message, passivated
// after `idle_timeout` without messages, and activated again (on the new leader's node) after
// a leader change, a move of the partition or a node failure.
//
// Messages are bytes (std::string) both ways, so they cross nodes without registering types:
// encode them as JSON or any format you like. From any actor or route, on any node:
//
//   node.ask(self, "cart", "cart:42", R"({"add":"apple"})",
//            [](std::string& reply) { ... }, [](caf::error& error) { ... });
//
// An entity actor implements ck::node::entity_actor (one request: string in, string out):
//
//   ck::node::entity_actor spawn_cart(caf::actor_system& sys, ck::node::entity_context ctx) {
//     return sys.spawn([ctx](ck::node::entity_actor::pointer self)
//                          -> ck::node::entity_actor::behavior_type { ... });
//   }
//
// Durable state: ctx.state() is the entity's state as last saved (nullopt: never saved), read
// linearizably when the activation started; ctx.save(self, bytes, on_saved, on_error) writes it
// through the partition's Raft group, so once on_saved runs the state survives any minority of
// failed nodes. Saves are compare-and-set on a version: if another activation saved in between
// (two activations can briefly overlap around a leader change), the save fails with
// errc::conflict and the runtime passivates this activation; the next message activates a fresh
// one that reads the newer state. Reply to a request only after its save succeeded to make
// "acknowledged" mean "durable".
//
// Guarantees per message kind:
// - ask: at most once. It is routed and retried only while it is certain the entity has not
//   received it (no leader, not the leader, no connection); once handed to an activation, a
//   timeout is answered errc::timeout (HTTP 504: it may or may not have been handled) and never
//   retried by the runtime.
// - One activation handles its messages one at a time, in arrival order (it is an actor).
//   Asks from one sender arrive in order except across a leader change.
// - State written by save() is never lost once on_saved ran; state held only in the actor's
//   memory is lost at passivation, failover or move.

#include "runtime/node/context.hpp"

#include <caf/replies_to.hpp>
#include <caf/typed_actor.hpp>

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

namespace ck::node {

/// The interface of every entity actor: a request is the message bytes, its reply the answer.
using entity_actor = caf::typed_actor<caf::replies_to<std::string>::with<std::string>>;

/// The registered state machine that holds every entity's durable state (the KV-like store
/// keyed by "type/id"); registered by the first register_entity_type().
inline constexpr std::string_view entity_machine_name = "ck.entities";

/// What an activation knows about itself and how it saves its state. Copies share the version.
class entity_context {
 public:
  struct shared {
    std::string type;
    std::string id;
    std::optional<std::string> state;  // at activation
    uint64_t version = 0;              // of the last state saved or loaded (0: never saved)
    const context* node = nullptr;
    std::function<void()> on_conflict;  // passivates the activation (set by the runtime)
  };

  explicit entity_context(std::shared_ptr<shared> s) : s_(std::move(s)) {}

  const std::string& type() const { return s_->type; }
  const std::string& id() const { return s_->id; }
  /// The state as last saved when this activation started; nullopt when never saved.
  const std::optional<std::string>& state() const { return s_->state; }
  uint64_t version() const { return s_->version; }
  const context& node() const { return *s_->node; }

  /// Saves `state` durably (compare-and-set against the version this activation last saw),
  /// then calls on_saved(); on_error(caf::error&) with errc::conflict when another activation
  /// saved first (this one is passivated), or the routing errors of context::propose. The
  /// activation handles no other message until the save is answered (CAF's await), so saves
  /// of one activation never race each other.
  template <class Self, class OnSaved, class OnError>
  void save(Self* self, std::string state, OnSaved on_saved, OnError on_error) const {
    auto s = s_;
    const context& n = node();
    actors::partition_request request{n.partition_of(s->id), actors::partition_op::propose,
                                      std::string{entity_machine_name},
                                      encode_save(s->type, s->id, s->version, state)};
    self->request(caf::actor_cast<actors::partition_router_actor>(n.partitions()),
                  n.request_timeout(), atoms::partition_call_atom_v, std::move(request))
        .await(
            [s, on_saved, on_error](std::string& result) mutable {
              uint64_t version = 0;
              if (decode_saved(result, version)) {
                s->version = version;
                on_saved();
                return;
              }
              if (s->on_conflict) {
                s->on_conflict();
              }
              caf::error conflict = caf::make_error(
                  errc::conflict, "entity " + s->type + "/" + s->id +
                                      " was saved by another activation; this one is passivated");
              on_error(conflict);
            },
            [on_error](caf::error& error) mutable { on_error(error); });
  }

  /// The command and result encodings of the entity machine (runtime/node/entity_machine.hpp).
  static std::string encode_save(std::string_view type, std::string_view id,
                                 uint64_t expected_version, std::string_view state);
  static bool decode_saved(std::string_view result, uint64_t& version);

 private:
  std::shared_ptr<shared> s_;
};

/// Spawns the activation of one entity. Called on the leader's node, once per activation.
using entity_factory = std::function<entity_actor(caf::actor_system& system, entity_context ctx)>;

struct entity_options {
  /// An activation without messages for this long is stopped (its memory is lost; its saved
  /// state is not).
  std::chrono::milliseconds idle_timeout{60'000};
};

/// An entity type as registered.
struct entity_type {
  std::string name;
  entity_factory factory;
  entity_options options;
};

}  // namespace ck::node
