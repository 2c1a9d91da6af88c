#pragma once

// Internal: the in-memory tail of one group's log (storage/raft_log_store.hpp), so that the
// Raft core's frequent term() and entries() calls near the end of the log need no LMDB read.
//
// Invariant: the cached entries have consecutive indexes; together they hold at most
// entries_max entries and bytes_max bytes (raft::entry_bytes). The owner keeps them a suffix of
// the stored log (the last cached index is the last index) by mirroring every change.
// Not thread-safe: the owning raft_group_view guards it with its mutex.

#include <cstdint>
#include <deque>

#include "runtime/raft/types.hpp"
#include "runtime/base/assert.hpp"

namespace ck::storage::detail {

class raft_entry_cache {
 public:
  raft_entry_cache(uint32_t entries_max, uint64_t bytes_max) noexcept
      : entries_max_(entries_max), bytes_max_(bytes_max) {}

  bool empty() const noexcept { return entries_.empty(); }
  std::size_t size() const noexcept { return entries_.size(); }
  uint64_t bytes() const noexcept { return bytes_; }
  // Requires: !empty().
  raft::index_t first_index() const noexcept {
    CK_ASSERT(!empty());
    return entries_.front().index;
  }
  raft::index_t last_index() const noexcept {
    CK_ASSERT(!empty());
    return entries_.back().index;
  }
  bool contains(raft::index_t index) const noexcept {
    return !empty() && index >= first_index() && index <= last_index();
  }
  // Requires: contains(index).
  const raft::entry& at(raft::index_t index) const noexcept {
    CK_ASSERT(contains(index));
    return entries_[static_cast<std::size_t>(index - first_index())];
  }

  // Appends `entry`, then drops the oldest entries until both limits hold again (possibly
  // `entry` itself, when it alone exceeds bytes_max). Requires: empty() or entry.index ==
  // last_index() + 1.
  void append(const raft::entry& entry) {
    if (!empty()) {
      CK_ASSERT_EQ(entry.index, last_index() + 1);
    }
    if (entries_max_ == 0) {
      return;
    }
    entries_.push_back(entry);
    bytes_ += raft::entry_bytes(entry);
    while (!entries_.empty() && (entries_.size() > entries_max_ || bytes_ > bytes_max_)) {
      pop_front();
    }
  }

  // Drops every entry with an index >= `index`.
  void truncate_from(raft::index_t index) noexcept {
    while (!entries_.empty() && entries_.back().index >= index) {
      bytes_ -= raft::entry_bytes(entries_.back());
      entries_.pop_back();
    }
  }

  // Drops every entry with an index <= `index`.
  void drop_through(raft::index_t index) noexcept {
    while (!entries_.empty() && entries_.front().index <= index) {
      pop_front();
    }
  }

  void clear() noexcept {
    entries_.clear();
    bytes_ = 0;
  }

 private:
  void pop_front() noexcept {
    bytes_ -= raft::entry_bytes(entries_.front());
    entries_.pop_front();
  }

  const uint32_t entries_max_;
  const uint64_t bytes_max_;
  std::deque<raft::entry> entries_;
  uint64_t bytes_ = 0;
};

}  // namespace ck::storage::detail
