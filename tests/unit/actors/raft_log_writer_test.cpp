// The raft log writer on a real actor system (it is detached, so the test scheduler cannot
// drive it): requests of many groups in flight share transactions (group commit), every
// request is answered after its commit, and a snapshot record keeps its place between the
// persists of its group.

#include "actors/raft_log_writer.hpp"
#include "actors/raft_wire.hpp"
#include "runtime/base/metrics.hpp"
#include "actors/type_ids.hpp"
#include "runtime/base/storage_health.hpp"
#include "storage/environment.hpp"
#include "storage/journaled_log.hpp"
#include "storage/raft_log_store.hpp"
#include "storage/table_overlay.hpp"

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/scoped_actor.hpp>
#include <doctest/doctest.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <functional>
#include <thread>

using namespace ck;
using namespace std::chrono_literals;

namespace {

// A store in a fresh directory, an actor system and the writer under test (the plain one; see
// journal_fixture for the journaled one).
struct writer_fixture {
  std::filesystem::path dir;
  std::shared_ptr<storage::environment> env;
  std::shared_ptr<storage::raft_log_store> store;
  caf::actor_system_config cfg;
  std::unique_ptr<caf::actor_system> sys;
  actors::raft_log_writer_actor writer;

  writer_fixture() : writer_fixture(/*defer_meta_sync=*/false) {
    writer = actors::spawn_raft_log_writer(*sys, store);
  }

  void stop_writer() {
    if (!writer) {
      return;
    }
    {
      caf::scoped_actor self{*sys};
      self->send_exit(writer, caf::exit_reason::user_shutdown);
      self->wait_for(writer);
    }  // the scoped actor must be gone too: ~actor_system waits for every actor
    writer = nullptr;
  }

  ~writer_fixture() {
    stop_writer();
    sys.reset();
    store.reset();
    env.reset();
    std::filesystem::remove_all(dir);
  }

 protected:
  // Everything but the writer.
  explicit writer_fixture(bool defer_meta_sync) {
    char pattern[] = "/tmp/ck-raft-writer-XXXXXX";
    dir = ::mkdtemp(pattern);
    storage::environment_options options;
    options.dir = (dir / "env").string();
    options.defer_meta_sync = defer_meta_sync;
    auto opened = storage::environment::open(options);
    REQUIRE(opened.ok());
    env = std::move(opened.value());
    auto store_opened = storage::raft_log_store::open(*env);
    REQUIRE(store_opened.ok());
    store = std::move(store_opened.value());
    cfg.set("scheduler.max-threads", 2);
    actors::register_types(cfg);
    sys = std::make_unique<caf::actor_system>(cfg);
  }
};

actors::persist_request entries_write(raft::group_id group, raft::index_t from,
                                      raft::index_t to) {
  actors::persist_request request;
  request.write.group = group;
  for (raft::index_t i = from; i <= to; ++i) {
    request.write.entries.push_back(raft::entry{1, i, raft::entry_type::normal, "e"});
  }
  request.write.hard = raft::hard_state{1, 0, to};
  return request;
}

// Waits (at most 10 s) for `n` answers of the writer; returns the largest batch one reported.
uint64_t await_answers(caf::scoped_actor& self, int n) {
  uint64_t largest_batch = 0;
  int received = 0;
  self->receive_for(received, n)(
      [&](uint64_t batch) { largest_batch = std::max(largest_batch, batch); },
      [&](caf::error& e) { FAIL("request failed: " << to_string(e)); },
      caf::after(10s) >> [&] { FAIL("only " << received << " of " << n << " answers"); });
  return largest_batch;
}

// The snapshot record the tests send: `group`'s snapshot at 8 (term 1), compacting below 6.
void record_at_8(caf::scoped_actor& self, const actors::raft_log_writer_actor& writer,
                 raft::group_id group) {
  self->send(writer, atoms::raft_snapshot_atom_v, group,
             raft::snapshot_meta{8, 1, raft::conf_state{{1}, {}}}, raft::index_t{6});
}

// `log` after record_at_8 was carried out, holding entries through `last`.
void check_recorded_at_8(const raft::log_storage& log, raft::index_t last) {
  CHECK(log.current_snapshot().meta.index == 8);
  CHECK(log.first_index() == 6);
  CHECK(log.last_index() == last);
}

// Persists entries 1..`last` of groups 1..`groups`, all sent at once, and waits for the
// answers; returns the largest batch one reported.
uint64_t persist_groups(caf::scoped_actor& self, const actors::raft_log_writer_actor& writer,
                        int groups, raft::index_t last) {
  for (int g = 1; g <= groups; ++g) {
    self->send(writer, atoms::raft_persist_atom_v,
               entries_write(static_cast<raft::group_id>(g), 1, last));
  }
  return await_answers(self, groups);
}

// A persist of entries 1..2 of `group` that also applies one command, `data`, through `applier`.
actors::persist_request persist_with_apply(raft::group_id group, actors::log_txn_applier& applier,
                                           std::string data,
                                           std::vector<std::shared_ptr<actors::apply_job>>& jobs) {
  auto request = entries_write(group, 1, 2);
  auto job = std::make_shared<actors::apply_job>();
  job->applier = &applier;
  job->entries = {raft::entry{1, 1, raft::entry_type::normal, std::move(data)}};
  request.apply = job;
  jobs.push_back(job);
  return request;
}

// Sends groups 1..`groups` a persist each that applies one command, `prefix` + the group,
// through `applier`, and waits for the answers; returns the jobs (their results, by group).
std::vector<std::shared_ptr<actors::apply_job>> persist_applies(
    caf::scoped_actor& self, const actors::raft_log_writer_actor& writer,
    actors::log_txn_applier& applier, const std::string& prefix, int groups) {
  std::vector<std::shared_ptr<actors::apply_job>> jobs;
  for (int g = 1; g <= groups; ++g) {
    self->send(writer, atoms::raft_persist_atom_v,
               persist_with_apply(static_cast<raft::group_id>(g), applier,
                                  prefix + std::to_string(g), jobs));
  }
  await_answers(self, groups);
  return jobs;
}

// Counts the transactions it applies in and records what it applied (in the meta database,
// so the test can see it committed with the log).
class recording_applier final : public actors::log_txn_applier {
 public:
  storage::result<std::vector<std::string>> log_txn_apply(
      storage::write_txn&, const std::vector<const raft::entry*>& entries) override {
    ++calls;
    std::vector<std::string> results;
    for (const raft::entry* e : entries) {
      results.push_back("applied " + std::to_string(e->index) + ":" + e->data);
    }
    return results;
  }
  int calls = 0;
};

// Stands for a group actor whose proposal the writer answers early (apply_job::answers).
// Asked (raft_propose_atom), it proposes to itself, so that both the proposal's answer and
// the persist's answer come to its mailbox, and makes that proposal ride in a persist of
// entry 4 of group 4 that applies entry 3, `data` (persisted before, committed since).
// Replies with the two answers, in the order they arrived, joined by ';'.
caf::behavior early_proposer(caf::event_based_actor* self, actors::raft_log_writer_actor writer,
                             actors::log_txn_applier* applier, std::string data) {
  auto events = std::make_shared<std::vector<std::string>>();
  auto asker = std::make_shared<caf::response_promise>();
  auto note = [=](std::string event) {
    events->push_back(std::move(event));
    if (events->size() == 2) {
      asker->deliver((*events)[0] + ";" + (*events)[1]);
    }
  };
  return {
      [=](atoms::raft_propose_atom) {
        *asker = self->make_response_promise();
        self->request(caf::actor_cast<caf::actor>(self), caf::infinite, atoms::raft_tick_atom_v)
            .then([=](actors::raft_propose_reply& reply) {
                    note("answer " + std::to_string(reply.index) + " " + reply.result);
                  },
                  [=](caf::error& err) { note("answer failed: " + to_string(err)); });
        return *asker;
      },
      [=](atoms::raft_tick_atom) {
        auto promise = self->make_response_promise();
        auto request = entries_write(4, 4, 4);
        auto job = std::make_shared<actors::apply_job>();
        job->applier = applier;
        job->entries = {raft::entry{1, 3, raft::entry_type::normal, data}};
        job->answers.push_back({0, promise});
        request.apply = job;
        self->request(writer, caf::infinite, atoms::raft_persist_atom_v, std::move(request))
            .then([=](uint64_t) { note("persisted"); },
                  [=](caf::error& err) { note("persist failed: " + to_string(err)); });
        return promise;
      },
  };
}

// What early_proposer reports (at most 10 s).
std::string early_answer_order(caf::actor_system& sys, const actors::raft_log_writer_actor& writer,
                               actors::log_txn_applier& applier) {
  caf::scoped_actor self{sys};
  self->send(writer, atoms::raft_persist_atom_v, entries_write(4, 1, 3));
  await_answers(self, 1);
  auto proposer = sys.spawn(early_proposer, writer, &applier, std::string("x"));
  std::string order = "no reply within 10 s";
  self->request(proposer, 10s, atoms::raft_propose_atom_v)
      .receive([&](std::string& reported) { order = std::move(reported); },
               [&](caf::error& err) { order = "failed: " + to_string(err); });
  self->send_exit(proposer, caf::exit_reason::user_shutdown);
  return order;
}

}  // namespace

TEST_CASE_FIXTURE(writer_fixture, "raft log writer: a proposal in an apply job is answered "
                                  "with its result before the persist") {
  recording_applier applier;
  CHECK(early_answer_order(*sys, writer, applier) == "answer 3 applied 3:x;persisted");
  CHECK(store->group(4).last_index() == 4);
}

TEST_CASE_FIXTURE(writer_fixture, "raft log writer: persists of many groups share commits") {
  constexpr int groups = 200;
  caf::scoped_actor self{*sys};
  const uint64_t largest_batch = persist_groups(self, writer, groups, 3);
  CHECK(largest_batch > 1);  // group commit: one transaction carried several groups
  CHECK(env->stats().commit_count < static_cast<uint64_t>(groups));
  for (int g = 1; g <= groups; ++g) {
    CHECK(store->group(static_cast<raft::group_id>(g)).last_index() == 3);  // durable on reply
  }
}

TEST_CASE_FIXTURE(writer_fixture, "raft log writer: a snapshot record keeps its place") {
  caf::scoped_actor self{*sys};
  // persist 1..10, record a snapshot at 8 compacting below 6, persist 11..12: the record needs
  // the first persist before it and must not see the second (it would still be valid, but the
  // order of one sender's requests is the contract).
  self->send(writer, atoms::raft_persist_atom_v, entries_write(7, 1, 10));
  record_at_8(self, writer, raft::group_id{7});
  self->send(writer, atoms::raft_persist_atom_v, entries_write(7, 11, 12));
  await_answers(self, 3);
  check_recorded_at_8(store->group(7), 12);
}

TEST_CASE_FIXTURE(writer_fixture, "raft log writer: committed commands apply in the log's transaction") {
  caf::scoped_actor self{*sys};
  recording_applier applier;
  constexpr int groups = 200;
  const auto jobs = persist_applies(self, writer, applier, "x", groups);
  for (int g = 1; g <= groups; ++g) {
    const auto& job = *jobs[static_cast<size_t>(g - 1)];
    REQUIRE(job.results.size() == 1);  // set before the answer
    CHECK(job.results[0] == "applied 1:x" + std::to_string(g));
  }
  // The applies added no transaction of their own (that would be 2 * groups + 1 commits).
  CHECK(env->stats().commit_count <= static_cast<uint64_t>(groups));
  CHECK(applier.calls == groups);
}

// The journal design (actors::journal_mode): the same contract through the write-ahead
// journal, with the transaction committed at checkpoints.
namespace {

// The same with the journaled writer (the writer's copy keeps `journal` alive until it stops).
struct journal_fixture : writer_fixture {
  std::shared_ptr<storage::journaled_log> journal;
  std::shared_ptr<storage::table_overlay> overlay = std::make_shared<storage::table_overlay>();
  runtime::node_metrics metrics;  // the writer counts its flushes here

  journal_fixture() : writer_fixture(/*defer_meta_sync=*/true) {
    auto journal_opened = storage::journaled_log::open(*env, *store, (dir / "journal").string());
    REQUIRE(journal_opened.ok());
    journal = std::move(journal_opened.value());
    spawn_writer();
  }
  // (Re)starts the writer on the fixture's journal and overlay, counting into `metrics`, with
  // the mode as `adjust` leaves it (after stopping the running one).
  void spawn_writer(const std::function<void(actors::journal_mode&)>& adjust = {}) {
    stop_writer();
    actors::journal_mode mode{journal, overlay};
    mode.metrics = &metrics;
    if (adjust) {
      adjust(mode);
    }
    writer = actors::spawn_journaled_raft_log_writer(*sys, store, env, std::move(mode));
  }
  ~journal_fixture() { stop_writer(); }  // before `metrics` goes
};

// Records every applied entry in the overlay as `group`'s change of key e.data, with the
// group's applied index, as the machines' write views do.
class overlay_applier final : public actors::log_txn_applier {
 public:
  overlay_applier(storage::table_overlay& overlay, uint32_t group)
      : overlay_(overlay), group_(group) {}
  storage::result<std::vector<std::string>> log_txn_apply(
      storage::write_txn&, const std::vector<const raft::entry*>& entries) override {
    std::vector<std::string> results;
    for (const raft::entry* e : entries) {
      overlay_.put(group_, group_, e->data, "applied");
      results.push_back("ok " + e->data);
    }
    overlay_.note_applied(group_, ++applied_);
    return results;
  }

 private:
  storage::table_overlay& overlay_;
  uint32_t group_;
  uint64_t applied_ = 0;
};

}  // namespace

TEST_CASE_FIXTURE(journal_fixture, "raft log writer (journal): persists share journal syncs, "
                                   "checkpoints commit them") {
  constexpr int groups = 200;
  caf::scoped_actor self{*sys};
  persist_groups(self, writer, groups, 3);
  for (int g = 1; g <= groups; ++g) {
    CHECK(store->group(static_cast<raft::group_id>(g)).last_index() == 3);  // visible on reply
  }
  CHECK(env->stats().commit_count < static_cast<uint64_t>(groups) / 4);
  stop_writer();  // ends with a checkpoint: LMDB holds everything, the journal nothing more
  auto checkpoint = storage::load_journal_checkpoint(*env);
  REQUIRE(checkpoint.ok());
  CHECK(checkpoint.value() == journal->journal_end());
  CHECK(journal->open_transaction() == nullptr);
}

TEST_CASE_FIXTURE(journal_fixture, "raft log writer (journal): persists that need not sync are "
                                   "staged without a journal record, in their place") {
  caf::scoped_actor self{*sys};
  recording_applier applier;
  // Entries of groups 1..20, committed at 0 (must sync: journaled).
  constexpr int groups = 20;
  for (int g = 1; g <= groups; ++g) {
    auto request = entries_write(static_cast<raft::group_id>(g), 1, 2);
    request.write.hard->commit = 0;
    self->send(writer, atoms::raft_persist_atom_v, std::move(request));
  }
  await_answers(self, groups);
  const storage::journal_position journaled = journal->journal_end();
  // Their commits and applies (need not sync), mixed in one mailbox with a journaled persist
  // of group 21 between them.
  std::vector<std::shared_ptr<actors::apply_job>> jobs;
  for (int g = 1; g <= groups; ++g) {
    actors::persist_request commit;
    commit.must_sync = false;
    commit.write.group = static_cast<raft::group_id>(g);
    commit.write.hard = raft::hard_state{1, 0, 2};
    auto job = std::make_shared<actors::apply_job>();
    job->applier = &applier;
    job->entries = {raft::entry{1, 1, raft::entry_type::normal, "c"},
                    raft::entry{1, 2, raft::entry_type::normal, "d"}};
    commit.apply = job;
    jobs.push_back(job);
    self->send(writer, atoms::raft_persist_atom_v, std::move(commit));
    if (g == groups / 2) {
      self->send(writer, atoms::raft_persist_atom_v, entries_write(21, 1, 1));
    }
  }
  await_answers(self, groups + 1);
  for (int g = 1; g <= groups; ++g) {
    CHECK(store->group(static_cast<raft::group_id>(g)).initial_hard_state().commit == 2);
    REQUIRE(jobs[static_cast<size_t>(g - 1)]->results.size() == 2);
    CHECK(jobs[static_cast<size_t>(g - 1)]->results[1] == "applied 2:d");
  }
  CHECK(store->group(21).last_index() == 1);
  // Only group 21's persist went into the journal: far fewer bytes than 20 hard states.
  const storage::journal_position now = journal->journal_end();
  CHECK(now.segment == journaled.segment);
  CHECK(now.offset > journaled.offset);
  CHECK(now.offset - journaled.offset < 200);
}

TEST_CASE_FIXTURE(journal_fixture, "raft log writer (journal): a snapshot record keeps its place") {
  caf::scoped_actor self{*sys};
  self->send(writer, atoms::raft_persist_atom_v, entries_write(7, 1, 10));
  record_at_8(self, writer, raft::group_id{7});
  self->send(writer, atoms::raft_persist_atom_v, entries_write(7, 11, 12));
  self->send(writer, atoms::raft_drop_atom_v, raft::group_id{9});
  await_answers(self, 4);
  check_recorded_at_8(store->group(7), 12);
}

TEST_CASE_FIXTURE(journal_fixture, "raft log writer (journal): snapshot records share a "
                                   "transaction, each in its group's order") {
  constexpr int groups = 40;
  caf::scoped_actor self{*sys};
  persist_groups(self, writer, groups, 10);
  const uint64_t commits_before = env->stats().commit_count;
  // Every group records a snapshot at 8 compacting below 6 (equal load: all at once). Group 5
  // persists again right after its record, group 40 is dropped after its record: both must
  // see their record carried out first.
  for (int g = 1; g <= groups; ++g) {
    record_at_8(self, writer, static_cast<raft::group_id>(g));
    if (g == 5) {
      self->send(writer, atoms::raft_persist_atom_v, entries_write(5, 11, 12));
    }
  }
  self->send(writer, atoms::raft_drop_atom_v, raft::group_id{groups});
  await_answers(self, groups + 2);
  for (int g = 1; g < groups; ++g) {
    check_recorded_at_8(store->group(static_cast<raft::group_id>(g)), (g == 5 ? 12 : 10));
  }
  CHECK(store->group(groups).last_index() == 0);
  // One commit per batch of records (plus the drop's and a checkpoint's), where a record and
  // its compaction used to commit twice each: at least 2 * groups.
  CHECK(env->stats().commit_count - commits_before <= static_cast<uint64_t>(groups) + 4);
}

TEST_CASE_FIXTURE(journal_fixture, "raft log writer (journal): applies answer before the commit, "
                                   "an idle writer still checkpoints") {
  caf::scoped_actor self{*sys};
  overlay_applier applier(*overlay, 1);
  constexpr int groups = 50;
  const auto jobs = persist_applies(self, writer, applier, "k", groups);
  for (int g = 1; g <= groups; ++g) {
    REQUIRE(jobs[static_cast<size_t>(g - 1)]->results.size() == 1);
    CHECK(jobs[static_cast<size_t>(g - 1)]->results[0] == "ok k" + std::to_string(g));
  }
  // No more requests: the timer's checkpoint commits and the overlay empties (bounded wait).
  const auto deadline = std::chrono::steady_clock::now() + 5s;
  while (overlay->size() != 0 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(5ms);
  }
  CHECK_MESSAGE(overlay->size() == 0, "no checkpoint within 5 s after the last request");
  CHECK(overlay->committed_generation() >= 1);
  CHECK(metrics.storage_table_flushes.value() >= 1);
  CHECK(metrics.storage_table_flushed_changes.value() == groups);  // 50 keys, each once
}

TEST_CASE_FIXTURE(journal_fixture, "raft log writer (journal): a snapshot record waits for the "
                                   "overlay's next flush instead of forcing one") {
  // Flushes only when the overlay holds 10 changes (no interval within the test).
  spawn_writer([](actors::journal_mode& mode) {
    mode.table_flush_interval = std::chrono::hours(1);
    mode.table_flush_changes = 10;
  });
  caf::scoped_actor self{*sys};
  overlay_applier applier(*overlay, 7);  // the record's group
  self->send(writer, atoms::raft_persist_atom_v, entries_write(7, 1, 10));
  await_answers(self, 1);
  persist_applies(self, writer, applier, "k", 3);  // 3 changes in the overlay: not due
  REQUIRE(overlay->size() == 3);
  record_at_8(self, writer, raft::group_id{7});
  bool answered = false;
  self->receive([&](uint64_t) { answered = true; }, [&](caf::error&) { answered = true; },
                caf::after(300ms) >> [] {});
  CHECK_FALSE_MESSAGE(answered, "the record forced a flush of the overlay");
  CHECK(overlay->size() == 3);
  CHECK(store->group(7).current_snapshot().meta.index == 0);
  // 10 more changes make a flush due: the record follows it, in the same writer turn.
  std::vector<std::shared_ptr<actors::apply_job>> jobs;
  for (raft::group_id g = 11; g <= 20; ++g) {
    self->send(writer, atoms::raft_persist_atom_v,
               persist_with_apply(g, applier, "m" + std::to_string(g), jobs));
  }
  await_answers(self, 10 + 1);
  CHECK(metrics.storage_table_flushes.value() >= 1);
  check_recorded_at_8(store->group(7), 10);
}

TEST_CASE_FIXTURE(journal_fixture, "raft log writer (journal): a flush is staged in slices of "
                                   "groups, one per checkpoint; a record waits for its group's") {
  // Two slices, due at 4 changes, a slice per 300 ms (no interval within the test).
  constexpr auto slice_interval = 300ms;
  spawn_writer([&](actors::journal_mode& mode) {
    mode.table_flush_interval = std::chrono::hours(1);
    mode.table_flush_changes = 4;
    mode.table_flush_slices = 2;
    mode.checkpoint_interval = slice_interval;
  });
  caf::scoped_actor self{*sys};
  self->send(writer, atoms::raft_persist_atom_v, entries_write(7, 1, 10));
  self->send(writer, atoms::raft_persist_atom_v, entries_write(8, 1, 10));
  await_answers(self, 2);
  overlay_applier group7(*overlay, 7);
  overlay_applier group8(*overlay, 8);
  std::vector<std::shared_ptr<actors::apply_job>> jobs;
  for (raft::group_id g = 21; g <= 24; ++g) {  // two changes each: the fourth makes it due
    self->send(writer, atoms::raft_persist_atom_v,
               persist_with_apply(g, g <= 22 ? group7 : group8, "k" + std::to_string(g), jobs));
  }
  await_answers(self, 4);
  auto await_flushes = [&](uint64_t n) {
    const auto deadline = std::chrono::steady_clock::now() + 5s;
    while (metrics.storage_table_flushes.value() < n &&
           std::chrono::steady_clock::now() < deadline) {
      std::this_thread::sleep_for(1ms);
    }
    REQUIRE_MESSAGE(metrics.storage_table_flushes.value() == n, "no flush ", n, " within 5 s");
    return std::chrono::steady_clock::now();
  };
  const auto first = await_flushes(1);
  // The first slice: group 7's changes and applied index; group 8's wait for the next.
  CHECK(overlay->pending_applied(7) == std::nullopt);
  CHECK(overlay->pending_applied(8) == std::optional<uint64_t>(2));
  CHECK(overlay->size() == 2);
  CHECK(metrics.storage_table_flushed_changes.value() == 2);
  // Group 7's record goes at once (LMDB holds its applies); group 8's waits for its slice.
  record_at_8(self, writer, 7);
  record_at_8(self, writer, 8);
  await_answers(self, 1);
  check_recorded_at_8(store->group(7), 10);
  CHECK(store->group(8).current_snapshot().meta.index == 0);
  CHECK(metrics.storage_table_flushes.value() == 1);
  await_answers(self, 1);
  const auto second = await_flushes(2);
  CHECK(second - first >= slice_interval - 50ms);  // a checkpoint interval between slices
  CHECK(overlay->size() == 0);
  CHECK(metrics.storage_table_flushed_changes.value() == 4);
  check_recorded_at_8(store->group(8), 10);
}

TEST_CASE_FIXTURE(journal_fixture, "raft log writer (journal): a proposal in an apply job is "
                                   "answered with its result before the journal sync") {
  overlay_applier applier(*overlay, 4);
  CHECK(early_answer_order(*sys, writer, applier) == "answer 3 ok x;persisted");
  CHECK(store->group(4).last_index() == 4);
}

TEST_CASE_FIXTURE(journal_fixture, "raft log writer (journal): a free-space measurement stands "
                                   "for free_space_recheck while it clearly covers the need") {
  stop_writer();
  auto measured = std::make_shared<std::atomic<int>>(0);
  auto health = std::make_shared<runtime::storage_health>(dir.string(), [measured] {
    ++*measured;
    return uint64_t{1} << 40;
  });
  auto persist_one_by_one = [&](std::chrono::milliseconds recheck, raft::group_id group) {
    spawn_writer([&](actors::journal_mode& mode) {
      mode.health = health;
      mode.free_space_recheck = recheck;
    });
    caf::scoped_actor self{*sys};
    measured->store(0);
    for (raft::index_t i = 1; i <= 20; ++i) {
      self->send(writer, atoms::raft_persist_atom_v, entries_write(group, i, i));
      await_answers(self, 1);  // one flush each
    }
    stop_writer();
    return measured->load();
  };
  CHECK(persist_one_by_one(0ms, 4) >= 20);      // every flush measures
  CHECK(persist_one_by_one(60s, 5) == 1);       // the first measurement stands
}

TEST_CASE_FIXTURE(journal_fixture, "raft log writer (journal): short of disk space, requests wait "
                                   "and storage says full until space returns") {
  stop_writer();
  auto free_bytes = std::make_shared<std::atomic<uint64_t>>(uint64_t{1} << 20);  // < the need
  auto health = std::make_shared<runtime::storage_health>(
      dir.string(), [free_bytes] { return free_bytes->load(); });
  spawn_writer([&](actors::journal_mode& mode) { mode.health = health; });
  caf::scoped_actor self{*sys};
  self->send(writer, atoms::raft_persist_atom_v, entries_write(3, 1, 2));
  const auto deadline = std::chrono::steady_clock::now() + 5s;
  while (!health->full() && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(5ms);
  }
  REQUIRE_MESSAGE(health->full(), "the writer did not report a short disk within 5 s");
  CHECK(health->reason().find("less free space than the journal needs") != std::string::npos);
  bool answered = false;
  self->receive([&](uint64_t) { answered = true; }, [&](caf::error&) { answered = true; },
                caf::after(std::chrono::milliseconds(0)) >> [] {});
  CHECK_FALSE(answered);
  CHECK(store->group(3).last_index() == 0);  // nothing staged while it waits

  free_bytes->store(uint64_t{1} << 30);
  await_answers(self, 1);  // the retry (every second) goes through
  CHECK_FALSE(health->full());
  CHECK(store->group(3).last_index() == 2);
}
