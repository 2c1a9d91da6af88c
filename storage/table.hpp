#pragma once

// The KV data of the partitions hosted on this node (database "kv", key layout in
// storage/format.hpp). Every function works inside a caller-provided transaction, so several
// partitions' writes can share one commit (one fsync per storage flush).
//
// Keys and values are bytes (any byte, 0 included); a key has 0..table_user_key_bytes_max (64 KiB)
// bytes. Order is the stored order (partition, form, body) of storage/format.hpp: partitions
// numerically; within a partition, first the keys of at most table_inline_key_bytes_max (506)
// bytes, bytewise as unsigned, then the longer keys in the order of their SHA-256 digests. That
// order is total and the same in every call and process (so paging is exact), but not bytewise
// for long keys: callers must not assume a long key sorts where its bytes would put it.
// Staging partitions (table_staging_partition(p) in storage/format.hpp, ids with the top bit set)
// hold a snapshot being received for partition p. They are ordinary partitions to every call
// that names a partition, but invisible to table_list over all partitions and to table_count;
// table_move_partition swaps one in over p.
// Threads: whichever thread currently uses the transaction.

#include <cstddef>
#include <cmath>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "storage/status.hpp"

namespace ck::storage {

class read_txn;
class write_txn;

// Longest page table_list() returns; bounds the work and memory of one call.
inline constexpr std::size_t table_list_limit_max = 10'000;

// Returns a copy of the value of (partition, key); nullopt when absent; invalid_argument when
// key is longer than table_user_key_bytes_max; corruption when the stored entry is malformed (for a
// long key: its embedded key is truncated or does not hash to the stored digest); io_error.
// Requires: txn.active(). The write_txn overload sees that transaction's own writes.
result<std::optional<std::string>> table_get(read_txn& txn, uint32_t partition, std::string_view key);
result<std::optional<std::string>> table_get(write_txn& txn, uint32_t partition, std::string_view key);

// Sets (partition, key) to value, replacing any old value.
// Returns success (visible to later transactions once txn commits); invalid_argument when the
// key exceeds table_user_key_bytes_max or the value table_value_bytes_max (txn stays usable);
// map_full (txn is spoiled: abort and retry in a larger map; environment::write does this);
// io_error. Requires: txn.active().
status table_put(write_txn& txn, uint32_t partition, std::string_view key, std::string_view value);

// Deletes (partition, key). Returns true if it existed, false if not; invalid_argument for an
// oversized key; other failures spoil txn as for table_put. Requires: txn.active().
result<bool> table_erase(write_txn& txn, uint32_t partition, std::string_view key);

// A place in the stored order, named by a user key (short or long): table_list encodes it exactly
// as table_put encodes keys, so a page resumes right after it in either form.
struct table_cursor_position {
  uint32_t partition = 0;
  std::string key;

  friend bool operator==(const table_cursor_position& a, const table_cursor_position& b) {
    return a.partition == b.partition && a.key == b.key;
  }
};

// The partitions first..last (inclusive), for listing and counting several at once.
struct table_range {
  uint32_t first = 0;
  uint32_t last = 0;
};

struct table_page {
  std::vector<std::string> keys;
  // Set iff more keys remain after this page (within only_partition when given): the position
  // of the last key returned, to pass as `after` for the next page.
  std::optional<table_cursor_position> next;
};

// Lists keys in the stored order (see the top of this file), strictly after `after` (from the
// start when nullopt), only those of `only_partition` when given, at most `limit` of them.
// Without only_partition, only user partitions (< table_staging_partition_flag) are listed: the
// scan ends at the first staging key, and `next` is nullopt when no user key remains. With
// only_partition, that partition is listed whatever its id, a staging one included.
// `after` need not exist any more: the page starts where it would sort.
// Returns the page; invalid_argument when limit is 0 or above table_list_limit_max, or after->key
// is longer than table_user_key_bytes_max; corruption when a stored entry is malformed (checked as
// for table_get, the embedded key of a long key included).
// Requires: txn.active(). Pages taken from different transactions may miss keys written in
// between but never return a key twice or out of order.
result<table_page> table_list(read_txn& txn, std::optional<uint32_t> only_partition,
                        const std::optional<table_cursor_position>& after, std::size_t limit);

// The same over the partitions of `range` (staging ones too when the range includes them):
// only_partition p is the range {p, p}, all user partitions {0, table_staging_partition_flag - 1}.
// Requires: range.first <= range.last.
result<table_page> table_list(read_txn& txn, const table_range& range,
                        const std::optional<table_cursor_position>& after, std::size_t limit);
result<table_page> table_list(write_txn& txn, const table_range& range,
                        const std::optional<table_cursor_position>& after, std::size_t limit);

// Number of entries of the partitions of `range`. A range starting at 0 costs O(1) plus the
// entries sorting after it (none but staging ones when it is the first table slot of
// runtime/node's state machines); another range is scanned, O(its entries), keys only.
// Returns corruption for a malformed stored key; io_error. Requires: range.first <= range.last.
result<uint64_t> table_count_range(read_txn& txn, const table_range& range);

// Number of entries of all user partitions, staging partitions excluded: the database's entry
// count (mdb_stat, O(1)) minus the entries of staging partitions, counted by a range scan over
// them (they sort last), so O(1) plus O(staging entries), keys only. Returns corruption for a
// malformed stored key in the staging range; io_error. Requires: txn.active().
result<uint64_t> table_count(read_txn& txn);

// Leaf pages of the database all tables share, as `txn` sees it (mdb_stat, O(1)): about how
// many pages a transaction that changes keys spread over every table may dirty at most.
// Requires: txn.active().
result<uint64_t> table_leaf_pages(write_txn& txn);

// About how many of `leaf_pages` leaves `changes` changes of random keys dirty (each leaf is
// missed by every change with probability 1 - 1/leaf_pages): `changes` when the leaves are
// not known (0).
inline uint64_t table_dirty_pages_estimate(uint64_t changes, uint64_t leaf_pages) {
  if (leaf_pages == 0) {
    return changes;
  }
  const double leaves = static_cast<double>(leaf_pages);
  return static_cast<uint64_t>(leaves * (1.0 - std::exp(-static_cast<double>(changes) / leaves)));
}

// Number of entries of one partition (a staging one included); a range scan, O(entries of the partition), reading keys
// only. Returns corruption for a malformed stored key. Requires: txn.active().
result<uint64_t> table_count_partition(read_txn& txn, uint32_t partition);

// Deletes every entry of `partition`, short and long keys alike (after the partition moved
// away); checks stored keys as table_count_partition does. A large partition makes
// a large transaction: run it through environment::write so map_full is retried.
// Returns success; failures spoil txn as for table_put. Requires: txn.active().
status table_erase_partition(write_txn& txn, uint32_t partition);

// Replaces the whole content of partition `to` with that of `from`, leaving `from` empty: first
// erases every entry of `to` (as table_erase_partition), then moves every entry of `from`, short
// and long keys alike, to the same user key under `to` with its value unchanged. Used to swap a
// received snapshot in: table_move_partition(txn, table_staging_partition(p), p).
// Cost: O((entries of to + entries of from) * log N) LMDB operations inside txn, which writes
// every moved key and value once more (a large partition makes a large transaction: run it
// through environment::write so map_full is retried). Memory: entries are copied out in
// batches of at most 1,024 entries or about 4 MiB (at least one entry, so up to one largest
// value more). Checks stored keys as table_count_partition does; values are copied as stored.
// Returns success; corruption for a malformed key; any failure spoils txn as for table_put (part
// of the move may have been written). Requires: txn.active(), from != to.
status table_move_partition(write_txn& txn, uint32_t from, uint32_t to);

}  // namespace ck::storage
