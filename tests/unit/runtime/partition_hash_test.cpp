// The key -> partition rule is part of the API contract (compatible with the original
// ClusterKit clients), so these vectors must never change.

#include "runtime/cluster/partition_hash.hpp"

#include <doctest/doctest.h>

#include <set>

using ck::cluster::parse_partition_name;
using ck::cluster::partition_name;
using ck::cluster::partition_of;

TEST_CASE("partition_of matches the contract's vectors") {
  CHECK(partition_of("user:123", 64) == 48);
  CHECK(partition_of("user:123", 16) == 0);
  CHECK(partition_of("test-key", 64) == 49);
  CHECK(partition_of("mykey", 64) == 51);
}

TEST_CASE("partition_of is deterministic and spreads keys over every partition") {
  std::set<uint32_t> seen;
  for (int i = 0; i < 2000; ++i) {
    const auto key = "user-" + std::to_string(i);
    const auto p = partition_of(key, 64);
    CHECK(p < 64);
    CHECK(p == partition_of(key, 64));
    seen.insert(p);
  }
  CHECK(seen.size() == 64);
}

TEST_CASE("partition_of accepts keys with any byte, including NUL and high bytes") {
  const std::string key("a\0b\xff", 4);
  CHECK(partition_of(key, 64) < 64);
  CHECK(partition_of(key, 1) == 0);
}

TEST_CASE("partition names round-trip and reject junk") {
  CHECK(partition_name(7) == "partition-7");
  uint32_t index = 99;
  CHECK(parse_partition_name("partition-7", index));
  CHECK(index == 7);
  CHECK(parse_partition_name("12", index));
  CHECK(index == 12);
  CHECK_FALSE(parse_partition_name("", index));
  CHECK_FALSE(parse_partition_name("partition-", index));
  CHECK_FALSE(parse_partition_name("partition-x", index));
  CHECK_FALSE(parse_partition_name("-1", index));
  CHECK_FALSE(parse_partition_name("7 ", index));
  CHECK_FALSE(parse_partition_name("99999999999", index));
}

TEST_CASE("partition positions: formatted and parsed back; malformed text is refused") {
  const ck::cluster::partition_positions positions{{3, 120}, {7, 99}};
  CHECK(ck::cluster::format_partition_positions(positions) == "3:120,7:99");
  CHECK(ck::cluster::parse_partition_positions("3:120,7:99", 8) == positions);
  CHECK(ck::cluster::parse_partition_positions("partition-3:120,7:99", 8) == positions);
  CHECK(ck::cluster::parse_partition_positions("", 8) == ck::cluster::partition_positions{});
  for (const char* bad : {"3", "3:", ":5", "x:5", "3:5x", "8:1", "3:-1", "3:1,,4:2"}) {
    CHECK_MESSAGE(!ck::cluster::parse_partition_positions(bad, 8), bad);
  }
}
