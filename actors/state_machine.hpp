#pragma once

// What a Raft group replicates: the group actor applies every committed command, in log order
// and exactly once per index, and installs snapshots. Called only from the group actor that
// owns it (one thread at a time); implementations need no locking of their own.

#include "runtime/raft/types.hpp"

#include <string>

namespace ck::actors {

class replicated_state_machine {
 public:
  virtual ~replicated_state_machine() = default;
  /// Applies the command committed at `index` and returns the result the proposer receives.
  /// Requires: index is above every index applied before (gaps are the leader's no-ops and
  /// conf changes, which are not handed here).
  virtual std::string apply(raft::index_t index, const std::string& command) = 0;
  /// The whole state as one image, as of the last index applied.
  virtual std::string snapshot() = 0;
  /// Replaces the whole state with `image` (taken by snapshot() on some replica).
  virtual void restore(const std::string& image) = 0;
};

}  // namespace ck::actors
