#pragma once

// Internal to the cluster member actor (cluster_member*.cpp): its state and the helpers its
// files share. Not for other users.

#include "actors/cluster_member.hpp"
#include "actors/meta_state_machine.hpp"
#include "actors/membership_controller.hpp"
#include "actors/rebalancer.hpp"
#include "runtime/cluster/liveness.hpp"
#include "runtime/cluster/meta_state.hpp"

#include <caf/stateful_actor.hpp>
#include <caf/typed_event_based_actor.hpp>

#include <atomic>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <utility>

namespace ck::actors::detail {

struct cluster_member_state {
  static inline const char* name = "cluster_member";

  cluster_member_options options;
  std::shared_ptr<meta_state_machine> sm;
  raft_group_actor group;
  net_transport_actor transport;
  partition_host_actor host;

  // Refreshed every tick.
  std::optional<raft::status_info> status;
  transport_stats peers;

  membership_controller_actor controller;  // bootstrap, liveness, meta voters (linked)
  rebalancer_actor rebalancer;  // placement moves (linked)
  join_service_actor joins;     // the join service: joins and meta commands (linked)

  // What the transport was told: node id -> (raft id, raft address).
  std::map<std::string, std::pair<raft::node_id, std::string>> synced_peers;
  // Members the meta state no longer lists -> when this node first saw that (steady ms); the
  // transport forgets them only a grace later (sync_peers).
  std::map<std::string, int64_t> removed_seen_ms;
  // For "raft:" log lines on changes only.
  raft::role logged_role = raft::role::follower;
  raft::node_id logged_leader = raft::no_node;
  bool tick_running = false;
  bool record_refresh_in_flight = false;  // a rejoin publishing this node's current services
  bool self_removal_in_flight = false;    // a drained leaving node proposing its own removal
  // The raft id the last meta_leader_changed named (no_node: none); unset before the first.
  std::optional<raft::node_id> published_meta_leader;
  // Placement changes applied since start (counted by the meta state machine's observer).
  std::shared_ptr<std::atomic<uint64_t>> moves_done;
};

using member_pointer = cluster_member_actor::stateful_pointer<cluster_member_state>;

/// The cluster view the API serves, from the member's current knowledge and the partition
/// host's view of the partitions.
cluster_view build_view(const cluster_member_state& st, std::vector<partition_view> partitions);

/// One log line for a meta command applied at `index` (joins, status changes, removals).
void log_meta_event(const cluster::command& command, const cluster::apply_result& result);

}  // namespace ck::actors::detail
