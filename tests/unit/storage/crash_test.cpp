// Goal: prove that a write acknowledged by environment::write (sync on) survives kill -9 of the
// writing process, that a multi-key transaction is all or nothing, and that the environment opens
// clean and keeps working afterwards.
//
// Method, per round (every round's seed is printed; CK_CRASH_REPLAY=<seed> reruns one round,
// CK_CRASH_ROUNDS=<n> changes how many rounds run):
//  1. Fork a writer child. It opens an environment in a fresh directory with a 1 MiB map (so map
//     growth happens under the kill too), saves a node identity, reports "ready" (0) over a pipe,
//     then runs a workload generated from the seed: single puts, batches of 2..24 puts and erases
//     in one transaction, overwrites and erases, on short and long (hashed) keys. After each
//     write() returns it reports the transaction's number.
//  2. The parent SIGKILLs the child after a seeded random delay (one round in ten before the
//     child can be ready), reaps it and drains the pipe: N = the last acknowledged transaction.
//  3. The parent reopens the environment and reads the whole KV table. It must equal the model
//     after transaction N, or after N + 1 (committed, killed before acknowledging): nothing
//     acknowledged is lost (puts present with their value, erases absent) and no transaction is
//     half applied. The identity must load once "ready" was seen, and a new write must commit.
//
// The kill moment is drawn from the seed but measured in wall time, so a replay reruns the same
// workload and delay, not necessarily the same instruction. Every wait is bounded; the child is
// killed by PID on every path out of a round.

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <optional>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include <doctest/doctest.h>

#include "storage/environment.hpp"
#include "storage/format.hpp"
#include "storage/identity.hpp"
#include "storage/table.hpp"
#include "crash_support.hpp"
#include "test_support.hpp"

namespace ck::storage {
namespace {

using clock_type = test::crash_clock;
using test::ack_reader;
using test::child_process;
using test::env_number;
using test::send_ack;
using test::splitmix64;

constexpr uint32_t rounds_default = 30;
constexpr uint32_t rounds_max = 10'000;
constexpr uint64_t child_txn_max = 1'000'000;  // the child stops by itself after this many
constexpr uint32_t early_kill_percent = 10;    // rounds killed before the child is ready
constexpr uint64_t early_kill_delay_us_max = 3'000;
constexpr uint64_t kill_delay_us_max = 400'000;  // after "ready"

// The workload's shape: few enough keys that overwrites and erases are frequent, a quarter of
// them longer than the inline key limit (stored hashed), values up to a few KiB so that some go
// to LMDB overflow pages.
constexpr uint32_t workload_partitions[] = {0, 1, 256, 65536};
constexpr uint64_t workload_keys_per_partition = 300;
constexpr uint64_t workload_value_bytes_max = 3'000;
constexpr uint64_t workload_batch_size_max = 24;
constexpr uint64_t kv_list_page_keys = 1'000;

constexpr int child_exit_open_failed = 2;
constexpr int child_exit_write_failed = 3;
constexpr int child_exit_pipe_failed = 4;

node_identity crash_identity() {
  node_identity identity;
  identity.node_id = "crash-writer";
  identity.cluster_id = "crash-cluster";
  identity.partition_count = 4;
  identity.replication_factor = 1;
  identity.created_unix_ms = 42;
  identity.meta_raft_id = 1;
  return identity;
}

// ---- the workload (child and parent generate the same sequence from the seed) ----------------

struct mutation {
  uint32_t partition = 0;
  std::string key;
  std::optional<std::string> value;  // nullopt: erase
};

using kv_state = std::map<std::pair<uint32_t, std::string>, std::string>;

class workload {
 public:
  explicit workload(uint64_t seed) : rng_(seed) {}

  // The mutations of transaction `txn_number` (1, 2, ...); call in order.
  std::vector<mutation> next(uint64_t txn_number) {
    const uint64_t kind = rng_() % 100;
    const bool batch = kind >= 55 && kind < 85;
    const bool erase_only = kind >= 85;
    const uint64_t count = batch ? 2 + rng_() % (workload_batch_size_max - 1) : 1;
    std::vector<mutation> mutations;
    for (uint64_t i = 0; i < count; ++i) {
      mutation m;
      m.partition = workload_partitions[rng_() % std::size(workload_partitions)];
      const uint64_t key_id = rng_() % workload_keys_per_partition;
      m.key = "key-" + std::to_string(key_id);
      if (key_id % 7 == 0) {
        m.key.push_back('\0');  // keys are bytes
      }
      if (key_id % 4 == 1) {  // a long key: stored hashed, the key itself inside the value
        m.key.resize(table_inline_key_bytes_max + 1 + key_id % 5 * 300, '~');
      }
      const bool erase = erase_only || (batch && rng_() % 5 == 0);
      if (!erase) {
        const uint64_t fill_bytes = rng_() % workload_value_bytes_max;
        m.value = "txn-" + std::to_string(txn_number) + "." + std::to_string(i) + ":" +
                  std::string(fill_bytes, static_cast<char>('a' + (txn_number + i) % 26));
      }
      mutations.push_back(std::move(m));
    }
    return mutations;
  }

 private:
  std::mt19937_64 rng_;
};

void apply_to_model(const std::vector<mutation>& mutations, kv_state& state) {
  for (const mutation& m : mutations) {
    if (m.value) {
      state[{m.partition, m.key}] = *m.value;
    } else {
      state.erase({m.partition, m.key});
    }
  }
}

status apply_to_txn(const std::vector<mutation>& mutations, write_txn& txn) {
  for (const mutation& m : mutations) {
    if (m.value) {
      if (status put = table_put(txn, m.partition, m.key, *m.value); !put.ok()) {
        return put;
      }
    } else if (result<bool> erased = table_erase(txn, m.partition, m.key); !erased.ok()) {
      return erased.status();
    }
  }
  return status::success();
}

// ---- the child ---------------------------------------------------------------------------------

[[noreturn]] void writer_child_main(const std::string& dir, uint64_t seed, int ack_fd,
                                    pid_t parent) {
  // Dies with the parent, so that a crashed test never leaves a writer running.
  prctl(PR_SET_PDEATHSIG, SIGKILL);
  if (getppid() != parent) {
    _exit(child_exit_pipe_failed);
  }
  environment_options options;
  options.dir = dir;
  options.map_size_bytes = uint64_t{1} << 20;
  options.sync = true;
  result<std::unique_ptr<environment>> opened = environment::open(options);
  if (!opened.ok() || !save_identity(*opened.value(), crash_identity()).ok()) {
    std::fprintf(stderr, "crash child: %s\n", opened.status().to_string().c_str());
    _exit(child_exit_open_failed);
  }
  environment& env = *opened.value();
  if (!send_ack(ack_fd, 0)) {
    _exit(child_exit_pipe_failed);
  }
  workload generator(seed);
  for (uint64_t txn_number = 1; txn_number <= child_txn_max; ++txn_number) {
    const std::vector<mutation> mutations = generator.next(txn_number);
    const status written =
        env.write([&mutations](write_txn& txn) { return apply_to_txn(mutations, txn); });
    if (!written.ok()) {
      std::fprintf(stderr, "crash child: txn %llu: %s\n",
                   static_cast<unsigned long long>(txn_number), written.to_string().c_str());
      _exit(child_exit_write_failed);
    }
    if (!send_ack(ack_fd, txn_number)) {
      _exit(child_exit_pipe_failed);
    }
  }
  _exit(0);  // no destructors: the environment is left as a crash would leave it
}

// ---- the parent's side -------------------------------------------------------------------------

struct round_report {
  std::string failure;               // empty: the round passed
  std::optional<uint64_t> last_ack;  // N; nullopt when killed before "ready"
  uint64_t kill_delay_us = 0;
  bool early_kill = false;
  bool matched_next = false;  // the table held txn N + 1 as well
  uint64_t keys = 0;
};

// The models after txn N and N + 1 (N = -1 when the child was not ready: both empty).
std::pair<kv_state, kv_state> expected_states(uint64_t seed, std::optional<uint64_t> last_ack) {
  kv_state after_last;
  workload generator(seed);
  if (last_ack) {
    for (uint64_t txn_number = 1; txn_number <= *last_ack; ++txn_number) {
      apply_to_model(generator.next(txn_number), after_last);
    }
  }
  kv_state after_next = after_last;
  if (last_ack) {
    apply_to_model(generator.next(*last_ack + 1), after_next);
  }
  return {std::move(after_last), std::move(after_next)};
}

// Reads the whole "kv" database through the public API, checking counts on the way.
std::optional<kv_state> read_table(environment& env, std::string& failure) {
  result<read_txn> txn = env.begin_read();
  if (!txn.ok()) {
    failure = "cannot begin read: " + txn.status().to_string();
    return std::nullopt;
  }
  kv_state table;
  for (const uint32_t partition : workload_partitions) {
    std::optional<table_cursor_position> after;
    for (uint64_t page_index = 0; page_index <= workload_keys_per_partition; ++page_index) {
      result<table_page> page = table_list(txn.value(), partition, after, kv_list_page_keys);
      if (!page.ok()) {
        failure = "table_list: " + page.status().to_string();
        return std::nullopt;
      }
      for (const std::string& key : page.value().keys) {
        result<std::optional<std::string>> value = table_get(txn.value(), partition, key);
        if (!value.ok() || !value.value()) {
          failure = "listed key cannot be read: " + value.status().to_string();
          return std::nullopt;
        }
        table[{partition, key}] = *value.value();
      }
      if (!page.value().next) {
        break;
      }
      after = page.value().next;
    }
  }
  result<uint64_t> count = table_count(txn.value());
  if (!count.ok() || count.value() != table.size()) {
    failure = "table_count disagrees with the listed keys";
    return std::nullopt;
  }
  return table;
}

// Describes the first difference between what was expected and what is stored.
std::string first_difference(const kv_state& expected, const kv_state& stored) {
  for (const auto& [position, value] : expected) {
    const auto found = stored.find(position);
    if (found == stored.end()) {
      return "lost: partition " + std::to_string(position.first) + " key " + position.second;
    }
    if (found->second != value) {
      return "wrong value: partition " + std::to_string(position.first) + " key " +
             position.second + " holds " + found->second.substr(0, 24) + "... expected " +
             value.substr(0, 24) + "...";
    }
  }
  for (const auto& [position, value] : stored) {
    if (expected.count(position) == 0) {
      return "unexpected (erased or never written): partition " + std::to_string(position.first) +
             " key " + position.second;
    }
  }
  return "none";
}

// Step 3: reopen, compare against the models, check the identity, and write once more.
void verify_after_kill(const std::string& dir, uint64_t seed, round_report& report) {
  environment_options options;
  options.dir = dir;
  options.map_size_bytes = uint64_t{1} << 20;
  result<std::unique_ptr<environment>> opened = environment::open(options);
  if (!opened.ok()) {
    report.failure = "reopen failed: " + opened.status().to_string();
    return;
  }
  environment& env = *opened.value();
  result<std::optional<node_identity>> identity = load_identity(env);
  // Saved in one commit before "ready": absent or whole before it, present and whole after.
  const bool identity_whole =
      identity.ok() &&
      (identity.value() ? *identity.value() == crash_identity() : !report.last_ack);
  if (!identity_whole) {
    report.failure = "identity lost, damaged or unreadable: " + identity.status().to_string();
    return;
  }
  const std::optional<kv_state> table = read_table(env, report.failure);
  if (!table) {
    return;
  }
  report.keys = table->size();
  const auto [after_last, after_next] = expected_states(seed, report.last_ack);
  report.matched_next = *table != after_last && *table == after_next;
  if (*table != after_last && *table != after_next) {
    report.failure =
        "table matches neither txn N nor N + 1; vs N: " + first_difference(after_last, *table);
    return;
  }
  const status written =
      env.write([](write_txn& txn) { return table_put(txn, 9, "after-crash", "works"); });
  if (!written.ok()) {
    report.failure = "write after reopen failed: " + written.to_string();
  }
}

// Steps 1 and 2: fork the writer, kill it at the seeded moment, collect its acknowledgements.
void run_writer_and_kill(const std::string& dir, uint64_t seed, round_report& report) {
  std::mt19937_64 rng(splitmix64(seed));
  report.early_kill = rng() % 100 < early_kill_percent;
  report.kill_delay_us =
      report.early_kill ? rng() % early_kill_delay_us_max : 1 + rng() % kill_delay_us_max;
  int fds[2];
  REQUIRE(pipe2(fds, O_CLOEXEC) == 0);
  std::fflush(nullptr);
  const pid_t parent = getpid();
  const pid_t pid = fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    close(fds[0]);
    writer_child_main(dir, seed, fds[1], parent);
  }
  close(fds[1]);
  REQUIRE(fcntl(fds[0], F_SETFL, O_NONBLOCK) == 0);
  ack_reader acks(fds[0]);
  child_process child(pid);
  report.failure = test::kill_after_delay(acks, child, report.early_kill, report.kill_delay_us,
                                         report.last_ack);
}

round_report run_round(uint64_t seed) {
  test::temp_dir tmp;
  round_report report;
  run_writer_and_kill(tmp.sub("env"), seed, report);
  if (report.failure.empty()) {
    verify_after_kill(tmp.sub("env"), seed, report);
  }
  return report;
}

TEST_CASE("crash: acknowledged writes survive kill -9 of the writer, transactions stay whole") {
  const std::optional<uint64_t> replay = env_number("CK_CRASH_REPLAY");
  const uint64_t rounds =
      replay
          ? 1
          : std::min<uint64_t>(env_number("CK_CRASH_ROUNDS").value_or(rounds_default), rounds_max);
  const uint64_t base_seed = test::random_seed();
  std::printf("storage_crash_test: %llu round(s), base seed %llu%s\n",
              static_cast<unsigned long long>(rounds), static_cast<unsigned long long>(base_seed),
              replay ? " (replay)" : "");
  const clock_type::time_point started = clock_type::now();
  for (uint64_t round = 0; round < rounds; ++round) {
    const uint64_t seed = replay ? *replay : splitmix64(base_seed + round);
    const round_report report = run_round(seed);
    std::printf("  round %llu seed=%llu: kill after %llu us%s, acknowledged %s, %llu keys%s\n",
                static_cast<unsigned long long>(round), static_cast<unsigned long long>(seed),
                static_cast<unsigned long long>(report.kill_delay_us),
                report.early_kill ? " (early)" : "",
                report.last_ack ? std::to_string(*report.last_ack).c_str() : "nothing",
                static_cast<unsigned long long>(report.keys),
                report.matched_next ? " (txn N+1 had committed)" : "");
    std::fflush(stdout);
    INFO("seed=" << seed << "; replay: CK_CRASH_REPLAY=" << seed << " ./storage_crash_test");
    REQUIRE_MESSAGE(report.failure.empty(), report.failure);
  }
  const auto elapsed =
      std::chrono::duration_cast<std::chrono::milliseconds>(clock_type::now() - started);
  std::printf("storage_crash_test: %llu round(s) passed in %lld ms\n",
              static_cast<unsigned long long>(rounds), static_cast<long long>(elapsed.count()));
}

}  // namespace
}  // namespace ck::storage
