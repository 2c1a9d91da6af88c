// Goal: the encoders of storage/format.hpp produce the bytes drawn there and keys sort in
// (numeric partition, unsigned key bytes) order. Method: fixed vectors and pairwise comparisons.

#include "storage/format.hpp"

#include <string>
#include <vector>

#include <doctest/doctest.h>

namespace ck::storage {
namespace {

TEST_CASE("format: integers are written most significant byte first and read back") {
  std::string bytes;
  append_u32_be(bytes, 0x01020304u);
  append_u64_be(bytes, 0x0A0B0C0D0E0F1011ull);
  CHECK(bytes == std::string("\x01\x02\x03\x04\x0A\x0B\x0C\x0D\x0E\x0F\x10\x11", 12));
  CHECK(get_u32_be(bytes.data()) == 0x01020304u);
  CHECK(get_u64_be(bytes.data() + 4) == 0x0A0B0C0D0E0F1011ull);
  char max[8];
  put_u64_be(max, ~uint64_t{0});
  CHECK(get_u64_be(max) == ~uint64_t{0});
  put_u32_be(max, 0xFFFFFFFEu);
  CHECK(get_u32_be(max) == 0xFFFFFFFEu);
}

TEST_CASE("format: kv keys sort by numeric partition, then by key bytes as unsigned") {
  const std::vector<std::string> ordered = {
      kv_key(0, ""),
      kv_key(0, std::string("\0", 1)),
      kv_key(0, "a"),
      kv_key(0, "\x7f"),
      kv_key(0, "\x80"),
      kv_key(0, "\xff"),
      kv_key(1, ""),
      kv_key(255, "zzz"),
      kv_key(256, ""),
      kv_key(65536, "a"),
      kv_key(0xFFFFFFFFu, "\xff\xff"),
  };
  for (std::size_t i = 0; i + 1 < ordered.size(); ++i) {
    CAPTURE(i);
    CHECK(ordered[i] < ordered[i + 1]);  // std::string compares chars as unsigned
  }
}

TEST_CASE("format: kv_key_decode splits a stored key and rejects malformed ones") {
  const std::string stored = kv_key(258, std::string("k\0y", 3));
  CHECK(stored.size() == 7);
  const std::optional<kv_key_parts> parts = kv_key_decode(stored);
  REQUIRE(parts.has_value());
  CHECK(parts->partition == 258);
  CHECK(parts->user_key == std::string("k\0y", 3));
  CHECK_FALSE(kv_key_decode("abc").has_value());
  CHECK(kv_key_decode(std::string(4, '\0')).has_value());
  CHECK_FALSE(kv_key_decode(std::string(lmdb_key_bytes_max + 1, 'x')).has_value());
}

TEST_CASE("format: crc32 matches the IEEE check value") {
  CHECK(crc32("123456789") == 0xCBF43926u);
  CHECK(crc32("") == 0u);
}

TEST_CASE("format: database names are the frozen on-disk names") {
  CHECK(database_name(database::meta) == "meta");
  CHECK(database_name(database::kv) == "kv");
  CHECK(database_name_raft_log == "raft_log");
  CHECK(database_name_raft_state == "raft_state");
  CHECK(format_version == 1);
}

}  // namespace
}  // namespace ck::storage
