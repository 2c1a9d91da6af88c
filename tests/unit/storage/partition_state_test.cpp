// Goal: the per-group records beside the KV data (storage/partition_state.hpp) round-trip
// through the meta database, with the staged snapshot record's absence, erasure, independence
// per group and from the applied index, and a record of the wrong size reported as corruption.
// Method: real LMDB in a temporary directory; raw LMDB writes damage a record behind the
// storage layer's back.

#include "storage/partition_state.hpp"

#include <cstdint>
#include <optional>
#include <string>

#include <doctest/doctest.h>

#include "storage/environment.hpp"
#include "storage/format.hpp"
#include "test_support.hpp"

namespace ck::storage {
namespace {

using test::open_or_fail;
using test::options_in;
using test::temp_dir;

std::string staged_key(uint32_t group) {
  std::string key{"staged:"};
  append_u32_be(key, group);
  return key;
}

TEST_CASE("partition_state: a staged snapshot round-trips, is per group, and is erased") {
  temp_dir tmp;
  auto env = open_or_fail(options_in(tmp.path()));
  CHECK(load_staged_snapshot(*env, 3).value() == std::nullopt);

  const staged_snapshot three{42, 7, 0xFFFF'FFFF'FFFF'FFFFull};
  const staged_snapshot four{1, 1, 0};
  REQUIRE(env->write([&](write_txn& txn) {
               if (status saved = save_staged_snapshot(txn, 3, three); !saved.ok()) {
                 return saved;
               }
               if (status saved = save_staged_snapshot(txn, 4, four); !saved.ok()) {
                 return saved;
               }
               return save_partition_applied(txn, 3, 41);
             }).ok());
  CHECK(load_staged_snapshot(*env, 3).value() == std::optional<staged_snapshot>(three));
  CHECK(load_staged_snapshot(*env, 4).value() == std::optional<staged_snapshot>(four));
  CHECK(load_staged_snapshot(*env, 5).value() == std::nullopt);
  CHECK(load_partition_applied(*env, 3).value() == 41);

  // Saving again replaces the record (progress of the same snapshot).
  const staged_snapshot three_later{42, 7, 1'000};
  REQUIRE(env->write([&](write_txn& txn) { return save_staged_snapshot(txn, 3, three_later); })
              .ok());
  CHECK(load_staged_snapshot(*env, 3).value() == std::optional<staged_snapshot>(three_later));

  // Survives a reopen.
  env.reset();
  env = open_or_fail(options_in(tmp.path()));
  CHECK(load_staged_snapshot(*env, 3).value() == std::optional<staged_snapshot>(three_later));

  REQUIRE(env->write([](write_txn& txn) { return erase_staged_snapshot(txn, 3); }).ok());
  CHECK(load_staged_snapshot(*env, 3).value() == std::nullopt);
  CHECK(load_staged_snapshot(*env, 4).value() == std::optional<staged_snapshot>(four));
  CHECK(load_partition_applied(*env, 3).value() == 41);
  // Erasing an absent record succeeds.
  REQUIRE(env->write([](write_txn& txn) { return erase_staged_snapshot(txn, 3); }).ok());
}

TEST_CASE("partition_state: a staged snapshot record of the wrong size is corruption") {
  temp_dir tmp;
  for (const std::size_t bytes : {std::size_t{0}, std::size_t{23}, std::size_t{25}}) {
    CAPTURE(bytes);
    open_or_fail(options_in(tmp.path())).reset();  // creates the databases
    test::raw_put(tmp.path(), "meta", staged_key(9), std::string(bytes, '\x01'));
    auto env = open_or_fail(options_in(tmp.path()));
    const result<std::optional<staged_snapshot>> loaded = load_staged_snapshot(*env, 9);
    REQUIRE_FALSE(loaded.ok());
    CHECK(loaded.status().code() == code::corruption);
    CHECK(load_staged_snapshot(*env, 8).value() == std::nullopt);
  }
  // A record of exactly 24 bytes written behind the layer decodes as drawn in format.hpp.
  std::string record;
  append_u64_be(record, 10);
  append_u64_be(record, 2);
  append_u64_be(record, 3);
  test::raw_put(tmp.path(), "meta", staged_key(9), record);
  auto env = open_or_fail(options_in(tmp.path()));
  CHECK(load_staged_snapshot(*env, 9).value() == std::optional<staged_snapshot>({10, 2, 3}));
}

}  // namespace
}  // namespace ck::storage
