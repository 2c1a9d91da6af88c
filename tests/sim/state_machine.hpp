#pragma once

// The simulated replicated state machine. It keeps no user data, only the identity of what it
// applied: the last applied index and term and the chain hash of every entry applied so far
// (the same chain the checker computes over logs), so "two nodes applied the same entries up
// to i" is one comparison. Its snapshot image is those three numbers.

#include "runtime/raft/types.hpp"

#include <cstdint>
#include <string>

namespace ck::sim {

struct state_machine {
  raft::index_t applied_index = 0;
  raft::term_t applied_term = 0;
  uint64_t chain = 0;          // chain hash of entries [1, applied_index]
  uint64_t applied_count = 0;  // entries applied in this life (restores do not count)

  /// Requires: e.index == applied_index + 1.
  void apply(const raft::entry& e);

  std::string image() const;
  /// Returns false when `bytes` is not an image written by image().
  static bool restore(const std::string& bytes, state_machine& out);
};

}  // namespace ck::sim
