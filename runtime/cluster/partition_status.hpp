#pragma once

// How a partition is doing, as the API reports it (GET /partitions "status"): pure
// classification from what a node knows about the partition's group.

#include <cstddef>
#include <cstdint>
#include <string_view>

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

}  // namespace ck::cluster
