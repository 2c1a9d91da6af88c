// Goal: prove that what raft_log_store::write() (sync on) acknowledged survives kill -9 of the
// writing process, that a batch spanning several groups is all or nothing, and that every
// group's log reopens as a consistent sequence with its hard state and snapshot meta.
//
// Method, per round (every round's seed is printed; CK_CRASH_REPLAY=<seed> reruns one round,
// CK_CRASH_ROUNDS=<n> changes how many rounds run):
//  1. Fork a writer child. It opens an environment in a fresh directory with a 256 KiB map (so
//     map growth happens under the kill too) and a log store, reports "ready" (0) over a pipe,
//     then runs operations generated from the seed (tests/unit/storage/raft_log_model.hpp):
//     batches of 1..6 group_writes over 5 groups with appends, truncations of uncommitted
//     suffixes under new terms, hard states, snapshots taken and installed; and now and then a
//     record_snapshot, a compact or a drop_group. After each call returns it reports the
//     operation's number.
//  2. The parent SIGKILLs the child after a seeded random delay (one round in ten before the
//     child can be ready), reaps it and drains the pipe: N = the last acknowledged operation.
//  3. The parent reopens the environment and the store. Every group must be consistent on its
//     own (entries [first, last] consecutive, terms never falling from term(first - 1),
//     commit <= last, first - 1 <= snapshot index), and the whole store must equal the model
//     after operation N, or after N + 1 (committed, killed before acknowledging): nothing
//     acknowledged is lost and no batch is half applied. A new write must then commit.
//
// The kill moment is drawn from the seed but measured in wall time, so a replay reruns the same
// operations and delay, not necessarily the same instruction. Every wait is bounded; the child
// is killed by PID on every path out of a round.

#include <fcntl.h>
#include <sys/prctl.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include <doctest/doctest.h>

#include "crash_support.hpp"
#include "raft_log_model.hpp"
#include "storage/environment.hpp"
#include "storage/journaled_log.hpp"
#include "storage/raft_log_store.hpp"
#include "test_support.hpp"

namespace ck::storage {
namespace {

using clock_type = test::crash_clock;

constexpr uint32_t rounds_default = 25;
constexpr uint32_t rounds_max = 10'000;
constexpr uint64_t child_operations_max = 1'000'000;  // the child stops by itself after this
constexpr uint32_t early_kill_percent = 10;
constexpr uint64_t early_kill_delay_us_max = 3'000;
constexpr uint64_t kill_delay_us_max = 400'000;  // after "ready"
constexpr uint32_t drop_percent = 1;             // operations that drop a group
constexpr uint32_t record_percent = 3;           // ... that record a snapshot (entries stay)
constexpr uint32_t compact_percent = 3;          // ... that compact a group's log
constexpr uint64_t map_size_bytes = uint64_t{256} << 10;

constexpr int child_exit_open_failed = 2;
constexpr int child_exit_write_failed = 3;
constexpr int child_exit_pipe_failed = 4;

// The operations of a run, a function of the seed alone (child and parent generate the same).
class raft_workload {
 public:
  explicit raft_workload(uint64_t seed)
      : generator_(seed, test::raft_batch_generator::shape{
                             {1, 2, 3, 4, 0xFFFFFFFFu}, 6, 16, 300, 3, 12, 6, 3}) {}

  struct operation {
    std::vector<group_write> batch;               // write(batch), unless one below is set
    std::optional<raft::group_id> drop;           // drop_group(*drop)
    raft::group_id group = 0;                     // of the two below
    std::optional<raft::snapshot_meta> recorded;  // record_snapshot(group, *recorded)
    std::optional<raft::index_t> compact_index;   // compact(group, *compact_index)
  };

  // Operation 1, 2, ...; call in order. Applies it to model().
  operation next() {
    operation op;
    const uint64_t roll = generator_.below(100);
    const std::vector<raft::group_id> ids = test::model_groups(generator_.model());
    if (roll < drop_percent + record_percent + compact_percent && !ids.empty()) {
      op.group = ids[generator_.below(ids.size())];
      if (roll < drop_percent) {
        op.drop = op.group;
        generator_.drop(op.group);
        return op;
      }
      if (roll < drop_percent + record_percent) {
        op.recorded = generator_.next_recorded_snapshot(op.group);
      } else {
        op.compact_index = generator_.next_compact_index(op.group);
      }
      if (op.recorded || op.compact_index) {
        return op;
      }
    }
    op.batch = generator_.next_batch();
    return op;
  }

  // Runs `op` on `store`.
  static status run(raft_log_store& store, const operation& op) {
    if (op.drop) {
      return store.drop_group(*op.drop);
    }
    if (op.recorded) {
      return store.record_snapshot(op.group, *op.recorded);
    }
    if (op.compact_index) {
      return store.compact(op.group, *op.compact_index);
    }
    return store.write(op.batch);
  }

  const test::raft_model& model() const { return generator_.model(); }

 private:
  test::raft_batch_generator generator_;
};

// With `journaled`, the store is written through storage/journaled_log (the journal design): the
// environment syncs as the node's does (data pages at each commit, the meta page by sync_now),
// and its map is large enough that no checkpoint has to grow it.
environment_options crash_options(const std::string& dir, bool journaled) {
  environment_options options;
  options.dir = dir;
  options.map_size_bytes = journaled ? uint64_t{64} << 20 : map_size_bytes;
  options.sync = true;
  options.defer_meta_sync = journaled;
  return options;
}

std::string journal_dir(const std::string& dir) { return dir + "/journal"; }

// Journal mode: a write goes through the journal (synced), anything else commits the open
// transaction first; a checkpoint also comes every few operations at random.
class journaled_runner {
 public:
  journaled_runner(journaled_log& log, raft_log_store& store, uint64_t seed)
      : log_(log), store_(store), rng_(test::splitmix64(seed ^ 0x6a09e667f3bcc908ull)) {}

  status run(const raft_workload::operation& op) {
    if (!op.drop && !op.recorded && !op.compact_index) {
      status written = log_.write(op.batch, /*sync=*/true);
      if (written.ok() && rng_() % 16 == 0) {
        written = log_.checkpoint();
      }
      return written;
    }
    if (status done = log_.checkpoint(); !done.ok()) {
      return done;
    }
    return raft_workload::run(store_, op);
  }

 private:
  journaled_log& log_;
  raft_log_store& store_;
  std::mt19937_64 rng_;
};

[[noreturn]] void writer_child_main(const std::string& dir, uint64_t seed, int ack_fd,
                                    pid_t parent, bool journaled) {
  prctl(PR_SET_PDEATHSIG, SIGKILL);  // dies with the parent: no writer outlives a crashed test
  if (getppid() != parent) {
    _exit(child_exit_pipe_failed);
  }
  result<std::unique_ptr<environment>> env = environment::open(crash_options(dir, journaled));
  if (!env.ok()) {
    std::fprintf(stderr, "raft crash child: %s\n", env.status().to_string().c_str());
    _exit(child_exit_open_failed);
  }
  result<std::unique_ptr<raft_log_store>> store = raft_log_store::open(*env.value());
  if (!store.ok()) {
    std::fprintf(stderr, "raft crash child: %s\n", store.status().to_string().c_str());
    _exit(child_exit_open_failed);
  }
  std::unique_ptr<journaled_log> log;
  std::optional<journaled_runner> runner;
  if (journaled) {
    auto opened = journaled_log::open(*env.value(), *store.value(), journal_dir(dir));
    if (!opened.ok()) {
      std::fprintf(stderr, "raft crash child: %s\n", opened.status().to_string().c_str());
      _exit(child_exit_open_failed);
    }
    log = std::move(opened).value();
    runner.emplace(*log, *store.value(), seed);
  }
  if (!test::send_ack(ack_fd, 0)) {
    _exit(child_exit_pipe_failed);
  }
  raft_workload workload(seed);
  for (uint64_t number = 1; number <= child_operations_max; ++number) {
    const raft_workload::operation op = workload.next();
    const status done = runner ? runner->run(op) : raft_workload::run(*store.value(), op);
    if (!done.ok()) {
      std::fprintf(stderr, "raft crash child: operation %llu: %s\n",
                   static_cast<unsigned long long>(number), done.to_string().c_str());
      _exit(child_exit_write_failed);
    }
    if (!test::send_ack(ack_fd, number)) {
      _exit(child_exit_pipe_failed);
    }
  }
  _exit(0);  // no destructors: the environment is left as a crash would leave it
}

struct round_report {
  std::string failure;               // empty: the round passed
  std::optional<uint64_t> last_ack;  // N; nullopt when killed before "ready"
  uint64_t kill_delay_us = 0;
  bool early_kill = false;
  bool matched_next = false;  // the store held operation N + 1 as well
  uint64_t entries = 0;
  std::size_t groups = 0;
};

// Checks each group on its own, without the model: the log is a consecutive run of entries
// after the snapshot, terms never fall, the commit index lies inside it.
std::string check_consistent(raft_log_store& store) {
  for (const raft::group_id id : store.groups()) {
    raft::log_storage& group = store.group(id);
    const std::string where = "group " + std::to_string(id) + ": ";
    const raft::snapshot_meta meta = group.current_snapshot().meta;
    if (group.first_index() > meta.index + 1) {
      return where + "first index beyond the snapshot index + 1";
    }
    raft::term_t previous = 0;
    if (group.term(group.first_index() - 1, previous) != raft::log_error::none ||
        (group.first_index() == meta.index + 1 && previous != meta.term)) {
      return where + "term(first index - 1) is unavailable or not the snapshot's";
    }
    std::vector<raft::entry> entries;
    result<raft::log_error> read =
        store.read_entries(id, group.first_index(), group.last_index() + 1, UINT64_MAX, entries);
    if (!read.ok() || read.value() != raft::log_error::none ||
        entries.size() != group.last_index() + 1 - group.first_index()) {
      return where + "the log cannot be read whole: " + read.status().to_string();
    }
    for (std::size_t i = 0; i < entries.size(); ++i) {
      if (entries[i].index != group.first_index() + i || entries[i].term < previous) {
        return where + "entry " + std::to_string(entries[i].index) + " breaks the sequence";
      }
      previous = entries[i].term;
    }
    if (group.initial_hard_state().commit > group.last_index()) {
      return where + "commit index beyond the last index";
    }
  }
  return "";
}

// Step 3: reopen, check every group, compare with the models after N and N + 1, write again.
void verify_after_kill(const std::string& dir, uint64_t seed, round_report& report,
                       bool journaled) {
  result<std::unique_ptr<environment>> env = environment::open(crash_options(dir, journaled));
  if (!env.ok()) {
    report.failure = "reopen failed: " + env.status().to_string();
    return;
  }
  result<std::unique_ptr<raft_log_store>> opened = raft_log_store::open(*env.value());
  if (!opened.ok()) {
    report.failure = "log store open failed: " + opened.status().to_string();
    return;
  }
  raft_log_store& store = *opened.value();
  std::unique_ptr<journaled_log> log;
  if (journaled) {  // the replay of the journal after the last checkpoint
    auto replayed = journaled_log::open(*env.value(), store, journal_dir(dir));
    if (!replayed.ok()) {
      report.failure = "journal replay failed: " + replayed.status().to_string();
      return;
    }
    log = std::move(replayed).value();
  }
  report.failure = check_consistent(store);
  if (!report.failure.empty()) {
    return;
  }
  raft_workload workload(seed);
  for (uint64_t number = 1; report.last_ack && number <= *report.last_ack; ++number) {
    workload.next();
  }
  const std::string vs_last = test::first_difference(store, workload.model());
  if (!vs_last.empty()) {
    if (report.last_ack) {
      workload.next();
    }
    const std::string vs_next = test::first_difference(store, workload.model());
    if (!vs_next.empty() || !report.last_ack) {
      report.failure = "store matches neither operation N nor N + 1; vs N: " + vs_last;
      return;
    }
    report.matched_next = true;
  }
  report.groups = store.groups().size();
  for (const raft::group_id id : store.groups()) {
    report.entries += store.group(id).last_index() + 1 - store.group(id).first_index();
  }
  group_write after;
  after.group = 77;
  after.entries.push_back(raft::entry{1, 1, raft::entry_type::normal, "after the crash"});
  const status written = store.write({after});
  if (!written.ok()) {
    report.failure = "write after reopen failed: " + written.to_string();
  }
}

// Steps 1 and 2: fork the writer, kill it at the seeded moment, collect its acknowledgements.
void run_writer_and_kill(const std::string& dir, uint64_t seed, round_report& report,
                         bool journaled) {
  std::mt19937_64 rng(test::splitmix64(seed));
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
    writer_child_main(dir, seed, fds[1], parent, journaled);
  }
  close(fds[1]);
  REQUIRE(fcntl(fds[0], F_SETFL, O_NONBLOCK) == 0);
  test::ack_reader acks(fds[0]);
  test::child_process child(pid);
  report.failure = test::kill_after_delay(acks, child, report.early_kill, report.kill_delay_us,
                                         report.last_ack);
}

round_report run_round(uint64_t seed, bool journaled) {
  test::temp_dir tmp;
  round_report report;
  run_writer_and_kill(tmp.sub("env"), seed, report, journaled);
  if (report.failure.empty()) {
    verify_after_kill(tmp.sub("env"), seed, report, journaled);
  }
  return report;
}

void run_rounds(bool journaled) {
  const std::optional<uint64_t> replay = test::env_number("CK_CRASH_REPLAY");
  const uint64_t rounds =
      replay ? 1
             : std::min<uint64_t>(test::env_number("CK_CRASH_ROUNDS").value_or(rounds_default),
                                  rounds_max);
  const uint64_t base_seed = test::random_seed();
  std::printf("storage_raft_crash_test%s: %llu round(s), base seed %llu%s\n",
              journaled ? " (journal)" : "", static_cast<unsigned long long>(rounds),
              static_cast<unsigned long long>(base_seed), replay ? " (replay)" : "");
  const clock_type::time_point started = clock_type::now();
  uint64_t next_matches = 0;
  for (uint64_t round = 0; round < rounds; ++round) {
    const uint64_t seed = replay ? *replay : test::splitmix64(base_seed + round);
    const round_report report = run_round(seed, journaled);
    next_matches += report.matched_next ? 1 : 0;
    std::printf(
        "  round %llu seed=%llu: kill after %llu us%s, acknowledged %s, %zu groups, %llu "
        "entries%s\n",
        static_cast<unsigned long long>(round), static_cast<unsigned long long>(seed),
        static_cast<unsigned long long>(report.kill_delay_us), report.early_kill ? " (early)" : "",
        report.last_ack ? std::to_string(*report.last_ack).c_str() : "nothing", report.groups,
        static_cast<unsigned long long>(report.entries),
        report.matched_next ? " (operation N+1 had committed)" : "");
    std::fflush(stdout);
    INFO("seed=" << seed << "; replay: CK_CRASH_REPLAY=" << seed << " ./storage_raft_crash_test");
    REQUIRE_MESSAGE(report.failure.empty(), report.failure);
  }
  const auto elapsed =
      std::chrono::duration_cast<std::chrono::milliseconds>(clock_type::now() - started);
  std::printf("storage_raft_crash_test: %llu round(s) passed in %lld ms (%llu found N+1)\n",
              static_cast<unsigned long long>(rounds), static_cast<long long>(elapsed.count()),
              static_cast<unsigned long long>(next_matches));
}

TEST_CASE("raft crash: acknowledged log writes survive kill -9, batches stay whole") {
  run_rounds(false);
}

// The same through the journal (storage/journaled_log.hpp): what a synced write returned for
// is in the journal or behind a checkpoint, and the replay rebuilds exactly the store after
// operation N or N + 1. Replay one round with CK_CRASH_REPLAY=<seed> -tc='*journal*'.
TEST_CASE("raft crash (journal): acknowledged journaled writes survive kill -9 and replay") {
  run_rounds(true);
}

}  // namespace
}  // namespace ck::storage
