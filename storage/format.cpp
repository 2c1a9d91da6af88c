#include "storage/format.hpp"

#include <array>

#include "storage/detail/assert.hpp"

namespace ck::storage {

void put_u32_be(char* out, uint32_t value) noexcept {
  for (int i = 3; i >= 0; --i) {
    out[i] = static_cast<char>(value & 0xFFu);
    value >>= 8;
  }
}

void put_u64_be(char* out, uint64_t value) noexcept {
  for (int i = 7; i >= 0; --i) {
    out[i] = static_cast<char>(value & 0xFFu);
    value >>= 8;
  }
}

uint32_t get_u32_be(const char* in) noexcept {
  uint32_t value = 0;
  for (int i = 0; i < 4; ++i) {
    value = (value << 8) | static_cast<uint8_t>(in[i]);
  }
  return value;
}

uint64_t get_u64_be(const char* in) noexcept {
  uint64_t value = 0;
  for (int i = 0; i < 8; ++i) {
    value = (value << 8) | static_cast<uint8_t>(in[i]);
  }
  return value;
}

void append_u32_be(std::string& out, uint32_t value) {
  char bytes[4];
  put_u32_be(bytes, value);
  out.append(bytes, sizeof bytes);
}

void append_u64_be(std::string& out, uint64_t value) {
  char bytes[8];
  put_u64_be(bytes, value);
  out.append(bytes, sizeof bytes);
}

std::string kv_key(uint32_t partition, std::string_view user_key) {
  CK_STORAGE_ASSERT_LE(user_key.size(), kv_user_key_bytes_max);
  std::string stored;
  stored.reserve(kv_partition_prefix_bytes + user_key.size());
  append_u32_be(stored, partition);
  stored.append(user_key);
  CK_STORAGE_ASSERT_LE(stored.size(), lmdb_key_bytes_max);
  return stored;
}

std::optional<kv_key_parts> kv_key_decode(std::string_view stored) noexcept {
  if (stored.size() < kv_partition_prefix_bytes) {
    return std::nullopt;
  }
  if (stored.size() > lmdb_key_bytes_max) {
    return std::nullopt;
  }
  return kv_key_parts{get_u32_be(stored.data()), stored.substr(kv_partition_prefix_bytes)};
}

namespace {

constexpr std::array<uint32_t, 256> crc32_table() {
  std::array<uint32_t, 256> table{};
  for (uint32_t n = 0; n < 256; ++n) {
    uint32_t c = n;
    for (int bit = 0; bit < 8; ++bit) {
      c = (c & 1u) != 0 ? 0xEDB88320u ^ (c >> 1) : c >> 1;
    }
    table[n] = c;
  }
  return table;
}

constexpr std::array<uint32_t, 256> crc32_lookup = crc32_table();

}  // namespace

uint32_t crc32(std::string_view bytes) noexcept {
  uint32_t c = 0xFFFFFFFFu;
  for (char byte : bytes) {
    c = crc32_lookup[(c ^ static_cast<uint8_t>(byte)) & 0xFFu] ^ (c >> 8);
  }
  return c ^ 0xFFFFFFFFu;
}

}  // namespace ck::storage
