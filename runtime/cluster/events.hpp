#pragma once

// Cluster events: what happened in the cluster, as one node observed it, in the order it
// observed it (pure: the actors publish them through the node's event bus, actors/event_bus).
//
// When each fires, on every node unless said otherwise:
//   node_joined        a join of a new node id (or a replacement of a dead node) committed
//   node_rejoined      a known node joined again (restarted with an empty DATA_DIR, or retried)
//   node_suspect       the meta leader marked a node suspect (missed heartbeats)
//   node_dead          ... dead (silent past DEAD_AFTER_MS; its replicas are re-created)
//   node_alive         ... alive again after suspect or dead
//   node_leaving       POST /leave committed: the node's replicas are moving away
//   node_left          the node was removed from the cluster
//   partition_moved    the placement of a partition changed (from -> to replicas); the data
//                      follows through the partition's group (learner, catch-up, promote)
//   rebalance_started  the placement started to differ from the planned one (moves to make)
//   rebalance_finished the placement reached the plan (every move committed to the placement)
//   partition_leader_changed  on the nodes that host a replica of the partition: its replica
//                      saw a new leader (node "" while there is none); term is the new term
//   meta_leader_changed       this node's meta replica saw a new meta leader
// Events are history as one node saw it: a node that was down misses what happened meanwhile
// (the state itself is in GET /cluster and /partitions), and entries a node replays at start
// are not events.

#include "runtime/cluster/meta_state.hpp"

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace ck::cluster {

/// Do not renumber: values may cross the network.
enum class event_kind : uint8_t {
  node_joined = 1,
  node_rejoined = 2,
  node_suspect = 3,
  node_dead = 4,
  node_alive = 5,
  node_leaving = 6,
  node_left = 7,
  partition_moved = 8,
  rebalance_started = 9,
  rebalance_finished = 10,
  partition_leader_changed = 11,
  meta_leader_changed = 12,
};

/// "node_joined", ... (the enumerator's name).
std::string_view to_string(event_kind kind);

struct cluster_event {
  uint64_t seq = 0;  // 1, 2, ... per node, in delivery order (set by the event bus)
  event_kind kind = event_kind::node_joined;
  int64_t unix_ms = 0;            // when this node observed it (set by the event bus)
  std::string node;               // node_*: the node; *_leader_changed: the new leader or ""
  uint32_t partition = 0;         // partition_*
  std::vector<std::string> from;  // partition_moved: the replicas before
  std::vector<std::string> to;    // partition_moved: the replicas after
  uint64_t term = 0;              // *_leader_changed
};

/// The events one applied meta command means. `placement_before`: for a set_placement
/// command, the partition's replicas before it was applied (ignored otherwise).
std::vector<cluster_event> meta_events(const command& cmd, const apply_result& result,
                                       const std::vector<std::string>& placement_before);

/// Whether the placement differs from the planned one (a rebalance has moves to make).
bool rebalance_pending(const meta_state& state);

}  // namespace ck::cluster
