#pragma once

// The KV API (KV_ADDR): /kv/set, /kv/get, /kv/delete, /kv/list, /kv/stats, /kv/watch per the API
// contract, as routes of the public extension API. Handlers validate, then propose or query
// through ck::node::context; they never block the I/O thread.

#include "runtime/kv/kv_watch.hpp"
#include "runtime/node/extensions.hpp"

#include <memory>

namespace ck::kv {

/// Adds the KV API's routes to `ext` (the KV machine must be registered as "kv", with
/// `watches`' on_applied as its apply listener, which feeds GET /kv/watch).
void add_kv_routes(node::extensions& ext, std::shared_ptr<watch_hub> watches);

}  // namespace ck::kv
