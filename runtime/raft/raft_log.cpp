#include "runtime/raft/raft_log.hpp"

#include "runtime/base/assert.hpp"

#include <algorithm>

namespace ck::raft {

raft_log::raft_log(const log_storage& storage)
    : storage_(storage),
      unstable_(storage.last_index() + 1),
      committed_(storage.first_index() - 1),
      applied_(storage.first_index() - 1) {}

index_t raft_log::first_index() const {
  if (const auto first = unstable_.maybe_first_index()) {
    return *first;
  }
  return storage_.first_index();
}

index_t raft_log::last_index() const {
  if (const auto last = unstable_.maybe_last_index()) {
    return *last;
  }
  return storage_.last_index();
}

term_t raft_log::last_term() const {
  term_t t = 0;
  const log_error error = term(last_index(), t);
  CK_ASSERT(error == log_error::none);
  return t;
}

log_error raft_log::term(index_t i, term_t& out) const {
  if (i + 1 < first_index()) {
    return log_error::compacted;
  }
  if (i > last_index()) {
    return log_error::unavailable;
  }
  if (const auto t = unstable_.maybe_term(i)) {
    out = *t;
    return log_error::none;
  }
  return storage_.term(i, out);
}

term_t raft_log::term_or_zero(index_t i) const {
  term_t t = 0;
  if (term(i, t) != log_error::none) {
    return 0;
  }
  return t;
}

bool raft_log::match_term(index_t i, term_t t) const {
  term_t ours = 0;
  return term(i, ours) == log_error::none && ours == t;
}

bool raft_log::is_up_to_date(index_t last_index_other, term_t last_term_other) const {
  const term_t ours = last_term();
  return last_term_other > ours || (last_term_other == ours && last_index_other >= last_index());
}

index_t raft_log::stable_last_index() const {
  CK_ASSERT(!unstable_.pending_snapshot());
  if (unstable_.entries().empty()) {
    return last_index();
  }
  return unstable_.offset() - 1;
}

std::optional<index_t> raft_log::maybe_append(index_t prev_index, term_t prev_term, index_t commit,
                                              const std::vector<entry>& entries) {
  if (!match_term(prev_index, prev_term)) {
    return std::nullopt;
  }
  const index_t last_new = prev_index + entries.size();
  const index_t conflict = find_conflict(entries);
  if (conflict != 0) {
    // A committed entry never changes (Log Matching + Leader Completeness): a conflict at or
    // below the commit index means the leader or this log is broken.
    CK_ASSERT_GT(conflict, committed_);
    const auto from = static_cast<std::ptrdiff_t>(conflict - (prev_index + 1));
    unstable_.truncate_and_append(entries.begin() + from, entries.end());
  }
  commit_to(std::min(commit, last_new));
  return last_new;
}

void raft_log::append(entry e) {
  CK_ASSERT_EQ(e.index, last_index() + 1);
  CK_ASSERT_GE(e.term, last_term());
  unstable_.append(std::move(e));  // the tail always starts right after the stable part
}

index_t raft_log::find_conflict(const std::vector<entry>& entries) const {
  for (const entry& e : entries) {
    if (!match_term(e.index, e.term)) {
      return e.index;
    }
  }
  return 0;
}

std::pair<index_t, term_t> raft_log::find_conflict_by_term(index_t index, term_t t) const {
  if (index > last_index()) {
    return {index, 0};
  }
  // Bounded by the log: each step moves one entry down.
  for (; index > 0; --index) {
    term_t ours = 0;
    if (term(index, ours) != log_error::none) {
      return {index, 0};
    }
    if (ours <= t) {
      return {index, ours};
    }
  }
  return {0, 0};
}

void raft_log::commit_to(index_t i) {
  if (i <= committed_) {
    return;
  }
  CK_ASSERT_LE(i, last_index());
  committed_ = i;
}

void raft_log::applied_to(index_t i) {
  CK_ASSERT_LE(i, committed_);
  CK_ASSERT_GE(i, applied_);
  applied_ = i;
}

void raft_log::restore(snapshot snap) {
  CK_ASSERT_GT(snap.meta.index, committed_);
  committed_ = snap.meta.index;
  unstable_.restore(std::move(snap));
}

log_error raft_log::slice(index_t lo, index_t hi, uint64_t bytes_max,
                          std::vector<entry>& out) const {
  CK_ASSERT(out.empty());
  CK_ASSERT_LE(lo, hi);
  if (lo < first_index()) {
    return log_error::compacted;
  }
  if (hi > last_index() + 1) {
    return log_error::unavailable;
  }
  uint64_t bytes = 0;
  const index_t offset = unstable_.offset();
  if (lo < offset) {
    const index_t stable_hi = std::min(hi, offset);
    const log_error error = storage_.entries(lo, stable_hi, bytes_max, out);
    if (error != log_error::none) {
      return error;
    }
    for (const entry& e : out) {
      bytes += entry_bytes(e);
    }
    if (out.size() < stable_hi - lo) {
      return log_error::none;  // bytes_max reached inside the stable part
    }
  }
  if (hi > offset) {
    unstable_.slice(std::max(lo, offset), hi, bytes_max, bytes, out);
  }
  return log_error::none;
}

log_error raft_log::scan(index_t lo, index_t hi, uint64_t page_bytes,
                         const std::function<bool(const entry&)>& visit) const {
  while (lo < hi) {  // bounded by hi - lo: each page holds at least one entry
    std::vector<entry> page;
    const log_error error = slice(lo, hi, page_bytes, page);
    if (error != log_error::none) {
      return error;
    }
    for (const entry& e : page) {
      if (!visit(e)) {
        return log_error::none;
      }
    }
    lo += page.size();
  }
  return log_error::none;
}

index_t raft_log::apply_limit() const {
  if (unstable_.pending_snapshot()) {
    return applied_;  // the snapshot is applied first, then what follows it
  }
  return std::min(committed_, stable_last_index());
}

bool raft_log::has_entries_to_apply() const { return apply_limit() > applied_; }

void raft_log::entries_to_apply(uint64_t bytes_max, std::vector<entry>& out) const {
  const index_t limit = apply_limit();
  if (limit <= applied_) {
    return;
  }
  const log_error error = slice(applied_ + 1, limit + 1, bytes_max, out);
  CK_ASSERT(error == log_error::none);
  CK_ASSERT(!out.empty());
}

void raft_log::check_invariants() const {
  unstable_.check_invariants();
  CK_ASSERT_LE(applied_, committed_);
  CK_ASSERT_LE(committed_, last_index());
  CK_ASSERT_GE(committed_ + 1, first_index());
  if (!unstable_.pending_snapshot()) {
    CK_ASSERT_GE(applied_ + 1, first_index());
  }
  // Terms never decrease: checked inside the tail above, here across its boundaries. The
  // shell's log writer may compact the storage on its own thread while this runs (a snapshot
  // record it carries out later), which moves the first index up under us: a term read after
  // such a move answers "compacted". The boundary holds as seen by reads between which the
  // first index stayed put (it only grows while the node runs).
  const index_t first = first_index();
  term_t before_first = 0;
  term_t at_first = 0;
  const log_error before_found = term(first - 1, before_first);
  const log_error at_found = term(std::min(first, last_index()), at_first);
  if (first_index() == first) {
    CK_ASSERT(before_found == log_error::none);
    CK_ASSERT(at_found == log_error::none);
    CK_ASSERT_LE(before_first, at_first);
  }
  if (!unstable_.entries().empty()) {
    const index_t offset = unstable_.offset();
    CK_ASSERT_LE(term_or_zero(offset - 1), unstable_.entries().front().term);
  }
  term_t last = 0;
  CK_ASSERT(term(last_index(), last) == log_error::none);
}

}  // namespace ck::raft
