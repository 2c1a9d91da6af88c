#include "storage/detail/raft_group_view.hpp"

#include <cstdio>
#include <cstdlib>

#include "storage/environment.hpp"

namespace ck::storage::detail {

namespace {

// raft::log_storage has no way to report a storage failure; going on with a wrong answer could
// break Raft's guarantees, so the node stops here and says why.
[[noreturn]] void read_failed(const char* call, raft::group_id group, const status& failure) {
  std::fprintf(stderr,
               "clusterkit storage: raft log store: %s of raft group %u failed, stopping: %s\n",
               call, static_cast<unsigned>(group), failure.to_string().c_str());
  std::fflush(stderr);
  std::abort();
}

}  // namespace

raft_group_view::raft_group_view(environment& env, raft::group_id group,
                                 const raft_log_store_options& options)
    : env_(env), group_(group), cache_(options.cache_entries_max, options.cache_bytes_max) {}

raft::hard_state raft_group_view::initial_hard_state() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return state_.hard;
}

raft::conf_state raft_group_view::initial_conf_state() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return state_.snapshot.conf;
}

raft::log_error raft_group_view::entries(raft::index_t lo, raft::index_t hi, uint64_t bytes_max,
                                         std::vector<raft::entry>& out) const {
  result<raft::log_error> read = read_entries(lo, hi, bytes_max, out);
  if (!read.ok()) {
    read_failed("entries()", group_, read.status());
  }
  return read.value();
}

raft::log_error raft_group_view::term(raft::index_t index, raft::term_t& out) const {
  result<raft::log_error> read = read_term(index, out);
  if (!read.ok()) {
    read_failed("term()", group_, read.status());
  }
  return read.value();
}

raft::index_t raft_group_view::first_index() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return state_.first.first_index;
}

raft::index_t raft_group_view::last_index() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return state_.last_index;
}

raft::snapshot raft_group_view::current_snapshot() const {
  std::lock_guard<std::mutex> lock(mutex_);
  raft::snapshot snapshot;
  snapshot.meta = state_.snapshot;
  return snapshot;
}

result<raft::log_error> raft_group_view::read_entries(raft::index_t lo, raft::index_t hi,
                                                      uint64_t bytes_max,
                                                      std::vector<raft::entry>& out) const {
  CK_ASSERT_LE(lo, hi);
  // Appends cache entries [from, hi) to `got` (holding `bytes` so far), as entries() limits
  // them: the first entry of the answer always goes, so a huge entry cannot stall replication.
  // Requires: mutex_ held; the cache holds [from, hi).
  auto take_cached = [&](raft::index_t from, uint64_t bytes, std::vector<raft::entry>& got) {
    for (raft::index_t index = from; index < hi; ++index) {
      const raft::entry& entry = cache_.at(index);
      bytes += raft::entry_bytes(entry);
      if (index > lo && bytes > bytes_max) {
        break;
      }
      got.push_back(entry);
    }
  };
  // A read that starts below the cache takes that part from LMDB, the rest from the cache if
  // no change was published in between (entries staged but not committed are in the cache
  // only); a change in between is rare (one per writer cycle), so a few attempts suffice.
  constexpr int attempts_max = 64;
  for (int attempt = 0; attempt < attempts_max; ++attempt) {
    raft::index_t split = hi;  // LMDB answers [lo, split), the cache [split, hi)
    uint64_t generation = 0;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      if (lo < state_.first.first_index) {
        return raft::log_error::compacted;
      }
      if (hi > state_.last_index + 1) {
        return raft::log_error::unavailable;
      }
      if (lo == hi) {
        return raft::log_error::none;
      }
      if (cache_.contains(lo)) {
        // The cache ends at the last index, so it holds all of [lo, hi).
        take_cached(lo, 0, out);
        return raft::log_error::none;
      }
      if (!cache_.empty() && cache_.first_index() < hi) {
        split = cache_.first_index();
      }
      generation = generation_;
    }
    result<read_txn> txn = env_.begin_read();
    if (!txn.ok()) {
      return txn.status();
    }
    std::vector<raft::entry> got;
    result<raft::log_error> read = detail::read_entries(txn.value(), group_, lo, split, bytes_max, got);
    txn.value().end();
    std::lock_guard<std::mutex> lock(mutex_);
    if (generation_ != generation) {
      continue;  // the log changed while LMDB was read: its part may not match the cache's
    }
    // Every change of the cache (publish, unpin, load, reset) moves the generation.
    CK_ASSERT(split == hi || cache_.contains(split));
    if (!read.ok() || read.value() != raft::log_error::none) {
      return read;
    }
    uint64_t bytes = 0;
    for (const raft::entry& entry : got) {
      bytes += raft::entry_bytes(entry);
    }
    const bool cut_short = got.size() < split - lo;  // bytes_max reached inside LMDB's part
    if (!cut_short && split < hi) {
      take_cached(split, bytes, got);
    }
    out.insert(out.end(), std::make_move_iterator(got.begin()), std::make_move_iterator(got.end()));
    return raft::log_error::none;
  }
  return status::busy("raft group " + std::to_string(group_) + ": the log changed on every one of " +
                      std::to_string(attempts_max) + " attempts to read entries " +
                      std::to_string(lo) + ".." + std::to_string(hi));
}

result<raft::log_error> raft_group_view::read_term(raft::index_t index, raft::term_t& out) const {
  uint64_t generation = 0;  // of the state the LMDB read below must still match to be kept
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (index + 1 == state_.first.first_index) {
      out = state_.first.prev_term;
      return raft::log_error::none;
    }
    if (index < state_.first.first_index) {
      return raft::log_error::compacted;
    }
    if (index > state_.last_index) {
      return raft::log_error::unavailable;
    }
    if (index == state_.last_index) {
      out = state_.last_term;
      return raft::log_error::none;
    }
    if (cache_.contains(index)) {
      out = cache_.at(index).term;
      return raft::log_error::none;
    }
    if (remembered_ && remembered_->index == index) {
      out = remembered_->term;
      return raft::log_error::none;
    }
    generation = generation_;
  }
  result<read_txn> txn = env_.begin_read();
  if (!txn.ok()) {
    return txn.status();
  }
  raft::term_t term = 0;
  result<raft::log_error> read = detail::read_term(txn.value(), group_, index, term);
  if (read.ok() && read.value() == raft::log_error::none) {
    out = term;
    std::lock_guard<std::mutex> lock(mutex_);
    if (generation_ == generation) {  // else the entry may have changed since the read began
      remembered_ = remembered_term{index, term};
    }
  }
  return read;
}

raft_group_state raft_group_view::state() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return state_;
}

void raft_group_view::load(const raft_group_state& state, const std::vector<raft::entry>& tail) {
  std::lock_guard<std::mutex> lock(mutex_);
  ++generation_;
  remembered_.reset();
  state_ = state;
  cache_.clear();
  for (const raft::entry& entry : tail) {
    cache_.append(entry);
  }
  check_cache();
}

void raft_group_view::publish(const raft_group_state& state,
                              const std::vector<applied_write>& changes, bool pin) {
  std::lock_guard<std::mutex> lock(mutex_);
  ++generation_;
  for (const auto& [change, kept] : changes) {
    CK_ASSERT_EQ(change->group, group_);
    if (change->snapshot) {
      if (kept) {
        cache_.drop_through(change->snapshot->index);
      } else {
        cache_.clear();
        forget_terms_from(0);
      }
    }
    if (!change->entries.empty()) {
      forget_terms_from(change->entries.front().index);
      cache_.truncate_from(change->entries.front().index);
      if (pin) {
        cache_.pin_from(change->entries.front().index);
      }
      for (const raft::entry& entry : change->entries) {
        cache_.append(entry);
      }
    }
  }
  cache_.drop_through(state.first.first_index - 1);  // compact() moves the first index only
  state_ = state;
  check_cache();
}

void raft_group_view::unpin() {
  std::lock_guard<std::mutex> lock(mutex_);
  ++generation_;  // the cache may drop entries a read in progress planned to take from it
  cache_.unpin();
  check_cache();
}

void raft_group_view::reset(const raft::hard_state& kept) {
  std::lock_guard<std::mutex> lock(mutex_);
  ++generation_;
  remembered_.reset();
  state_ = raft_group_state{};
  state_.hard = kept;
  cache_.clear();
  cache_.unpin();
}

void raft_group_view::forget_terms_from(raft::index_t from) {
  if (remembered_ && remembered_->index >= from) {
    remembered_.reset();
  }
}

void raft_group_view::check_cache() const {
  check_invariants(state_);
  if (!cache_.empty()) {
    CK_ASSERT_EQ(cache_.last_index(), state_.last_index);
    CK_ASSERT_GE(cache_.first_index(), state_.first.first_index);
    CK_ASSERT_EQ(cache_.at(cache_.last_index()).term, state_.last_term);
  }
}

}  // namespace ck::storage::detail
