#pragma once

// Runs seeds and reports: one line per failure with the seed, the step, the property and a
// replay command, the trace's last events, and a summary line ctest can read. A core assert
// (CK_ASSERT aborts) is reported the same way from a SIGABRT handler.

#include "tests/sim/cluster.hpp"

#include <cstdint>

namespace ck::sim {

struct runner_options {
  run_options run;  // run.seed is the first seed
  uint64_t seed_count = 1;
  bool check_determinism = false;  // run each seed twice and compare trace digests
};

/// Returns the number of failed seeds.
uint64_t run_seeds(const runner_options& options);

}  // namespace ck::sim
