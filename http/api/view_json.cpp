#include "http/api/view_json.hpp"

#include "runtime/cluster/partition_hash.hpp"

#include <map>

namespace ck::http::api {

using nlohmann::json;

namespace {

// The services the node published (node services of runtime/node), and always "kv": the
// address of its KV API, which the original ClusterKit clients read.
json services_json(const actors::node_view& node) {
  json out = json::object();
  for (const auto& [name, address] : node.services) {
    out[name] = address;
  }
  out["kv"] = node.kv_addr;
  return out;
}

}  // namespace

json node_json(const actors::node_view& node) {
  return {{"id", node.id},
          {"name", node.name},
          {"status", node.status},
          {"raft_addr", node.raft_addr},
          {"http_addr", node.http_addr},
          {"kv_addr", node.kv_addr},
          {"is_leader", node.is_leader},
          {"services", services_json(node)},
          {"partitions_hosted", node.partitions_hosted},
          {"partitions_led", node.partitions_led},
          {"joined_unix_ms", node.joined_unix_ms},
          {"raft_id", node.raft_id},
          {"meta_role", node.meta_role}};
}

json partition_json(const actors::cluster_view&, const actors::partition_view& p) {
  return {{"id", cluster::partition_name(p.index)},
          {"index", p.index},
          {"primary_node", p.leader},
          {"replica_nodes", p.replicas},
          {"learners", p.learners},
          {"term", p.term},
          {"commit_index", p.commit_index},
          {"status", p.status}};
}

namespace {

// The original ClusterKit clients read cluster.nodes[].services.kv, cluster.partition_map and
// hash_config; this is their shape, kept beside ours.
json compat_cluster_json(const actors::cluster_view& view) {
  json nodes = json::array();
  for (const auto& node : view.nodes) {
    nodes.push_back({{"id", node.id},
                     {"name", node.name},
                     {"ip", node.http_addr},
                     {"status", node.status},
                     {"services", services_json(node)}});
  }
  json partitions = json::object();
  for (const auto& p : view.partitions) {
    partitions[cluster::partition_name(p.index)] = {{"id", cluster::partition_name(p.index)},
                                                    {"primary_node", p.leader},
                                                    {"replica_nodes", p.replicas}};
  }
  return {{"id", view.cluster_id},
          {"name", view.name},
          {"nodes", std::move(nodes)},
          {"partition_map", {{"partitions", std::move(partitions)}}},
          {"config",
           {{"cluster_name", view.name},
            {"partition_count", view.partition_count},
            {"replication_factor", view.replication_factor}}}};
}

}  // namespace

json cluster_json(const actors::cluster_view& view) {
  json nodes = json::array();
  for (const auto& node : view.nodes) {
    nodes.push_back(node_json(node));
  }
  return {{"cluster_id", view.cluster_id},
          {"name", view.name},
          {"leader_id", view.leader_id},
          {"term", view.term},
          {"partition_count", view.partition_count},
          {"replication_factor", view.replication_factor},
          {"hash_config",
           {{"algorithm", "md5"},
            {"encoding", "big_endian_uint32"},
            {"format", "partition-%d"},
            {"modulo", view.partition_count}}},
          {"nodes", std::move(nodes)},
          {"cluster", compat_cluster_json(view)}};
}

json partition_stats_json(const actors::cluster_view& view) {
  std::map<std::string, uint32_t> leaders;
  std::map<std::string, uint32_t> replicas;
  for (const auto& node : view.nodes) {
    leaders[node.id] = 0;
    replicas[node.id] = 0;
  }
  uint32_t under_replicated = 0;
  uint32_t without_leader = 0;
  uint32_t moving = 0;
  for (const auto& p : view.partitions) {
    if (p.leader.empty()) {
      ++without_leader;
    } else {
      ++leaders[p.leader];
      ++replicas[p.leader];
    }
    for (const auto& r : p.replicas) {
      ++replicas[r];
    }
    under_replicated += p.status == "under_replicated" ? 1u : 0u;
    moving += p.status == "moving" ? 1u : 0u;
  }
  return {{"total_partitions", view.partition_count},
          {"replication_factor", view.replication_factor},
          {"partitions_per_node", leaders},
          {"replicas_per_node", replicas},
          {"under_replicated", under_replicated},
          {"without_leader", without_leader},
          {"moves_in_progress", moving}};
}

}  // namespace ck::http::api
