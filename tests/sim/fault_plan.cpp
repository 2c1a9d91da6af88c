#include "tests/sim/fault_plan.hpp"

namespace ck::sim {

namespace {

/// A rate in [0, max] per million, zero for about one seed in four (calm for that fault).
uint32_t draw_rate(rng& random, uint32_t max_per_million) {
  if (random.below(4) == 0) {
    return 0;
  }
  return static_cast<uint32_t>(random.between(max_per_million / 10, max_per_million));
}

}  // namespace

void draw_run(rng& random, uint64_t seed, bool verbose, replica_settings& settings,
              fault_plan& plan) {
  settings.run_seed = seed;
  settings.verbose = verbose;
  settings.election_ticks = 10;
  settings.heartbeat_ticks = static_cast<uint32_t>(random.between(1, 3));
  settings.pre_vote = random.below(5) != 0;
  settings.check_quorum = random.below(5) != 0;
  // Small append and inflight limits force many round trips and probe/replicate switches.
  settings.append_bytes_max = random.below(3) == 0 ? random.between(64, 512) : 1 << 20;
  settings.inflight_msgs_max =
      static_cast<uint32_t>(random.below(3) == 0 ? random.between(1, 4) : 256);
  settings.snapshot_every_entries = random.between(4, 60);
  settings.snapshot_keep_entries = random.below(3) == 0 ? 0 : random.between(0, 10);

  plan.net.loss_per_million = draw_rate(random, 200000);
  plan.net.duplicate_per_million = draw_rate(random, 100000);
  plan.net.delay_per_million = draw_rate(random, 500000);
  plan.net.delay_steps_max = random.between(1, 120);
  plan.net.reorder = random.below(4) != 0;
  plan.crash_per_million = draw_rate(random, 4000);
  plan.restart_per_million = static_cast<uint32_t>(random.between(2000, 20000));
  plan.partition_per_million = draw_rate(random, 3000);
  plan.heal_per_million = static_cast<uint32_t>(random.between(300, 5000));
  plan.conf_change_per_million = draw_rate(random, 4000);
  plan.transfer_per_million = draw_rate(random, 2000);
  plan.propose_per_million = static_cast<uint32_t>(random.between(20000, 120000));
  plan.read_per_million = draw_rate(random, 40000);
  plan.unreachable_report_per_million = static_cast<uint32_t>(random.below(1000001));
  plan.tick_percent = static_cast<uint32_t>(random.between(10, 45));
  plan.proposal_burst_max = static_cast<uint32_t>(random.between(1, 8));
  plan.payload_bytes_max = static_cast<uint32_t>(random.between(0, 100));
  // Drawn last, so the draws above stay as they were for every seed.
  settings.quiesce = random.below(2) == 0;
  plan.false_suspicion_per_million = settings.quiesce ? draw_rate(random, 20000) : 0;
  if (settings.quiesce && random.below(2) == 0) {
    // Long idle stretches, so groups go quiet and must wake again (quiescence coverage).
    plan.propose_per_million /= 30;
    plan.read_per_million /= 30;
  }
  settings.defer_commit_broadcast = random.below(2) == 0;
}

}  // namespace ck::sim
