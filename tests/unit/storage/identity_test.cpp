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
  identity.meta_raft_id = 3;
  return identity;
}

// A hand-built record with a correct crc: `version`, the fields of `identity`, and meta_raft_id
// only when `with_meta_raft_id` (version 1 has none).
std::string build_record(uint8_t version, const node_identity& identity, bool with_meta_raft_id) {
  std::string record(1, static_cast<char>(version));
  append_u32_be(record, static_cast<uint32_t>(identity.node_id.size()));
  record += identity.node_id;
  append_u32_be(record, static_cast<uint32_t>(identity.cluster_id.size()));
  record += identity.cluster_id;
  append_u32_be(record, identity.partition_count);
  append_u32_be(record, identity.replication_factor);
  append_u64_be(record, identity.created_unix_ms);
  if (with_meta_raft_id) {
    append_u64_be(record, identity.meta_raft_id);
  }
  append_u32_be(record, crc32(record));
  return record;
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
  identity = sample_identity();
  identity.meta_raft_id = 0;
  CHECK(save_identity(*env, identity).message().find("meta_raft_id") != std::string::npos);
  CHECK_FALSE(load_identity(*env).value().has_value());
}

TEST_CASE("identity: validate rejects meta_raft_id 0, the default, and accepts 1") {
  node_identity identity = sample_identity();
  identity.meta_raft_id = 0;
  const status rejected = validate(identity);
  CHECK(rejected.code() == code::invalid_argument);
  CHECK(rejected.message() == "node_identity.meta_raft_id must be at least 1");
  CHECK(validate(node_identity{}).code() == code::invalid_argument);
  identity.meta_raft_id = 1;
  CHECK(validate(identity).ok());
}

TEST_CASE("identity: a record is written as version 2, meta_raft_id big-endian before the crc") {
  node_identity identity = sample_identity();
  identity.meta_raft_id = 0x0102030405060708;
  const std::string record = encode_identity_record(identity);
  CHECK(static_cast<uint8_t>(record[0]) == identity_record_version);
  CHECK(identity_record_version == 2);
  CHECK(record == build_record(2, identity, true));
  const std::size_t id_offset = record.size() - 4 - 8;
  CHECK(record.substr(id_offset, 8) == std::string("\x01\x02\x03\x04\x05\x06\x07\x08", 8));
  result<node_identity> decoded = decode_identity_record(record);
  REQUIRE(decoded.ok());
  CHECK(decoded.value() == identity);
  identity.meta_raft_id = UINT64_MAX;
  CHECK(decode_identity_record(encode_identity_record(identity)).value() == identity);
}

TEST_CASE("identity: a version 1 record decodes with meta_raft_id 1, the meta group's founder") {
  node_identity identity = sample_identity();
  const std::string record = build_record(1, identity, false);
  CHECK(record.size() == identity_record_v1_fixed_bytes + 6 + 14);
  result<node_identity> decoded = decode_identity_record(record);
  REQUIRE(decoded.ok());
  identity.meta_raft_id = 1;
  CHECK(decoded.value() == identity);
}

TEST_CASE("identity: a stored version 1 record loads, and saving it again writes version 2") {
  temp_dir tmp;
  {
    auto env = open_or_fail(options_in(tmp.path()));  // creates the environment
  }
  node_identity identity = sample_identity();
  test::raw_put(tmp.path(), "meta", meta_key_node_identity, build_record(1, identity, false));
  auto env = open_or_fail(options_in(tmp.path()));
  result<std::optional<node_identity>> loaded = load_identity(*env);
  REQUIRE(loaded.ok());
  REQUIRE(loaded.value().has_value());
  CHECK(loaded.value()->meta_raft_id == 1);
  REQUIRE(save_identity(*env, *loaded.value()).ok());
  CHECK(*load_identity(*env).value() == *loaded.value());
}

TEST_CASE("identity: a record whose length does not match its version is corruption") {
  const node_identity identity = sample_identity();
  // Version 2 without meta_raft_id (a short v2) and version 1 with it, both with a correct crc.
  for (const std::string& record :
       {build_record(2, identity, false), build_record(1, identity, true)}) {
    result<node_identity> decoded = decode_identity_record(record);
    CHECK(decoded.status().code() == code::corruption);
    CHECK(decoded.status().message().find("inconsistent lengths") != std::string::npos);
  }
}

TEST_CASE("identity: a record of an unknown version is corruption naming the version") {
  for (uint8_t version : {uint8_t{0}, uint8_t{3}, uint8_t{255}}) {
    CAPTURE(version);
    result<node_identity> decoded =
        decode_identity_record(build_record(version, sample_identity(), true));
    CHECK(decoded.status().code() == code::corruption);
    CHECK(decoded.status().message().find("has version " + std::to_string(version)) !=
          std::string::npos);
  }
}

TEST_CASE("identity: a version 2 record holding meta_raft_id 0 is corruption") {
  node_identity identity = sample_identity();
  identity.meta_raft_id = 0;
  result<node_identity> decoded = decode_identity_record(build_record(2, identity, true));
  CHECK(decoded.status().code() == code::corruption);
  CHECK(decoded.status().message().find("meta_raft_id") != std::string::npos);
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
  // Hand-built in both versions: node_id "n", cluster_id "", counts 1 and 1, a correct crc.
  node_identity identity;
  identity.node_id = "n";
  identity.partition_count = 1;
  identity.replication_factor = 1;
  identity.created_unix_ms = 5;
  identity.meta_raft_id = 1;
  for (const std::string& record :
       {build_record(1, identity, false), build_record(2, identity, true)}) {
    result<node_identity> decoded = decode_identity_record(record);
    CHECK(decoded.status().code() == code::corruption);
    CHECK(decoded.status().message().find("cluster_id") != std::string::npos);
  }
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
