#include "tests/sim/runner.hpp"

#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <string>

namespace ck::sim {

namespace {

// The run in progress, for the SIGABRT handler: a core CK_ASSERT aborts the process, and the
// report must still name the seed and show the trace.
const cluster* current_cluster = nullptr;
run_options current_options;

std::string replay_command(const run_options& o) {
  std::string command =
      "tests/sim/raft_sim --seed " + std::to_string(o.seed) + " --steps " + std::to_string(o.steps);
  if (o.nodes != 0) {
    command += " --nodes " + std::to_string(o.nodes);
  }
  return command + " --verbose";
}

extern "C" void on_abort(int) {
  if (current_cluster != nullptr) {
    const trace& events = current_cluster->events();
    std::fprintf(stderr, "raft_sim: FAILED seed=%llu step=%llu: core assertion (abort)\n",
                 static_cast<unsigned long long>(current_options.seed),
                 static_cast<unsigned long long>(events.step()));
    events.print_tail(stderr);
    std::fprintf(stderr, "replay: %s\n", replay_command(current_options).c_str());
    std::fflush(stderr);
  }
  std::signal(SIGABRT, SIG_DFL);
  std::abort();
}

void report_failure(const run_options& o, const run_result& result, const cluster& c) {
  std::fprintf(stderr, "raft_sim: FAILED seed=%llu step=%llu property=\"%s\"\n  %s\n",
               static_cast<unsigned long long>(o.seed),
               static_cast<unsigned long long>(result.failed_step), result.property.c_str(),
               result.detail.c_str());
  c.events().print_tail(stderr);
  std::fprintf(stderr, "replay: %s\n", replay_command(o).c_str());
}

void report_pass(const run_options& o, const run_result& r) {
  const run_stats& s = r.stats;
  std::printf(
      "seed %llu passed: digest %016llx, %llu committed, %llu leader terms, %llu crashes, "
      "%llu partitions, %llu conf changes, %llu transfers, %llu proposals accepted, "
      "%llu reads, liveness in %llu ticks, calm transfer in %llu, %llu quiet steps, "
      "%llu leaders forgotten\n",
      static_cast<unsigned long long>(o.seed), static_cast<unsigned long long>(r.digest),
      static_cast<unsigned long long>(s.committed), static_cast<unsigned long long>(s.leader_terms),
      static_cast<unsigned long long>(s.crashes), static_cast<unsigned long long>(s.partitions),
      static_cast<unsigned long long>(s.conf_changes_proposed),
      static_cast<unsigned long long>(s.transfers),
      static_cast<unsigned long long>(s.proposals_accepted),
      static_cast<unsigned long long>(s.reads_requested),
      static_cast<unsigned long long>(s.liveness_rounds),
      static_cast<unsigned long long>(s.calm_transfer_rounds),
      static_cast<unsigned long long>(s.quiet_steps),
      static_cast<unsigned long long>(s.forgotten_leaders));
}

/// Runs one seed; returns its result (the cluster reports the failure itself).
run_result run_one(const run_options& o, bool print_pass) {
  cluster c(o);
  current_cluster = &c;
  current_options = o;
  run_result result = c.run();
  current_cluster = nullptr;
  if (!result.passed) {
    report_failure(o, result, c);
  } else if (print_pass) {
    report_pass(o, result);
  }
  return result;
}

}  // namespace

uint64_t run_seeds(const runner_options& options) {
  std::signal(SIGABRT, on_abort);
  const auto start = std::chrono::steady_clock::now();  // wall time of the report only
  uint64_t failed = 0;
  run_stats total;  // coverage of the rarer paths over all seeds
  for (uint64_t k = 0; k < options.seed_count; ++k) {
    run_options o = options.run;
    o.seed = options.run.seed + k;
    const run_result first = run_one(o, options.seed_count == 1);
    failed += first.passed ? 0 : 1;
    total.quiet_steps += first.stats.quiet_steps;
    total.forgotten_leaders += first.stats.forgotten_leaders;
    if (options.check_determinism && first.passed) {
      const run_result second = run_one(o, options.seed_count == 1);
      if (second.digest != first.digest) {
        std::fprintf(stderr,
                     "raft_sim: FAILED seed=%llu: not deterministic (digest %016llx "
                     "then %016llx)\n",
                     static_cast<unsigned long long>(o.seed),
                     static_cast<unsigned long long>(first.digest),
                     static_cast<unsigned long long>(second.digest));
        failed += 1;
      }
    }
  }
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  const unsigned long long passed = options.seed_count - failed;
  std::printf("raft_sim: %llu seeds passed, %llu failed, %.1f s (%llu steps each)\n", passed,
              static_cast<unsigned long long>(failed), seconds,
              static_cast<unsigned long long>(options.run.steps));
  std::printf("raft_sim: coverage: %llu quiet-leader steps, %llu leaders forgotten\n",
              static_cast<unsigned long long>(total.quiet_steps),
              static_cast<unsigned long long>(total.forgotten_leaders));
  std::printf("%llu passed, %llu failed\n", passed, static_cast<unsigned long long>(failed));
  return failed;
}

}  // namespace ck::sim
