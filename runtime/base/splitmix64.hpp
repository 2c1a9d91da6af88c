#pragma once

// splitmix64's finaliser: spreads every input bit over the 64 output bits. Used to derive
// independent seeds from related numbers (the Raft core's election timeouts, the tests' rounds)
// and as the mixing step of the simulator's hashes. Not a cryptographic hash.

#include <cstdint>

namespace ck::runtime {

inline uint64_t splitmix64(uint64_t x) {
  x += 0x9e3779b97f4a7c15ull;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
  return x ^ (x >> 31);
}

}  // namespace ck::runtime
