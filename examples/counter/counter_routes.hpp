#pragma once

// The counter's HTTP routes, on the node's KV API listener (KV_ADDR):
//   POST /counter/add {"name": "visits", "by": 1}   -> 200 {"name", "value", "partition"}
//   GET  /counter/get?name=visits[&consistency=stale] -> 200 {"name", "value", "partition"}
// Errors are the node's: 400 bad input, 503 no leader (retry), 504 outcome unknown.

#include <runtime/node/extensions.hpp>

namespace counter {

void add_routes(ck::node::extensions& ext);

}  // namespace counter
