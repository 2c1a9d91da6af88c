// Goal: the log tail cache keeps consecutive entries within both limits, dropping the oldest
// first, and mirrors truncations and snapshot drops. Method: short fixed sequences.

#include "storage/detail/raft_entry_cache.hpp"

#include <string>

#include <doctest/doctest.h>

namespace ck::storage::detail {
namespace {

raft::entry make_entry(raft::index_t index, std::size_t data_bytes = 0) {
  raft::entry entry;
  entry.index = index;
  entry.term = 1 + index / 10;
  entry.data.assign(data_bytes, 'd');
  return entry;
}

TEST_CASE("raft_entry_cache: holds the newest entries within the entry limit") {
  raft_entry_cache cache(3, 1 << 20);
  CHECK(cache.empty());
  CHECK_FALSE(cache.contains(1));
  for (raft::index_t index = 5; index <= 9; ++index) {
    cache.append(make_entry(index));
  }
  CHECK(cache.size() == 3);
  CHECK(cache.first_index() == 7);
  CHECK(cache.last_index() == 9);
  CHECK(cache.at(8) == make_entry(8));
  CHECK(cache.bytes() == 3 * raft::entry_bytes(make_entry(1)));
  CHECK_FALSE(cache.contains(6));
  CHECK_FALSE(cache.contains(10));
}

TEST_CASE("raft_entry_cache: the byte limit drops the oldest, even the entry just appended") {
  const uint64_t entry_100 = raft::entry_bytes(make_entry(1, 100));
  raft_entry_cache cache(100, 2 * entry_100);
  cache.append(make_entry(1, 100));
  cache.append(make_entry(2, 100));
  cache.append(make_entry(3, 100));
  CHECK(cache.first_index() == 2);
  CHECK(cache.bytes() == 2 * entry_100);
  cache.append(make_entry(4, 1000));  // alone over the limit
  CHECK(cache.empty());
  CHECK(cache.bytes() == 0);
  cache.append(make_entry(5, 10));
  CHECK(cache.first_index() == 5);
}

TEST_CASE("raft_entry_cache: truncate_from and drop_through cut either end") {
  raft_entry_cache cache(10, 1 << 20);
  for (raft::index_t index = 1; index <= 8; ++index) {
    cache.append(make_entry(index));
  }
  cache.truncate_from(6);
  CHECK(cache.last_index() == 5);
  cache.append(make_entry(6, 7));
  CHECK(cache.at(6).data.size() == 7);
  cache.drop_through(2);
  CHECK(cache.first_index() == 3);
  cache.truncate_from(1);
  CHECK(cache.empty());
  CHECK(cache.bytes() == 0);
  cache.append(make_entry(40));
  cache.drop_through(40);
  CHECK(cache.empty());
}

TEST_CASE("raft_entry_cache: a zero entry limit caches nothing") {
  raft_entry_cache cache(0, 1 << 20);
  cache.append(make_entry(1));
  CHECK(cache.empty());
}

TEST_CASE("raft_entry_cache: pinned entries stay beyond the limits until unpinned") {
  raft_entry_cache cache(2, 1 << 20);
  for (raft::index_t index = 1; index <= 3; ++index) {
    cache.append(make_entry(index));
  }
  CHECK(cache.first_index() == 2);
  cache.pin_from(4);
  for (raft::index_t index = 4; index <= 7; ++index) {
    cache.append(make_entry(index));
  }
  // 2 and 3 are not pinned and go; 4..7 stay although the limit is 2.
  CHECK(cache.first_index() == 4);
  CHECK(cache.size() == 4);
  cache.pin_from(9);  // a higher bound changes nothing
  CHECK(cache.pinned_from() == 4);
  cache.truncate_from(6);  // a replaced suffix leaves, pinned or not
  cache.append(make_entry(6, 10));
  CHECK(cache.last_index() == 6);
  CHECK(cache.size() == 3);
  cache.unpin();
  CHECK_FALSE(cache.pinned());
  CHECK(cache.size() == 2);
  CHECK(cache.first_index() == 5);
}

TEST_CASE("raft_entry_cache: a cache of no entries still keeps pinned ones") {
  raft_entry_cache cache(0, 0);
  cache.append(make_entry(1));
  CHECK(cache.empty());
  cache.pin_from(2);
  cache.append(make_entry(2, 50));
  cache.append(make_entry(3, 50));
  CHECK(cache.size() == 2);
  cache.drop_through(2);  // a snapshot or compaction drops pinned entries too
  CHECK(cache.first_index() == 3);
  cache.unpin();
  CHECK(cache.empty());
}

}  // namespace
}  // namespace ck::storage::detail
