#pragma once

// Hashes used by the simulator: entry identities, prefix chains and the trace digest. The
// checker compares 64-bit chain hashes instead of whole logs so that every check after every
// step stays O(new entries); a collision would need ~2^32 distinct entries per run.

#include "runtime/base/splitmix64.hpp"
#include "runtime/raft/types.hpp"

#include <cstdint>
#include <string_view>

namespace ck::sim {

/// FNV-1a over bytes, continuing from `h` (so a digest can be fed piece by piece).
inline uint64_t hash_bytes(std::string_view bytes, uint64_t h = 14695981039346656037ull) {
  for (unsigned char c : bytes) {
    h ^= c;
    h *= 1099511628211ull;
  }
  return h;
}

/// A finaliser (splitmix64) that spreads every input bit over the output.
inline uint64_t hash_mix(uint64_t x) { return runtime::splitmix64(x); }

/// The identity of an entry's content (type and payload, not its position).
inline uint64_t entry_content_hash(const raft::entry& e) {
  return hash_mix(hash_bytes(e.data) ^ static_cast<uint64_t>(e.type));
}

/// The hash of a log prefix ending at `e`, given the hash of the prefix ending just before it.
/// Two logs with the same chain at an index hold the same entries up to that index.
inline uint64_t chain_extend(uint64_t previous_chain, const raft::entry& e) {
  uint64_t h = hash_mix(previous_chain ^ e.index);
  h = hash_mix(h ^ e.term);
  return hash_mix(h ^ entry_content_hash(e));
}

}  // namespace ck::sim
