// Goal: staging partitions (storage/format.hpp, table_staging_partition) behave as kv_table.hpp
// promises: invisible to table_list over all partitions and to table_count, ordinary when named; and
// table_move_partition replaces `to` entirely with `from`'s entries (short and long keys, values
// byte for byte), leaves `from` empty and no other partition touched, in several batches when
// large. Method: real LMDB in a temporary directory, compared against a std::map model ordered
// as the table promises.

#include <cstddef>
#include <cstdint>
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

// A key that is short (inline) for even n and long (hashed, > 506 bytes) for odd n.
std::string mixed_key(uint32_t n, std::string_view tag) {
  std::string key = std::string(tag) + ":" + std::to_string(n);
  if (n % 2 == 1) {
    key += patterned(table_inline_key_bytes_max + 1 + n % 300, n);
  }
  return key;
}


std::vector<std::string> strings_of(const std::vector<std::pair<uint32_t, std::string>>& keys) {
  std::vector<std::string> out;
  for (const auto& key : keys) {
    out.push_back(key.second);
  }
  return out;
}

// Every entry of `expected` reads back with its value, and every listed partition of
// `partitions` holds exactly the model's keys.
void check_matches(environment& env, const kv_model& expected,
                   const std::vector<uint32_t>& partitions) {
  for (const uint32_t partition : partitions) {
    CAPTURE(partition);
    CHECK(list_all(env, partition, 97) == strings_of(model_keys(expected, partition)));
  }
  result<read_txn> txn = env.begin_read();
  REQUIRE(txn.ok());
  for (const auto& [where, value] : expected) {
    const result<std::optional<std::string>> got = table_get(txn.value(), where.first, where.second);
    REQUIRE_MESSAGE(got.ok(), got.status().to_string());
    REQUIRE(got.value().has_value());
    CHECK(*got.value() == value);
  }
}

TEST_CASE("kv_staging: the staging id sets the top bit and sorts after every user partition") {
  static_assert(table_staging_partition_flag == 0x8000'0000u);
  static_assert(table_staging_partition(0) == 0x8000'0000u);
  static_assert(table_staging_partition(4095) == 0x8000'0FFFu);
  CHECK(table_partition_first_key(table_staging_partition(0)) > table_key(4095, std::string(506, '\xff')));
  CHECK(table_partition_first_key(table_staging_partition_flag) > table_key(0x7FFF'FFFFu, "zzz"));
}

TEST_CASE("kv_staging: staging keys are invisible to table_list of all partitions and to table_count") {
  temp_dir tmp;
  auto env = open_or_fail(options_in(tmp.path()));
  kv_model user;
  kv_model staging;
  for (uint32_t n = 0; n < 40; ++n) {
    user[{n % 2 == 0 ? 1u : 7u, mixed_key(n, "user")}] = "u" + std::to_string(n);
    staging[{table_staging_partition(n % 3 == 0 ? 1u : 2u), mixed_key(n, "staged")}] =
        "s" + std::to_string(n);
  }
  REQUIRE(put_all(*env, user).ok());
  REQUIRE(put_all(*env, staging).ok());

  // Listing all partitions, by any page size, returns the user keys only.
  for (const std::size_t limit : {std::size_t{1}, std::size_t{7}, std::size_t{40}, std::size_t{1000}}) {
    CAPTURE(limit);
    CHECK(list_all(*env, std::nullopt, limit) == strings_of(model_keys(user, std::nullopt)));
  }
  result<read_txn> txn = env->begin_read();
  REQUIRE(txn.ok());
  // A page ending at the last user key says nothing remains, although staging keys follow.
  result<table_page> exact = table_list(txn.value(), std::nullopt, std::nullopt, user.size());
  REQUIRE(exact.ok());
  CHECK(exact.value().keys.size() == user.size());
  CHECK_FALSE(exact.value().next.has_value());
  // `after` inside the staging range lists nothing.
  result<table_page> beyond = table_list(txn.value(), std::nullopt,
                                   table_cursor_position{table_staging_partition(1), ""}, 10);
  REQUIRE(beyond.ok());
  CHECK(beyond.value().keys.empty());
  CHECK_FALSE(beyond.value().next.has_value());

  CHECK(table_count(txn.value()).value() == user.size());
  // Named explicitly, a staging partition is an ordinary one.
  for (const uint32_t partition : {table_staging_partition(1), table_staging_partition(2)}) {
    CAPTURE(partition);
    const std::vector<std::string> want = strings_of(model_keys(staging, partition));
    CHECK_FALSE(want.empty());
    CHECK(list_all(*env, partition, 3) == want);
    CHECK(table_count_partition(txn.value(), partition).value() == want.size());
  }
  CHECK(table_get(txn.value(), table_staging_partition(1), mixed_key(0, "staged")).value() == "s0");
  CHECK(table_get(txn.value(), 1, mixed_key(0, "staged")).value() == std::nullopt);
  txn.value().end();

  // Erasing the staging partitions changes no count of the user's view.
  REQUIRE(env->write([](write_txn& w) {
               if (status erased = table_erase_partition(w, table_staging_partition(1)); !erased.ok()) {
                 return erased;
               }
               return table_erase_partition(w, table_staging_partition(2));
             }).ok());
  result<read_txn> after_erase = env->begin_read();
  REQUIRE(after_erase.ok());
  CHECK(table_count(after_erase.value()).value() == user.size());
  CHECK(table_count_partition(after_erase.value(), table_staging_partition(1)).value() == 0);
}

TEST_CASE("table_move_partition: replaces `to` with `from`'s short and long keys and empties `from`") {
  temp_dir tmp;
  auto env = open_or_fail(options_in(tmp.path()));
  const uint32_t to = 5;
  const uint32_t from = table_staging_partition(to);
  kv_model neighbours;  // partitions 4, 6 and another staging area: must stay as they are
  kv_model old_to;
  kv_model staged;
  for (uint32_t n = 0; n < 60; ++n) {
    neighbours[{4, mixed_key(n, "k")}] = "four" + std::to_string(n);
    neighbours[{6, mixed_key(n, "k")}] = "six" + std::to_string(n);
    neighbours[{table_staging_partition(6), mixed_key(n, "k")}] = "staged six" + std::to_string(n);
    // Old `to` holds keys 0..39, the snapshot keys 20..59: 0..19 exist only in old `to`.
    if (n < 40) {
      old_to[{to, mixed_key(n, "k")}] = "old" + std::to_string(n);
    }
    if (n >= 20) {
      staged[{from, mixed_key(n, "k")}] = patterned(n * 37 % 700, n);  // empty values too
    }
  }
  staged[{from, ""}] = "the empty key";
  staged[{from, std::string(table_inline_key_bytes_max, 'x')}] = "longest inline";
  staged[{from, std::string(table_inline_key_bytes_max + 1, 'x')}] = "shortest hashed";
  staged[{from, std::string(table_user_key_bytes_max, 'y')}] = "longest key";
  REQUIRE(put_all(*env, neighbours).ok());
  REQUIRE(put_all(*env, old_to).ok());
  REQUIRE(put_all(*env, staged).ok());

  REQUIRE(env->write([&](write_txn& txn) { return table_move_partition(txn, from, to); }).ok());

  kv_model want_to;
  for (const auto& [where, value] : staged) {
    want_to[{to, where.second}] = value;
  }
  check_matches(*env, want_to, {to});
  check_matches(*env, neighbours, {4, 6, table_staging_partition(6)});
  result<read_txn> txn = env->begin_read();
  REQUIRE(txn.ok());
  // Keys only the old `to` held are gone, with their values.
  for (uint32_t n = 0; n < 20; ++n) {
    CHECK(table_get(txn.value(), to, mixed_key(n, "k")).value() == std::nullopt);
  }
  CHECK(table_count_partition(txn.value(), from).value() == 0);
  CHECK(table_count_partition(txn.value(), to).value() == staged.size());
  CHECK(table_count(txn.value()).value() == want_to.size() + 2 * 60);
  CHECK(list_all(*env, std::nullopt, 50).size() == want_to.size() + 2 * 60);
}

TEST_CASE("table_move_partition: 2,500 entries move in several batches, either direction") {
  temp_dir tmp;
  environment_options options = options_in(tmp.path());
  options.map_size_bytes = uint64_t{64} << 20;
  auto env = open_or_fail(options);
  kv_model staged;
  for (uint32_t n = 0; n < 2'500; ++n) {
    staged[{table_staging_partition(2), mixed_key(n, "bulk")}] = patterned(n % 64, n);
  }
  const kv_model neighbour{{{1, "a"}, "1a"}, {{3, "b"}, "3b"}, {{2, "old"}, "gone"}};
  REQUIRE(put_all(*env, neighbour).ok());
  REQUIRE(put_all(*env, staged).ok());

  REQUIRE(env->write([](write_txn& txn) {
               return table_move_partition(txn, table_staging_partition(2), 2);
             }).ok());
  kv_model want;
  for (const auto& [where, value] : staged) {
    want[{2, where.second}] = value;
  }
  check_matches(*env, want, {2});
  check_matches(*env, {{{1, "a"}, "1a"}, {{3, "b"}, "3b"}}, {1, 3});
  {
    result<read_txn> txn = env->begin_read();
    REQUIRE(txn.ok());
    CHECK(table_count_partition(txn.value(), table_staging_partition(2)).value() == 0);
    CHECK(table_count(txn.value()).value() == 2'502);
  }

  // Back to a higher id, into a partition that is empty.
  REQUIRE(env->write([](write_txn& txn) { return table_move_partition(txn, 2, 9); }).ok());
  kv_model moved_on;
  for (const auto& [where, value] : staged) {
    moved_on[{9, where.second}] = value;
  }
  check_matches(*env, moved_on, {9});
  result<read_txn> txn = env->begin_read();
  REQUIRE(txn.ok());
  CHECK(table_count_partition(txn.value(), 2).value() == 0);
  CHECK(table_count(txn.value()).value() == 2'502);
}

TEST_CASE("table_move_partition: values of several MiB move intact across byte-bounded batches") {
  temp_dir tmp;
  environment_options options = options_in(tmp.path());
  options.map_size_bytes = uint64_t{128} << 20;
  auto env = open_or_fail(options);
  kv_model staged;
  for (uint32_t n = 0; n < 12; ++n) {
    staged[{table_staging_partition(0), mixed_key(n, "big")}] = patterned((n + 1) * 500'000, n);
  }
  REQUIRE(put_all(*env, staged).ok());
  REQUIRE(env->write([](write_txn& txn) {
               return table_move_partition(txn, table_staging_partition(0), 0);
             }).ok());
  kv_model want;
  for (const auto& [where, value] : staged) {
    want[{0, where.second}] = value;
  }
  check_matches(*env, want, {0, table_staging_partition(0)});
  result<read_txn> txn = env->begin_read();
  REQUIRE(txn.ok());
  CHECK(table_count_partition(txn.value(), table_staging_partition(0)).value() == 0);
}

TEST_CASE("table_move_partition: an empty `from` leaves `to` empty") {
  temp_dir tmp;
  auto env = open_or_fail(options_in(tmp.path()));
  REQUIRE(put_all(*env, {{{3, "x"}, "1"}, {{3, std::string(600, 'l')}, "2"}, {{4, "y"}, "3"}})
              .ok());
  REQUIRE(env->write([](write_txn& txn) {
               return table_move_partition(txn, table_staging_partition(3), 3);
             }).ok());
  result<read_txn> txn = env->begin_read();
  REQUIRE(txn.ok());
  CHECK(table_count_partition(txn.value(), 3).value() == 0);
  CHECK(table_get(txn.value(), 4, "y").value() == "3");
  CHECK(table_count(txn.value()).value() == 1);
}

}  // namespace
}  // namespace ck::storage
