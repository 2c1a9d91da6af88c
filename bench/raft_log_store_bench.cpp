// Micro benchmark of the Raft log store's write path: entries appended per second when every
// transaction carries `per_group` entries (1, 16, 256) for each of 8 groups plus their hard
// states (one storage flush of the storage writer actor), with sync on (fsync per commit) and
// off. Each row runs in a fresh environment for a fixed wall time and prints one table line,
// with the CPU time (user + system) per transaction: writes are CPU-bound on this machine.
// The `append` rows write the same flush as one record (storage/flush_record.hpp) appended to
// a log segment (storage/log_segment.hpp; write + fdatasync per transaction): the cost of an
// append-only log, the candidate replacement (docs/performance.md, "Writes: what 2x etcd
// would take").
//
//   raft_log_store_bench [--seconds=2] [--data-bytes=128] [--dir=/tmp]
//
// Numbers depend on the disk (fsync latency dominates sync on) and on the two shared cores.

#include <stdlib.h>
#include <sys/resource.h>
#include <unistd.h>

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "storage/environment.hpp"
#include "storage/flush_record.hpp"
#include "storage/log_segment.hpp"
#include "storage/raft_log_store.hpp"

namespace {

using clock_type = std::chrono::steady_clock;
using ck::storage::group_write;

constexpr uint32_t groups_per_txn = 8;
constexpr uint32_t per_group_sizes[] = {1, 16, 256};
constexpr uint64_t txns_per_row_max = 1'000'000;
constexpr double seconds_max = 600;
constexpr uint64_t data_bytes_max = 1 << 20;

struct settings {
  double seconds = 2;
  uint64_t data_bytes = 128;
  std::string dir = "/tmp";
};

struct row {
  const char* engine = "lmdb";
  bool sync = false;
  uint32_t per_group = 0;
  uint64_t txns = 0;
  uint64_t entries = 0;
  double seconds = 0;
  uint64_t map_growths = 0;
  double cpu_seconds = 0;
};

double cpu_seconds_now() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  const auto seconds = [](const timeval& t) {
    return static_cast<double>(t.tv_sec) + static_cast<double>(t.tv_usec) / 1e6;
  };
  return seconds(usage.ru_utime) + seconds(usage.ru_stime);
}

// One storage flush: `per_group` entries for each of groups_per_txn groups from `next_index`,
// and their hard states. Both engines write exactly this.
void fill_batch(std::vector<group_write>& batch, uint32_t per_group, ck::raft::index_t next_index,
                const std::string& data) {
  batch.resize(groups_per_txn);
  for (uint32_t g = 0; g < groups_per_txn; ++g) {
    batch[g].group = g + 1;
    batch[g].entries.clear();
    for (uint32_t i = 0; i < per_group; ++i) {
      batch[g].entries.push_back(
          ck::raft::entry{1, next_index + i, ck::raft::entry_type::normal, data});
    }
    batch[g].hard = ck::raft::hard_state{1, 1, next_index + per_group - 1};
  }
}

// Writes flushes through `write` until the time is up (or txns_per_row_max) and fills `out`'s
// counts and times; false (and a line) when a write fails.
bool measure(const settings& config, uint32_t per_group, row& out,
             const std::function<ck::storage::status(const std::vector<group_write>&)>& write) {
  const std::string data(config.data_bytes, 'x');
  std::vector<group_write> batch;
  ck::raft::index_t next_index = 1;
  out = row{};
  out.per_group = per_group;
  const double cpu_started = cpu_seconds_now();
  const clock_type::time_point started = clock_type::now();
  const auto budget = std::chrono::duration<double>(config.seconds);
  while (clock_type::now() - started < budget && out.txns < txns_per_row_max) {
    fill_batch(batch, per_group, next_index, data);
    const ck::storage::status written = write(batch);
    if (!written.ok()) {
      std::fprintf(stderr, "write: %s\n", written.to_string().c_str());
      return false;
    }
    next_index += per_group;
    ++out.txns;
    out.entries += uint64_t{per_group} * groups_per_txn;
  }
  out.seconds = std::chrono::duration<double>(clock_type::now() - started).count();
  out.cpu_seconds = cpu_seconds_now() - cpu_started;
  return true;
}

// The `append` engine: each transaction one flush record (storage/flush_record.hpp) appended
// to a log segment (storage/log_segment.hpp), synced when `sync`.
bool run_append_row(const settings& config, bool sync, uint32_t per_group, row& out) {
  const std::string path = config.dir + "/ck-raft-bench-append-" + std::to_string(getpid());
  auto writer = ck::storage::segment_writer::create(path);
  if (!writer.ok()) {
    std::fprintf(stderr, "create: %s\n", writer.status().to_string().c_str());
    return false;
  }
  const bool ok = measure(config, per_group, out, [&](const std::vector<group_write>& batch) {
    ck::storage::status written = writer.value()->append(ck::storage::flush_record_encode(batch));
    return written.ok() && sync ? writer.value()->sync() : written;
  });
  out.engine = "append";
  out.sync = sync;
  writer.value().reset();
  ::unlink(path.c_str());
  return ok;
}

bool parse(int argc, char** argv, settings& out) {
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg.rfind("--seconds=", 0) == 0) {
      out.seconds = std::strtod(arg.c_str() + 10, nullptr);
    } else if (arg.rfind("--data-bytes=", 0) == 0) {
      out.data_bytes = std::strtoull(arg.c_str() + 13, nullptr, 10);
    } else if (arg.rfind("--dir=", 0) == 0) {
      out.dir = arg.substr(6);
    } else {
      return false;
    }
  }
  return out.seconds > 0 && out.seconds <= seconds_max && out.data_bytes <= data_bytes_max;
}

// One table row: a fresh environment and store, transactions until the time is up.
bool run_row(const settings& config, bool sync, uint32_t per_group, row& out) {
  std::string pattern = config.dir + "/ck-raft-bench-XXXXXX";
  if (mkdtemp(pattern.data()) == nullptr) {
    std::perror("mkdtemp");
    return false;
  }
  ck::storage::environment_options options;
  options.dir = pattern;
  options.map_size_bytes = uint64_t{1} << 30;  // no growth inside the measurement
  options.sync = sync;
  {
    auto env = ck::storage::environment::open(options);
    if (!env.ok()) {
      std::fprintf(stderr, "open: %s\n", env.status().to_string().c_str());
      return false;
    }
    auto store = ck::storage::raft_log_store::open(*env.value());
    if (!store.ok()) {
      std::fprintf(stderr, "open store: %s\n", store.status().to_string().c_str());
      return false;
    }
    if (!measure(config, per_group, out, [&](const std::vector<group_write>& batch) {
          return store.value()->write(batch);
        })) {
      return false;
    }
    out.sync = sync;
    out.map_growths = env.value()->stats().map_growth_count;
  }
  std::error_code ignored;
  std::filesystem::remove_all(pattern, ignored);
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  settings config;
  if (!parse(argc, argv, config)) {
    std::fprintf(stderr,
                 "usage: raft_log_store_bench [--seconds=S (0..%g]] [--data-bytes=N (<= %llu)] "
                 "[--dir=PATH]\n",
                 seconds_max, static_cast<unsigned long long>(data_bytes_max));
    return 2;
  }
  std::printf(
      "raft_log_store_bench: %u groups per transaction, %llu-byte entries, %.1f s per "
      "row, in %s\n\n",
      groups_per_txn, static_cast<unsigned long long>(config.data_bytes), config.seconds,
      config.dir.c_str());
  std::printf(
      "| engine | sync | entries/group/txn | txns/s   | entries/s  | MiB/s  | CPU us/txn |\n");
  std::printf(
      "|--------|------|-------------------|----------|------------|--------|------------|\n");
  for (const bool append : {false, true}) {
    for (const bool sync : {true, false}) {
      for (const uint32_t per_group : per_group_sizes) {
        row result;
        if (!(append ? run_append_row(config, sync, per_group, result)
                     : run_row(config, sync, per_group, result))) {
          return 1;
        }
        const double txns = static_cast<double>(result.txns);
        const double entries_per_second = static_cast<double>(result.entries) / result.seconds;
        std::printf("| %-6s | %-4s | %17u | %8.0f | %10.0f | %6.1f | %10.0f |\n", result.engine,
                    sync ? "on" : "off", per_group, txns / result.seconds, entries_per_second,
                    entries_per_second * static_cast<double>(config.data_bytes) / (1 << 20),
                    txns > 0 ? result.cpu_seconds * 1e6 / txns : 0.0);
        std::fflush(stdout);
      }
    }
  }
  return 0;
}
