#pragma once

// Shared helpers of the kv_table tests: a std::map model ordered as kv_table.hpp promises, and a
// lister that walks every table_list page in one snapshot, checking each page's contract.

#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <doctest/doctest.h>

#include "storage/environment.hpp"
#include "storage/format.hpp"
#include "storage/table.hpp"

namespace ck::storage::test {

// The order kv_table.hpp promises, written from its words rather than from table_key(): partition
// numerically; keys of at most 506 bytes first, bytewise as unsigned; then longer keys by their
// SHA-256 digests compared as unsigned bytes.
struct stored_order {
  static std::string rank(const std::string& key) {
    if (key.size() <= table_inline_key_bytes_max) {
      return key;
    }
    const sha256_digest digest = sha256(key);
    return std::string(reinterpret_cast<const char*>(digest.data()), digest.size());
  }
  bool operator()(const std::pair<uint32_t, std::string>& a,
                  const std::pair<uint32_t, std::string>& b) const {
    if (a.first != b.first) {
      return a.first < b.first;
    }
    const bool a_long = a.second.size() > table_inline_key_bytes_max;
    const bool b_long = b.second.size() > table_inline_key_bytes_max;
    if (a_long != b_long) {
      return b_long;
    }
    return rank(a.second) < rank(b.second);  // std::string compares chars as unsigned
  }
};

// (partition, user key) -> user value, in the table's order.
using kv_model = std::map<std::pair<uint32_t, std::string>, std::string, stored_order>;

// `bytes` bytes that depend on `seed`, zero bytes included, so equal-length keys differ.
inline std::string patterned(std::size_t bytes, uint32_t seed) {
  std::string out(bytes, '\0');
  for (std::size_t i = 0; i < bytes; ++i) {
    out[i] = static_cast<char>((i * 31 + seed * 7 + seed / 251) % 251);
  }
  return out;
}

// Puts every entry of `entries` in one write transaction.
inline status put_all(environment& env, const kv_model& entries) {
  return env.write([&](write_txn& txn) {
    for (const auto& [where, value] : entries) {
      if (status put = table_put(txn, where.first, where.second, value); !put.ok()) {
        return put;
      }
    }
    return status::success();
  });
}

// The keys of `expected` (of `only_partition` when given), in order.
inline std::vector<std::pair<uint32_t, std::string>> model_keys(
    const kv_model& expected, std::optional<uint32_t> only_partition) {
  std::vector<std::pair<uint32_t, std::string>> keys;
  for (const auto& entry : expected) {
    if (!only_partition || entry.first.first == *only_partition) {
      keys.push_back(entry.first);
    }
  }
  return keys;
}

// Reads every key through table_list pages of `limit` in one snapshot, checking each page's contract.
inline std::vector<std::string> list_all(environment& env, std::optional<uint32_t> only_partition,
                                         std::size_t limit) {
  std::vector<std::string> seen;
  std::optional<table_cursor_position> after;
  result<read_txn> txn = env.begin_read();
  REQUIRE(txn.ok());
  for (int page_index = 0; page_index < 100'000; ++page_index) {
    result<table_page> page = table_list(txn.value(), only_partition, after, limit);
    REQUIRE_MESSAGE(page.ok(), page.status().to_string());
    CHECK(page.value().keys.size() <= limit);
    seen.insert(seen.end(), page.value().keys.begin(), page.value().keys.end());
    if (!page.value().next) {
      break;
    }
    CHECK(page.value().keys.size() == limit);
    CHECK(page.value().next->key == page.value().keys.back());
    CHECK((!only_partition || page.value().next->partition == *only_partition));
    after = page.value().next;
  }
  return seen;
}

}  // namespace ck::storage::test
