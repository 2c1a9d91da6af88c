// Goal: the node identity round-trips through LMDB and a damaged record is reported as
// corruption, never a crash or a wrong identity. Method: save/load through the API; damage by
// truncating and bit-flipping the encoded record, and by raw LMDB writes.

#include "storage/identity.hpp"

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

node_identity sample_identity() {
  node_identity identity;
  identity.node_id = "node-2";
  identity.cluster_id = std::string("cluster\0binary", 14);
  identity.partition_count = 64;
  identity.replication_factor = 3;
  identity.created_unix_ms = 1'700'000'000'123;
  return identity;
}

TEST_CASE("identity: a new environment has no identity") {
  temp_dir tmp;
  auto env = open_or_fail(options_in(tmp.path()));
  result<std::optional<node_identity>> loaded = load_identity(*env);
  REQUIRE(loaded.ok());
  CHECK_FALSE(loaded.value().has_value());
}

TEST_CASE("identity: save then load returns the same identity, also after a reopen") {
  temp_dir tmp;
  const node_identity identity = sample_identity();
  {
    auto env = open_or_fail(options_in(tmp.path()));
    REQUIRE(save_identity(*env, identity).ok());
    result<std::optional<node_identity>> loaded = load_identity(*env);
    REQUIRE(loaded.ok());
    REQUIRE(loaded.value().has_value());
    CHECK(*loaded.value() == identity);
  }
  auto env = open_or_fail(options_in(tmp.path()));
  result<std::optional<node_identity>> loaded = load_identity(*env);
  REQUIRE(loaded.ok());
  REQUIRE(loaded.value().has_value());
  CHECK(*loaded.value() == identity);

  node_identity replaced = identity;
  replaced.node_id = std::string(identity_id_bytes_max, 'n');
  REQUIRE(save_identity(*env, replaced).ok());
  CHECK(*load_identity(*env).value() == replaced);
}

TEST_CASE("identity: an invalid identity is rejected before anything is written") {
  temp_dir tmp;
  auto env = open_or_fail(options_in(tmp.path()));
  node_identity identity = sample_identity();
  identity.node_id.clear();
  CHECK(save_identity(*env, identity).code() == code::invalid_argument);
  identity = sample_identity();
  identity.cluster_id = std::string(identity_id_bytes_max + 1, 'c');
  CHECK(save_identity(*env, identity).message().find("cluster_id") != std::string::npos);
  identity = sample_identity();
  identity.partition_count = 0;
  CHECK(save_identity(*env, identity).code() == code::invalid_argument);
  identity = sample_identity();
  identity.replication_factor = 0;
  CHECK(save_identity(*env, identity).code() == code::invalid_argument);
  CHECK_FALSE(load_identity(*env).value().has_value());
}

TEST_CASE("identity: every truncation of a record is corruption") {
  const std::string record = encode_identity_record(sample_identity());
  CHECK(record.size() == identity_record_fixed_bytes + 6 + 14);
  for (std::size_t length = 0; length < record.size(); ++length) {
    CAPTURE(length);
    result<node_identity> decoded = decode_identity_record(record.substr(0, length));
    CHECK(decoded.status().code() == code::corruption);
  }
  CHECK(decode_identity_record(record + "x").status().code() == code::corruption);
  CHECK(decode_identity_record(record).ok());
}

TEST_CASE("identity: every single bit flip of a record is corruption") {
  const std::string record = encode_identity_record(sample_identity());
  for (std::size_t bit = 0; bit < record.size() * 8; ++bit) {
    CAPTURE(bit);
    std::string garbled = record;
    garbled[bit / 8] = static_cast<char>(garbled[bit / 8] ^ (1 << (bit % 8)));
    CHECK(decode_identity_record(garbled).status().code() == code::corruption);
  }
}

TEST_CASE("identity: a record with a valid checksum but bad fields is still corruption") {
  // Hand-built: version 1, node_id "n", cluster_id "", counts 1 and 1, with a correct crc.
  std::string record(1, '\x01');
  append_u32_be(record, 1);
  record += "n";
  append_u32_be(record, 0);
  append_u32_be(record, 1);
  append_u32_be(record, 1);
  append_u64_be(record, 5);
  append_u32_be(record, crc32(record));
  result<node_identity> decoded = decode_identity_record(record);
  CHECK(decoded.status().code() == code::corruption);
  CHECK(decoded.status().message().find("cluster_id") != std::string::npos);
}

TEST_CASE("identity: a garbled stored record is reported by load_identity as corruption") {
  temp_dir tmp;
  {
    auto env = open_or_fail(options_in(tmp.path()));
    REQUIRE(save_identity(*env, sample_identity()).ok());
  }
  std::string record = encode_identity_record(sample_identity());
  record[7] = static_cast<char>(record[7] ^ 0x40);
  test::raw_put(tmp.path(), "meta", meta_key_node_identity, record);
  {
    auto env = open_or_fail(options_in(tmp.path()));
    result<std::optional<node_identity>> loaded = load_identity(*env);
    CHECK(loaded.status().code() == code::corruption);
    CHECK(loaded.status().message().find(tmp.path()) != std::string::npos);
    MESSAGE(loaded.status().to_string());
  }
  test::raw_put(tmp.path(), "meta", meta_key_node_identity, "short");
  auto env = open_or_fail(options_in(tmp.path()));
  CHECK(load_identity(*env).status().code() == code::corruption);
}

}  // namespace
}  // namespace ck::storage
