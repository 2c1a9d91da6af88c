#pragma once

// The cluster as a client sees it: one GET /cluster answer (docs/api.md) reduced to what
// routing and the CLI need. Pure: parsing and lookups, no I/O.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace ck::client {

struct node_info {
  std::string id;
  std::string name;
  std::string status;     // alive, suspect, dead or leaving
  std::string http_addr;  // cluster API host:port
  std::string kv_addr;    // KV API host:port
  std::string meta_role;  // voter or learner in the meta group ("" if not reported)
  bool meta_leader = false;
  uint32_t partitions_hosted = 0;
  uint32_t partitions_led = 0;
};

struct partition_info {
  uint32_t index = 0;
  std::string leader;                 // node id; "" while the partition has none
  std::vector<std::string> replicas;  // the other voters' node ids
};

class topology {
 public:
  /// The topology in a /cluster body, or nullopt with `error` saying what is missing or
  /// malformed (hash_config.algorithm must be "md5" with a positive integer modulo; nodes
  /// need id and kv_addr; the partition map is cluster.partition_map.partitions).
  static std::optional<topology> parse(std::string_view body, std::string& error);

  const std::string& cluster_id() const { return cluster_id_; }
  const std::string& meta_leader() const { return meta_leader_; }
  uint32_t partition_count() const { return partition_count_; }
  uint32_t replication_factor() const { return replication_factor_; }
  const std::vector<node_info>& nodes() const { return nodes_; }
  /// Ordered by index; one per partition the map lists.
  const std::vector<partition_info>& partitions() const { return partitions_; }

  /// The partition of `key` (MD5 of the key, as the server computes it).
  uint32_t partition_of(std::string_view key) const;
  const node_info* node(std::string_view id) const;
  /// The KV address of the node leading `partition` when that node is alive; "" otherwise.
  std::string leader_kv_addr(uint32_t partition) const;
  /// The KV addresses of the alive nodes, in /cluster order (the fallback targets).
  std::vector<std::string> alive_kv_addrs() const;

 private:
  std::string cluster_id_;
  std::string meta_leader_;
  uint32_t partition_count_ = 0;
  uint32_t replication_factor_ = 0;
  std::vector<node_info> nodes_;
  std::vector<partition_info> partitions_;
};

}  // namespace ck::client
