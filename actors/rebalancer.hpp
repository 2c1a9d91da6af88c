#pragma once

// The rebalancer: on the node that leads the meta group, moves the replicated placement toward
// the planned one (cluster::plan_placement, at most placement_changes_per_tick set_placement
// commands in flight). (Leaving nodes are removed by themselves once drained, cluster_member,
// or by the membership controller when they died leaving.) Everything it
// decides is pure code in runtime/cluster/placement; it only asks its meta replica whether it
// leads, proposes, and waits. One per node, linked to the cluster member (which spawns it);
// idle (one status request per tick) on every node but the meta leader.

#include "actors/meta_state_machine.hpp"
#include "actors/raft_group.hpp"
#include "actors/type_ids.hpp"

#include <caf/fwd.hpp>
#include <caf/replies_to.hpp>
#include <caf/typed_actor.hpp>

#include <chrono>
#include <memory>
#include <string>

namespace ck::actors {

using rebalancer_actor = caf::typed_actor<caf::reacts_to<atoms::rebalance_tick_atom>>;

struct rebalancer_options {
  std::string node_id;  // this node (never removes itself)
  std::chrono::milliseconds tick_interval{200};
  /// Placement changes (set_placement commands) in flight at most.
  size_t placement_changes_per_tick = 8;
};

/// Spawns the rebalancer over this node's meta replica `group` and its state machine `meta`.
rebalancer_actor spawn_rebalancer(caf::actor_system& sys, rebalancer_options options,
                                  raft_group_actor group,
                                  std::shared_ptr<const meta_state_machine> meta);

}  // namespace ck::actors
