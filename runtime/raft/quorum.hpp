#pragma once

// Majority arithmetic (etcd's quorum/majority.go), pure functions over plain numbers so the
// fast paths can be checked against naive versions on random inputs.

#include "runtime/raft/types.hpp"

#include <cstddef>
#include <cstdint>
#include <vector>

namespace ck::raft {

enum class vote_result : uint8_t {
  pending,  // neither side has a majority yet
  won,      // a majority granted
  lost,     // a majority can no longer grant
};

/// Members that make a majority of `voter_count`. Requires: voter_count >= 1.
size_t quorum_size(size_t voter_count);

/// The largest index that a majority of voters stored, given each voter's match index.
/// Reorders `matches` (a scratch buffer the caller reuses). Empty: 0.
index_t majority_index(std::vector<index_t>& matches);

/// The outcome of an election (or any yes/no round) among voter_count voters.
/// Requires: granted + rejected <= voter_count.
vote_result tally(size_t voter_count, size_t granted, size_t rejected);

}  // namespace ck::raft
