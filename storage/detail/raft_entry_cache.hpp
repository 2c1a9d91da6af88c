#pragma once

// Internal: the in-memory tail of one group's log (storage/raft_log_store.hpp), so that the
// Raft core's frequent term() and entries() calls near the end of the log need no LMDB read.
//
// Invariant: the cached entries have consecutive indexes; together they hold at most
// entries_max entries and bytes_max bytes (raft::entry_bytes), except for pinned ones. The
// owner keeps them a suffix of the stored log (the last cached index is the last index) by
// mirroring every change.
//
// Pinning (the journal design, docs/performance.md session 15): entries written into a
// transaction that is not committed yet exist nowhere else a reader could find them, so
// pin_from(i) keeps every entry with an index >= i in the cache whatever the limits, until
// unpin() (the transaction committed) trims the cache to its limits again.
// Not thread-safe: the owning raft_group_view guards it with its mutex.

#include <cstdint>
#include <algorithm>
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
    if (entries_max_ == 0 && !pinned()) {
      return;
    }
    entries_.push_back(entry);
    bytes_ += raft::entry_bytes(entry);
    trim();
  }

  // Keeps the entries with indexes >= `index` (those cached now and those appended later) until
  // unpin(); a second call keeps the lower of the two bounds.
  void pin_from(raft::index_t index) noexcept { pinned_from_ = std::min(pinned_from_, index); }
  // Ends pinning and trims the cache to its limits.
  void unpin() noexcept {
    pinned_from_ = no_pin;
    trim();
  }
  bool pinned() const noexcept { return pinned_from_ != no_pin; }
  // The lowest pinned index (meaningful while pinned()).
  raft::index_t pinned_from() const noexcept { return pinned_from_; }

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
  static constexpr raft::index_t no_pin = ~raft::index_t{0};

  // Drops the oldest entries until both limits hold again or the oldest is pinned. Without a
  // pin this may drop everything (an entry alone over bytes_max, or entries_max 0).
  void trim() noexcept {
    while (!entries_.empty() && entries_.front().index < pinned_from_ &&
           (entries_.size() > entries_max_ || bytes_ > bytes_max_)) {
      pop_front();
    }
  }

  void pop_front() noexcept {
    bytes_ -= raft::entry_bytes(entries_.front());
    entries_.pop_front();
  }

  const uint32_t entries_max_;
  const uint64_t bytes_max_;
  std::deque<raft::entry> entries_;
  uint64_t bytes_ = 0;
  raft::index_t pinned_from_ = no_pin;
};

}  // namespace ck::storage::detail
