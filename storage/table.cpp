#include "storage/table.hpp"

#include <fmt/format.h>

#include <string>
#include <vector>

#include "runtime/base/assert.hpp"
#include "storage/detail/lmdb_ops.hpp"
#include "storage/environment.hpp"
#include "storage/format.hpp"

namespace ck::storage {

namespace {

status check_key(std::string_view key) {
  if (key.size() > table_user_key_bytes_max) {
    return status::invalid_argument(
        fmt::format("key has {} bytes, at most {}", key.size(), table_user_key_bytes_max));
  }
  return status::success();
}

status malformed_key(std::string_view stored, const std::string& dir) {
  return status::corruption(
      fmt::format("database \"kv\" in {} holds a malformed key of {} bytes", dir, stored.size()));
}

// Describes an entry table_entry_decode rejected by its partition, form byte and sizes, never by
// its bytes (they are a user's data).
status malformed_entry(std::string_view stored_key, std::size_t stored_value_bytes,
                       const std::string& dir) {
  if (stored_key.size() < table_key_header_bytes) {
    return malformed_key(stored_key, dir);
  }
  const auto form_byte = static_cast<uint8_t>(stored_key[table_partition_prefix_bytes]);
  return status::corruption(fmt::format(
      "database \"kv\" in {} holds a malformed entry of partition {}: key of {} bytes with form "
      "byte {}, value of {} bytes",
      dir, get_u32_be(stored_key.data()), stored_key.size(), unsigned{form_byte},
      stored_value_bytes));
}

template <class Txn>
result<std::optional<std::string>> table_get_in(Txn& txn, uint32_t partition, std::string_view key) {
  if (status valid = check_key(key); !valid.ok()) {
    return valid;
  }
  const std::string& dir = detail::txn_access::dir(txn);
  const std::string stored_key = table_key(partition, key);
  result<std::optional<std::string_view>> found = detail::get_view(
      detail::txn_access::handle(txn), detail::txn_access::dbi(txn, database::kv), stored_key,
      fmt::format("cannot read kv key of partition {} in {}", partition, dir));
  if (!found.ok()) {
    return found.status();
  }
  if (!found.value()) {
    return std::optional<std::string>();
  }
  // Decoding checks the hashed form's embedded key against the digest in the stored key; the
  // equality check below then only fails on a SHA-256 collision.
  const std::optional<table_entry_parts> entry = table_entry_decode(stored_key, *found.value());
  if (!entry || entry->user_key != key) {
    return malformed_entry(stored_key, found.value()->size(), dir);
  }
  CK_ASSERT_EQ(entry->partition, partition);
  return std::optional<std::string>(std::string(entry->user_value));
}

}  // namespace

result<std::optional<std::string>> table_get(read_txn& txn, uint32_t partition, std::string_view key) {
  return table_get_in(txn, partition, key);
}

result<std::optional<std::string>> table_get(write_txn& txn, uint32_t partition,
                                          std::string_view key) {
  return table_get_in(txn, partition, key);
}

status table_put(write_txn& txn, uint32_t partition, std::string_view key, std::string_view value) {
  if (status valid = check_key(key); !valid.ok()) {
    return valid;
  }
  if (value.size() > table_value_bytes_max) {
    return status::invalid_argument(
        fmt::format("value has {} bytes, at most {}", value.size(), table_value_bytes_max));
  }
  const std::string stored_key = table_key(partition, key);
  if (table_form_of(key.size()) == table_key_form::inline_key) {
    return detail::put(txn, database::kv, stored_key, value);
  }
  return detail::put_joined(txn, database::kv, stored_key, table_value_prefix(key), value);
}

result<bool> table_erase(write_txn& txn, uint32_t partition, std::string_view key) {
  if (status valid = check_key(key); !valid.ok()) {
    return valid;
  }
  return detail::erase(txn, database::kv, table_key(partition, key));
}

namespace {

// Where a table_list scan starts, and whether an exact match of `seek_key` must be skipped.
struct list_start {
  std::string seek_key;
  bool skip_equal = false;
  bool empty_range = false;  // `after` lies beyond the only partition asked for
};

list_start plan_list_start(const table_range& range,
                           const std::optional<table_cursor_position>& after) {
  if (!after || after->partition < range.first) {
    return list_start{table_partition_first_key(range.first), false, false};
  }
  if (after->partition > range.last) {
    return list_start{std::string(), false, true};
  }
  return list_start{table_key(after->partition, after->key), true, false};
}

}  // namespace

namespace {

// Walks the cursor from `start`, filling `page`. Returns the last LMDB return code, or a
// corruption status for a malformed key.
status list_scan(detail::cursor& cursor, const list_start& start, const table_range& range,
                 std::size_t limit, table_page& page,
                 const std::string& dir) {
  MDB_val key{};
  MDB_val value{};
  int rc = cursor.seek(start.seek_key, key, value);
  bool skip_equal = start.skip_equal;
  uint32_t last_partition = 0;
  // At most: one skipped exact match, `limit` keys, one key to learn that more remain.
  for (std::size_t step = 0; step < limit + 2 && rc == MDB_SUCCESS; ++step) {
    const std::string_view stored = detail::to_view(key);
    const std::optional<table_key_parts> parts = table_key_decode(stored);
    if (!parts) {
      return malformed_key(stored, dir);
    }
    // Partitions sort numerically: the first one past the range ends the page.
    if (parts->partition < range.first || parts->partition > range.last) {
      break;
    }
    if (skip_equal && stored == start.seek_key) {
      skip_equal = false;
      rc = cursor.next(key, value);
      continue;
    }
    skip_equal = false;
    if (page.keys.size() == limit) {
      CK_ASSERT(!page.keys.empty());
      page.next = table_cursor_position{last_partition, page.keys.back()};
      break;
    }
    // Only entries returned are decoded in full (their values read, long keys hashed), so a
    // damaged entry fails the page that would return it, not its neighbours' pages.
    const std::optional<table_entry_parts> entry = table_entry_decode(stored, detail::to_view(value));
    if (!entry) {
      return malformed_entry(stored, value.mv_size, dir);
    }
    CK_ASSERT_EQ(entry->partition, parts->partition);
    page.keys.emplace_back(entry->user_key);
    last_partition = entry->partition;
    rc = cursor.next(key, value);
  }
  if (rc != MDB_SUCCESS && rc != MDB_NOTFOUND) {
    return from_lmdb(rc, fmt::format("cannot list kv keys in {}", dir));
  }
  return status::success();
}

}  // namespace

result<table_page> table_list(read_txn& txn, std::optional<uint32_t> only_partition,
                        const std::optional<table_cursor_position>& after, std::size_t limit) {
  const table_range range = only_partition ? table_range{*only_partition, *only_partition}
                                              : table_range{0, table_staging_partition_flag - 1};
  return table_list(txn, range, after, limit);
}

namespace {

template <class Txn>
result<table_page> table_list_in(Txn& txn, const table_range& range,
                           const std::optional<table_cursor_position>& after, std::size_t limit) {
  CK_ASSERT_LE(range.first, range.last);
  if (limit == 0 || limit > table_list_limit_max) {
    return status::invalid_argument(
        fmt::format("list limit is {}, must be in 1..{}", limit, table_list_limit_max));
  }
  if (after) {
    if (status valid = check_key(after->key); !valid.ok()) {
      return valid;
    }
  }
  const std::string& dir = detail::txn_access::dir(txn);
  const list_start start = plan_list_start(range, after);
  table_page page;
  if (start.empty_range) {
    return page;
  }
  detail::cursor cursor;
  if (status opened =
          cursor.open(detail::txn_access::handle(txn), detail::txn_access::dbi(txn, database::kv),
                      fmt::format("cannot list kv keys in {}", dir));
      !opened.ok()) {
    return opened;
  }
  if (status scanned = list_scan(cursor, start, range, limit, page, dir); !scanned.ok()) {
    return scanned;
  }
  CK_ASSERT_LE(page.keys.size(), limit);
  CK_ASSERT(!page.next || page.keys.size() == limit);
  return page;
}

}  // namespace

result<table_page> table_list(read_txn& txn, const table_range& range,
                        const std::optional<table_cursor_position>& after, std::size_t limit) {
  return table_list_in(txn, range, after, limit);
}

result<table_page> table_list(write_txn& txn, const table_range& range,
                        const std::optional<table_cursor_position>& after, std::size_t limit) {
  return table_list_in(txn, range, after, limit);
}

namespace {

// Number of entries of database "kv", every partition (staging ones included), O(1).
result<uint64_t> stored_entries(MDB_txn* handle, MDB_dbi dbi, std::string_view what) {
  MDB_stat stat{};
  if (const int rc = mdb_stat(handle, dbi, &stat); rc != MDB_SUCCESS) {
    return from_lmdb(rc, what);
  }
  return uint64_t{stat.ms_entries};
}

// Number of entries from `first_key` on while their partition satisfies `in_range`, reading
// keys only; corruption for a malformed key. Bounded by `total`, the database's entry count.
template <class InRange>
result<uint64_t> count_from(MDB_txn* handle, MDB_dbi dbi, const std::string& first_key,
                            InRange in_range, uint64_t total, const std::string& what,
                            const std::string& dir) {
  detail::cursor cursor;
  if (status opened = cursor.open(handle, dbi, what); !opened.ok()) {
    return opened;
  }
  MDB_val key{};
  MDB_val value{};
  uint64_t count = 0;
  int rc = cursor.seek(first_key, key, value);
  // Bounded by the total: a range cannot hold more entries than the database.
  for (; rc == MDB_SUCCESS && count <= total; rc = cursor.next(key, value)) {
    const std::optional<table_key_parts> parts = table_key_decode(detail::to_view(key));
    if (!parts) {
      return malformed_key(detail::to_view(key), dir);
    }
    if (!in_range(parts->partition)) {
      break;
    }
    ++count;
  }
  if (rc != MDB_SUCCESS && rc != MDB_NOTFOUND) {
    return from_lmdb(rc, what);
  }
  CK_ASSERT_LE(count, total);
  return count;
}

}  // namespace

result<uint64_t> table_leaf_pages(write_txn& txn) {
  MDB_stat stat{};
  if (const int rc = mdb_stat(detail::txn_access::handle(txn),
                              detail::txn_access::dbi(txn, database::kv), &stat);
      rc != MDB_SUCCESS) {
    return from_lmdb(rc, fmt::format("cannot read the kv database's size in {}",
                                     detail::txn_access::dir(txn)));
  }
  return uint64_t{stat.ms_leaf_pages};
}

result<uint64_t> table_count(read_txn& txn) {
  const std::string& dir = detail::txn_access::dir(txn);
  const std::string what = fmt::format("cannot count kv entries in {}", dir);
  MDB_txn* handle = detail::txn_access::handle(txn);
  const MDB_dbi dbi = detail::txn_access::dbi(txn, database::kv);
  result<uint64_t> total = stored_entries(handle, dbi, what);
  if (!total.ok()) {
    return total;
  }
  // Staging partitions are the last keys of the database; normally there are none.
  result<uint64_t> staging = count_from(
      handle, dbi, table_partition_first_key(table_staging_partition_flag),
      [](uint32_t partition) { return partition >= table_staging_partition_flag; }, total.value(),
      what, dir);
  if (!staging.ok()) {
    return staging;
  }
  CK_ASSERT_LE(staging.value(), total.value());
  return total.value() - staging.value();
}

result<uint64_t> table_count_range(read_txn& txn, const table_range& range) {
  CK_ASSERT_LE(range.first, range.last);
  const std::string& dir = detail::txn_access::dir(txn);
  const std::string what = fmt::format("cannot count kv entries of partitions {}..{} in {}",
                                       range.first, range.last, dir);
  MDB_txn* handle = detail::txn_access::handle(txn);
  const MDB_dbi dbi = detail::txn_access::dbi(txn, database::kv);
  result<uint64_t> total = stored_entries(handle, dbi, what);
  if (!total.ok()) {
    return total;
  }
  if (range.first != 0 || range.last == UINT32_MAX) {
    return count_from(
        handle, dbi, table_partition_first_key(range.first),
        [&range](uint32_t found) { return found <= range.last; }, total.value(), what, dir);
  }
  // A range from partition 0 is counted as all entries minus those after it, so the common
  // case (the first table slot, nothing after it but staging partitions) stays O(1).
  result<uint64_t> after = count_from(
      handle, dbi, table_partition_first_key(range.last + 1), [](uint32_t) { return true; },
      total.value(), what, dir);
  if (!after.ok()) {
    return after;
  }
  CK_ASSERT_LE(after.value(), total.value());
  return total.value() - after.value();
}

result<uint64_t> table_count_partition(read_txn& txn, uint32_t partition) {
  const std::string& dir = detail::txn_access::dir(txn);
  const std::string what =
      fmt::format("cannot count kv entries of partition {} in {}", partition, dir);
  MDB_txn* handle = detail::txn_access::handle(txn);
  const MDB_dbi dbi = detail::txn_access::dbi(txn, database::kv);
  result<uint64_t> total = stored_entries(handle, dbi, what);
  if (!total.ok()) {
    return total;
  }
  return count_from(
      handle, dbi, table_partition_first_key(partition),
      [partition](uint32_t found) { return found == partition; }, total.value(), what, dir);
}

status table_erase_partition(write_txn& txn, uint32_t partition) {
  const std::string& dir = detail::txn_access::dir(txn);
  const std::string what = fmt::format("cannot erase partition {} in {}", partition, dir);
  MDB_stat stat{};
  MDB_txn* handle = detail::txn_access::handle(txn);
  const MDB_dbi dbi = detail::txn_access::dbi(txn, database::kv);
  if (int rc = mdb_stat(handle, dbi, &stat); rc != MDB_SUCCESS) {
    return from_lmdb(rc, what);
  }
  detail::cursor cursor;
  if (status opened = cursor.open(handle, dbi, what); !opened.ok()) {
    return opened;
  }
  MDB_val key{};
  MDB_val value{};
  uint64_t erased = 0;
  int rc = cursor.seek(table_partition_first_key(partition), key, value);
  // After a cursor delete LMDB leaves the cursor so that next() returns the following key.
  for (; rc == MDB_SUCCESS && erased <= stat.ms_entries; rc = cursor.next(key, value)) {
    const std::optional<table_key_parts> parts = table_key_decode(detail::to_view(key));
    if (!parts) {
      return malformed_key(detail::to_view(key), dir);
    }
    if (parts->partition != partition) {
      break;
    }
    rc = cursor.erase_current();
    if (rc != MDB_SUCCESS) {
      break;
    }
    ++erased;
  }
  if (rc != MDB_SUCCESS && rc != MDB_NOTFOUND) {
    status failure = from_lmdb(rc, what);
    detail::txn_access::record_failure(txn, failure);
    return failure;
  }
  CK_ASSERT_LE(erased, uint64_t{stat.ms_entries});
  return status::success();
}

namespace {

// table_move_partition copies at most this many entries, or about this many bytes (always at least
// one entry), out of the map before it writes them back under the new partition.
constexpr std::size_t move_batch_entries_max = 1'024;
constexpr std::size_t move_batch_bytes_max = std::size_t{4} << 20;

struct moved_entry {
  std::string key;  // the stored key under `from`
  std::string value;
};

// Copies the next batch of `from`'s entries (its first ones: earlier batches were deleted) into
// `batch`. Returns success (an empty batch when `from` is empty) or the failure, unrecorded.
status collect_move_batch(write_txn& txn, uint32_t from, std::vector<moved_entry>& batch,
                          const std::string& what) {
  batch.clear();
  const std::string& dir = detail::txn_access::dir(txn);
  detail::cursor cursor;
  if (status opened = cursor.open(detail::txn_access::handle(txn),
                                  detail::txn_access::dbi(txn, database::kv), what);
      !opened.ok()) {
    return opened;
  }
  MDB_val key{};
  MDB_val value{};
  std::size_t bytes = 0;
  int rc = cursor.seek(table_partition_first_key(from), key, value);
  for (; rc == MDB_SUCCESS && batch.size() < move_batch_entries_max && bytes < move_batch_bytes_max;
       rc = cursor.next(key, value)) {
    const std::string_view stored = detail::to_view(key);
    const std::optional<table_key_parts> parts = table_key_decode(stored);
    if (!parts) {
      return malformed_key(stored, dir);
    }
    if (parts->partition != from) {
      break;
    }
    batch.push_back(moved_entry{std::string(stored), std::string(detail::to_view(value))});
    bytes += key.mv_size + value.mv_size;
  }
  if (rc != MDB_SUCCESS && rc != MDB_NOTFOUND) {
    return from_lmdb(rc, what);
  }
  return status::success();
}

}  // namespace

status table_move_partition(write_txn& txn, uint32_t from, uint32_t to) {
  CK_ASSERT_NE(from, to);
  const std::string& dir = detail::txn_access::dir(txn);
  const std::string what =
      fmt::format("cannot move kv partition {} to partition {} in {}", from, to, dir);
  const auto fail = [&txn](status failure) {
    detail::txn_access::record_failure(txn, failure);
    return failure;
  };
  MDB_txn* handle = detail::txn_access::handle(txn);
  const MDB_dbi dbi = detail::txn_access::dbi(txn, database::kv);
  if (status erased = table_erase_partition(txn, to); !erased.ok()) {
    return fail(erased);
  }
  result<uint64_t> total = stored_entries(handle, dbi, what);
  if (!total.ok()) {
    return fail(total.status());
  }
  // Neither the partition id nor anything derived from it is inside the rest of a stored entry:
  // an inline body is the user key, a hashed body is SHA-256 of the user key alone, and a
  // hashed value embeds only the user key's length and bytes. So moving an entry rewrites the
  // 4-byte prefix of its key and keeps its value byte for byte.
  std::vector<moved_entry> batch;
  uint64_t moved = 0;
  // Each round moves at least one entry, and `from` holds at most `total` of them.
  for (uint64_t round = 0; round <= total.value(); ++round) {
    if (status collected = collect_move_batch(txn, from, batch, what); !collected.ok()) {
      return fail(collected);
    }
    if (batch.empty()) {
      CK_ASSERT_LE(moved, total.value());
      return status::success();
    }
    for (const moved_entry& entry : batch) {
      std::string new_key = entry.key;
      put_u32_be(new_key.data(), to);
      if (status put = detail::put(txn, database::kv, new_key, entry.value); !put.ok()) {
        return put;  // recorded by put
      }
      result<bool> erased = detail::erase(txn, database::kv, entry.key);
      if (!erased.ok()) {
        return erased.status();  // recorded by erase
      }
      CK_ASSERT(erased.value());
      ++moved;
    }
  }
  return fail(status::corruption(
      fmt::format("{}: partition {} did not empty after {} entries", what, from, moved)));
}

}  // namespace ck::storage
