#pragma once

// The node actor holds what this node knows about the cluster and answers the cluster API's
// questions with a cluster_view. In this single-node stage it describes the node itself as
// the whole cluster (one member, every partition local and led here); the meta Raft group
// replaces that source behind the same interface.

#include "actors/type_ids.hpp"

#include <caf/fwd.hpp>
#include <caf/replies_to.hpp>
#include <caf/typed_actor.hpp>

#include <string>

namespace ck::actors {

using node_actor = caf::typed_actor<caf::replies_to<atoms::view_atom>::with<cluster_view>>;

/// Who this node is and how it is reached, fixed at start.
struct node_identity_view {
  std::string node_id;
  std::string node_name;
  std::string cluster_id;
  std::string raft_addr;
  std::string http_addr;
  std::string kv_addr;
  uint32_t partition_count = 0;
  uint32_t replication_factor = 0;
  int64_t joined_unix_ms = 0;
};

node_actor spawn_node_actor(caf::actor_system& sys, node_identity_view self_view);

}  // namespace ck::actors
