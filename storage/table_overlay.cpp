#include "storage/table_overlay.hpp"

#include <algorithm>
#include <mutex>
#include <vector>

#include "runtime/base/assert.hpp"
#include "storage/format.hpp"
#include "storage/partition_state.hpp"

namespace ck::storage {

namespace {

// The stored-key prefix every key of `partition` starts with.
std::string partition_prefix(uint32_t partition) {
  std::string out = table_key(partition, "");
  out.resize(table_partition_prefix_bytes);
  return out;
}

}  // namespace

void table_overlay::record(uint32_t group, uint32_t partition, std::string_view key,
                           std::optional<std::string> value) {
  std::string stored = table_key(partition, key);
  std::unique_lock lock(mutex_);
  auto [it, added] = changes_.try_emplace(std::move(stored));
  entry& e = it->second;
  if (added) {
    e.group = group;
    e.partition = partition;
    e.user_key = std::string(key);
    bytes_ += e.user_key.size();
  } else if (e.value) {
    bytes_ -= e.value->size();
  }
  if (value) {
    bytes_ += value->size();
  }
  e.value = std::move(value);
  e.generation = current_;
  e.seq = ++seq_;
  e.held = false;  // a newer change: the next stage_into decides again
}

// Requires: mutex_ held exclusively.
std::map<std::string, table_overlay::entry>::iterator table_overlay::forget(
    std::map<std::string, entry>::iterator it) {
  bytes_ -= it->second.user_key.size() + (it->second.value ? it->second.value->size() : 0);
  return changes_.erase(it);
}

void table_overlay::put(uint32_t group, uint32_t partition, std::string_view key,
                        std::string_view value) {
  record(group, partition, key, std::string(value));
}

void table_overlay::erase(uint32_t group, uint32_t partition, std::string_view key) {
  record(group, partition, key, std::nullopt);
}

uint64_t table_overlay::seal() {
  std::unique_lock lock(mutex_);
  return current_++;
}

void table_overlay::committed(uint64_t generation) {
  std::unique_lock lock(mutex_);
  CK_ASSERT_LT(generation, current_);  // sealed first
  committed_ = std::max(committed_, generation);
  // Readers that took an older number may still look for these changes: from now on they are
  // told to retry (their transactions may predate this commit).
  dropped_ = std::max(dropped_, generation);
  for (auto it = changes_.begin(); it != changes_.end();) {
    it = it->second.generation <= generation && !it->second.held ? forget(it) : std::next(it);
  }
  for (auto it = applied_.begin(); it != applied_.end();) {
    it = it->second.generation <= generation && !it->second.held ? applied_.erase(it)
                                                                  : std::next(it);
  }
}

void table_overlay::note_applied(uint32_t group, uint64_t index) {
  std::unique_lock lock(mutex_);
  applied_note& note = applied_[group];
  CK_ASSERT_GE(index, note.index);
  note = applied_note{index, current_, ++seq_};
}

result<uint64_t> table_overlay::stage_into(write_txn& txn) {
  return stage_selected(txn, [](uint32_t) { return true; });
}

result<uint64_t> table_overlay::stage_into(write_txn& txn, const std::vector<uint32_t>& groups) {
  CK_ASSERT(std::is_sorted(groups.begin(), groups.end()));
  return stage_selected(txn, [&groups](uint32_t group) {
    return std::binary_search(groups.begin(), groups.end(), group);
  });
}

template <class Selected>
result<uint64_t> table_overlay::stage_selected(write_txn& txn, const Selected& selected) {
  const uint64_t generation = seal();
  // The writer's own thread records changes; readers only share the lock meanwhile.
  std::shared_lock lock(mutex_);
  for (const auto& [stored, e] : changes_) {
    e.held = !selected(e.group) || held_back(replacing_tables_, e.partition, e.seq);
    if (e.held) {
      continue;
    }
    const status st = e.value ? table_put(txn, e.partition, e.user_key, *e.value)
                              : table_erase(txn, e.partition, e.user_key).status();
    if (!st.ok()) {
      return st;
    }
  }
  for (const auto& [group, note] : applied_) {
    note.held = !selected(group) || held_back(replacing_groups_, group, note.seq);
    if (note.held) {
      continue;
    }
    if (status st = save_partition_applied(txn, group, note.index); !st.ok()) {
      return st;
    }
  }
  return generation;
}

table_overlay::pending_figures table_overlay::pending() const {
  std::shared_lock lock(mutex_);
  return pending_figures{changes_.size(), bytes_, applied_.size()};
}

std::vector<table_overlay::slice> table_overlay::pending_slices(std::size_t count) const {
  CK_ASSERT_GT(count, 0u);
  std::map<uint32_t, std::size_t> changes;  // by group
  std::size_t total = 0;
  {
    std::shared_lock lock(mutex_);
    for (const auto& [stored, e] : changes_) {
      ++changes[e.group];
    }
    total = changes_.size();
    for (const auto& [group, note] : applied_) {
      changes.try_emplace(group, 0);
    }
  }
  std::vector<slice> out;
  std::size_t assigned = 0;
  for (const auto& [group, n] : changes) {
    // A new slice once the ones so far hold their share (total * out.size() / count).
    if (out.empty() ||
        (out.size() < count && out.back().changes > 0 && assigned >= total * out.size() / count)) {
      out.emplace_back();
    }
    out.back().groups.push_back(group);
    out.back().changes += n;
    assigned += n;
  }
  return out;
}

std::optional<uint64_t> table_overlay::pending_applied(uint32_t group) const {
  std::shared_lock lock(mutex_);
  auto it = applied_.find(group);
  return it == applied_.end() ? std::nullopt : std::optional<uint64_t>(it->second.index);
}

uint64_t table_overlay::begin_replacement(const std::vector<uint32_t>& tables, uint32_t group) {
  std::unique_lock lock(mutex_);
  for (uint32_t table : tables) {
    replacing_tables_[table] = seq_;
  }
  replacing_groups_[group] = seq_;
  return seq_;
}

void table_overlay::end_replacement(const std::vector<uint32_t>& tables, uint32_t group,
                                    uint64_t mark, bool replaced) {
  std::unique_lock lock(mutex_);
  for (uint32_t table : tables) {
    replacing_tables_.erase(table);
  }
  replacing_groups_.erase(group);
  if (!replaced) {
    return;  // what was held back goes with the next stage_into
  }
  // Every change removed here is superseded by the committed replacement: readers whose
  // transactions predate it must renew them, as after a checkpoint.
  const uint64_t generation = current_++;
  committed_ = std::max(committed_, generation);
  dropped_ = std::max(dropped_, generation);
  for (uint32_t table : tables) {
    for (auto it = changes_.lower_bound(partition_prefix(table));
         it != changes_.end() && it->second.partition == table;) {
      it = it->second.seq <= mark ? forget(it) : std::next(it);
    }
  }
  if (auto it = applied_.find(group); it != applied_.end() && it->second.seq <= mark) {
    applied_.erase(it);
  }
}

uint64_t table_overlay::committed_generation() const {
  std::shared_lock lock(mutex_);
  return committed_;
}

std::optional<table_overlay::change> table_overlay::get(uint32_t partition, std::string_view key,
                                                        uint64_t seen, bool& retry) const {
  const std::string stored = table_key(partition, key);
  std::shared_lock lock(mutex_);
  retry = !answers(seen);
  if (retry) {
    return std::nullopt;
  }
  auto it = changes_.find(stored);
  if (it == changes_.end()) {
    return std::nullopt;
  }
  return change{it->second.value};
}

std::optional<result<table_page>> table_overlay::list(
    uint32_t partition, const std::optional<table_cursor_position>& after, std::size_t limit,
    uint64_t seen, const stored_list& stored) const {
  return list(table_range{partition, partition}, after, limit, seen, stored,
              [partition](std::string_view) { return partition; });
}

std::optional<result<table_page>> table_overlay::list(
    table_range range, const std::optional<table_cursor_position>& after, std::size_t limit,
    uint64_t seen, const stored_list& stored,
    const std::function<uint32_t(std::string_view)>& partition_of_key) const {
  if (limit == 0 || limit > table_list_limit_max) {
    return result<table_page>(status::invalid_argument("list limit must be 1.." +
                                                       std::to_string(table_list_limit_max)));
  }
  std::shared_lock lock(mutex_);
  if (!answers(seen)) {
    return std::nullopt;
  }
  // The overlay's changes of the range after `after`, in stored order.
  auto change_at = after ? changes_.upper_bound(table_key(after->partition, after->key))
                         : changes_.lower_bound(partition_prefix(range.first));
  auto changes_left = [&] {
    return change_at != changes_.end() && change_at->second.partition >= range.first &&
           change_at->second.partition <= range.last;
  };

  // The stored keys after `after`, a page at a time.
  std::vector<std::string> page_keys;
  std::vector<std::string> page_stored;
  size_t page_at = 0;
  std::optional<table_cursor_position> page_next = after;
  bool stored_done = false;
  status failure;
  auto stored_left = [&] {
    while (page_at == page_keys.size() && !stored_done) {
      auto page = stored(page_next, limit);
      if (!page.ok()) {
        failure = page.status();
        return false;
      }
      page_keys = std::move(page.value().keys);
      page_stored.clear();
      for (const std::string& key : page_keys) {
        page_stored.push_back(table_key(partition_of_key(key), key));
      }
      page_at = 0;
      page_next = page.value().next;
      stored_done = !page_next.has_value();
    }
    return page_at < page_keys.size();
  };

  // The next key the open transaction holds, or nullopt at the end (or on a failure); its
  // partition in `visible_partition`.
  uint32_t visible_partition = range.first;
  auto next_visible = [&]() -> std::optional<std::string> {
    while (true) {
      const bool have_stored = stored_left();
      if (!failure.ok()) {
        return std::nullopt;
      }
      const bool have_change = changes_left();
      if (!have_stored && !have_change) {
        return std::nullopt;
      }
      const int order = !have_stored   ? 1
                        : !have_change ? -1
                                       : page_stored[page_at].compare(change_at->first);
      if (order < 0) {  // only stored
        visible_partition = partition_of_key(page_keys[page_at]);
        return page_keys[page_at++];
      }
      const entry& e = change_at->second;
      ++change_at;
      if (order == 0) {
        ++page_at;  // the overlay's change replaces the stored entry
      }
      if (e.value) {
        visible_partition = e.partition;
        return e.user_key;
      }
    }
  };

  table_page out;
  uint32_t last_partition = range.first;
  while (out.keys.size() < limit) {
    auto key = next_visible();
    if (!key) {
      break;
    }
    out.keys.push_back(std::move(*key));
    last_partition = visible_partition;
  }
  if (failure.ok() && out.keys.size() == limit && next_visible()) {
    out.next = table_cursor_position{last_partition, out.keys.back()};
  }
  if (!failure.ok()) {
    return result<table_page>(failure);
  }
  return result<table_page>(std::move(out));
}

std::optional<result<int64_t>> table_overlay::count_change(
    table_range range, uint64_t seen, const stored_contains& stored_has) const {
  std::shared_lock lock(mutex_);
  if (!answers(seen)) {
    return std::nullopt;
  }
  int64_t delta = 0;
  for (auto it = changes_.lower_bound(partition_prefix(range.first));
       it != changes_.end() && it->second.partition <= range.last; ++it) {
    const entry& e = it->second;
    auto held = stored_has(e.partition, e.user_key);
    if (!held.ok()) {
      return result<int64_t>(held.status());
    }
    delta += e.value && !held.value() ? 1 : !e.value && held.value() ? -1 : 0;
  }
  return result<int64_t>(delta);
}

std::size_t table_overlay::size() const {
  std::shared_lock lock(mutex_);
  return changes_.size();
}

}  // namespace ck::storage
