// Goal: the encoders of storage/format.hpp produce the bytes drawn there, keys sort in
// (numeric partition, form, body) order, and the decoders reject every malformed layout the
// diagram rules out. Method: fixed vectors (SHA-256 ones from sha256sum), pairwise comparisons
// and hand-damaged entries.

#include "storage/format.hpp"

#include <optional>
#include <string>
#include <string_view>
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
      table_key(0, ""),
      table_key(0, std::string("\0", 1)),
      table_key(0, "a"),
      table_key(0, "\x7f"),
      table_key(0, "\x80"),
      table_key(0, "\xff"),
      table_key(1, ""),
      table_key(255, "zzz"),
      table_key(256, ""),
      table_key(65536, "a"),
      table_key(0xFFFFFFFFu, "\xff\xff"),
  };
  for (std::size_t i = 0; i + 1 < ordered.size(); ++i) {
    CAPTURE(i);
    CHECK(ordered[i] < ordered[i + 1]);  // std::string compares chars as unsigned
  }
}

// The 64 hex digits of `digest`, lower case.
std::string hex(std::string_view bytes) {
  static constexpr char digits[] = "0123456789abcdef";
  std::string out;
  for (const char byte : bytes) {
    out.push_back(digits[static_cast<uint8_t>(byte) >> 4]);
    out.push_back(digits[static_cast<uint8_t>(byte) & 0x0F]);
  }
  return out;
}

std::string as_bytes(const sha256_digest& digest) {
  return std::string(reinterpret_cast<const char*>(digest.data()), digest.size());
}

TEST_CASE("format: sha256 matches the reference vectors") {
  CHECK(hex(as_bytes(sha256("abc"))) ==
        "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  CHECK(hex(as_bytes(sha256(""))) ==
        "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
}

TEST_CASE("format: the key form switches from inline to hashed above 506 bytes") {
  CHECK(table_form_of(0) == table_key_form::inline_key);
  CHECK(table_form_of(table_inline_key_bytes_max) == table_key_form::inline_key);
  CHECK(table_form_of(table_inline_key_bytes_max + 1) == table_key_form::hashed_key);
  CHECK(table_form_of(table_user_key_bytes_max) == table_key_form::hashed_key);
  CHECK(table_inline_key_bytes_max == 506);
  CHECK(table_user_key_bytes_max == 65536);
}

TEST_CASE("format: an inline kv key is partition, form 0x00 and the user key") {
  CHECK(table_key(258, std::string("k\0y", 3)) == std::string("\x00\x00\x01\x02\x00k\0y", 8));
  CHECK(table_key(1, "") == std::string("\x00\x00\x00\x01\x00", 5));
  const std::string longest(table_inline_key_bytes_max, 'x');
  CHECK(table_key(1, longest).size() == lmdb_key_bytes_max);
  CHECK(table_value_prefix(longest).empty());
  CHECK(table_partition_first_key(258) == std::string("\x00\x00\x01\x02", 4));
}

TEST_CASE("format: a hashed kv key is partition, form 0x01 and SHA-256 of the user key") {
  const std::string user_key(507, 'a');
  const std::string stored = table_key(7, user_key);
  REQUIRE(stored.size() == 37);
  CHECK(stored.substr(0, 5) == std::string("\x00\x00\x00\x07\x01", 5));
  CHECK(hex(stored.substr(5)) ==
        "37c280a05a994659ea1740034954889fc6fd4539f99bc926e9f9bb956b1d5a61");
  const std::string prefix = table_value_prefix(user_key);
  REQUIRE(prefix.size() == 4 + user_key.size());
  CHECK(get_u32_be(prefix.data()) == 507);
  CHECK(prefix.substr(4) == user_key);
  CHECK(table_key(7, std::string(table_user_key_bytes_max, 'z')).size() == 37);
}

TEST_CASE("format: within a partition inline keys sort before hashed keys") {
  const std::vector<std::string> ordered = {
      table_partition_first_key(0),
      table_key(0, ""),
      table_key(0, std::string(table_inline_key_bytes_max, '\xff')),
      table_key(0, std::string(table_inline_key_bytes_max + 1, '\0')),
      table_partition_first_key(1),
      table_key(1, ""),
  };
  for (std::size_t i = 0; i + 1 < ordered.size(); ++i) {
    CAPTURE(i);
    CHECK(ordered[i] < ordered[i + 1]);
  }
  CHECK(table_key(0, std::string(table_user_key_bytes_max, '\xff')) < table_partition_first_key(1));
}

TEST_CASE("format: table_key_decode splits a stored key and rejects malformed ones") {
  const std::string inline_key = table_key(258, "k");  // decoded views point into it
  const std::optional<table_key_parts> inline_parts = table_key_decode(inline_key);
  REQUIRE(inline_parts.has_value());
  CHECK(inline_parts->partition == 258);
  CHECK(inline_parts->form == table_key_form::inline_key);
  CHECK(inline_parts->body == "k");
  const std::string hashed = table_key(9, std::string(600, 'h'));
  const std::optional<table_key_parts> hashed_parts = table_key_decode(hashed);
  REQUIRE(hashed_parts.has_value());
  CHECK(hashed_parts->partition == 9);
  CHECK(hashed_parts->form == table_key_form::hashed_key);
  CHECK(hashed_parts->body == hashed.substr(5));

  CHECK(table_key_decode(std::string(5, '\0')).has_value());        // partition 0, empty key
  CHECK_FALSE(table_key_decode(std::string(4, '\0')).has_value());  // no form byte
  CHECK_FALSE(table_key_decode("abc").has_value());
  CHECK_FALSE(table_key_decode(std::string("\0\0\0\0\x02k", 6)).has_value());  // unknown form
  CHECK_FALSE(table_key_decode(std::string("\0\0\0\0\xff", 5)).has_value());
  CHECK_FALSE(table_key_decode(std::string(lmdb_key_bytes_max + 1, '\0')).has_value());
  CHECK_FALSE(table_key_decode(hashed.substr(0, 36)).has_value());  // hashed body of 31 bytes
  CHECK_FALSE(table_key_decode(hashed + "x").has_value());          // hashed body of 33 bytes
  CHECK_FALSE(table_key_decode(hashed.substr(0, 5)).has_value());   // hashed, empty body
}

TEST_CASE("format: table_entry_decode yields the user key and value of both forms") {
  const std::string short_key = table_key(3, "key");  // decoded views point into it
  const std::optional<table_entry_parts> short_entry = table_entry_decode(short_key, "value");
  REQUIRE(short_entry.has_value());
  CHECK(short_entry->partition == 3);
  CHECK(short_entry->user_key == "key");
  CHECK(short_entry->user_value == "value");

  for (const std::size_t key_bytes : {std::size_t{507}, std::size_t{1024}, table_user_key_bytes_max}) {
    CAPTURE(key_bytes);
    std::string user_key(key_bytes, 'k');
    user_key[key_bytes / 2] = '\0';
    const std::string value = table_value_prefix(user_key) + std::string("v\0v", 3);
    const std::optional<table_entry_parts> entry = table_entry_decode(table_key(4, user_key), value);
    REQUIRE(entry.has_value());
    CHECK(entry->partition == 4);
    CHECK(entry->user_key == user_key);
    CHECK(entry->user_value == std::string("v\0v", 3));
  }
  const std::string user_key(700, 'e');
  const std::optional<table_entry_parts> empty_value =
      table_entry_decode(table_key(4, user_key), table_value_prefix(user_key));
  REQUIRE(empty_value.has_value());
  CHECK(empty_value->user_value.empty());
}

TEST_CASE("format: table_entry_decode rejects a hashed value that contradicts its key") {
  const std::string user_key(700, 'k');
  const std::string key = table_key(4, user_key);
  const std::string good = table_value_prefix(user_key) + "value";
  REQUIRE(table_entry_decode(key, good).has_value());

  CHECK_FALSE(table_entry_decode(key, "").has_value());                   // no length
  CHECK_FALSE(table_entry_decode(key, good.substr(0, 3)).has_value());    // partial length
  CHECK_FALSE(table_entry_decode(key, good.substr(0, 4)).has_value());    // no key bytes
  CHECK_FALSE(table_entry_decode(key, good.substr(0, 703)).has_value());  // truncated key

  std::string wrong_key = good;
  wrong_key[4 + 350] = 'x';  // same length, does not hash to the stored digest
  CHECK_FALSE(table_entry_decode(key, wrong_key).has_value());

  std::string short_length = good;
  put_u32_be(short_length.data(), 699);  // the key read would be a 699-byte prefix
  CHECK_FALSE(table_entry_decode(key, short_length).has_value());

  const std::string inline_sized(table_inline_key_bytes_max, 'k');
  std::string not_canonical;  // a key short enough for the inline form, stored hashed
  append_u32_be(not_canonical, static_cast<uint32_t>(inline_sized.size()));
  not_canonical += inline_sized;
  std::string forged_key = table_key(4, "");
  forged_key.back() = static_cast<char>(table_key_form::hashed_key);
  forged_key += as_bytes(sha256(inline_sized));
  REQUIRE(table_key_decode(forged_key).has_value());
  CHECK_FALSE(table_entry_decode(forged_key, not_canonical).has_value());

  std::string too_long = good;
  put_u32_be(too_long.data(), static_cast<uint32_t>(table_user_key_bytes_max + 1));
  CHECK_FALSE(table_entry_decode(key, too_long).has_value());
  put_u32_be(too_long.data(), 0xFFFFFFFFu);
  CHECK_FALSE(table_entry_decode(key, too_long).has_value());

  CHECK_FALSE(table_entry_decode(table_key(4, std::string(701, 'k')), good).has_value());  // other key
  CHECK_FALSE(table_entry_decode("abc", "value").has_value());
}

TEST_CASE("format: crc32 matches the IEEE check value") {
  CHECK(crc32("123456789") == 0xCBF43926u);
  CHECK(crc32("") == 0u);
}

TEST_CASE("format: crc32_extend continues a crc over more bytes") {
  CHECK(crc32_extend(crc32("12345"), "6789") == 0xCBF43926u);
  CHECK(crc32_extend(0, "123456789") == 0xCBF43926u);
  CHECK(crc32_extend(crc32("abc"), "") == crc32("abc"));
}

TEST_CASE("format: database names are the frozen on-disk names") {
  CHECK(database_name(database::meta) == "meta");
  CHECK(database_name(database::kv) == "kv");
  CHECK(database_name(database::raft_log) == "raft_log");
  CHECK(database_name(database::raft_state) == "raft_state");
  CHECK(database_name_raft_log == "raft_log");
  CHECK(database_name_raft_state == "raft_state");
  CHECK(format_version == 1);
}

TEST_CASE("format: raft keys are laid out as drawn and sort by (group, index) / (group, kind)") {
  CHECK(raft_log_key(0x01020304u, 0x0A0B0C0D0E0F1011ull) ==
        std::string("\x01\x02\x03\x04\x0A\x0B\x0C\x0D\x0E\x0F\x10\x11", 12));
  CHECK(raft_state_key(0x01020304u, raft_state_kind::snapshot_meta) ==
        std::string("\x01\x02\x03\x04\x02", 5));
  CHECK(raft_group_first_key(7) == std::string("\0\0\0\x07", 4));
  const std::vector<std::string> ordered = {
      raft_log_key(0, 1),
      raft_log_key(0, 255),
      raft_log_key(0, 256),
      raft_log_key(1, 1),
      raft_log_key(256, 1),
      raft_log_key(0xFFFFFFFFu, 1),
      raft_log_key(0xFFFFFFFFu, ~uint64_t{0}),
  };
  for (std::size_t i = 0; i + 1 < ordered.size(); ++i) {
    CAPTURE(i);
    CHECK(ordered[i] < ordered[i + 1]);
    CHECK(raft_group_first_key(get_u32_be(ordered[i].data())) <= ordered[i]);
  }
  const std::optional<raft_log_key_parts> parts = raft_log_key_decode(raft_log_key(9, 77));
  REQUIRE(parts.has_value());
  CHECK(parts->group == 9);
  CHECK(parts->index == 77);
  CHECK_FALSE(raft_log_key_decode(std::string(12, '\0')).has_value());  // index 0
  CHECK_FALSE(raft_log_key_decode(raft_log_key(9, 77) + "x").has_value());
  CHECK(raft_state_key_decode(raft_state_key(3, raft_state_kind::first_index))->kind ==
        raft_state_kind::first_index);
  CHECK_FALSE(raft_state_key_decode(std::string("\0\0\0\x03\x04", 5)).has_value());
  CHECK_FALSE(raft_state_key_decode(std::string("\0\0\0\x03\x00", 5)).has_value());
}

TEST_CASE("format: a raft entry record is term | type | crc | data and fails on any damage") {
  raft::entry entry;
  entry.index = 5;
  entry.term = 0x0102030405060708ull;
  entry.type = raft::entry_type::conf_change;
  entry.data = std::string("pay\0load", 8);
  const std::string key = raft_log_key(3, 5);
  const std::string header = raft_entry_header(3, entry);
  REQUIRE(header.size() == raft_entry_header_bytes);
  CHECK(header.substr(0, 9) == std::string("\x01\x02\x03\x04\x05\x06\x07\x08\x01", 9));
  CHECK(get_u32_be(header.data() + 9) == crc32(key + header.substr(0, 9) + entry.data));
  const std::string stored = header + entry.data;
  raft::entry decoded;
  REQUIRE(raft_entry_decode(key, stored, decoded));
  CHECK(decoded == entry);
  CHECK(raft_entry_term(key, stored) == entry.term);
  for (std::size_t i = 0; i < stored.size(); ++i) {  // every flipped bit is caught
    CAPTURE(i);
    std::string damaged = stored;
    damaged[i] = static_cast<char>(damaged[i] ^ 0x04);
    CHECK_FALSE(raft_entry_decode(key, damaged, decoded));
  }
  CHECK_FALSE(raft_entry_decode(raft_log_key(4, 5), stored, decoded));  // moved to another group
  CHECK_FALSE(raft_entry_decode(raft_log_key(3, 6), stored, decoded));  // or index
  CHECK_FALSE(raft_entry_decode(key, stored.substr(0, stored.size() - 1), decoded));
  CHECK_FALSE(raft_entry_decode(key, header.substr(0, 12), decoded));
  entry.data.clear();
  entry.type = raft::entry_type::normal;
  REQUIRE(raft_entry_decode(key, raft_entry_header(3, entry), decoded));
  CHECK(decoded == entry);
}

TEST_CASE("format: raft state records round-trip, have the drawn sizes and fail on damage") {
  const raft::hard_state hard{7, 3, 42};
  const std::string hard_record = raft_hard_state_encode(2, hard);
  CHECK(hard_record.size() == 28);
  CHECK(get_u64_be(hard_record.data() + 16) == 42);
  CHECK(raft_hard_state_decode(2, hard_record) == hard);
  CHECK_FALSE(raft_hard_state_decode(3, hard_record).has_value());
  CHECK_FALSE(raft_hard_state_decode(2, hard_record + "x").has_value());

  raft::snapshot_meta meta;
  meta.index = 100;
  meta.term = 9;
  meta.conf.voters = {1, 2, 3};
  meta.conf.learners = {0xFFFFFFFFFFull};
  const std::string meta_record = raft_snapshot_meta_encode(2, meta);
  CHECK(meta_record.size() == raft_snapshot_meta_fixed_bytes + 8 * 4);
  CHECK(get_u32_be(meta_record.data() + 16) == 3);
  CHECK(get_u32_be(meta_record.data() + 20 + 24) == 1);
  const std::optional<raft::snapshot_meta> decoded = raft_snapshot_meta_decode(2, meta_record);
  REQUIRE(decoded.has_value());
  CHECK(decoded->index == 100);
  CHECK(decoded->term == 9);
  CHECK(decoded->conf == meta.conf);
  CHECK_FALSE(raft_snapshot_meta_decode(1, meta_record).has_value());
  for (std::size_t i = 0; i < meta_record.size(); ++i) {
    CAPTURE(i);
    std::string damaged = meta_record;
    damaged[i] = static_cast<char>(damaged[i] ^ 0x40);
    CHECK_FALSE(raft_snapshot_meta_decode(2, damaged).has_value());
  }
  raft::snapshot_meta empty_conf;
  empty_conf.index = 1;
  CHECK(raft_snapshot_meta_encode(0, empty_conf).size() == raft_snapshot_meta_fixed_bytes);
  CHECK(raft_snapshot_meta_decode(0, raft_snapshot_meta_encode(0, empty_conf))->index == 1);

  const raft_first_index first{101, 9};
  const std::string first_record = raft_first_index_encode(2, first);
  CHECK(first_record.size() == 20);
  CHECK(raft_first_index_decode(2, first_record) == first);
  CHECK_FALSE(raft_first_index_decode(2, first_record.substr(0, 19)).has_value());
  CHECK_FALSE(raft_first_index_decode(5, first_record).has_value());
}

}  // namespace
}  // namespace ck::storage
