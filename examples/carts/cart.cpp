#include "cart.hpp"

#include <caf/actor_system.hpp>
#include <caf/stateful_actor.hpp>
#include <caf/typed_event_based_actor.hpp>
#include <nlohmann/json.hpp>

#include <map>

namespace carts {

namespace {

using json = nlohmann::json;

struct cart_state {
  std::map<std::string, int64_t> items;
};

using cart_pointer = ck::node::entity_actor::stateful_pointer<cart_state>;

json describe(const cart_pointer self, const ck::node::entity_context& ctx) {
  return {{"cart", ctx.id()},
          {"items", self->state.items},
          {"version", ctx.version()},
          {"node", ctx.node().node_id()}};
}

// Adds to the cart, saves the whole cart through Raft, and answers only once it is durable.
caf::result<std::string> add(cart_pointer self, const ck::node::entity_context& ctx,
                             const json& message) {
  const auto item = message.value("item", std::string{});
  const auto qty = message.value("qty", int64_t{1});
  if (item.empty()) {
    return json{{"error", "field \"item\" is required"}}.dump();
  }
  const auto before = self->state.items;
  self->state.items[item] += qty;
  auto promise = self->make_response_promise<std::string>();
  ctx.save(
      self, json(self->state.items).dump(),
      [self, ctx, promise]() mutable { promise.deliver(describe(self, ctx).dump()); },
      [self, before, promise](caf::error& error) mutable {
        self->state.items = before;  // not saved: the cart stays as it was
        promise.deliver(std::move(error));
      });
  return promise;
}

}  // namespace

ck::node::entity_actor spawn_cart(caf::actor_system& system, ck::node::entity_context ctx) {
  return system.spawn([ctx](cart_pointer self) -> ck::node::entity_actor::behavior_type {
    if (ctx.state()) {
      self->state.items = json::parse(*ctx.state()).get<std::map<std::string, int64_t>>();
    }
    return {
        [self, ctx](std::string& text) -> caf::result<std::string> {
          const json message = json::parse(text, nullptr, /*allow_exceptions=*/false);
          const auto op = message.is_object() ? message.value("op", std::string{}) : "";
          if (op == "add") {
            return add(self, ctx, message);
          }
          if (op == "get") {
            return describe(self, ctx).dump();
          }
          return json{{"error", "op must be add or get"}}.dump();
        },
    };
  });
}

}  // namespace carts
