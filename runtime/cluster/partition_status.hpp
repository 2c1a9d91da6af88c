#pragma once

// How a partition is doing, as the API reports it (GET /partitions "status"): pure
// classification from what a node knows about the partition's group.

#include "runtime/cluster/meta_state.hpp"

#include <cstddef>
#include <cstdint>
#include <map>
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

/// One node's answer to "which partitions do you lead?" (GET /partitions on a node that hosts
/// only some partitions asks the nodes hosting the others): (partition, term) of each replica
/// there that is leader.
struct leader_claims {
  std::string node;
  std::vector<std::pair<uint32_t, uint64_t>> led;
};

/// What the answers say about the leaders of the partitions in `wanted` (indexes into
/// `placement`): the node of the claim with the highest term (an old leader that has not yet
/// heard of its successor claims a lower one), or "" when every node placed for the partition
/// answered and none claims it (an election is under way). A partition missing from the result
/// is unknown: keep what was known. Claims for partitions outside `wanted` are ignored.
std::map<uint32_t, std::string> leaders_from_claims(
    const std::vector<leader_claims>& answers,
    const std::vector<partition_placement>& placement, const std::vector<uint32_t>& wanted);

}  // namespace ck::cluster
