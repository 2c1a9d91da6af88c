// Goal: the partitions' KV data behaves as storage/table.hpp promises: binary keys, numeric
// partition order, exact paging, partition filters, counts and whole-partition erase (long keys
// in detail: table_long_keys_test.cpp). Method: real LMDB in a temporary directory; the
// random test, whose keys cross the inline/hashed boundary, compares against a std::map ordered
// as the table promises.

#include "storage/table.hpp"

#include <cstdio>
#include <iterator>
#include <map>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include <doctest/doctest.h>

#include "storage/environment.hpp"
#include "storage/format.hpp"
#include "table_test_support.hpp"
#include "test_support.hpp"

namespace ck::storage {
namespace {

using test::open_or_fail;
using test::options_in;
using test::temp_dir;

using test::list_all;
using test::model_keys;
using model = test::kv_model;

// A random key: mostly 1..3 bytes, else long around the inline limit (506 stays inline, 507 and
// up are hashed) and beyond, some pairs differing only in their last byte. Few distinct keys per
// partition, so that overwrites and erases hit existing keys often.
std::string random_key(std::mt19937_64& rng) {
  const char fill = static_cast<char>('a' + rng() % 4);
  if (rng() % 10 < 6) {
    return std::string(1 + rng() % 3, fill);
  }
  static constexpr std::size_t long_key_bytes[] = {table_inline_key_bytes_max,
                                                   table_inline_key_bytes_max + 1,
                                                   table_inline_key_bytes_max + 2, 1024, 4096};
  std::string key(long_key_bytes[rng() % std::size(long_key_bytes)], fill);
  key.back() = static_cast<char>(rng() % 2);
  return key;
}

TEST_CASE("kv_table: put, get, overwrite, erase and count") {
  temp_dir tmp;
  auto env = open_or_fail(options_in(tmp.path()));
  REQUIRE(env->write([](write_txn& txn) {
               CHECK(table_put(txn, 1, "a", "1").ok());
               CHECK(table_put(txn, 1, "b", "2").ok());
               CHECK(table_put(txn, 2, "a", "3").ok());
               CHECK(table_put(txn, 1, "a", "1bis").ok());
               CHECK(table_get(txn, 1, "a").value() == "1bis");  // a write_txn sees its own writes
               return status::success();
             })
              .ok());
  {
    result<read_txn> txn = env->begin_read();
    REQUIRE(txn.ok());
    CHECK(table_get(txn.value(), 1, "a").value() == "1bis");
    CHECK(table_get(txn.value(), 2, "a").value() == "3");
    CHECK_FALSE(table_get(txn.value(), 3, "a").value().has_value());
    CHECK(table_count(txn.value()).value() == 3);
    CHECK(table_count_partition(txn.value(), 1).value() == 2);
    CHECK(table_count_partition(txn.value(), 2).value() == 1);
    CHECK(table_count_partition(txn.value(), 0).value() == 0);
  }
  REQUIRE(env->write([](write_txn& txn) {
               CHECK(table_erase(txn, 1, "a").value());
               CHECK_FALSE(table_erase(txn, 1, "a").value());
               CHECK_FALSE(table_erase(txn, 9, "nothing").value());
               return status::success();
             })
              .ok());
  result<read_txn> txn = env->begin_read();
  REQUIRE(txn.ok());
  CHECK_FALSE(table_get(txn.value(), 1, "a").value().has_value());
  CHECK(table_count(txn.value()).value() == 2);
}

TEST_CASE("kv_table: keys and values are bytes, including zero bytes and the empty key") {
  temp_dir tmp;
  auto env = open_or_fail(options_in(tmp.path()));
  const std::string zero_key("\0\0", 2);
  const std::string zero_value("v\0v", 3);
  const std::string longest(table_user_key_bytes_max, '\xff');
  REQUIRE(env->write([&](write_txn& txn) {
               CHECK(table_put(txn, 5, "", "empty key").ok());
               CHECK(table_put(txn, 5, zero_key, zero_value).ok());
               CHECK(table_put(txn, 5, longest, "").ok());
               return status::success();
             })
              .ok());
  result<read_txn> txn = env->begin_read();
  REQUIRE(txn.ok());
  CHECK(table_get(txn.value(), 5, "").value() == "empty key");
  CHECK(table_get(txn.value(), 5, zero_key).value() == zero_value);
  CHECK(table_get(txn.value(), 5, longest).value() == "");
  CHECK_FALSE(table_get(txn.value(), 5, std::string(1, '\0')).value().has_value());
  result<table_page> page = table_list(txn.value(), 5, std::nullopt, 10);
  REQUIRE(page.ok());
  CHECK(page.value().keys == std::vector<std::string>{"", zero_key, longest});
  CHECK_FALSE(page.value().next.has_value());
}

TEST_CASE("kv_table: oversized keys and values are invalid_argument and the txn stays usable") {
  temp_dir tmp;
  auto env = open_or_fail(options_in(tmp.path()));
  const std::string too_long(table_user_key_bytes_max + 1, 'k');
  REQUIRE(env->write([&](write_txn& txn) {
               CHECK(table_put(txn, 0, too_long, "v").code() == code::invalid_argument);
               CHECK(table_put(txn, 0, "k", std::string(table_value_bytes_max + 1, 'v')).code() ==
                     code::invalid_argument);
               CHECK(table_erase(txn, 0, too_long).status().code() == code::invalid_argument);
               CHECK(table_get(txn, 0, too_long).status().code() == code::invalid_argument);
               return table_put(txn, 0, "k", "fine");
             })
              .ok());
  result<read_txn> txn = env->begin_read();
  REQUIRE(txn.ok());
  CHECK(table_get(txn.value(), 0, "k").value() == "fine");
  CHECK(table_list(txn.value(), std::nullopt, table_cursor_position{0, too_long}, 1).status().code() ==
        code::invalid_argument);
  CHECK(table_list(txn.value(), std::nullopt, std::nullopt, 0).status().code() ==
        code::invalid_argument);
  CHECK(table_list(txn.value(), std::nullopt, std::nullopt, table_list_limit_max + 1).status().code() ==
        code::invalid_argument);
}

// 10,000 keys in partitions 0, 256 and 65536 (so byte order and numeric order would differ if
// the partition were not big-endian), keys with varying lengths and a zero byte.
model fill_three_partitions(environment& env) {
  model expected;
  const uint32_t partitions[] = {65536, 0, 256};
  for (uint32_t i = 0; i < 10'000; ++i) {
    std::string key = "key-" + std::to_string(i * 7919 % 10'000);
    if (i % 10 == 0) {
      key.push_back('\0');
    }
    expected[{partitions[i % 3], key}] = std::to_string(i);
  }
  REQUIRE(env.write([&](write_txn& txn) {
               for (const auto& [position, value] : expected) {
                 if (status put = table_put(txn, position.first, position.second, value); !put.ok()) {
                   return put;
                 }
               }
               return status::success();
             })
              .ok());
  return expected;
}

TEST_CASE("kv_table: paging 10,000 keys in 3 partitions by 333 returns each key once, in order") {
  temp_dir tmp;
  auto env = open_or_fail(options_in(tmp.path()));
  const model expected = fill_three_partitions(*env);
  REQUIRE(expected.size() == 10'000);

  std::vector<std::pair<uint32_t, std::string>> want;
  for (const auto& entry : expected) {
    want.push_back(entry.first);
  }
  std::vector<std::string> seen_keys;
  std::optional<table_cursor_position> after;
  std::size_t pages = 0;
  result<read_txn> txn = env->begin_read();
  REQUIRE(txn.ok());
  for (; pages < 100; ++pages) {
    result<table_page> page = table_list(txn.value(), std::nullopt, after, 333);
    REQUIRE(page.ok());
    for (const std::string& key : page.value().keys) {
      seen_keys.push_back(key);
    }
    if (!page.value().next) {
      break;
    }
    REQUIRE(page.value().keys.size() == 333);
    // `next` is the position of the last key returned.
    const std::pair<uint32_t, std::string>& last = want[seen_keys.size() - 1];
    CHECK(page.value().next->partition == last.first);
    CHECK(page.value().next->key == last.second);
    after = page.value().next;
  }
  CHECK(pages == 10'000 / 333);  // 30 full pages, then a last one of 10 keys
  REQUIRE(seen_keys.size() == want.size());
  for (std::size_t i = 0; i < want.size(); ++i) {
    if (seen_keys[i] != want[i].second) {
      FAIL_CHECK("key " << i << " differs");
      break;
    }
  }
  CHECK(want.front().first == 0);
  CHECK(want.back().first == 65536);
}

TEST_CASE("kv_table: exactly limit keys remaining gives a page without next") {
  temp_dir tmp;
  auto env = open_or_fail(options_in(tmp.path()));
  REQUIRE(env->write([](write_txn& txn) {
               for (int i = 0; i < 6; ++i) {
                 CHECK(table_put(txn, 1, std::to_string(i), "v").ok());
               }
               return table_put(txn, 2, "other", "v");
             })
              .ok());
  result<read_txn> txn = env->begin_read();
  REQUIRE(txn.ok());
  result<table_page> first = table_list(txn.value(), 1, std::nullopt, 3);
  REQUIRE(first.ok());
  REQUIRE(first.value().next.has_value());
  result<table_page> second = table_list(txn.value(), 1, first.value().next, 3);
  REQUIRE(second.ok());
  CHECK(second.value().keys == std::vector<std::string>{"3", "4", "5"});
  CHECK_FALSE(second.value().next.has_value());  // partition 2 is outside the filter
  result<table_page> unfiltered = table_list(txn.value(), std::nullopt, first.value().next, 3);
  REQUIRE(unfiltered.ok());
  CHECK(unfiltered.value().next.has_value());  // partition 2's key remains
}

TEST_CASE("kv_table: a partition filter lists only that partition, whatever `after` says") {
  temp_dir tmp;
  auto env = open_or_fail(options_in(tmp.path()));
  const model expected = fill_three_partitions(*env);
  result<read_txn> txn = env->begin_read();
  REQUIRE(txn.ok());
  for (const uint32_t partition : {0u, 256u, 65536u}) {
    CAPTURE(partition);
    std::vector<std::string> want;
    for (const auto& entry : expected) {
      if (entry.first.first == partition) {
        want.push_back(entry.first.second);
      }
    }
    std::vector<std::string> seen;
    std::optional<table_cursor_position> after;
    for (int pages = 0; pages < 100; ++pages) {
      result<table_page> page = table_list(txn.value(), partition, after, 1000);
      REQUIRE(page.ok());
      seen.insert(seen.end(), page.value().keys.begin(), page.value().keys.end());
      if (!page.value().next) {
        break;
      }
      CHECK(page.value().next->partition == partition);
      after = page.value().next;
    }
    CHECK(seen == want);
    CHECK(table_count_partition(txn.value(), partition).value() == want.size());
  }
  // `after` before the partition starts at its first key; after it, the page is empty.
  result<table_page> from_before = table_list(txn.value(), 256, table_cursor_position{0, "zzz"}, 1);
  REQUIRE(from_before.ok());
  CHECK(from_before.value().keys.size() == 1);
  result<table_page> from_beyond = table_list(txn.value(), 256, table_cursor_position{257, ""}, 10);
  REQUIRE(from_beyond.ok());
  CHECK(from_beyond.value().keys.empty());
  CHECK_FALSE(from_beyond.value().next.has_value());
  result<table_page> absent = table_list(txn.value(), 7, std::nullopt, 10);
  REQUIRE(absent.ok());
  CHECK(absent.value().keys.empty());
}

TEST_CASE("kv_table: erasing a partition leaves its neighbours intact") {
  temp_dir tmp;
  auto env = open_or_fail(options_in(tmp.path()));
  const model expected = fill_three_partitions(*env);
  REQUIRE(env->write([](write_txn& txn) { return table_erase_partition(txn, 256); }).ok());
  REQUIRE(env->write([](write_txn& txn) { return table_erase_partition(txn, 12345); }).ok());
  result<read_txn> txn = env->begin_read();
  REQUIRE(txn.ok());
  CHECK(table_count_partition(txn.value(), 256).value() == 0);
  std::size_t kept = 0;
  for (const auto& [position, value] : expected) {
    const result<std::optional<std::string>> got =
        table_get(txn.value(), position.first, position.second);
    REQUIRE(got.ok());
    if (position.first == 256) {
      CHECK_FALSE(got.value().has_value());
    } else {
      ++kept;
      CHECK(got.value() == value);
    }
  }
  CHECK(table_count(txn.value()).value() == kept);
  CHECK(table_count_partition(txn.value(), 0).value() +
            table_count_partition(txn.value(), 65536).value() ==
        kept);
}

// Compares the table against std::map after random puts, erases and partition erases, then
// lists with random limits and filters. Prints its seed; CK_STORAGE_SEED=<n> replays one.
TEST_CASE("kv_table: random operations agree with a std::map model") {
  const char* replay = std::getenv("CK_STORAGE_SEED");
  const uint64_t seed = replay != nullptr ? std::stoull(replay) : std::random_device{}();
  INFO("seed=" << seed << " (replay: CK_STORAGE_SEED=" << seed << " storage_unit_tests)");
  std::mt19937_64 rng(seed);
  temp_dir tmp;
  auto env = open_or_fail(options_in(tmp.path()));
  model expected;
  for (int round = 0; round < 20; ++round) {
    REQUIRE(env->write([&](write_txn& txn) {
                 for (int op = 0; op < 200; ++op) {
                   const uint32_t partition = static_cast<uint32_t>(rng() % 5) * 300;
                   const std::string key = random_key(rng);
                   const uint64_t kind = rng() % 100;
                   if (kind < 65) {
                     const std::string value = std::to_string(rng());
                     CHECK(table_put(txn, partition, key, value).ok());
                     expected[{partition, key}] = value;
                   } else if (kind < 99) {
                     const bool existed = expected.erase({partition, key}) == 1;
                     CHECK(table_erase(txn, partition, key).value() == existed);
                   } else {
                     CHECK(table_erase_partition(txn, partition).ok());
                     expected.erase(expected.lower_bound({partition, ""}),
                                    expected.lower_bound({partition + 1, ""}));
                   }
                 }
                 return status::success();
               })
                .ok());
    const std::size_t limit = 1 + rng() % 17;
    const std::optional<uint32_t> only =
        rng() % 2 == 0 ? std::optional<uint32_t>() : static_cast<uint32_t>(rng() % 5) * 300;
    const std::vector<std::pair<uint32_t, std::string>> want = model_keys(expected, only);
    const std::vector<std::string> seen = list_all(*env, only, limit);
    REQUIRE(seen.size() == want.size());
    for (std::size_t i = 0; i < want.size(); ++i) {
      CHECK(seen[i] == want[i].second);
    }
    result<read_txn> txn = env->begin_read();
    REQUIRE(txn.ok());
    CHECK(table_count(txn.value()).value() == expected.size());
    for (const auto& [position, value] : expected) {
      CHECK(table_get(txn.value(), position.first, position.second).value() == value);
    }
  }
}

}  // namespace
}  // namespace ck::storage
