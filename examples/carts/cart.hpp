#pragma once

// A shopping cart as a sharded entity: one activation per cart id, on the node leading the
// id's partition. Messages and replies are JSON text:
//   {"op": "add", "item": "apple", "qty": 2}  -> the cart after the add (saved first)
//   {"op": "get"}                             -> the cart
// A reply is {"cart": id, "items": {item: qty}, "version": n, "node": where it is active}.

#include <runtime/node/entity.hpp>

namespace carts {

inline constexpr const char* entity_type = "cart";

ck::node::entity_actor spawn_cart(caf::actor_system& system, ck::node::entity_context ctx);

}  // namespace carts
