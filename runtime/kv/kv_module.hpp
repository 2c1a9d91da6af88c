#pragma once

// The built-in KV store as a module of the public API: its state machine ("kv") and its HTTP
// routes (/kv/* on KV_ADDR). The stock clusterkit binary is main() with this module only.

#include "runtime/kv/kv_machine.hpp"
#include "runtime/kv/kv_routes.hpp"
#include "runtime/node/extensions.hpp"

#include <memory>

namespace ck::kv {

/// Registers the KV machine (name "kv"), its watch streams (fed by its applies) and the KV
/// API's routes.
inline void add_kv_module(node::extensions& ext) {
  auto watches = std::make_shared<watch_hub>();
  ext.register_state_machine(
      std::string{machine_name}, [](uint32_t) { return std::make_unique<kv_machine>(); },
      [watches](const node::applied_command& c) { watches->on_applied(c); });
  add_kv_routes(ext, watches);
}

}  // namespace ck::kv
