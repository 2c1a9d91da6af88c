#include "runtime/cluster/partition_status.hpp"

namespace ck::cluster {

std::string_view to_string(partition_health health) {
  switch (health) {
    case partition_health::healthy:
      return "healthy";
    case partition_health::under_replicated:
      return "under_replicated";
    case partition_health::no_leader:
      return "no_leader";
    case partition_health::moving:
      return "moving";
  }
  return "unknown";
}

partition_health classify_hosted(bool leader_known, size_t voters, size_t learners, size_t placed,
                                 uint32_t replication_factor) {
  if (!leader_known) {
    return partition_health::no_leader;
  }
  if (learners > 0 || voters != placed) {
    return partition_health::moving;
  }
  // Fewer voters than the replication factor is under-replicated, also when the cluster has too
  // few live nodes to place more (a 3-node cluster that lost a node for good).
  return voters < replication_factor ? partition_health::under_replicated
                                     : partition_health::healthy;
}

partition_health classify_placed(size_t placed, uint32_t replication_factor) {
  if (placed == 0) {
    return partition_health::no_leader;
  }
  return placed < replication_factor ? partition_health::under_replicated
                                     : partition_health::healthy;
}

}  // namespace ck::cluster
