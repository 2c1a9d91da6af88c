#pragma once

// The carts example's HTTP routes.
//   KV API (KV_ADDR):
//     POST /carts/add {"cart": "cart:42", "item": "apple", "qty": 2} -> the cart (saved)
//     GET  /carts/get?cart=cart:42                                 -> the cart
//   Cluster API (HTTP_ADDR):
//     GET  /events/recent      -> this node's last cluster events (the event-log service)
//     GET  /carts/singleton    -> {"runs_on": node} from the cluster-wide singleton

#include <runtime/node/extensions.hpp>

namespace carts {

inline constexpr const char* singleton_service = "whereami";

void add_routes(ck::node::extensions& ext);

}  // namespace carts
