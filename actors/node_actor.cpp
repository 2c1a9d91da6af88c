#include "actors/node_actor.hpp"

#include "runtime/assert.hpp"

#include <caf/actor_system.hpp>
#include <caf/typed_event_based_actor.hpp>

#include <algorithm>

namespace ck::actors {

namespace {

cluster_view single_node_view(const node_identity_view& self) {
  cluster_view view;
  view.cluster_id = self.cluster_id;
  view.name = self.cluster_id;
  view.self_id = self.node_id;
  view.leader_id = self.node_id;
  view.raft_state = "standalone";
  view.partition_count = self.partition_count;
  view.replication_factor = self.replication_factor;
  node_view node;
  node.id = self.node_id;
  node.name = self.node_name;
  node.status = "alive";
  node.raft_addr = self.raft_addr;
  node.http_addr = self.http_addr;
  node.kv_addr = self.kv_addr;
  node.is_leader = true;
  node.partitions_hosted = self.partition_count;
  node.partitions_led = self.partition_count;
  node.joined_unix_ms = self.joined_unix_ms;
  view.nodes.push_back(std::move(node));
  // One replica of each partition exists while the cluster has one node.
  const bool complete = self.replication_factor <= 1;
  view.partitions.reserve(self.partition_count);
  for (uint32_t index = 0; index < self.partition_count; ++index) {
    partition_view partition;
    partition.index = index;
    partition.leader = self.node_id;
    partition.status = complete ? "healthy" : "under_replicated";
    view.partitions.push_back(std::move(partition));
  }
  return view;
}

}  // namespace

node_actor spawn_node_actor(caf::actor_system& sys, node_identity_view self_view) {
  CK_ASSERT(!self_view.node_id.empty());
  CK_ASSERT_GT(self_view.partition_count, 0u);
  auto view = single_node_view(self_view);
  return sys.spawn([view](node_actor::pointer) -> node_actor::behavior_type {
    return {[view](atoms::view_atom) { return view; }};
  });
}

}  // namespace ck::actors
