#pragma once

// Shared by the Raft log store tests: a naive in-memory model of what raft_log_store.hpp
// promises (written from its words, not from the implementation: vectors, no cache, no LMDB),
// a generator of random batches that meet every group_write requirement, and a checker that
// compares a store with the model through the public API.

#include <algorithm>
#include <cstdint>
#include <map>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "runtime/raft/log_storage.hpp"
#include "runtime/raft/types.hpp"
#include "storage/raft_log_store.hpp"

namespace ck::storage::test {

// One group as the model holds it: a snapshot, then entries [first, first + log.size()).
struct model_group {
  raft::hard_state hard;
  raft::snapshot_meta snapshot;
  raft::index_t first = 1;
  raft::term_t prev_term = 0;  // term of first - 1
  std::vector<raft::entry> log;

  raft::index_t last() const { return first + log.size() - 1; }
  raft::term_t last_term() const { return log.empty() ? prev_term : log.back().term; }
  // Requires: index in [first - 1, last()].
  raft::term_t term_of(raft::index_t index) const {
    return index + 1 == first ? prev_term : log.at(index - first).term;
  }
};

using raft_model = std::map<raft::group_id, model_group>;

// group_write's documented effect, step by step.
inline void model_apply(raft_model& model, const group_write& change) {
  model_group& group = model[change.group];
  if (change.snapshot) {
    const raft::snapshot_meta& meta = *change.snapshot;
    const bool keep = meta.index >= group.first && meta.index <= group.last() &&
                      group.term_of(meta.index) == meta.term;
    if (keep) {
      group.log.erase(group.log.begin(), group.log.begin() + (meta.index - group.first + 1));
    } else {
      group.log.clear();
    }
    group.first = meta.index + 1;
    group.prev_term = meta.term;
    group.snapshot = meta;
  }
  if (!change.entries.empty()) {
    group.log.resize(change.entries.front().index - group.first);
    group.log.insert(group.log.end(), change.entries.begin(), change.entries.end());
  }
  if (change.hard) {
    group.hard = *change.hard;
  }
}

inline void model_apply(raft_model& model, const std::vector<group_write>& batch) {
  for (const group_write& change : batch) {
    model_apply(model, change);
  }
}

inline void model_compact(raft_model& model, raft::group_id id, raft::index_t index) {
  model_group& group = model[id];
  if (index > group.first) {
    group.prev_term = group.term_of(index - 1);
    group.log.erase(group.log.begin(), group.log.begin() + (index - group.first));
    group.first = index;
  }
}

// The groups a store reports in groups(): anything stored but a tombstone (a term and a vote).
inline std::vector<raft::group_id> model_groups(const raft_model& model) {
  std::vector<raft::group_id> ids;
  for (const auto& [id, group] : model) {
    const bool tombstone = group.log.empty() && group.snapshot.index == 0 && group.first == 1 &&
                           group.hard.commit == 0;
    if (!tombstone && (!group.log.empty() || !group.hard.empty() || group.snapshot.index != 0)) {
      ids.push_back(id);
    }
  }
  return ids;
}

// Describes the first difference between `store` and `model` as the public API shows them
// (groups(), bounds, hard state, snapshot meta, every term and every entry, and the errors just
// outside the log); empty when they agree. Reads through read_entries / read_term so that a
// storage failure is reported, not fatal.
inline std::string first_difference(raft_log_store& store, const raft_model& model) {
  const std::vector<raft::group_id> ids = model_groups(model);
  if (store.groups() != ids) {
    return "groups() differ: store has " + std::to_string(store.groups().size()) + ", model " +
           std::to_string(ids.size());
  }
  for (const raft::group_id id : ids) {
    const model_group& expected = model.at(id);
    raft::log_storage& group = store.group(id);
    const std::string where = "group " + std::to_string(id) + ": ";
    if (group.first_index() != expected.first || group.last_index() != expected.last()) {
      return where + "bounds [" + std::to_string(group.first_index()) + ", " +
             std::to_string(group.last_index()) + "], expected [" + std::to_string(expected.first) +
             ", " + std::to_string(expected.last()) + "]";
    }
    if (group.initial_hard_state() != expected.hard) {
      return where + "hard state differs";
    }
    const raft::snapshot snapshot = group.current_snapshot();
    if (snapshot.meta.index != expected.snapshot.index ||
        snapshot.meta.term != expected.snapshot.term ||
        !(snapshot.meta.conf == expected.snapshot.conf) || !snapshot.data.empty() ||
        !(group.initial_conf_state() == expected.snapshot.conf)) {
      return where + "snapshot meta differs";
    }
    for (raft::index_t index = expected.first - 1; index <= expected.last(); ++index) {
      raft::term_t term = 0;
      result<raft::log_error> read = store.read_term(id, index, term);
      if (!read.ok() || read.value() != raft::log_error::none || term != expected.term_of(index)) {
        return where + "term(" + std::to_string(index) + ") differs: " + read.status().to_string();
      }
    }
    raft::term_t ignored = 0;
    result<raft::log_error> beyond = store.read_term(id, expected.last() + 1, ignored);
    if (!beyond.ok() || beyond.value() != raft::log_error::unavailable) {
      return where + "term(last + 1) is not unavailable";
    }
    if (expected.first >= 2) {
      result<raft::log_error> below = store.read_term(id, expected.first - 2, ignored);
      if (!below.ok() || below.value() != raft::log_error::compacted) {
        return where + "term(first - 2) is not compacted";
      }
    }
    std::vector<raft::entry> entries;
    result<raft::log_error> read =
        store.read_entries(id, expected.first, expected.last() + 1, UINT64_MAX, entries);
    if (!read.ok() || read.value() != raft::log_error::none || entries != expected.log) {
      return where + "entries differ: " + read.status().to_string() + ", " +
             std::to_string(entries.size()) + " read, " + std::to_string(expected.log.size()) +
             " expected";
    }
  }
  return "";
}

// Random batches that meet every group_write requirement, generated against its own model
// (which it updates): appends, truncations of uncommitted suffixes under a new term, hard
// states (term, vote, commit), snapshots taken from the log (suffix kept) and snapshots
// installed from a "leader" (log discarded), several changes of one group in one batch.
class raft_batch_generator {
 public:
  struct shape {
    std::vector<raft::group_id> groups;
    uint32_t changes_per_batch_max = 4;
    uint32_t entries_per_change_max = 8;
    uint32_t data_bytes_max = 200;
    uint32_t large_data_percent = 2;  // entries with 3000..9000 bytes (LMDB overflow pages)
    uint32_t truncate_percent = 10;
    uint32_t snapshot_percent = 4;
    uint32_t install_percent = 2;
  };

  raft_batch_generator(uint64_t seed, shape s) : rng_(seed), shape_(std::move(s)) {}

  const raft_model& model() const { return model_; }

  // The next batch, already applied to model().
  std::vector<group_write> next_batch() {
    std::vector<group_write> batch;
    const uint64_t changes = 1 + below(shape_.changes_per_batch_max);
    for (uint64_t i = 0; i < changes; ++i) {
      const raft::group_id id = shape_.groups[below(shape_.groups.size())];
      group_write change = next_change(id, model_[id]);
      model_apply(model_, change);
      batch.push_back(std::move(change));
    }
    return batch;
  }

  // Forgets a group (after drop_group) but for its tombstone: term and vote.
  void drop(raft::group_id id) {
    auto found = model_.find(id);
    if (found == model_.end()) {
      return;
    }
    model_group kept;
    kept.hard = raft::hard_state{found->second.hard.term, found->second.hard.vote, 0};
    if (kept.hard.empty()) {
      model_.erase(found);
    } else {
      found->second = kept;
    }
  }

  // A snapshot the state machine could record now (record_snapshot): at a committed index past
  // the stored snapshot, with that entry's term; nullopt when there is none. Applied to
  // model() when returned.
  std::optional<raft::snapshot_meta> next_recorded_snapshot(raft::group_id id) {
    model_group& group = model_[id];
    const raft::index_t low = std::max(group.snapshot.index + 1, group.first);
    if (group.hard.commit < low) {
      return std::nullopt;
    }
    raft::snapshot_meta meta;
    meta.index = low + below(group.hard.commit - low + 1);
    meta.term = group.term_of(meta.index);
    meta.conf = random_conf();
    group.snapshot = meta;
    return meta;
  }

  // An index compact() accepts (1 .. min(snapshot index, last index) + 1), applied to model().
  raft::index_t next_compact_index(raft::group_id id) {
    const model_group& group = model_[id];
    const raft::index_t bound = std::min(group.snapshot.index, group.last()) + 1;
    const raft::index_t index = 1 + below(bound);
    model_compact(model_, id, index);
    return index;
  }
  uint64_t below(uint64_t n) { return n == 0 ? 0 : rng_() % n; }

 private:
  raft::term_t current_term(const model_group& group) const {
    return std::max(group.hard.term, group.last_term());
  }

  raft::entry make_entry(raft::index_t index, raft::term_t term) {
    raft::entry entry;
    entry.index = index;
    entry.term = term;
    entry.type = below(10) == 0 ? raft::entry_type::conf_change : raft::entry_type::normal;
    const uint64_t bytes =
        below(100) < shape_.large_data_percent ? 3000 + below(6000) : below(shape_.data_bytes_max);
    entry.data.resize(bytes);
    for (char& byte : entry.data) {
      byte = static_cast<char>(rng_() & 0xFF);
    }
    return entry;
  }

  void append(group_write& change, raft::index_t from, raft::term_t term) {
    const uint64_t count = 1 + below(shape_.entries_per_change_max);
    for (uint64_t i = 0; i < count; ++i) {
      change.entries.push_back(make_entry(from + i, term));
    }
  }

  group_write next_change(raft::group_id id, const model_group& group) {
    group_write change;
    change.group = id;
    raft::term_t term = current_term(group);
    raft::index_t last = group.last();
    raft::term_t last_term = group.last_term();
    const uint64_t roll = below(100);
    if (roll < shape_.install_percent) {
      // A leader's snapshot beyond our commit, from a later term: the log is discarded.
      raft::snapshot_meta meta;
      meta.index = std::max(group.hard.commit, group.snapshot.index) + 1 + below(20);
      meta.term = term + 1;
      meta.conf = random_conf();
      change.snapshot = meta;
      term = meta.term;
      last = meta.index;
      last_term = meta.term;
    } else if (roll < shape_.install_percent + shape_.snapshot_percent &&
               group.hard.commit > group.snapshot.index) {
      // A local snapshot of applied entries: taken from this log, the suffix stays.
      raft::snapshot_meta meta;
      meta.index = group.snapshot.index + 1 + below(group.hard.commit - group.snapshot.index);
      meta.term = group.term_of(meta.index);
      meta.conf = random_conf();
      change.snapshot = meta;
    }
    const raft::index_t floor = std::max(group.hard.commit, group.first - 1);
    const bool can_truncate = !change.snapshot && last > floor;
    if (can_truncate && below(100) < shape_.truncate_percent) {
      term += 1;  // a new leader overwrites an uncommitted suffix
      append(change, floor + 1 + below(last - floor), term);
    } else if (below(100) < 85) {
      append(change, last + 1, std::max(term, last_term));
    }
    if (!change.entries.empty()) {
      last = change.entries.back().index;
    }
    change.hard = next_hard_state(group, change, last, term);
    return change;
  }

  std::optional<raft::hard_state> next_hard_state(const model_group& group,
                                                  const group_write& change, raft::index_t last,
                                                  raft::term_t term) {
    raft::hard_state hard = group.hard;
    if (change.snapshot && change.snapshot->index > hard.commit) {
      hard.commit = change.snapshot->index;  // an installed snapshot is committed
    }
    if (term > hard.term) {
      hard.term = term;
      hard.vote = below(2) == 0 ? raft::no_node : 1 + below(5);
    } else if (hard.vote == raft::no_node && below(4) == 0) {
      hard.vote = 1 + below(5);
    }
    if (last > hard.commit && below(2) == 0) {
      hard.commit += 1 + below(last - hard.commit);
    }
    if (hard == group.hard && !change.snapshot && below(3) != 0) {
      return std::nullopt;
    }
    return hard;
  }

  raft::conf_state random_conf() {
    raft::conf_state conf;
    const uint64_t voters = 1 + below(5);
    for (uint64_t i = 0; i < voters; ++i) {
      conf.voters.push_back(i + 1);
    }
    for (uint64_t i = below(3); i > 0; --i) {
      conf.learners.push_back(100 + i);
    }
    return conf;
  }

  std::mt19937_64 rng_;
  shape shape_;
  raft_model model_;
};

}  // namespace ck::storage::test
