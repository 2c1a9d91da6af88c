// Goal: keys longer than LMDB's key limit behave exactly like short ones through every kv_table
// function: round trips up to table_user_key_bytes_max (64 KiB), overwrite and erase, exact paging
// and `after` positioning across the inline/hashed boundary, partition filters and counts,
// whole-partition erase; and a damaged long-key entry is corruption, never a crash or a wrong
// answer. Method: real LMDB in a temporary directory, a std::map model ordered as kv_table.hpp
// promises, and raw LMDB writes that damage stored entries behind the storage layer's back.

#include <cstddef>
#include <cstdint>
#include <iterator>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <doctest/doctest.h>

#include "storage/environment.hpp"
#include "storage/format.hpp"
#include "storage/table.hpp"
#include "table_test_support.hpp"
#include "test_support.hpp"

namespace ck::storage {
namespace {

using test::kv_model;
using test::patterned;
using test::put_all;
using test::list_all;
using test::model_keys;
using test::open_or_fail;
using test::options_in;
using test::temp_dir;

using position = std::pair<uint32_t, std::string>;


TEST_CASE("kv_long_keys: keys of 0 to 65536 bytes round-trip and 65537 bytes are rejected") {
  temp_dir tmp;
  auto env = open_or_fail(options_in(tmp.path()));
  const std::size_t lengths[] = {0, 1, 505, 506, 507, 508, 1024, table_user_key_bytes_max};
  kv_model expected;
  for (const std::size_t length : lengths) {
    expected[{3, patterned(length, static_cast<uint32_t>(length))}] =
        "value of " + std::to_string(length) + std::string(1, '\0');
  }
  REQUIRE(env->write([&](write_txn& txn) {
               for (const auto& [where, value] : expected) {
                 REQUIRE(table_put(txn, where.first, where.second, value).ok());
                 CHECK(table_get(txn, where.first, where.second).value() == value);  // own write
               }
               const std::string too_long(table_user_key_bytes_max + 1, 'k');
               CHECK(table_put(txn, 3, too_long, "v").code() == code::invalid_argument);
               CHECK(table_get(txn, 3, too_long).status().code() == code::invalid_argument);
               CHECK(table_erase(txn, 3, too_long).status().code() == code::invalid_argument);
               return status::success();
             })
              .ok());
  result<read_txn> txn = env->begin_read();
  REQUIRE(txn.ok());
  for (const auto& [where, value] : expected) {
    CAPTURE(where.second.size());
    CHECK(table_get(txn.value(), where.first, where.second).value() == value);
    // The same length with other bytes is another key (for long keys: another digest).
    std::string other = where.second;
    if (!other.empty()) {
      other.back() = static_cast<char>(other.back() ^ 1);
      CHECK_FALSE(table_get(txn.value(), where.first, other).value().has_value());
    }
  }
  CHECK(table_count(txn.value()).value() == std::size(lengths));
  CHECK(table_count_partition(txn.value(), 3).value() == std::size(lengths));
  result<table_page> page = table_list(txn.value(), 3, std::nullopt, 100);
  REQUIRE(page.ok());
  std::vector<std::string> want;
  for (const position& where : model_keys(expected, std::nullopt)) {
    want.push_back(where.second);
  }
  CHECK(page.value().keys == want);
  CHECK_FALSE(page.value().next.has_value());
  // Inline keys (0..506 bytes) come first, the hashed ones after them.
  REQUIRE(want.size() == 8);
  for (std::size_t i = 0; i < want.size(); ++i) {
    CHECK((want[i].size() <= table_inline_key_bytes_max) == (i < 4));
  }
  CHECK(
      table_list(txn.value(), 3, table_cursor_position{3, std::string(table_user_key_bytes_max + 1, 'k')}, 1)
          .status()
          .code() == code::invalid_argument);
}

TEST_CASE("kv_long_keys: a long key is overwritten and erased like a short one") {
  temp_dir tmp;
  auto env = open_or_fail(options_in(tmp.path()));
  const std::string long_key = patterned(1024, 1);
  std::string sibling = long_key;  // differs only in its last byte
  sibling.back() = static_cast<char>(sibling.back() ^ 0x55);
  const std::string inline_prefix = long_key.substr(0, table_inline_key_bytes_max);
  REQUIRE(env->write([&](write_txn& txn) {
               CHECK(table_put(txn, 1, long_key, "first").ok());
               CHECK(table_put(txn, 1, sibling, "sibling").ok());
               CHECK(table_put(txn, 1, inline_prefix, "prefix").ok());
               CHECK(table_put(txn, 1, long_key, std::string(10'000, 'x')).ok());  // grows
               return table_put(txn, 1, long_key, "second");                       // shrinks
             })
              .ok());
  {
    result<read_txn> txn = env->begin_read();
    REQUIRE(txn.ok());
    CHECK(table_get(txn.value(), 1, long_key).value() == "second");
    CHECK(table_get(txn.value(), 1, sibling).value() == "sibling");
    CHECK(table_get(txn.value(), 1, inline_prefix).value() == "prefix");
    CHECK(table_count(txn.value()).value() == 3);
  }
  // A put counts the bytes it stores: the 37-byte key, the u32 length, the key and the value.
  const uint64_t written_before = env->stats().written_bytes;
  REQUIRE(env->write([&](write_txn& txn) { return table_put(txn, 1, long_key, "third"); }).ok());
  CHECK(env->stats().written_bytes == written_before + 37 + 4 + long_key.size() + 5);
  REQUIRE(env->write([&](write_txn& txn) {
               CHECK(table_erase(txn, 1, long_key).value());
               CHECK_FALSE(table_get(txn, 1, long_key).value().has_value());
               CHECK_FALSE(table_erase(txn, 1, long_key).value());
               CHECK_FALSE(table_erase(txn, 2, sibling).value());  // same key, other partition
               return status::success();
             })
              .ok());
  result<read_txn> txn = env->begin_read();
  REQUIRE(txn.ok());
  CHECK_FALSE(table_get(txn.value(), 1, long_key).value().has_value());
  CHECK(table_get(txn.value(), 1, sibling).value() == "sibling");
  CHECK(table_get(txn.value(), 1, inline_prefix).value() == "prefix");
  CHECK(table_count(txn.value()).value() == 2);
}

// 300 short and 300 long keys (507..1506 bytes) spread over partitions 65536, 0 and 256.
kv_model fill_mixed(environment& env) {
  kv_model expected;
  const uint32_t partitions[] = {65536, 0, 256};
  for (uint32_t i = 0; i < 600; ++i) {
    std::string key = "key-" + std::to_string(i);
    if (i % 2 == 1) {
      key += patterned(table_inline_key_bytes_max + 1 + (i * 37) % 1000 - key.size(), i);
      REQUIRE(key.size() > table_inline_key_bytes_max);
    }
    expected[{partitions[i % 3], key}] = "value-" + std::to_string(i);
  }
  REQUIRE(expected.size() == 600);
  REQUIRE(put_all(env, expected).ok());
  return expected;
}

TEST_CASE("kv_long_keys: paging by 7 over 300 short and 300 long keys returns each key once") {
  temp_dir tmp;
  auto env = open_or_fail(options_in(tmp.path()));
  const kv_model expected = fill_mixed(*env);
  const std::vector<position> want = model_keys(expected, std::nullopt);

  result<read_txn> txn = env->begin_read();
  REQUIRE(txn.ok());
  std::vector<position> seen;
  std::optional<table_cursor_position> after;
  std::size_t pages_ending_long = 0;
  for (int pages = 0; pages < 1000; ++pages) {
    result<table_page> page = table_list(txn.value(), std::nullopt, after, 7);
    REQUIRE(page.ok());
    // The page's partition of each key is known from the model: find the key in order.
    for (const std::string& key : page.value().keys) {
      REQUIRE(seen.size() < want.size());
      CHECK(key == want[seen.size()].second);
      seen.push_back(want[seen.size()]);
    }
    if (!page.value().next) {
      break;
    }
    REQUIRE(page.value().keys.size() == 7);
    CHECK(page.value().next->partition == seen.back().first);
    CHECK(page.value().next->key == seen.back().second);
    pages_ending_long += page.value().next->key.size() > table_inline_key_bytes_max ? 1 : 0;
    after = page.value().next;
  }
  CHECK(seen == want);
  CHECK(pages_ending_long > 10);  // many pages resumed after a long key
}

TEST_CASE("kv_long_keys: `after` at any key, long or short, resumes at the next key") {
  temp_dir tmp;
  auto env = open_or_fail(options_in(tmp.path()));
  const kv_model expected = fill_mixed(*env);
  const std::vector<position> want = model_keys(expected, std::nullopt);
  result<read_txn> txn = env->begin_read();
  REQUIRE(txn.ok());
  for (std::size_t i = 0; i < want.size(); ++i) {
    CAPTURE(i);
    result<table_page> page =
        table_list(txn.value(), std::nullopt, table_cursor_position{want[i].first, want[i].second}, 3);
    REQUIRE(page.ok());
    std::vector<std::string> next_keys;
    for (std::size_t j = i + 1; j < want.size() && j <= i + 3; ++j) {
      next_keys.push_back(want[j].second);
    }
    CHECK(page.value().keys == next_keys);
    CHECK(page.value().next.has_value() == (i + 4 < want.size()));
  }
  // An `after` that was never stored (a long key of partition 0) resumes where it would sort.
  const position absent{0, std::string(2000, 'a')};
  REQUIRE(expected.count(absent) == 0);
  const auto following = expected.upper_bound(absent);
  REQUIRE(following != expected.end());
  result<table_page> page =
      table_list(txn.value(), std::nullopt, table_cursor_position{absent.first, absent.second}, 1);
  REQUIRE(page.ok());
  CHECK(page.value().keys == std::vector<std::string>{following->first.second});
}

TEST_CASE("kv_long_keys: a partition filter lists and counts its long keys") {
  temp_dir tmp;
  auto env = open_or_fail(options_in(tmp.path()));
  const kv_model expected = fill_mixed(*env);
  result<read_txn> txn = env->begin_read();
  REQUIRE(txn.ok());
  CHECK(table_count(txn.value()).value() == 600);
  for (const uint32_t partition : {0u, 256u, 65536u}) {
    CAPTURE(partition);
    std::vector<std::string> want;
    for (const position& where : model_keys(expected, partition)) {
      want.push_back(where.second);
    }
    CHECK(want.size() == 200);
    CHECK(list_all(*env, partition, 7) == want);
    CHECK(table_count_partition(txn.value(), partition).value() == want.size());
  }
  // `after` at the last (long) key of partition 0 with filter 256 starts at 256's first key.
  const std::vector<position> zero = model_keys(expected, 0);
  REQUIRE(zero.back().second.size() > table_inline_key_bytes_max);
  result<table_page> page = table_list(txn.value(), 256, table_cursor_position{0, zero.back().second}, 1);
  REQUIRE(page.ok());
  CHECK(page.value().keys == std::vector<std::string>{model_keys(expected, 256).front().second});
  // ... and without a filter it goes on with partition 256 as well: nothing lies in between.
  result<table_page> unfiltered =
      table_list(txn.value(), std::nullopt, table_cursor_position{0, zero.back().second}, 1);
  REQUIRE(unfiltered.ok());
  CHECK(unfiltered.value().keys == page.value().keys);
}

TEST_CASE("kv_long_keys: erasing a partition removes its long keys and leaves its neighbours") {
  temp_dir tmp;
  auto env = open_or_fail(options_in(tmp.path()));
  kv_model expected = fill_mixed(*env);
  REQUIRE(env->write([](write_txn& txn) { return table_erase_partition(txn, 256); }).ok());
  result<read_txn> txn = env->begin_read();
  REQUIRE(txn.ok());
  CHECK(table_count_partition(txn.value(), 256).value() == 0);
  std::size_t long_keys_erased = 0;
  for (const auto& [where, value] : expected) {
    const result<std::optional<std::string>> got = table_get(txn.value(), where.first, where.second);
    REQUIRE(got.ok());
    if (where.first == 256) {
      CHECK_FALSE(got.value().has_value());
      long_keys_erased += where.second.size() > table_inline_key_bytes_max ? 1 : 0;
    } else {
      CHECK(got.value() == value);
    }
  }
  CHECK(long_keys_erased == 100);
  expected.erase(expected.lower_bound({256, ""}), expected.lower_bound({257, ""}));
  CHECK(table_count(txn.value()).value() == expected.size());
  std::vector<std::string> want;
  for (const position& where : model_keys(expected, std::nullopt)) {
    want.push_back(where.second);
  }
  CHECK(list_all(*env, std::nullopt, 7) == want);
}

// A stored entry damaged behind the storage layer's back, for the corruption test below.
struct damage {
  std::string stored_key;
  std::string stored_value;
};

TEST_CASE("kv_long_keys: a damaged long-key entry is reported as corruption, not a crash") {
  const std::string damaged_key = patterned(800, 2);
  const std::string intact_key = patterned(900, 3);
  const std::string prefix = table_value_prefix(damaged_key);
  damage how;
  bool value_only = true;  // the stored key itself is well formed
  SUBCASE("embedded key truncated") { how = {table_key(5, damaged_key), prefix.substr(0, 4 + 100)}; }
  SUBCASE("value shorter than its length field") {
    how = {table_key(5, damaged_key), prefix.substr(0, 2)};
  }
  SUBCASE("embedded key does not hash to the stored digest") {
    std::string wrong = prefix + "value";
    wrong[4 + 400] = static_cast<char>(wrong[4 + 400] ^ 0x01);
    how = {table_key(5, damaged_key), wrong};
  }
  SUBCASE("embedded length says the key is short enough to be inline") {
    std::string wrong = prefix + "value";
    put_u32_be(wrong.data(), static_cast<uint32_t>(table_inline_key_bytes_max));
    how = {table_key(5, damaged_key), wrong};
  }
  SUBCASE("unknown form byte") {
    how = {std::string("\x00\x00\x00\x05\x02"
                       "abc",
                       8),
           "value"};
    value_only = false;
  }
  temp_dir tmp;
  {
    auto env = open_or_fail(options_in(tmp.path()));
    kv_model entries;
    entries[{5, damaged_key}] = "value";
    entries[{5, intact_key}] = "intact";
    entries[{5, "short"}] = "short value";
    entries[{6, damaged_key}] = "neighbour";
    REQUIRE(put_all(*env, entries).ok());
  }
  test::raw_put(tmp.path(), "kv", how.stored_key, how.stored_value);
  auto env = open_or_fail(options_in(tmp.path()));
  {
    result<read_txn> txn = env->begin_read();
    REQUIRE(txn.ok());
    if (value_only) {
      const result<std::optional<std::string>> got = table_get(txn.value(), 5, damaged_key);
      CHECK(got.status().code() == code::corruption);
      CHECK(got.status().message().find(tmp.path()) != std::string::npos);
      MESSAGE(got.status().to_string());
      CHECK(table_count_partition(txn.value(), 5).value() == 3);  // counting reads keys only
    } else {
      CHECK(table_count_partition(txn.value(), 5).status().code() == code::corruption);
    }
    CHECK(table_get(txn.value(), 5, intact_key).value() == "intact");
    CHECK(table_get(txn.value(), 5, "short").value() == "short value");
    CHECK(table_get(txn.value(), 6, damaged_key).value() == "neighbour");
    CHECK(table_list(txn.value(), 5, std::nullopt, 10).status().code() == code::corruption);
    CHECK(table_list(txn.value(), std::nullopt, std::nullopt, 10).status().code() == code::corruption);
    result<table_page> other = table_list(txn.value(), 6, std::nullopt, 10);
    REQUIRE(other.ok());
    CHECK(other.value().keys == std::vector<std::string>{damaged_key});
  }
  if (value_only) {
    // Pages of one key: those that do not return the damaged entry work (even when it is their
    // look-ahead), the one that would return it is corruption.
    result<read_txn> txn = env->begin_read();
    REQUIRE(txn.ok());
    result<table_page> first = table_list(txn.value(), 5, std::nullopt, 1);
    REQUIRE(first.ok());
    CHECK(first.value().keys == std::vector<std::string>{"short"});
    std::optional<table_cursor_position> after = first.value().next;
    bool failed = false;
    for (int pages = 0; pages < 3 && after && !failed; ++pages) {
      result<table_page> page = table_list(txn.value(), 5, after, 1);
      if (!page.ok()) {
        CHECK(page.status().code() == code::corruption);
        failed = true;
        break;
      }
      CHECK(page.value().keys == std::vector<std::string>{intact_key});
      after = page.value().next;
    }
    CHECK(failed);
  }
  if (!value_only) {
    // No user key names the malformed key; erasing its partition stops there and reports it.
    CHECK(env->write([](write_txn& txn) { return table_erase_partition(txn, 5); }).code() ==
          code::corruption);
    return;
  }
  // The damaged entry can be removed through the normal API, after which listing works again.
  REQUIRE(env->write([&](write_txn& txn) {
               CHECK(table_erase(txn, 5, damaged_key).value());
               return status::success();
             })
              .ok());
  result<read_txn> txn = env->begin_read();
  REQUIRE(txn.ok());
  result<table_page> page = table_list(txn.value(), 5, std::nullopt, 10);
  REQUIRE(page.ok());
  CHECK(page.value().keys.size() == 2);
}

}  // namespace
}  // namespace ck::storage
