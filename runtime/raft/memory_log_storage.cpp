#include "runtime/raft/memory_log_storage.hpp"

#include "runtime/base/assert.hpp"
#include "runtime/raft/bootstrap.hpp"

#include <utility>

namespace ck::raft {

memory_log_storage::memory_log_storage(const conf_state& founding) {
  entries_.emplace_back();  // the dummy of an empty snapshot: index 0, term 0
  bootstrap_state founded = make_bootstrap(founding);
  append(founded.entries);
  hard_ = founded.hard;
  conf_ = std::move(founded.conf);
}

index_t memory_log_storage::first_index() const { return entries_.front().index + 1; }

index_t memory_log_storage::last_index() const {
  return entries_.front().index + entries_.size() - 1;
}

size_t memory_log_storage::position(index_t i) const {
  CK_ASSERT_GE(i, entries_.front().index);
  CK_ASSERT_LE(i, last_index());
  return static_cast<size_t>(i - entries_.front().index);
}

log_error memory_log_storage::entries(index_t lo, index_t hi, uint64_t bytes_max,
                                      std::vector<entry>& out) const {
  CK_ASSERT_LE(lo, hi);
  if (lo < first_index()) {
    return log_error::compacted;
  }
  if (hi > last_index() + 1) {
    return log_error::unavailable;
  }
  uint64_t bytes = 0;
  for (index_t i = lo; i < hi; ++i) {
    const entry& e = entries_[position(i)];
    bytes += entry_bytes(e);
    if (i > lo && bytes > bytes_max) {
      break;  // the first entry always goes, so a huge entry cannot stall replication
    }
    out.push_back(e);
  }
  return log_error::none;
}

log_error memory_log_storage::term(index_t i, term_t& out) const {
  if (i < entries_.front().index) {
    return log_error::compacted;
  }
  if (i > last_index()) {
    return log_error::unavailable;
  }
  out = entries_[position(i)].term;
  return log_error::none;
}

void memory_log_storage::append(const std::vector<entry>& entries) {
  if (entries.empty()) {
    return;
  }
  const index_t first = entries.front().index;
  CK_ASSERT_LE(first, last_index() + 1);
  for (size_t k = 1; k < entries.size(); ++k) {
    CK_ASSERT_EQ(entries[k].index, first + k);
  }
  // Entries the snapshot already covers are skipped: they are committed and compacted.
  size_t skip = 0;
  if (first < first_index()) {
    const index_t covered = first_index() - first;
    if (covered >= entries.size()) {
      return;
    }
    skip = static_cast<size_t>(covered);
  }
  const index_t start = first + skip;
  entries_.resize(position(start - 1) + 1);  // drops the replaced suffix, keeps the dummy
  entries_.insert(entries_.end(), entries.begin() + static_cast<std::ptrdiff_t>(skip),
                  entries.end());
  CK_ASSERT_EQ(last_index(), entries.back().index);
}

bool memory_log_storage::apply_snapshot(snapshot snap) {
  if (snap.meta.index <= snapshot_.meta.index) {
    return false;
  }
  entries_.clear();
  entry dummy;
  dummy.index = snap.meta.index;
  dummy.term = snap.meta.term;
  entries_.push_back(std::move(dummy));
  conf_ = snap.meta.conf;
  snapshot_ = std::move(snap);
  CK_ASSERT_EQ(first_index(), snapshot_.meta.index + 1);
  return true;
}

bool memory_log_storage::create_snapshot(index_t index, conf_state conf, std::string data) {
  if (index <= snapshot_.meta.index) {
    return false;
  }
  CK_ASSERT_LE(index, last_index());
  CK_ASSERT_GE(index, first_index());
  snapshot_.meta.index = index;
  snapshot_.meta.term = entries_[position(index)].term;
  snapshot_.meta.conf = std::move(conf);
  snapshot_.data = std::move(data);
  return true;
}

bool memory_log_storage::compact(index_t index) {
  if (index < first_index()) {
    return false;
  }
  CK_ASSERT_LE(index, snapshot_.meta.index);
  CK_ASSERT_LE(index, last_index());
  const size_t drop = position(index);
  entries_.erase(entries_.begin(), entries_.begin() + static_cast<std::ptrdiff_t>(drop));
  entries_.front().data.clear();  // the new dummy keeps only index and term
  entries_.front().type = entry_type::normal;
  CK_ASSERT_EQ(first_index(), index + 1);
  return true;
}

}  // namespace ck::raft
