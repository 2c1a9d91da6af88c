#include "storage/raft_log_store.hpp"

#include <algorithm>

#include <fmt/format.h>

#include <functional>

#include "storage/detail/raft_group_view.hpp"
#include "storage/detail/raft_log_ops.hpp"
#include "storage/environment.hpp"

namespace ck::storage {

status validate(const raft_log_store_options& options) {
  if (options.cache_entries_max > raft_cache_entries_limit) {
    return status::invalid_argument(
        fmt::format("raft_log_store_options.cache_entries_max is {}, at most {}",
                    options.cache_entries_max, raft_cache_entries_limit));
  }
  if (options.cache_bytes_max > raft_cache_bytes_limit) {
    return status::invalid_argument(
        fmt::format("raft_log_store_options.cache_bytes_max is {}, at most {}",
                    options.cache_bytes_max, raft_cache_bytes_limit));
  }
  return status::success();
}

namespace detail {
// One group's part of a write() or stage() in progress.
struct pending_group {
  raft_group_view* view = nullptr;
  raft_group_state before;  // as of the last publish
  raft_group_state after;   // with this batch's changes so far
  std::vector<applied_write> changes;
};
}  // namespace detail

using detail::pending_group;

namespace {

// invalid_argument when `meta`'s membership is over raft_conf_nodes_max nodes.
status check_snapshot_conf(raft::group_id group, const raft::snapshot_meta& meta) {
  if (meta.conf.voters.size() > raft_conf_nodes_max ||
      meta.conf.learners.size() > raft_conf_nodes_max) {
    return status::invalid_argument(fmt::format(
        "snapshot of raft group {} has {} voters and {} learners, at most {} of each", group,
        meta.conf.voters.size(), meta.conf.learners.size(), raft_conf_nodes_max));
  }
  return status::success();
}

// The limits write() checks before it writes anything (bad input, not a broken Requires:).
status check_sizes(const std::vector<group_write>& batch) {
  for (const group_write& change : batch) {
    for (const raft::entry& entry : change.entries) {
      if (entry.data.size() > raft_entry_data_bytes_max) {
        return status::invalid_argument(
            fmt::format("entry {} of raft group {} has {} bytes of data, at most {}", entry.index,
                        change.group, entry.data.size(), raft_entry_data_bytes_max));
      }
    }
    if (change.snapshot && (change.snapshot->conf.voters.size() > raft_conf_nodes_max ||
                            change.snapshot->conf.learners.size() > raft_conf_nodes_max)) {
      return status::invalid_argument(
          fmt::format("snapshot of raft group {} has {} voters and {} learners, at most {} of each",
                      change.group, change.snapshot->conf.voters.size(),
                      change.snapshot->conf.learners.size(), raft_conf_nodes_max));
    }
  }
  return status::success();
}

// Writes `batch` into `txn`, each group starting from its state before the batch (again from
// the start when called once more for a retried transaction), and records the changes to publish.
status apply_batch(write_txn& txn, const std::vector<group_write>& batch,
                   std::map<raft::group_id, pending_group>& pending) {
  for (auto& [id, group] : pending) {
    group.after = group.before;
    group.changes.clear();
  }
  for (const group_write& change : batch) {
    pending_group& group = pending.at(change.group);
    result<bool> kept = detail::apply_group_write(txn, change, group.after);
    if (!kept.ok()) {
      return kept.status();
    }
    group.changes.emplace_back(&change, kept.value());
  }
  return status::success();
}

}  // namespace

std::map<raft::group_id, pending_group> raft_log_store::pending_for(
    const std::vector<group_write>& batch) {
  std::map<raft::group_id, pending_group> pending;
  for (const group_write& change : batch) {
    pending_group& group = pending[change.group];
    if (group.view == nullptr) {
      group.view = &view(change.group);
      group.before = group.view->state();
    }
  }
  return pending;
}

raft_log_store::raft_log_store(private_tag, environment& env, const raft_log_store_options& options)
    : env_(env), options_(options) {}

raft_log_store::~raft_log_store() = default;

result<std::unique_ptr<raft_log_store>> raft_log_store::open(
    environment& env, const raft_log_store_options& options) {
  if (status valid = validate(options); !valid.ok()) {
    return valid;
  }
  auto store = std::make_unique<raft_log_store>(private_tag{}, env, options);
  result<read_txn> txn = env.begin_read();
  if (!txn.ok()) {
    return txn.status();
  }
  result<std::map<raft::group_id, detail::loaded_group>> loaded =
      detail::load_groups(txn.value(), options);
  txn.value().end();
  if (!loaded.ok()) {
    return loaded.status();
  }
  for (const auto& [id, group] : loaded.value()) {
    store->view(id).load(group.state, group.tail);
  }
  return store;
}

raft::log_storage& raft_log_store::group(raft::group_id group) { return view(group); }

std::vector<raft::group_id> raft_log_store::groups() const {
  std::lock_guard<std::mutex> lock(views_mutex_);
  std::vector<raft::group_id> stored;
  for (const auto& [id, group_view] : views_) {
    if (group_view->state().holds_log()) {
      stored.push_back(id);
    }
  }
  return stored;
}

result<raft::log_error> raft_log_store::read_entries(raft::group_id group, raft::index_t lo,
                                                     raft::index_t hi, uint64_t bytes_max,
                                                     std::vector<raft::entry>& out) {
  return view(group).read_entries(lo, hi, bytes_max, out);
}

result<raft::log_error> raft_log_store::read_term(raft::group_id group, raft::index_t index,
                                                  raft::term_t& out) {
  return view(group).read_term(index, out);
}

status raft_log_store::write(const std::vector<group_write>& batch,
                             const std::function<status(write_txn&)>& also) {
  if (batch.empty() && !also) {
    return status::success();
  }
  if (status sized = check_sizes(batch); !sized.ok()) {
    return sized;
  }
  std::lock_guard<std::mutex> lock(write_mutex_);
  std::map<raft::group_id, pending_group> pending = pending_for(batch);
  // environment::write may run the fill again after growing the map: start over each time.
  const status written = env_.write([&](write_txn& txn) {
    const status applied = apply_batch(txn, batch, pending);
    return !applied.ok() ? applied : also ? also(txn) : status::success();
  });
  if (!written.ok()) {
    return written;
  }
  for (const auto& [id, group] : pending) {
    group.view->publish(group.after, group.changes);
  }
  return status::success();
}

status raft_log_store::stage(write_txn& txn, const std::vector<group_write>& batch) {
  if (batch.empty()) {
    return status::success();
  }
  if (status sized = check_sizes(batch); !sized.ok()) {
    return sized;
  }
  std::lock_guard<std::mutex> lock(write_mutex_);
  std::map<raft::group_id, pending_group> pending = pending_for(batch);
  if (status applied = apply_batch(txn, batch, pending); !applied.ok()) {
    return applied;
  }
  for (const auto& [id, group] : pending) {
    group.view->publish(group.after, group.changes, /*pin=*/true);
    if (std::find(pinned_.begin(), pinned_.end(), group.view) == pinned_.end()) {
      pinned_.push_back(group.view);
    }
  }
  return status::success();
}

void raft_log_store::checkpointed() {
  std::lock_guard<std::mutex> lock(write_mutex_);
  for (detail::raft_group_view* pinned : pinned_) {
    pinned->unpin();
  }
  pinned_.clear();
}

status raft_log_store::record_snapshot(raft::group_id group, const raft::snapshot_meta& meta) {
  if (status valid = check_snapshot_conf(group, meta); !valid.ok()) {
    return valid;
  }
  std::lock_guard<std::mutex> lock(write_mutex_);
  return change_group(group, [&](write_txn& txn, detail::raft_group_state& state) {
    return detail::apply_record_snapshot(txn, group, meta, state);
  });
}

status raft_log_store::record_snapshots(const std::vector<snapshot_record>& records) {
  for (const snapshot_record& r : records) {
    if (status valid = check_snapshot_conf(r.group, r.meta); !valid.ok()) {
      return valid;
    }
  }
  std::lock_guard<std::mutex> lock(write_mutex_);
  std::vector<detail::raft_group_view*> views;
  std::vector<detail::raft_group_state> before;
  for (const snapshot_record& r : records) {
    views.push_back(&view(r.group));
    before.push_back(views.back()->state());
  }
  std::vector<detail::raft_group_state> after;
  const status written = env_.write([&](write_txn& txn) {
    after = before;  // write() may run this again after growing the map
    for (size_t k = 0; k < records.size(); ++k) {
      const snapshot_record& r = records[k];
      status st = detail::apply_record_snapshot(txn, r.group, r.meta, after[k]);
      if (st.ok() && r.compact_index > 0) {
        st = detail::apply_compact(txn, r.group, r.compact_index, after[k]);
      }
      if (!st.ok()) {
        return st;
      }
    }
    return status::success();
  });
  if (!written.ok()) {
    return written;
  }
  for (size_t k = 0; k < records.size(); ++k) {
    views[k]->publish(after[k], {});
  }
  return status::success();
}

status raft_log_store::compact(raft::group_id group, raft::index_t index) {
  std::lock_guard<std::mutex> lock(write_mutex_);
  return change_group(group, [&](write_txn& txn, detail::raft_group_state& state) {
    return detail::apply_compact(txn, group, index, state);
  });
}

status raft_log_store::change_group(
    raft::group_id group,
    const std::function<status(write_txn&, detail::raft_group_state&)>& change) {
  detail::raft_group_view& group_view = view(group);
  const detail::raft_group_state before = group_view.state();
  detail::raft_group_state after;
  const status written = env_.write([&](write_txn& txn) {
    after = before;  // write() may run this again after growing the map
    return change(txn, after);
  });
  if (!written.ok()) {
    return written;
  }
  group_view.publish(after, {});
  return status::success();
}

status raft_log_store::drop_group(raft::group_id group) {
  std::lock_guard<std::mutex> lock(write_mutex_);
  detail::raft_group_view* found = find_view(group);
  // The tombstone: the term and the vote outlive the replica. One that returns to this node
  // later has the same raft id (the node's), and Raft allows an id one vote per term.
  raft::hard_state kept;
  if (found != nullptr) {
    const raft::hard_state hard = found->state().hard;
    kept = raft::hard_state{hard.term, hard.vote, 0};
  }
  const status written =
      env_.write([&](write_txn& txn) { return detail::apply_drop(txn, group, kept); });
  if (!written.ok()) {
    return written;
  }
  if (found != nullptr) {
    found->reset(kept);
  }
  return status::success();
}

detail::raft_group_view& raft_log_store::view(raft::group_id group) {
  std::lock_guard<std::mutex> lock(views_mutex_);
  std::unique_ptr<detail::raft_group_view>& slot = views_[group];
  if (!slot) {
    slot = std::make_unique<detail::raft_group_view>(env_, group, options_);
  }
  return *slot;
}

detail::raft_group_view* raft_log_store::find_view(raft::group_id group) const {
  std::lock_guard<std::mutex> lock(views_mutex_);
  const auto found = views_.find(group);
  return found == views_.end() ? nullptr : found->second.get();
}

}  // namespace ck::storage
