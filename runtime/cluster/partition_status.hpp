#pragma once

// How a partition is doing, as the API reports it (GET /partitions "status"): pure
// classification from what a node knows about the partition's group.

#include "runtime/cluster/meta_state.hpp"

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace ck::cluster {

enum class partition_health : uint8_t {
  healthy,           // a leader and replication-factor voters, as placed
  under_replicated,  // fewer voters than the replication factor (also when too few nodes live)
  no_leader,         // no leader known (an election, or too few voters alive)
  moving,            // learners catching up or voters differing from the placement
};

/// "healthy", "under_replicated", "no_leader", "moving".
std::string_view to_string(partition_health health);

/// A partition hosted here, from its replica's view of the group: whether a leader is known,
/// the group's voters and learners, and how many replicas the placement names.
partition_health classify_hosted(bool leader_known, size_t voters, size_t learners, size_t placed,
                                 uint32_t replication_factor);

/// A partition not hosted here: only the placement is known.
partition_health classify_placed(size_t placed, uint32_t replication_factor);

/// What this node's replica of a partition knows of its group (node ids resolved from raft
/// ids; "" for an id the meta state does not know).
struct replica_view {
  std::string leader;  // "" when none
  uint64_t term = 0;
  uint64_t commit_index = 0;
  std::vector<std::string> voters;    // every voter, the leader included
  std::vector<std::string> learners;
};

/// One partition as GET /partitions shows it.
struct partition_summary {
  uint32_t index = 0;
  std::string leader;                 // "" when no leader is known
  std::vector<std::string> replicas;  // the other voters
  std::vector<std::string> learners;
  uint64_t term = 0;
  uint64_t commit_index = 0;
  partition_health health = partition_health::healthy;
};

/// A partition as this node sees it: from its replica's view when it hosts one, else from the
/// placement, with the leader this node last learned (`leader_guess`) when that is one of the
/// placed replicas other than this node (a guess from before a move is stale), else the
/// placement's preferred leader.
partition_summary summarize_partition(const partition_placement& placement,
                                      const std::optional<replica_view>& hosted,
                                      const std::string& leader_guess, const std::string& self_id,
                                      uint32_t replication_factor);

}  // namespace ck::cluster
