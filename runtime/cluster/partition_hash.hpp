#pragma once

// Key -> partition mapping, fixed by the API contract and shared with the original ClusterKit
// clients: partition = uint32 big-endian of the first 4 bytes of MD5(key) mod partition_count,
// named "partition-<n>". Changing it would move every key, so it is frozen here.

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>

namespace ck::cluster {

/// The partition that stores `key`.
/// Requires: partition_count > 0.
uint32_t partition_of(std::string_view key, uint32_t partition_count);

/// "partition-<index>", the id the API and the original clients use.
std::string partition_name(uint32_t index);

/// Parses "partition-<n>" or a bare "<n>"; returns false for anything else.
bool parse_partition_name(std::string_view text, uint32_t& index);

/// Log positions per partition (partition -> Raft log index), as a watch resumes from them.
using partition_positions = std::map<uint32_t, uint64_t>;

/// "3:120,7:99" (what parse_partition_positions reads back).
std::string format_partition_positions(const partition_positions& positions);

/// Parses "3:120,partition-7:99" (partitions as parse_partition_name takes them, each below
/// `partition_count`); "" is no positions. nullopt for anything else.
std::optional<partition_positions> parse_partition_positions(std::string_view text,
                                                            uint32_t partition_count);

}  // namespace ck::cluster
