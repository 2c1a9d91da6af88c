#pragma once

// A node service (every node) that subscribes to the cluster's events and keeps the last 200
// in memory. A call "recent" answers them as a JSON array, oldest first.

#include <runtime/node/service.hpp>

namespace carts {

inline constexpr const char* event_log_service = "event-log";

ck::node::service_actor spawn_event_log(caf::actor_system& system, const ck::node::context& node);

}  // namespace carts
