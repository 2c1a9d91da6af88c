#include "runtime/raft/unstable_log.hpp"

#include "runtime/base/assert.hpp"

#include <utility>

namespace ck::raft {

std::optional<index_t> unstable_log::maybe_first_index() const {
  if (snapshot_) {
    return snapshot_->meta.index + 1;
  }
  return std::nullopt;
}

std::optional<index_t> unstable_log::maybe_last_index() const {
  if (!entries_.empty()) {
    return offset_ + entries_.size() - 1;
  }
  if (snapshot_) {
    return snapshot_->meta.index;
  }
  return std::nullopt;
}

std::optional<term_t> unstable_log::maybe_term(index_t i) const {
  if (i < offset_) {
    if (snapshot_ && snapshot_->meta.index == i) {
      return snapshot_->meta.term;
    }
    return std::nullopt;
  }
  const index_t count = entries_.size();
  if (i - offset_ >= count) {
    return std::nullopt;
  }
  return entries_[static_cast<size_t>(i - offset_)].term;
}

void unstable_log::truncate_and_append(std::vector<entry>::const_iterator begin,
                                       std::vector<entry>::const_iterator end) {
  CK_ASSERT(begin != end);
  const index_t after = begin->index;
  CK_ASSERT_LE(after, offset_ + entries_.size());
  // Contiguous, terms never decreasing: checked here, where the tail changes, so that
  // check_invariants() stays O(1).
  for (auto it = begin + 1; it != end; ++it) {
    CK_ASSERT_EQ(it->index, (it - 1)->index + 1);
    CK_ASSERT_LE((it - 1)->term, it->term);
  }
  if (after <= offset_) {
    // Replaces the whole tail and, logically, the stable entries from `after` on: the
    // storage keeps them until the shell persists these (ready::entries says "replaces").
    offset_ = after;
    entries_.assign(begin, end);
    return;
  }
  entries_.resize(static_cast<size_t>(after - offset_));
  CK_ASSERT_LE(entries_.back().term, begin->term);
  entries_.insert(entries_.end(), begin, end);
}

void unstable_log::append(entry e) {
  CK_ASSERT_EQ(e.index, offset_ + entries_.size());
  if (!entries_.empty()) {
    CK_ASSERT_LE(entries_.back().term, e.term);
  }
  entries_.push_back(std::move(e));
}

void unstable_log::stable_to(index_t i, term_t t) {
  const std::optional<term_t> known = maybe_term(i);
  if (!known || *known != t || i < offset_) {
    return;  // the tail changed after the ready was taken: hand it out again
  }
  const auto persisted = static_cast<size_t>(i + 1 - offset_);
  entries_.erase(entries_.begin(), entries_.begin() + static_cast<std::ptrdiff_t>(persisted));
  offset_ = i + 1;
}

void unstable_log::stable_snapshot_to(index_t i) {
  if (snapshot_ && snapshot_->meta.index == i) {
    snapshot_.reset();
  }
}

void unstable_log::restore(snapshot snap) {
  offset_ = snap.meta.index + 1;
  entries_.clear();
  snapshot_ = std::move(snap);
}

void unstable_log::slice(index_t lo, index_t hi, uint64_t bytes_max, uint64_t& bytes,
                         std::vector<entry>& out) const {
  CK_ASSERT_LE(offset_, lo);
  CK_ASSERT_LE(lo, hi);
  CK_ASSERT_LE(hi, offset_ + entries_.size());
  for (index_t i = lo; i < hi; ++i) {
    const entry& e = entries_[static_cast<size_t>(i - offset_)];
    const uint64_t size = entry_bytes(e);
    if (!out.empty() && bytes + size > bytes_max) {
      return;
    }
    bytes += size;
    out.push_back(e);
  }
}

void unstable_log::check_invariants() const {
  // Per-entry order is enforced by the mutators; here the ends and the snapshot boundary.
  if (!entries_.empty()) {
    CK_ASSERT_EQ(entries_.front().index, offset_);
    CK_ASSERT_EQ(entries_.back().index, offset_ + entries_.size() - 1);
    CK_ASSERT_LE(entries_.front().term, entries_.back().term);
  }
  if (snapshot_) {
    CK_ASSERT_EQ(snapshot_->meta.index + 1, offset_);
    if (!entries_.empty()) {
      CK_ASSERT_LE(snapshot_->meta.term, entries_.front().term);
    }
  }
}

}  // namespace ck::raft
