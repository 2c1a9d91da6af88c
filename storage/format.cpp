#include "storage/format.hpp"

#include <zlib.h>

#include <openssl/evp.h>
#include <openssl/sha.h>

#include <algorithm>
#include <array>

#include "runtime/base/assert.hpp"

namespace ck::storage {


std::string table_key(uint32_t partition, std::string_view user_key) {
  CK_ASSERT_LE(user_key.size(), table_user_key_bytes_max);
  const table_key_form form = table_form_of(user_key.size());
  std::string stored;
  stored.reserve(table_key_header_bytes + std::min(user_key.size(), table_inline_key_bytes_max));
  append_u32_be(stored, partition);
  stored.push_back(static_cast<char>(form));
  if (form == table_key_form::inline_key) {
    stored.append(user_key);
  } else {
    const sha256_digest digest = sha256(user_key);
    stored.append(reinterpret_cast<const char*>(digest.data()), digest.size());
    CK_ASSERT_EQ(stored.size(), table_key_header_bytes + table_hashed_body_bytes);
  }
  CK_ASSERT_LE(stored.size(), lmdb_key_bytes_max);
  return stored;
}

std::string table_partition_first_key(uint32_t partition) {
  std::string stored;
  append_u32_be(stored, partition);
  CK_ASSERT_EQ(stored.size(), table_partition_prefix_bytes);
  return stored;
}

std::string table_value_prefix(std::string_view user_key) {
  CK_ASSERT_LE(user_key.size(), table_user_key_bytes_max);
  std::string prefix;
  if (table_form_of(user_key.size()) == table_key_form::inline_key) {
    return prefix;
  }
  prefix.reserve(table_hashed_value_header_bytes + user_key.size());
  append_u32_be(prefix, static_cast<uint32_t>(user_key.size()));
  prefix.append(user_key);
  return prefix;
}

std::optional<table_key_parts> table_key_decode(std::string_view stored_key) noexcept {
  if (stored_key.size() < table_key_header_bytes || stored_key.size() > lmdb_key_bytes_max) {
    return std::nullopt;
  }
  const uint32_t partition = get_u32_be(stored_key.data());
  const auto form_byte = static_cast<uint8_t>(stored_key[table_partition_prefix_bytes]);
  const std::string_view body = stored_key.substr(table_key_header_bytes);
  if (form_byte == static_cast<uint8_t>(table_key_form::inline_key)) {
    CK_ASSERT_LE(body.size(), table_inline_key_bytes_max);  // implied by the size check
    return table_key_parts{partition, table_key_form::inline_key, body};
  }
  if (form_byte == static_cast<uint8_t>(table_key_form::hashed_key) &&
      body.size() == table_hashed_body_bytes) {
    return table_key_parts{partition, table_key_form::hashed_key, body};
  }
  return std::nullopt;
}

namespace {

// The user key and value of a hashed entry, or nullopt when its value contradicts the layout.
std::optional<table_entry_parts> table_entry_decode_hashed(const table_key_parts& key,
                                                     std::string_view stored_value) noexcept {
  if (stored_value.size() < table_hashed_value_header_bytes) {
    return std::nullopt;
  }
  const std::size_t user_key_bytes = get_u32_be(stored_value.data());
  if (user_key_bytes <= table_inline_key_bytes_max || user_key_bytes > table_user_key_bytes_max) {
    return std::nullopt;
  }
  if (stored_value.size() - table_hashed_value_header_bytes < user_key_bytes) {
    return std::nullopt;
  }
  const std::string_view user_key =
      stored_value.substr(table_hashed_value_header_bytes, user_key_bytes);
  const sha256_digest digest = sha256(user_key);
  CK_ASSERT_EQ(key.body.size(), digest.size());
  if (key.body != std::string_view(reinterpret_cast<const char*>(digest.data()), digest.size())) {
    return std::nullopt;
  }
  return table_entry_parts{key.partition, user_key,
                        stored_value.substr(table_hashed_value_header_bytes + user_key_bytes)};
}

}  // namespace

std::optional<table_entry_parts> table_entry_decode(std::string_view stored_key,
                                              std::string_view stored_value) noexcept {
  const std::optional<table_key_parts> key = table_key_decode(stored_key);
  if (!key) {
    return std::nullopt;
  }
  if (key->form == table_key_form::inline_key) {
    return table_entry_parts{key->partition, key->body, stored_value};
  }
  return table_entry_decode_hashed(*key, stored_value);
}

uint32_t crc32(std::string_view bytes) noexcept { return crc32_extend(0, bytes); }

// zlib's CRC-32 is the same function (IEEE, reflected, pre- and post-inverted, so records
// written by the byte-wise table version read back unchanged) at several times the speed: a
// byte-wise table was a fifth of a joining node's CPU, checksumming the log it receives.
uint32_t crc32_extend(uint32_t crc, std::string_view bytes) noexcept {
  uLong c = crc;
  const auto* data = reinterpret_cast<const Bytef*>(bytes.data());
  size_t left = bytes.size();
  while (left > 0) {  // zlib takes a uInt length
    const auto step = static_cast<uInt>(std::min<size_t>(left, 1u << 30));
    c = ::crc32(c, data, step);
    data += step;
    left -= step;
  }
  return static_cast<uint32_t>(c);
}

namespace {

// The SHA-256 implementation, fetched from the default provider once per process (a fetch per
// call costs a provider lookup and a lock). Never freed: it lives as long as the process.
const EVP_MD* sha256_md() noexcept {
  static const EVP_MD* const md = EVP_MD_fetch(nullptr, "SHA256", nullptr);
  CK_ASSERT(md != nullptr);
  return md;
}

}  // namespace

sha256_digest sha256(std::string_view bytes) noexcept {
  static_assert(table_hashed_body_bytes == SHA256_DIGEST_LENGTH);
  sha256_digest digest{};
  unsigned int digest_bytes = 0;
  const int ok =
      EVP_Digest(bytes.data(), bytes.size(), digest.data(), &digest_bytes, sha256_md(), nullptr);
  CK_ASSERT_EQ(ok, 1);
  CK_ASSERT_EQ(digest_bytes, unsigned{SHA256_DIGEST_LENGTH});
  return digest;
}

}  // namespace ck::storage
