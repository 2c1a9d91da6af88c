#include "runtime/cluster/partition_hash.hpp"

#include "runtime/base/assert.hpp"

#include <openssl/evp.h>

#include <charconv>

namespace ck::cluster {

namespace {

// MD5 through OpenSSL's EVP interface (the legacy MD5() call is deprecated in OpenSSL 3).
// MD5 is used for placement only, never for security. The algorithm is fetched once: an
// implicit fetch per call (EVP_md5()) costs a provider lookup on every key.
uint32_t md5_prefix_be(std::string_view key) {
  static EVP_MD* const md5 = EVP_MD_fetch(nullptr, "MD5", nullptr);
  CK_ASSERT(md5 != nullptr);
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int digest_size = 0;
  const int rc = EVP_Digest(key.data(), key.size(), digest, &digest_size, md5, nullptr);
  CK_ASSERT_EQ(rc, 1);
  CK_ASSERT_EQ(digest_size, 16u);
  return (uint32_t{digest[0]} << 24) | (uint32_t{digest[1]} << 16) |
         (uint32_t{digest[2]} << 8) | uint32_t{digest[3]};
}

}  // namespace

uint32_t partition_of(std::string_view key, uint32_t partition_count) {
  CK_ASSERT_GT(partition_count, 0u);
  return md5_prefix_be(key) % partition_count;
}

std::string partition_name(uint32_t index) {
  return "partition-" + std::to_string(index);
}

bool parse_partition_name(std::string_view text, uint32_t& index) {
  constexpr std::string_view prefix = "partition-";
  if (text.substr(0, prefix.size()) == prefix) {
    text.remove_prefix(prefix.size());
  }
  if (text.empty() || text.size() > 10) {
    return false;
  }
  const char* end = text.data() + text.size();
  auto [ptr, ec] = std::from_chars(text.data(), end, index);
  return ec == std::errc{} && ptr == end;
}

std::string format_partition_positions(const partition_positions& positions) {
  std::string out;
  for (const auto& [partition, index] : positions) {
    out += (out.empty() ? "" : ",") + std::to_string(partition) + ":" + std::to_string(index);
  }
  return out;
}

std::optional<partition_positions> parse_partition_positions(std::string_view text,
                                                            uint32_t partition_count) {
  partition_positions out;
  while (!text.empty()) {
    const size_t comma = text.find(',');
    const std::string_view item = text.substr(0, comma);
    text = comma == std::string_view::npos ? std::string_view{} : text.substr(comma + 1);
    const size_t colon = item.rfind(':');
    if (colon == std::string_view::npos) {
      return std::nullopt;
    }
    uint32_t partition = 0;
    uint64_t index = 0;
    const std::string_view number = item.substr(colon + 1);
    const char* end = number.data() + number.size();
    auto [ptr, ec] = std::from_chars(number.data(), end, index);
    if (!parse_partition_name(item.substr(0, colon), partition) ||
        partition >= partition_count || ec != std::errc{} || ptr != end) {
      return std::nullopt;
    }
    out[partition] = index;
  }
  return out;
}

}  // namespace ck::cluster
