#include "storage/log_index.hpp"

#include <algorithm>
#include <string>

namespace ck::storage {

std::optional<raft::term_t> group_log_index::term(raft::index_t index) const {
  if (index + 1 == first) {
    return prev_term;
  }
  const entry_location* at = find(index);
  if (at == nullptr) {
    return std::nullopt;
  }
  return at->term;
}

const entry_location* group_log_index::find(raft::index_t index) const {
  if (index < first || index > last()) {
    return nullptr;
  }
  return &entries[index - first];
}

namespace {

status invalid(raft::group_id group, const std::string& what) {
  return status::invalid_argument("log index: group " + std::to_string(group) + ": " + what);
}

// The group as it stands after `change.snapshot` (first, prev_term, last and the terms of the
// entries kept), without changing it: apply() checks the whole change against this view first,
// so that a rejected change leaves the group untouched.
struct after_snapshot {
  const group_log_index& group;
  raft::index_t first;
  raft::term_t prev_term;
  raft::index_t last;

  std::optional<raft::term_t> term(raft::index_t index) const {
    if (index + 1 == first) {
      return prev_term;
    }
    if (index < first || index > last) {
      return std::nullopt;
    }
    return group.term(index);
  }
};

after_snapshot view_after(const group_log_index& group, const std::optional<raft::snapshot_meta>& snap,
                          bool& keep_suffix) {
  keep_suffix = false;
  if (!snap) {
    return {group, group.first, group.prev_term, group.last()};
  }
  keep_suffix = snap->index >= group.first && snap->index <= group.last() &&
                group.term(snap->index) == snap->term;
  return {group, snap->index + 1, snap->term, keep_suffix ? group.last() : snap->index};
}

status check_change(const group_log_index& group, const group_write& change,
                    const std::vector<entry_location>& locations, const after_snapshot& view) {
  const raft::group_id id = change.group;
  if (change.snapshot && change.snapshot->index <= group.snapshot.index) {
    return invalid(id, "snapshot " + std::to_string(change.snapshot->index) +
                           " not above the stored one " + std::to_string(group.snapshot.index));
  }
  if (locations.size() != change.entries.size()) {
    return invalid(id, std::to_string(locations.size()) + " locations for " +
                           std::to_string(change.entries.size()) + " entries");
  }
  raft::index_t last = view.last;
  if (!change.entries.empty()) {
    const raft::index_t from = change.entries.front().index;
    if (from < view.first || from > view.last + 1) {
      return invalid(id, "entries from " + std::to_string(from) + " outside [" +
                             std::to_string(view.first) + ", " + std::to_string(view.last + 1) +
                             "]");
    }
    if (from <= view.last && from <= group.hard.commit) {
      return invalid(id, "replaces entry " + std::to_string(from) + " at or below commit " +
                             std::to_string(group.hard.commit));
    }
    raft::term_t previous = *view.term(from - 1);
    for (size_t k = 0; k < change.entries.size(); ++k) {
      const raft::entry& e = change.entries[k];
      if (e.index != from + k) {
        return invalid(id, "entries not consecutive at " + std::to_string(e.index));
      }
      if (e.term < previous) {
        return invalid(id, "term falls at entry " + std::to_string(e.index));
      }
      if (locations[k].term != e.term) {
        return invalid(id, "location term differs at entry " + std::to_string(e.index));
      }
      previous = e.term;
    }
    last = change.entries.back().index;
  }
  if (change.hard) {
    const raft::hard_state& hard = *change.hard;
    if (hard.term < group.hard.term || hard.commit < group.hard.commit) {
      return invalid(id, "hard state falls (term " + std::to_string(hard.term) + ", commit " +
                             std::to_string(hard.commit) + ")");
    }
    if (hard.commit > last) {
      return invalid(id, "commit " + std::to_string(hard.commit) + " beyond the last entry " +
                             std::to_string(last));
    }
  }
  return status::success();
}

}  // namespace

status log_index::apply(const group_write& change, const std::vector<entry_location>& locations) {
  static const group_log_index empty_group;
  auto found = groups_.find(change.group);
  const group_log_index& current = found != groups_.end() ? found->second : empty_group;
  bool keep_suffix = false;
  const after_snapshot view = view_after(current, change.snapshot, keep_suffix);
  if (status st = check_change(current, change, locations, view); !st.ok()) {
    return st;
  }
  group_log_index& group = groups_[change.group];
  if (change.snapshot) {
    const raft::snapshot_meta& meta = *change.snapshot;
    if (keep_suffix) {
      group.entries.erase(group.entries.begin(),
                          group.entries.begin() + static_cast<std::ptrdiff_t>(meta.index + 1 -
                                                                              group.first));
    } else {
      group.entries.clear();
    }
    group.first = meta.index + 1;
    group.prev_term = meta.term;
    group.snapshot = meta;
  }
  if (!change.entries.empty()) {
    group.entries.resize(change.entries.front().index - group.first);  // Raft's truncation rule
    group.entries.insert(group.entries.end(), locations.begin(), locations.end());
  }
  if (change.hard) {
    group.hard = *change.hard;
  }
  if (!group.stored()) {
    groups_.erase(change.group);  // e.g. an empty hard state for a new group: nothing stored
  }
  return status::success();
}

status log_index::record_snapshot(raft::group_id id, const raft::snapshot_meta& meta) {
  auto found = groups_.find(id);
  if (found == groups_.end()) {
    return invalid(id, "snapshot " + std::to_string(meta.index) + " of an empty log");
  }
  group_log_index& group = found->second;
  if (meta.index <= group.snapshot.index || meta.index < group.first ||
      meta.index > group.last() || meta.index > group.hard.commit ||
      group.term(meta.index) != meta.term) {
    return invalid(id, "snapshot " + std::to_string(meta.index) + " term " +
                           std::to_string(meta.term) + " does not match the log [" +
                           std::to_string(group.first) + ", " + std::to_string(group.last()) +
                           "], commit " + std::to_string(group.hard.commit));
  }
  group.snapshot = meta;
  return status::success();
}

status log_index::compact(raft::group_id id, raft::index_t index) {
  auto found = groups_.find(id);
  if (found == groups_.end()) {
    return index <= 1 ? status::success() : invalid(id, "compact of an empty log");
  }
  group_log_index& group = found->second;
  if (index > group.last() + 1 || group.snapshot.index + 1 < index) {
    return invalid(id, "compact to " + std::to_string(index) + ": snapshot " +
                           std::to_string(group.snapshot.index) + ", last " +
                           std::to_string(group.last()));
  }
  if (index <= group.first) {
    return status::success();
  }
  group.prev_term = *group.term(index - 1);
  group.entries.erase(group.entries.begin(),
                      group.entries.begin() + static_cast<std::ptrdiff_t>(index - group.first));
  group.first = index;
  return status::success();
}

const group_log_index* log_index::find(raft::group_id group) const {
  auto found = groups_.find(group);
  return found == groups_.end() ? nullptr : &found->second;
}

std::vector<raft::group_id> log_index::groups() const {
  std::vector<raft::group_id> ids;
  ids.reserve(groups_.size());
  for (const auto& [id, group] : groups_) {
    ids.push_back(id);  // apply() and drop() keep only groups with something stored
  }
  return ids;
}

uint64_t log_index::oldest_needed_segment(uint64_t newest) const {
  uint64_t oldest = newest;
  for (const auto& [id, group] : groups_) {
    if (!group.entries.empty()) {
      oldest = std::min(oldest, group.entries.front().segment);
    }
  }
  return oldest;
}

std::vector<raft::group_id> log_index::groups_pinning_below(uint64_t segment) const {
  std::vector<raft::group_id> ids;
  for (const auto& [id, group] : groups_) {
    if (!group.entries.empty() && group.entries.front().segment < segment) {
      ids.push_back(id);
    }
  }
  return ids;
}

}  // namespace ck::storage
