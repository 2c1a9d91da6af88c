#pragma once

// The cluster member actor: this node's part in the cluster's membership. It owns the node's
// replica of the meta Raft group (group 0, hosting a meta_state_machine) and spawns, linked to
// itself, one actor per other membership job:
//   - membership controller (actors/membership_controller.hpp): the founder's bootstrap,
//     liveness (set_status proposals) and meta voters, on the meta leader;
//   - rebalancer (actors/rebalancer.hpp): placement moves, on the meta leader;
// and it proposes this node's own removal once it left (POST /leave) and hosts no replica;
//   - join service (actors/join_service.hpp): POST /join and meta commands, proposed on the
//     leader or handed to the leader's node (the member's join interface delegates to it);
//   - partition host (actors/partition_host.hpp), which reads the same meta state.
// Its own jobs, on every node: keep the net transport's peer table equal to the meta state's
// members; answer the cluster API's view; publish meta_leader_changed and the meta state's
// events (event bus); publish this node's services when its record lacks them; log role
// changes.

#include "actors/event_bus.hpp"
#include "actors/endpoint_handlers.hpp"
#include "actors/net_transport.hpp"
#include "actors/partition_host.hpp"
#include "actors/raft_group.hpp"
#include "actors/raft_log_writer.hpp"
#include "actors/type_ids.hpp"
#include "runtime/cluster/liveness.hpp"

#include <caf/fwd.hpp>
#include <caf/replies_to.hpp>
#include <caf/typed_actor.hpp>

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

namespace ck::storage {
class environment;
class raft_log_store;
}  // namespace ck::storage

namespace ck::actors {

using cluster_member_actor = join_handler_actor::extend<
    caf::replies_to<atoms::view_atom>::with<cluster_view>,
    /// Its own timer (leader duties, status refresh).
    caf::reacts_to<atoms::member_tick_atom>,
    /// From the meta state machine: something was applied (sync peers, log the event).
    caf::reacts_to<atoms::meta_applied_atom>>;

struct cluster_member_options {
  /// This node, as other nodes and clients reach it (advertised addresses, services): the
  /// same record its join sends (one node-address type for joins, the meta record and this).
  join_request self;
  // The cluster as the node's identity records it (used before the meta state is replayed,
  // and by the founder's bootstrap command).
  std::string cluster_id;
  std::string cluster_name = "clusterkit";
  uint32_t partition_count = 0;
  uint32_t replication_factor = 0;
  /// True on the node that created the cluster: while the meta state is empty and this node
  /// leads the meta group, it proposes the bootstrap command.
  bool founder = false;
  /// The members a joiner learned from its join reply: transport peers until the meta state
  /// is replayed.
  std::vector<join_member> seed_members;
  cluster::liveness_config liveness;
  size_t meta_voters_max = 5;
  /// A learner is promoted once its match is within this many entries of the leader's log.
  uint64_t promote_lag_max = 64;
  std::chrono::milliseconds tick_interval{200};
  /// The meta group replica (raft.id = this node's meta raft id, raft.group = 0).
  raft_group_options meta_group;
  /// The partition host the member spawns beside itself (node_id and raft_id filled in).
  partition_host_options partitions;
  /// Called (on the meta replica's thread) when the meta state removes this node (POST /leave
  /// drained it): the node assembly stops the node. May be empty (tests).
  std::function<void()> on_removed;
  /// Where the member, the meta replica and the partition host publish cluster events.
  event_bus_actor events;
  /// Placement changes (set_placement commands) the meta leader proposes per tick.
  size_t placement_changes_per_tick = 8;
};

struct cluster_member_handles {
  cluster_member_actor member;
  partition_host_actor host;  // the partitions' replicas and the front door to them
};

/// Spawns the member and, linked to it, the meta group replica over `store` (a founder's
/// bootstrap already persisted), registered with `transport` for group 0; attaches itself to
/// the transport as the join handler. Also spawns the partition host, which reads the same
/// meta state and hears of every change.
cluster_member_handles spawn_cluster_member(caf::actor_system& sys, cluster_member_options options,
                                            std::shared_ptr<storage::environment> env,
                                            std::shared_ptr<storage::raft_log_store> store,
                                            raft_log_writer_actor writer,
                                            net_transport_actor transport);

}  // namespace ck::actors
