#include "http/client/topology.hpp"

#include "runtime/cluster/partition_hash.hpp"

#include <nlohmann/json.hpp>

#include <algorithm>

namespace ck::client {

using json = nlohmann::json;

namespace {

std::string text_of(const json& object, const char* field) {
  auto it = object.find(field);
  return it != object.end() && it->is_string() ? it->get<std::string>() : std::string{};
}

uint32_t count_of(const json& object, const char* field) {
  auto it = object.find(field);
  return it != object.end() && it->is_number_unsigned() ? it->get<uint32_t>() : 0;
}

}  // namespace

std::optional<topology> topology::parse(std::string_view body, std::string& error) {
  json view = json::parse(body, nullptr, false);
  if (view.is_discarded() || !view.is_object()) {
    error = "the /cluster answer is not a JSON object";
    return std::nullopt;
  }
  const json& hash = view.value("hash_config", json::object());
  if (hash.value("algorithm", "") != "md5") {
    error = "hash_config.algorithm is not \"md5\"";
    return std::nullopt;
  }
  auto modulo = hash.find("modulo");
  if (modulo == hash.end() || !modulo->is_number_unsigned() || modulo->get<uint64_t>() == 0 ||
      modulo->get<uint64_t>() > UINT32_MAX) {
    error = "hash_config.modulo is not a positive integer";
    return std::nullopt;
  }
  topology t;
  t.partition_count_ = modulo->get<uint32_t>();
  t.cluster_id_ = text_of(view, "cluster_id");
  t.meta_leader_ = text_of(view, "leader_id");
  t.replication_factor_ = count_of(view, "replication_factor");
  auto nodes = view.find("nodes");
  if (nodes == view.end() || !nodes->is_array()) {
    error = "the /cluster answer has no nodes array";
    return std::nullopt;
  }
  for (const json& n : *nodes) {
    if (!n.is_object() || text_of(n, "id").empty() || text_of(n, "kv_addr").empty()) {
      error = "a node in /cluster lacks id or kv_addr";
      return std::nullopt;
    }
    node_info info;
    info.id = text_of(n, "id");
    info.name = text_of(n, "name");
    info.status = text_of(n, "status");
    info.http_addr = text_of(n, "http_addr");
    info.kv_addr = text_of(n, "kv_addr");
    info.meta_role = text_of(n, "meta_role");
    info.meta_leader = n.value("is_leader", false);
    info.partitions_hosted = count_of(n, "partitions_hosted");
    info.partitions_led = count_of(n, "partitions_led");
    t.nodes_.push_back(std::move(info));
  }
  const json* map = nullptr;
  if (auto c = view.find("cluster"); c != view.end() && c->is_object()) {
    if (auto pm = c->find("partition_map"); pm != c->end() && pm->is_object()) {
      if (auto ps = pm->find("partitions"); ps != pm->end() && ps->is_object()) {
        map = &*ps;
      }
    }
  }
  if (map == nullptr) {
    error = "the /cluster answer has no cluster.partition_map.partitions object";
    return std::nullopt;
  }
  for (const auto& [name, entry] : map->items()) {
    partition_info p;
    if (!cluster::parse_partition_name(name, p.index) || p.index >= t.partition_count_ ||
        !entry.is_object()) {
      error = "the partition map lists " + name + ", which is not a partition of this cluster";
      return std::nullopt;
    }
    p.leader = text_of(entry, "primary_node");
    if (auto r = entry.find("replica_nodes"); r != entry.end() && r->is_array()) {
      for (const json& id : *r) {
        if (id.is_string()) {
          p.replicas.push_back(id.get<std::string>());
        }
      }
    }
    t.partitions_.push_back(std::move(p));
  }
  std::sort(t.partitions_.begin(), t.partitions_.end(),
            [](const partition_info& a, const partition_info& b) { return a.index < b.index; });
  return t;
}

uint32_t topology::partition_of(std::string_view key) const {
  return cluster::partition_of(key, partition_count_);
}

const node_info* topology::node(std::string_view id) const {
  for (const auto& n : nodes_) {
    if (n.id == id) {
      return &n;
    }
  }
  return nullptr;
}

std::string topology::leader_kv_addr(uint32_t partition) const {
  auto it = std::lower_bound(
      partitions_.begin(), partitions_.end(), partition,
      [](const partition_info& p, uint32_t index) { return p.index < index; });
  if (it == partitions_.end() || it->index != partition || it->leader.empty()) {
    return {};
  }
  const node_info* leader = node(it->leader);
  return leader != nullptr && leader->status == "alive" ? leader->kv_addr : std::string{};
}

std::vector<std::string> topology::alive_kv_addrs() const {
  std::vector<std::string> out;
  for (const auto& n : nodes_) {
    if (n.status == "alive") {
      out.push_back(n.kv_addr);
    }
  }
  return out;
}

}  // namespace ck::client
