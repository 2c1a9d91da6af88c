#include "runtime/cluster/events.hpp"

#include "runtime/cluster/placement.hpp"

#include <type_traits>
#include <variant>

namespace ck::cluster {

std::string_view to_string(event_kind kind) {
  switch (kind) {
    case event_kind::node_joined:
      return "node_joined";
    case event_kind::node_rejoined:
      return "node_rejoined";
    case event_kind::node_suspect:
      return "node_suspect";
    case event_kind::node_dead:
      return "node_dead";
    case event_kind::node_alive:
      return "node_alive";
    case event_kind::node_leaving:
      return "node_leaving";
    case event_kind::node_left:
      return "node_left";
    case event_kind::partition_moved:
      return "partition_moved";
    case event_kind::rebalance_started:
      return "rebalance_started";
    case event_kind::rebalance_finished:
      return "rebalance_finished";
    case event_kind::partition_leader_changed:
      return "partition_leader_changed";
    case event_kind::meta_leader_changed:
      return "meta_leader_changed";
  }
  return "unknown";
}

namespace {

cluster_event node_event(event_kind kind, std::string node) {
  cluster_event e;
  e.kind = kind;
  e.node = std::move(node);
  return e;
}

event_kind kind_of(node_status status) {
  switch (status) {
    case node_status::alive:
      return event_kind::node_alive;
    case node_status::suspect:
      return event_kind::node_suspect;
    case node_status::dead:
      return event_kind::node_dead;
    case node_status::leaving:
      return event_kind::node_leaving;
  }
  return event_kind::node_alive;
}

}  // namespace

std::vector<cluster_event> meta_events(const command& cmd, const apply_result& result,
                                       const std::vector<std::string>& placement_before) {
  std::vector<cluster_event> out;
  std::visit(
      [&](const auto& c) {
        using T = std::decay_t<decltype(c)>;
        if constexpr (std::is_same_v<T, bootstrap_command>) {
          if (result.outcome == apply_outcome::ok) {
            out.push_back(node_event(event_kind::node_joined, c.first.id));
          }
        } else if constexpr (std::is_same_v<T, join_command>) {
          if (result.outcome == apply_outcome::joined ||
              result.outcome == apply_outcome::replaced) {
            out.push_back(node_event(event_kind::node_joined, c.node.id));
          } else if (result.outcome == apply_outcome::rejoined) {
            out.push_back(node_event(event_kind::node_rejoined, c.node.id));
          }
        } else if constexpr (std::is_same_v<T, set_status_command>) {
          if (result.outcome == apply_outcome::ok) {
            out.push_back(node_event(kind_of(c.status), c.id));
          }
        } else if constexpr (std::is_same_v<T, remove_node_command>) {
          if (result.outcome == apply_outcome::ok) {
            out.push_back(node_event(event_kind::node_left, c.id));
          }
        } else if constexpr (std::is_same_v<T, set_placement_command>) {
          if (result.outcome == apply_outcome::ok && placement_before != c.replicas) {
            cluster_event e;
            e.kind = event_kind::partition_moved;
            e.partition = c.index;
            e.from = placement_before;
            e.to = c.replicas;
            out.push_back(std::move(e));
          }
        }
      },
      cmd);
  return out;
}

bool rebalance_pending(const meta_state& state) {
  if (!state.bootstrapped()) {
    return false;
  }
  const auto target = plan_placement(state);
  for (size_t i = 0; i < target.size() && i < state.placement.size(); ++i) {
    if (target[i].replicas != state.placement[i].replicas) {
      return true;
    }
  }
  return false;
}

}  // namespace ck::cluster
