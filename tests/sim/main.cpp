// raft_sim: the deterministic simulation test of the Raft core.
//
//   raft_sim --seed N [--steps S] [--nodes K] [--verbose]   one seed (replay a failure)
//   raft_sim --seeds N [--base B] [--steps S]               N seeds from B
//   raft_sim --seed N --check-determinism                   run twice, compare trace digests
//
// Exit status: 0 when every seed passed, 1 otherwise, 2 on bad arguments.

#include "tests/sim/runner.hpp"

#include <cstdio>
#include <cstdlib>
#include <string>

namespace {

bool parse_number(const char* text, uint64_t& out) {
  char* end = nullptr;
  out = std::strtoull(text, &end, 10);
  return end != text && *end == '\0';
}

int usage(const char* bad) {
  std::fprintf(stderr,
               "raft_sim: bad argument '%s'\nusage: raft_sim [--seed N | --seeds N "
               "[--base B]] [--steps S] [--nodes 3..7] [--verbose] "
               "[--check-determinism] [--readd-wiped | --readd-tombstone]\n",
               bad);
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  ck::sim::runner_options options;
  options.run.seed = 1;
  options.run.steps = 3000;
  for (int i = 1; i < argc; ++i) {
    const std::string flag = argv[i];
    uint64_t value = 0;
    if (flag == "--verbose") {
      options.run.verbose = true;
      continue;
    }
    if (flag == "--readd-wiped" || flag == "--readd-tombstone") {
      options.run.readd = flag == "--readd-wiped" ? ck::sim::run_options::readd_mode::wiped
                                                  : ck::sim::run_options::readd_mode::tombstone;
      continue;
    }
    if (flag == "--check-determinism") {
      options.check_determinism = true;
      continue;
    }
    if (i + 1 >= argc || !parse_number(argv[i + 1], value)) {
      return usage(argv[i]);
    }
    ++i;
    if (flag == "--seed" || flag == "--base") {
      options.run.seed = value;
    } else if (flag == "--seeds") {
      options.seed_count = value;
    } else if (flag == "--steps") {
      options.run.steps = value;
    } else if (flag == "--nodes" && value >= 3 && value <= 7) {
      options.run.nodes = static_cast<uint32_t>(value);
    } else {
      return usage(argv[i - 1]);
    }
  }
  return ck::sim::run_seeds(options) == 0 ? 0 : 1;
}
