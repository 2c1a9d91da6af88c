#pragma once

// The membership controller: the meta leader's duties toward the members, each decided by pure
// code in runtime/cluster and carried out here as meta proposals:
//   - the founder's bootstrap command while the meta state is empty;
//   - liveness: the transport's "last heard" and disconnects per peer feed a
//     cluster::liveness_detector (only while leading: a follower hears only from the leader);
//     differences from the replicated statuses become set_status proposals
//     (cluster::replicated_status_change decides which); a leaving node that died after its
//     replicas were placed elsewhere is removed (a live one removes itself once drained);
//   - meta voters: cluster::plan_meta_voters / next_membership_step, one change at a time; a
//     learner is promoted once caught up, and leadership moves away before the leader itself
//     would be demoted or removed.
// One per node, spawned and linked by the cluster member; on a node that does not lead the meta
// group it only polls its replica's status and the transport's figures each tick.

#include "actors/messages.hpp"
#include "actors/meta_state_machine.hpp"
#include "actors/net_transport.hpp"
#include "actors/raft_group.hpp"
#include "actors/type_ids.hpp"
#include "runtime/cluster/liveness.hpp"

#include <caf/fwd.hpp>
#include <caf/replies_to.hpp>
#include <caf/typed_actor.hpp>

#include <chrono>
#include <memory>
#include <string>

namespace ck::actors {

using membership_controller_actor =
    caf::typed_actor<caf::reacts_to<atoms::membership_tick_atom>>;

struct membership_controller_options {
  /// This node, as its join (and the founder's bootstrap) records it.
  join_request self;
  /// The founder proposes the bootstrap command with these while the meta state is empty.
  bool founder = false;
  std::string cluster_id;
  std::string cluster_name = "clusterkit";
  uint32_t partition_count = 0;
  uint32_t replication_factor = 0;
  cluster::liveness_config liveness;
  size_t meta_voters_max = 5;
  /// A learner is promoted once its match is within this many entries of the leader's log.
  uint64_t promote_lag_max = 64;
  std::chrono::milliseconds tick_interval{200};
};

membership_controller_actor spawn_membership_controller(
    caf::actor_system& sys, membership_controller_options options, raft_group_actor group,
    std::shared_ptr<const meta_state_machine> meta, net_transport_actor transport);

}  // namespace ck::actors
