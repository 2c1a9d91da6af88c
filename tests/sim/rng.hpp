#pragma once

// The simulation's only source of randomness: one std::mt19937_64 seeded from the run's seed.
// The helpers use the raw engine output (no std:: distributions, whose algorithms differ
// between standard libraries) so a seed replays the same run on any platform.

#include <cstdint>
#include <random>

namespace ck::sim {

class rng {
 public:
  explicit rng(uint64_t seed) : engine_(seed) {}

  uint64_t next() { return engine_(); }

  /// A value in [0, n). Requires: n > 0. The modulo bias is below 2^-40 for our n.
  uint64_t below(uint64_t n) { return n == 0 ? 0 : engine_() % n; }

  /// A value in [lo, hi]. Requires: lo <= hi.
  uint64_t between(uint64_t lo, uint64_t hi) { return lo + below(hi - lo + 1); }

  /// True with probability per_million / 1,000,000.
  bool chance(uint32_t per_million) { return below(1000000) < per_million; }

 private:
  std::mt19937_64 engine_;
};

}  // namespace ck::sim
