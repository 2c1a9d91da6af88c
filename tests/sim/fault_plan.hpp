#pragma once

// What a seed's run looks like: the cluster's settings and the rate of every fault and
// client action, all drawn from the seed's generator before the first step. Rates differ
// between seeds so the runs together cover calm and stormy networks, frequent and rare
// crashes, tiny and large snapshot intervals.

#include "tests/sim/network.hpp"
#include "tests/sim/replica.hpp"
#include "tests/sim/rng.hpp"

#include <cstdint>

namespace ck::sim {

struct fault_plan {
  network_faults net;
  // Per-step chances, per million steps.
  uint32_t crash_per_million = 0;
  uint32_t restart_per_million = 0;
  uint32_t partition_per_million = 0;
  uint32_t heal_per_million = 0;
  uint32_t conf_change_per_million = 0;
  uint32_t transfer_per_million = 0;
  uint32_t propose_per_million = 0;
  uint32_t read_per_million = 0;
  uint32_t unreachable_report_per_million = 0;  // a dropped message reported to its sender
  // Quiescent runs: a follower wrongly suspects its leader's node (forget_leader) when ticked.
  uint32_t false_suspicion_per_million = 0;
  // Share of steps (percent) that tick a node instead of moving messages: high values make
  // the network slow against the timers, hence more elections and stale leaders.
  uint32_t tick_percent = 20;
  uint32_t proposal_burst_max = 1;  // proposals per client action
  uint32_t payload_bytes_max = 16;  // padding after the unique payload prefix
};

/// Draws the settings and the plan; `nodes` is the founding member count.
void draw_run(rng& random, uint64_t seed, bool verbose, replica_settings& settings,
              fault_plan& plan);

}  // namespace ck::sim
