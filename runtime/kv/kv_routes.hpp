#pragma once

// The KV API (KV_ADDR): /kv/set, /kv/get, /kv/delete, /kv/list, /kv/stats, per the API
// contract, as routes of the public extension API. Handlers validate, then propose or query
// through ck::node::context; they never block the I/O thread.

#include "runtime/node/extensions.hpp"

namespace ck::kv {

/// Adds the KV API's routes to `ext` (the KV machine must be registered as "kv").
void add_kv_routes(node::extensions& ext);

}  // namespace ck::kv
