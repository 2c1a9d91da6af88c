// storage/table_overlay: a reader that follows the protocol (committed_generation() before its
// transaction, retry when told) sees exactly what the writer's open transaction holds, for
// single keys and for merged listings (long keys and paging included), also while the writer
// runs on another thread.

#include "storage/table_overlay.hpp"

#include <atomic>
#include <chrono>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include <doctest/doctest.h>

#include "storage/format.hpp"
#include "storage/partition_state.hpp"
#include "tests/unit/storage/test_support.hpp"

namespace ck::storage {
namespace {

// The group whose applies change `partition` (this file's convention: notes of partition 7
// are group 70's).
uint32_t group_of(uint32_t partition) { return partition * 10; }

// LMDB as the model sees it: stored key -> (user key, value), one snapshot per generation.
using tables = std::map<std::string, std::pair<std::string, std::string>>;

void model_put(tables& t, uint32_t partition, const std::string& key, const std::string& value) {
  t[table_key(partition, key)] = {key, value};
}

void model_erase(tables& t, uint32_t partition, const std::string& key) {
  t.erase(table_key(partition, key));
}

// table_list({partition, partition}, after, limit) over a model snapshot.
result<table_page> model_list(const tables& t, uint32_t partition,
                              const std::optional<table_cursor_position>& after, size_t limit) {
  std::string prefix = table_key(partition, "");
  prefix.resize(table_partition_prefix_bytes);
  auto it = after ? t.upper_bound(table_key(partition, after->key)) : t.lower_bound(prefix);
  table_page page;
  for (; it != t.end() && it->first.compare(0, prefix.size(), prefix) == 0; ++it) {
    if (page.keys.size() == limit) {
      page.next = table_cursor_position{partition, page.keys.back()};
      break;
    }
    page.keys.push_back(it->second.first);
  }
  return page;
}

std::string random_key(std::mt19937_64& rng) {
  const uint64_t n = rng() % 40;
  if (rng() % 8 == 0) {  // a long (hashed) key
    return std::string(table_inline_key_bytes_max + 1 + n % 20, static_cast<char>('a' + n % 3)) +
           std::to_string(n);
  }
  return "k" + std::to_string(n);
}

TEST_CASE("table_overlay: readers see the open transaction exactly, keys and listings") {
  const uint64_t seed = test::env_number("CK_OVERLAY_SEED").value_or(test::random_seed());
  INFO("replay with CK_OVERLAY_SEED=" << seed);
  std::mt19937_64 rng(seed);
  table_overlay overlay;
  tables open;                               // what the writer's open transaction holds
  std::map<uint64_t, tables> committed{{0, {}}};  // LMDB per committed generation
  for (int step = 0; step < 4000; ++step) {
    const uint32_t partition = static_cast<uint32_t>(rng() % 2) + 7;
    const uint64_t action = rng() % 20;
    if (action < 9) {
      const std::string key = random_key(rng);
      const std::string value = "v" + std::to_string(step);
      overlay.put(group_of(partition), partition, key, value);
      model_put(open, partition, key, value);
    } else if (action < 14) {
      const std::string key = random_key(rng);
      overlay.erase(group_of(partition), partition, key);
      model_erase(open, partition, key);
    } else if (action == 14) {  // a checkpoint: seal, commit what the transaction holds
      const uint64_t g = overlay.seal();
      committed[g] = open;
      overlay.committed(g);
      CHECK(overlay.committed_generation() == g);
    } else {  // a reader
      const uint64_t seen = overlay.committed_generation();
      const tables& txn = committed.at(seen);
      const std::string key = random_key(rng);
      bool retry = true;
      auto change = overlay.get(partition, key, seen, retry);
      REQUIRE_FALSE(retry);
      std::optional<std::string> got;
      if (change) {
        got = change->value;
      } else if (auto it = txn.find(table_key(partition, key)); it != txn.end()) {
        got = it->second.second;
      }
      std::optional<std::string> want;
      if (auto it = open.find(table_key(partition, key)); it != open.end()) {
        want = it->second.second;
      }
      REQUIRE(got == want);

      // A full listing in pages of a random size, against the open transaction's.
      const size_t limit = 1 + rng() % 7;
      std::optional<table_cursor_position> after;
      std::vector<std::string> listed;
      for (int page = 0; page < 200; ++page) {  // at most 80 keys a partition
        auto merged = overlay.list(partition, after, limit, seen,
                                   [&](const std::optional<table_cursor_position>& a, size_t n) {
                                     return model_list(txn, partition, a, n);
                                   });
        REQUIRE(merged.has_value());
        REQUIRE(merged->ok());
        auto expected = model_list(open, partition, after, limit);
        REQUIRE(merged->value().keys == expected.value().keys);
        REQUIRE(merged->value().next == expected.value().next);
        listed.insert(listed.end(), merged->value().keys.begin(), merged->value().keys.end());
        after = merged->value().next;
        if (!after) {
          break;
        }
      }
      REQUIRE_FALSE(after.has_value());
    }
  }
}

// Partition placement for the range test: a function of the key, as the node's (MD5) is.
uint32_t partition_for(const std::string& key) {
  return 7 + static_cast<uint32_t>((key.size() + static_cast<unsigned char>(key.back())) % 3);
}

// table_list(range, after, limit) over a model snapshot whose keys sit in partition_for(key).
result<table_page> model_range_list(const tables& t, table_range range,
                                    const std::optional<table_cursor_position>& after,
                                    size_t limit) {
  std::string prefix = table_key(range.first, "");
  prefix.resize(table_partition_prefix_bytes);
  auto it = after ? t.upper_bound(table_key(after->partition, after->key)) : t.lower_bound(prefix);
  table_page page;
  for (; it != t.end() && partition_for(it->second.first) <= range.last; ++it) {
    if (page.keys.size() == limit) {
      page.next = table_cursor_position{partition_for(page.keys.back()), page.keys.back()};
      break;
    }
    page.keys.push_back(it->second.first);
  }
  return page;
}

int64_t model_count(const tables& t, table_range range) {
  int64_t n = 0;
  for (const auto& [stored, entry] : t) {
    const uint32_t p = partition_for(entry.first);
    n += p >= range.first && p <= range.last ? 1 : 0;
  }
  return n;
}

TEST_CASE("table_overlay: range listings and key counts across partitions match the open txn") {
  const uint64_t seed = test::env_number("CK_OVERLAY_SEED").value_or(test::random_seed());
  INFO("replay with CK_OVERLAY_SEED=" << seed);
  std::mt19937_64 rng(seed);
  table_overlay overlay;
  tables open;
  std::map<uint64_t, tables> committed{{0, {}}};
  int listings = 0;
  for (int step = 0; step < 3000; ++step) {
    const uint64_t action = rng() % 20;
    const std::string key = random_key(rng);
    if (action < 9) {
      const std::string value = "v" + std::to_string(step);
      overlay.put(group_of(partition_for(key)), partition_for(key), key, value);
      model_put(open, partition_for(key), key, value);
    } else if (action < 14) {
      overlay.erase(group_of(partition_for(key)), partition_for(key), key);
      model_erase(open, partition_for(key), key);
    } else if (action == 14) {
      const uint64_t g = overlay.seal();
      committed[g] = open;
      overlay.committed(g);
    } else {
      const uint64_t seen = overlay.committed_generation();
      const tables& txn = committed.at(seen);
      const uint32_t first = 7 + static_cast<uint32_t>(rng() % 3);
      const table_range range{first, first + static_cast<uint32_t>(rng() % (10 - first))};
      auto change = overlay.count_change(range, seen, [&](uint32_t p, const std::string& k) {
        return result<bool>(txn.count(table_key(p, k)) > 0);
      });
      REQUIRE(change.has_value());
      REQUIRE(change->ok());
      REQUIRE(model_count(txn, range) + change->value() == model_count(open, range));

      const size_t limit = 1 + rng() % 9;
      std::optional<table_cursor_position> after;
      for (int page = 0; page < 200; ++page) {  // at most 120 keys in all
        auto merged = overlay.list(
            range, after, limit, seen,
            [&](const std::optional<table_cursor_position>& a, size_t n) {
              return model_range_list(txn, range, a, n);
            },
            [](std::string_view k) { return partition_for(std::string(k)); });
        REQUIRE(merged.has_value());
        REQUIRE(merged->ok());
        auto expected = model_range_list(open, range, after, limit);
        REQUIRE(merged->value().keys == expected.value().keys);
        REQUIRE(merged->value().next == expected.value().next);
        after = merged->value().next;
        if (!after) {
          break;
        }
      }
      REQUIRE_FALSE(after.has_value());
      ++listings;
    }
  }
  CHECK(listings > 100);
}

TEST_CASE("table_overlay: a reader whose generation is older than a drop is told to retry") {
  table_overlay overlay;
  overlay.put(group_of(1), 1, "a", "1");
  const uint64_t seen = overlay.committed_generation();  // 0: its transaction lacks "a"
  bool retry = false;
  auto before = overlay.get(1, "a", seen, retry);
  REQUIRE_FALSE(retry);
  REQUIRE(before.has_value());
  CHECK(before->value == std::optional<std::string>("1"));

  overlay.committed(overlay.seal());  // "a" is in LMDB now and leaves the overlay
  CHECK(overlay.size() == 0);
  CHECK_FALSE(overlay.get(1, "a", seen, retry).has_value());
  CHECK(retry);  // the reader's transaction may predate that commit
  CHECK_FALSE(overlay.list(1, std::nullopt, 10, seen, [](const auto&, size_t) {
                       return result<table_page>(table_page{});
                     }).has_value());
  overlay.get(1, "a", overlay.committed_generation(), retry);
  CHECK_FALSE(retry);
}

TEST_CASE("table_overlay: a change made after the seal stays until its own checkpoint") {
  table_overlay overlay;
  overlay.put(group_of(1), 1, "a", "1");
  const uint64_t g = overlay.seal();
  overlay.put(group_of(1), 1, "a", "2");  // the next generation, while the checkpoint commits
  overlay.put(group_of(1), 1, "b", "3");
  overlay.committed(g);
  bool retry = false;
  auto a = overlay.get(1, "a", g, retry);
  REQUIRE(a.has_value());
  CHECK(a->value == std::optional<std::string>("2"));
  CHECK(overlay.size() == 2);
}

TEST_CASE("table_overlay: the stored listing's failure is the answer; a bad limit is refused") {
  table_overlay overlay;
  overlay.put(group_of(1), 1, "a", "1");
  auto failed = overlay.list(1, std::nullopt, 5, 0, [](const auto&, size_t) {
    return result<table_page>(status::io_error("disk gone"));
  });
  REQUIRE(failed.has_value());
  CHECK(failed->status().code() == code::io_error);
  auto bad = overlay.list(1, std::nullopt, 0, 0, [](const auto&, size_t) {
    return result<table_page>(table_page{});
  });
  REQUIRE(bad.has_value());
  CHECK(bad->status().code() == code::invalid_argument);
}

// The writer sets each key to increasing numbers and publishes each as acknowledged only after
// recording it; readers following the protocol must never read a number below the one
// acknowledged before they started, while checkpoints drop changes under them.
TEST_CASE("table_overlay: concurrent readers never miss an acknowledged change") {
  constexpr int keys = 8;
  table_overlay overlay;
  std::mutex lmdb_mutex;
  std::map<uint64_t, std::shared_ptr<const std::map<int, int>>> lmdb{
      {0, std::make_shared<std::map<int, int>>()}};
  std::array<std::atomic<int>, keys> acked{};
  std::atomic<bool> stop{false};
  std::atomic<uint64_t> reads{0}, retries{0};

  std::thread writer([&] {
    std::map<int, int> open;
    std::mt19937_64 rng(1);
    // Runs at least 30,000 steps and, on a busy machine where the readers start late, on
    // until they have read a while (bounded: 20 s).
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
    for (int step = 1;
         step <= 30000 || (reads.load() < 2000 && std::chrono::steady_clock::now() < deadline);
         ++step) {
      const int key = static_cast<int>(rng() % keys);
      open[key] = step;
      overlay.put(group_of(0), 0, std::to_string(key), std::to_string(step));
      acked[key].store(step);
      if (step % 97 == 0) {
        const uint64_t g = overlay.seal();
        {
          std::lock_guard lock(lmdb_mutex);
          lmdb[g] = std::make_shared<std::map<int, int>>(open);
        }
        overlay.committed(g);
      }
    }
    stop = true;
  });
  auto reader = [&] {
    std::mt19937_64 rng(std::hash<std::thread::id>{}(std::this_thread::get_id()));
    while (!stop) {
      const int key = static_cast<int>(rng() % keys);
      const int floor = acked[key].load();
      for (int attempt = 0;; ++attempt) {
        REQUIRE(attempt < 1000);
        const uint64_t seen = overlay.committed_generation();
        std::shared_ptr<const std::map<int, int>> txn;  // the newest snapshot at "open" time
        {
          std::lock_guard lock(lmdb_mutex);
          txn = lmdb.rbegin()->second;
          REQUIRE(lmdb.rbegin()->first >= seen);
        }
        bool retry = false;
        auto change = overlay.get(0, std::to_string(key), seen, retry);
        if (retry) {
          ++retries;
          continue;
        }
        int value = 0;
        if (change && change->value) {
          value = std::stoi(*change->value);
        } else if (auto it = txn->find(key); it != txn->end()) {
          value = it->second;
        }
        REQUIRE(value >= floor);
        ++reads;
        break;
      }
    }
  };
  std::thread r1(reader), r2(reader);
  writer.join();
  r1.join();
  r2.join();
  MESSAGE("reads " << reads.load() << ", retries " << retries.load());
  CHECK(reads.load() > 0);
}

}  // namespace
}  // namespace ck::storage

namespace ck::storage {
namespace {

// An LMDB environment for the deferred materialisation tests.
struct deferred_env {
  test::temp_dir dir;
  std::unique_ptr<environment> env;
  deferred_env() {
    environment_options options;
    options.dir = dir.path();
    options.sync = false;
    auto opened = environment::open(options);
    REQUIRE(opened.ok());
    env = std::move(opened.value());
  }
  std::optional<std::string> get(uint32_t table, const std::string& key) {
    auto txn = env->begin_read();
    REQUIRE(txn.ok());
    auto value = table_get(txn.value(), table, key);
    REQUIRE(value.ok());
    return value.value();
  }
  // The log writer's flush: stage (the groups of `slice`, or all), commit, then let the overlay
  // drop what LMDB holds.
  void flush(table_overlay& overlay, const std::optional<std::vector<uint32_t>>& slice = {}) {
    auto txn = env->begin_write();
    REQUIRE(txn.ok());
    auto generation = slice ? overlay.stage_into(txn.value(), *slice)
                            : overlay.stage_into(txn.value());
    REQUIRE(generation.ok());
    REQUIRE(txn.value().commit().ok());
    overlay.committed(generation.value());
  }
};

TEST_CASE("table_overlay: stage_into writes every change and applied index; pending counts them") {
  deferred_env e;
  table_overlay overlay;
  CHECK(overlay.pending().empty());
  overlay.put(group_of(7), 7, "a", "1");
  overlay.put(group_of(7), 7, "a", "22");  // the latest value only, bytes counted once per key
  overlay.put(group_of(8), 8, "b", "3");
  overlay.note_applied(70, 5);
  overlay.note_applied(70, 9);
  const table_overlay::pending_figures before = overlay.pending();
  CHECK(before.changes == 2);
  CHECK(before.bytes == 1 + 2 + 1 + 1);
  CHECK(before.applied == 1);
  CHECK(overlay.pending_applied(70) == std::optional<uint64_t>(9));
  e.flush(overlay);
  CHECK(e.get(7, "a") == std::optional<std::string>("22"));
  CHECK(e.get(8, "b") == std::optional<std::string>("3"));
  CHECK(load_partition_applied(*e.env, 70).value() == 9);
  CHECK(overlay.pending().empty());
  CHECK(overlay.pending().bytes == 0);
  CHECK(overlay.pending_applied(70) == std::nullopt);

  overlay.erase(group_of(7), 7, "a");  // an erase reaches LMDB as one
  e.flush(overlay);
  CHECK(e.get(7, "a") == std::nullopt);
  CHECK(e.get(8, "b") == std::optional<std::string>("3"));
}

TEST_CASE("table_overlay: a slice stages its groups' changes with their applied indexes only") {
  deferred_env e;
  table_overlay overlay;
  overlay.put(group_of(7), 7, "a", "1");
  overlay.put(group_of(7), 7, "b", "2");
  overlay.put(group_of(8), 8, "c", "3");
  overlay.note_applied(70, 5);
  overlay.note_applied(80, 6);
  overlay.note_applied(90, 7);  // an apply that changed nothing
  auto whole = overlay.pending_slices(1);
  REQUIRE(whole.size() == 1);
  CHECK(whole[0].groups == std::vector<uint32_t>{70, 80, 90});
  CHECK(whole[0].changes == 3);
  auto halves = overlay.pending_slices(2);  // cut where the first holds its half of the changes
  REQUIRE(halves.size() == 2);
  CHECK(halves[0].groups == std::vector<uint32_t>{70});
  CHECK(halves[0].changes == 2);
  CHECK(halves[1].groups == std::vector<uint32_t>{80, 90});
  CHECK(halves[1].changes == 1);
  CHECK(overlay.pending_slices(8).size() == 3);  // never more slices than groups

  const uint64_t seen = overlay.committed_generation();
  e.flush(overlay, std::vector<uint32_t>{70, 90});
  CHECK(e.get(7, "a") == std::optional<std::string>("1"));
  CHECK(e.get(7, "b") == std::optional<std::string>("2"));
  CHECK(load_partition_applied(*e.env, 70).value() == 5);
  CHECK(load_partition_applied(*e.env, 90).value() == 7);
  // Group 80's change and index wait for their slice, still there for readers.
  CHECK(e.get(8, "c") == std::nullopt);
  CHECK(load_partition_applied(*e.env, 80).value() == 0);
  CHECK(overlay.pending().changes == 1);
  CHECK(overlay.pending_applied(70) == std::nullopt);
  CHECK(overlay.pending_applied(80) == std::optional<uint64_t>(6));
  bool retry = false;
  CHECK_FALSE(overlay.get(7, "a", seen, retry).has_value());
  CHECK(retry);  // group 70's changes are gone from the overlay: renew the transaction
  CHECK(overlay.get(8, "c", overlay.committed_generation(), retry)->value ==
        std::optional<std::string>("3"));
  CHECK_FALSE(retry);

  overlay.put(group_of(8), 8, "c", "4");  // a newer change of the waiting group
  e.flush(overlay, std::vector<uint32_t>{80});
  CHECK(e.get(8, "c") == std::optional<std::string>("4"));
  CHECK(load_partition_applied(*e.env, 80).value() == 6);
  CHECK(overlay.pending().empty());
}

TEST_CASE("table_overlay: a replacement holds its table back from flushes, then forgets it") {
  deferred_env e;
  table_overlay overlay;
  overlay.put(group_of(7), 7, "old", "x");
  overlay.put(group_of(8), 8, "other", "y");
  overlay.note_applied(70, 3);
  overlay.note_applied(80, 4);
  const uint64_t seen = overlay.committed_generation();
  const uint64_t mark = overlay.begin_replacement({7}, 70);
  overlay.put(group_of(7), 7, "new", "z");  // after the mark: not the replacement's business
  e.flush(overlay);            // the writer flushes while the replacement runs
  CHECK(e.get(7, "old") == std::nullopt);
  CHECK(e.get(7, "new") == std::optional<std::string>("z"));
  CHECK(e.get(8, "other") == std::optional<std::string>("y"));
  CHECK(load_partition_applied(*e.env, 70).value() == 0);
  CHECK(load_partition_applied(*e.env, 80).value() == 4);
  CHECK(overlay.pending().changes == 1);  // held back, still there for readers
  bool retry = true;
  CHECK(overlay.get(7, "old", overlay.committed_generation(), retry)->value ==
        std::optional<std::string>("x"));
  CHECK(overlay.pending_applied(70) == std::optional<uint64_t>(3));

  overlay.end_replacement({7}, 70, mark, /*replaced=*/true);
  CHECK_FALSE(overlay.get(7, "old", seen, retry).has_value());
  CHECK(retry);  // its transaction may predate the replacement
  const uint64_t fresh = overlay.committed_generation();
  CHECK(fresh > seen);
  CHECK_FALSE(overlay.get(7, "old", fresh, retry).has_value());
  CHECK_FALSE(retry);
  CHECK(overlay.pending().empty());
  CHECK(overlay.pending_applied(70) == std::nullopt);
  e.flush(overlay);
  CHECK(e.get(7, "old") == std::nullopt);
  CHECK(load_partition_applied(*e.env, 70).value() == 0);
}

TEST_CASE("table_overlay: a failed replacement lets the next flush write what it held back") {
  deferred_env e;
  table_overlay overlay;
  overlay.put(group_of(7), 7, "k", "v");
  overlay.note_applied(70, 3);
  const uint64_t mark = overlay.begin_replacement({7}, 70);
  e.flush(overlay);
  CHECK(e.get(7, "k") == std::nullopt);
  overlay.end_replacement({7}, 70, mark, /*replaced=*/false);
  CHECK(overlay.pending().changes == 1);
  e.flush(overlay);
  CHECK(e.get(7, "k") == std::optional<std::string>("v"));
  CHECK(load_partition_applied(*e.env, 70).value() == 3);
  CHECK(overlay.pending().empty());
}

}  // namespace
}  // namespace ck::storage
