// Goal: on random inputs the Raft log store answers exactly as a naive model of its contract
// (tests/unit/storage/raft_log_model.hpp): random batches of appends, truncations, hard states
// and snapshots over several groups, interleaved with reopens (under random cache limits, so
// answers come from the cache and from LMDB), recorded snapshots, compactions, group drops and
// random reads.
// Method: every randomized run prints its seed; CK_RAFT_MODEL_SEED=<seed> replays one run and
// CK_RAFT_MODEL_STEPS=<n> changes its length.

#include <cstdio>
#include <optional>
#include <string>
#include <vector>

#include <doctest/doctest.h>

#include "raft_log_model.hpp"
#include "storage/environment.hpp"
#include "storage/raft_log_store.hpp"
#include "test_support.hpp"

namespace ck::storage {
namespace {

constexpr uint64_t steps_default = 5000;
constexpr uint64_t full_check_every_steps = 100;

// What raft::log_storage::entries must answer, from the model.
raft::log_error expected_entries(const test::model_group& group, raft::index_t lo, raft::index_t hi,
                                 uint64_t bytes_max, std::vector<raft::entry>& out) {
  out.clear();
  if (lo < group.first) {
    return raft::log_error::compacted;
  }
  if (hi > group.last() + 1) {
    return raft::log_error::unavailable;
  }
  uint64_t bytes = 0;
  for (raft::index_t index = lo; index < hi; ++index) {
    const raft::entry& entry = group.log.at(index - group.first);
    bytes += raft::entry_bytes(entry);
    if (!out.empty() && bytes > bytes_max) {
      break;
    }
    out.push_back(entry);
  }
  return raft::log_error::none;
}

// Which term() answer the model gives.
raft::log_error expected_term(const test::model_group& group, raft::index_t index,
                              raft::term_t& out) {
  if (index + 1 < group.first) {
    return raft::log_error::compacted;
  }
  if (index > group.last()) {
    return raft::log_error::unavailable;
  }
  out = group.term_of(index);
  return raft::log_error::none;
}

raft_log_store_options random_cache(test::raft_batch_generator& generator) {
  raft_log_store_options options;
  switch (generator.below(4)) {
    case 0:
      break;  // the defaults
    case 1:
      options.cache_entries_max = 0;
      break;
    case 2:
      options.cache_entries_max = static_cast<uint32_t>(1 + generator.below(8));
      options.cache_bytes_max = 1 + generator.below(2000);
      break;
    default:
      options.cache_entries_max = static_cast<uint32_t>(16 + generator.below(64));
      options.cache_bytes_max = 4000 + generator.below(40'000);
      break;
  }
  return options;
}

// One random read of one group, compared with the model.
void check_random_read(raft_log_store& store, test::raft_batch_generator& generator,
                       raft::group_id id) {
  test::model_group empty;
  const auto found = generator.model().find(id);
  const test::model_group& group = found == generator.model().end() ? empty : found->second;
  const raft::index_t lo_min = group.first >= 2 ? group.first - 2 : 0;
  const raft::index_t hi_max = group.last() + 3;
  const raft::index_t lo = lo_min + generator.below(hi_max - lo_min + 1);
  const raft::index_t hi = lo + generator.below(hi_max - lo + 1);
  const uint64_t bytes_max = generator.below(3) == 0 ? UINT64_MAX : generator.below(2000);
  // entries() appends: start from a non-empty vector now and then.
  const std::vector<raft::entry> prefix(generator.below(2), raft::entry{9, 9, {}, "before"});
  std::vector<raft::entry> expected;
  std::vector<raft::entry> out = prefix;
  const raft::log_error want = expected_entries(group, lo, hi, bytes_max, expected);
  expected.insert(expected.begin(), prefix.begin(), prefix.end());
  CAPTURE(id);
  CAPTURE(lo);
  CAPTURE(hi);
  CAPTURE(bytes_max);
  CHECK(store.group(id).entries(lo, hi, bytes_max, out) == want);
  CHECK(out == expected);
  raft::term_t want_term = 0;
  raft::term_t term = 0;
  const raft::log_error want_error = expected_term(group, lo, want_term);
  CHECK(store.group(id).term(lo, term) == want_error);
  if (want_error == raft::log_error::none) {
    CHECK(term == want_term);
  }
}

TEST_CASE("raft_log_store: random batches match a naive model across reopens, drops and reads") {
  const std::optional<uint64_t> replay = test::env_number("CK_RAFT_MODEL_SEED");
  const uint64_t seed =
      replay.value_or(test::random_seed());
  const uint64_t steps = test::env_number("CK_RAFT_MODEL_STEPS").value_or(steps_default);
  std::printf(
      "raft_log_store model test: seed=%llu steps=%llu (replay: CK_RAFT_MODEL_SEED=%llu "
      "./storage_unit_tests -tc='*naive model*')\n",
      static_cast<unsigned long long>(seed), static_cast<unsigned long long>(steps),
      static_cast<unsigned long long>(seed));
  std::fflush(stdout);
  INFO("seed=" << seed << "; replay: CK_RAFT_MODEL_SEED=" << seed);

  const std::vector<raft::group_id> ids = {0, 1, 2, 3, 1000, 0xFFFFFFFFu};
  test::raft_batch_generator generator(seed, {ids, 5, 8, 200, 2, 12, 6, 3});
  test::temp_dir tmp;
  environment_options env_options = test::options_in(tmp.path());
  env_options.map_size_bytes = uint64_t{256} << 10;  // grows during the run
  env_options.sync = false;  // durability is the crash test's business; keep this one fast
  auto env = test::open_or_fail(env_options);
  result<std::unique_ptr<raft_log_store>> opened = raft_log_store::open(*env);
  REQUIRE(opened.ok());
  std::unique_ptr<raft_log_store> store = std::move(opened).value();
  for (uint64_t step = 0; step < steps; ++step) {
    CAPTURE(step);
    const uint64_t roll = generator.below(100);
    const raft::group_id id = ids[generator.below(ids.size())];
    if (roll < 75) {
      const status written = store->write(generator.next_batch());
      REQUIRE_MESSAGE(written.ok(), written.to_string());
    } else if (roll < 78) {
      store.reset();
      result<std::unique_ptr<raft_log_store>> reopened =
          raft_log_store::open(*env, random_cache(generator));
      REQUIRE_MESSAGE(reopened.ok(), reopened.status().to_string());
      store = std::move(reopened).value();
    } else if (roll < 80) {
      REQUIRE(store->drop_group(id).ok());
      generator.drop(id);
    } else if (roll < 83) {
      const raft::index_t index = generator.next_compact_index(id);
      const status compacted = store->compact(id, index);
      REQUIRE_MESSAGE(compacted.ok(), compacted.to_string());
    } else if (roll < 86) {
      if (const std::optional<raft::snapshot_meta> meta = generator.next_recorded_snapshot(id)) {
        const status recorded = store->record_snapshot(id, *meta);
        REQUIRE_MESSAGE(recorded.ok(), recorded.to_string());
      }
    } else {
      check_random_read(*store, generator, id);
    }
    if (step % full_check_every_steps == 0 || step + 1 == steps) {
      const std::string difference = test::first_difference(*store, generator.model());
      REQUIRE_MESSAGE(difference.empty(), difference);
    }
  }
  std::printf("raft_log_store model test: %llu steps, map grown %llu times\n",
              static_cast<unsigned long long>(steps),
              static_cast<unsigned long long>(env->stats().map_growth_count));
}

// The journal design's use of the store: batches staged into one open transaction, committed
// now and then (a checkpoint), with reads in between that must find the staged entries (in the
// views' caches, pinned, since LMDB has them only after the commit) under random, often tiny,
// cache limits.
TEST_CASE("raft_log_store: staged batches read as written before and after their checkpoint") {
  const std::optional<uint64_t> replay = test::env_number("CK_RAFT_STAGE_SEED");
  const uint64_t seed = replay.value_or(test::random_seed());
  const uint64_t steps = test::env_number("CK_RAFT_MODEL_STEPS").value_or(steps_default);
  INFO("seed=" << seed << "; replay: CK_RAFT_STAGE_SEED=" << seed);

  const std::vector<raft::group_id> ids = {0, 1, 2, 3, 1000};
  test::raft_batch_generator generator(seed, {ids, 5, 8, 200, 2, 12, 6, 3});
  test::temp_dir tmp;
  environment_options env_options = test::options_in(tmp.path());
  env_options.map_size_bytes = uint64_t{64} << 20;  // an open transaction cannot grow the map
  env_options.sync = false;
  auto env = test::open_or_fail(env_options);
  result<std::unique_ptr<raft_log_store>> opened =
      raft_log_store::open(*env, random_cache(generator));
  REQUIRE(opened.ok());
  std::unique_ptr<raft_log_store> store = std::move(opened).value();
  std::optional<write_txn> open_txn;
  uint64_t checkpoints = 0;
  auto checkpoint = [&] {
    if (open_txn) {
      const status committed = open_txn->commit();
      REQUIRE_MESSAGE(committed.ok(), committed.to_string());
      open_txn.reset();
      store->checkpointed();
      ++checkpoints;
    }
  };
  for (uint64_t step = 0; step < steps; ++step) {
    CAPTURE(step);
    const uint64_t roll = generator.below(100);
    const raft::group_id id = ids[generator.below(ids.size())];
    if (roll < 70) {
      if (!open_txn) {
        result<write_txn> begun = env->begin_write();
        REQUIRE(begun.ok());
        open_txn.emplace(std::move(begun).value());
      }
      const status staged = store->stage(*open_txn, generator.next_batch());
      REQUIRE_MESSAGE(staged.ok(), staged.to_string());
    } else if (roll < 75) {
      checkpoint();
    } else if (roll < 77) {  // what the checkpoints committed is all there is
      checkpoint();
      store.reset();
      result<std::unique_ptr<raft_log_store>> reopened =
          raft_log_store::open(*env, random_cache(generator));
      REQUIRE_MESSAGE(reopened.ok(), reopened.status().to_string());
      store = std::move(reopened).value();
    } else if (roll < 79) {
      checkpoint();
      REQUIRE(store->drop_group(id).ok());
      generator.drop(id);
    } else if (roll < 81) {
      checkpoint();
      const status compacted = store->compact(id, generator.next_compact_index(id));
      REQUIRE_MESSAGE(compacted.ok(), compacted.to_string());
    } else if (roll < 83) {
      checkpoint();
      if (const std::optional<raft::snapshot_meta> meta = generator.next_recorded_snapshot(id)) {
        const status recorded = store->record_snapshot(id, *meta);
        REQUIRE_MESSAGE(recorded.ok(), recorded.to_string());
      }
    } else {
      check_random_read(*store, generator, id);
    }
    if (step % full_check_every_steps == 0) {
      const std::string difference = test::first_difference(*store, generator.model());
      REQUIRE_MESSAGE(difference.empty(), difference);
    }
  }
  checkpoint();
  store.reset();
  result<std::unique_ptr<raft_log_store>> reopened = raft_log_store::open(*env);
  REQUIRE(reopened.ok());
  const std::string difference = test::first_difference(*reopened.value(), generator.model());
  REQUIRE_MESSAGE(difference.empty(), difference);
  CHECK(checkpoints > 0);
}

}  // namespace
}  // namespace ck::storage
