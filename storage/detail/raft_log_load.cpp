// Loading every Raft group at open (storage/detail/raft_log_ops.hpp): one scan of
// "raft_state", one hop per group through "raft_log" (its first and last key), and a backward
// read of each group's tail for the cache.

#include <fmt/format.h>

#include <algorithm>
#include <limits>

#include "storage/detail/lmdb_ops.hpp"
#include "storage/detail/raft_log_ops.hpp"

namespace ck::storage::detail {

namespace {

// What the scans found of one group, before the records are checked against each other.
struct found_group {
  std::optional<raft::hard_state> hard;
  std::optional<raft::snapshot_meta> snapshot;
  std::optional<raft_first_index> first;
  std::optional<raft::index_t> log_first;  // lowest stored index
  raft::index_t log_last = 0;              // highest stored index, when log_first is set
  raft::term_t log_last_term = 0;
};

using found_groups = std::map<raft::group_id, found_group>;

status corrupt(raft::group_id group, const std::string& dir, const std::string& what) {
  return status::corruption(fmt::format("raft group {} in {}: {}", group, dir, what));
}

result<uint64_t> count_records(read_txn& txn, database which) {
  MDB_stat stat{};
  const int rc = mdb_stat(txn_access::handle(txn), txn_access::dbi(txn, which), &stat);
  if (rc != MDB_SUCCESS) {
    return from_lmdb(rc, fmt::format("cannot count the records of \"{}\" in {}",
                                     database_name(which), txn_access::dir(txn)));
  }
  return uint64_t{stat.ms_entries};
}

// Decodes one "raft_state" record into `found`.
status take_state_record(std::string_view key, std::string_view value, found_groups& found,
                         const std::string& dir) {
  const std::optional<raft_state_key_parts> parts = raft_state_key_decode(key);
  if (!parts) {
    return status::corruption(
        fmt::format("malformed raft_state key of {} bytes in {}", key.size(), dir));
  }
  found_group& group = found[parts->group];
  switch (parts->kind) {
    case raft_state_kind::hard_state:
      group.hard = raft_hard_state_decode(parts->group, value);
      return group.hard ? status::success()
                        : corrupt(parts->group, dir, "malformed hard state record");
    case raft_state_kind::snapshot_meta:
      group.snapshot = raft_snapshot_meta_decode(parts->group, value);
      return group.snapshot ? status::success()
                            : corrupt(parts->group, dir, "malformed snapshot meta record");
    case raft_state_kind::first_index:
      group.first = raft_first_index_decode(parts->group, value);
      return group.first ? status::success()
                         : corrupt(parts->group, dir, "malformed first index record");
  }
  return corrupt(parts->group, dir, "unknown raft_state kind");
}

status scan_state(read_txn& txn, found_groups& found) {
  const std::string& dir = txn_access::dir(txn);
  const std::string what = fmt::format("cannot scan raft_state in {}", dir);
  result<uint64_t> total = count_records(txn, database::raft_state);
  if (!total.ok()) {
    return total.status();
  }
  cursor records;
  if (status opened =
          records.open(txn_access::handle(txn), txn_access::dbi(txn, database::raft_state), what);
      !opened.ok()) {
    return opened;
  }
  MDB_val key{};
  MDB_val value{};
  int rc = records.seek({}, key, value);
  for (uint64_t seen = 0; rc == MDB_SUCCESS && seen <= total.value();
       ++seen, rc = records.next(key, value)) {
    if (status taken = take_state_record(to_view(key), to_view(value), found, dir); !taken.ok()) {
      return taken;
    }
  }
  return rc == MDB_NOTFOUND ? status::success() : from_lmdb(rc, what);
}

// Positions `log` on the last record of `group` (or on nothing: MDB_NOTFOUND).
int seek_group_last(cursor& log, raft::group_id group, MDB_val& key, MDB_val& value) {
  if (group == std::numeric_limits<raft::group_id>::max()) {
    return log.last(key, value);
  }
  const int rc = log.seek(raft_group_first_key(group + 1), key, value);
  if (rc == MDB_SUCCESS) {
    return log.prev(key, value);
  }
  return rc == MDB_NOTFOUND ? log.last(key, value) : rc;
}

// Finds each group's lowest and highest stored index, hopping from group to group.
status scan_log(read_txn& txn, found_groups& found) {
  const std::string& dir = txn_access::dir(txn);
  const std::string what = fmt::format("cannot scan raft_log in {}", dir);
  result<uint64_t> total = count_records(txn, database::raft_log);
  if (!total.ok()) {
    return total.status();
  }
  cursor log;
  if (status opened =
          log.open(txn_access::handle(txn), txn_access::dbi(txn, database::raft_log), what);
      !opened.ok()) {
    return opened;
  }
  MDB_val key{};
  MDB_val value{};
  int rc = log.seek({}, key, value);
  for (uint64_t groups = 0; rc == MDB_SUCCESS && groups <= total.value(); ++groups) {
    const std::optional<raft_log_key_parts> lowest = raft_log_key_decode(to_view(key));
    if (!lowest) {
      return status::corruption(fmt::format("malformed raft_log key in {}", dir));
    }
    rc = seek_group_last(log, lowest->group, key, value);
    const std::optional<raft_log_key_parts> highest =
        rc == MDB_SUCCESS ? raft_log_key_decode(to_view(key)) : std::nullopt;
    if (!highest || highest->group != lowest->group) {
      return rc == MDB_SUCCESS || rc == MDB_NOTFOUND
                 ? status::corruption(fmt::format("malformed raft_log key in {}", dir))
                 : from_lmdb(rc, what);
    }
    const std::optional<raft::term_t> last_term = raft_entry_term(to_view(key), to_view(value));
    if (!last_term) {
      return corrupt(lowest->group, dir, fmt::format("corrupt log entry {}", highest->index));
    }
    found_group& group = found[lowest->group];
    group.log_first = lowest->index;
    group.log_last = highest->index;
    group.log_last_term = *last_term;
    if (lowest->group == std::numeric_limits<raft::group_id>::max()) {
      return status::success();
    }
    rc = log.seek(raft_group_first_key(lowest->group + 1), key, value);
  }
  return rc == MDB_NOTFOUND ? status::success() : from_lmdb(rc, what);
}

// Checks the records of one group against each other and builds its state.
result<raft_group_state> build_state(raft::group_id id, const found_group& found,
                                     const std::string& dir) {
  if (found.snapshot.has_value() != found.first.has_value()) {
    return corrupt(id, dir, "snapshot meta and first index record must be stored together");
  }
  raft_group_state state;
  state.hard = found.hard.value_or(raft::hard_state{});
  state.snapshot = found.snapshot.value_or(raft::snapshot_meta{});
  state.first = found.first.value_or(raft_first_index{});
  if (state.first.first_index - 1 > state.snapshot.index) {
    return corrupt(id, dir,
                   fmt::format("first index {} lies beyond snapshot index {} + 1",
                               state.first.first_index, state.snapshot.index));
  }
  state.last_index = state.first.first_index - 1;
  state.last_term = state.first.prev_term;
  if (found.log_first) {
    if (*found.log_first != state.first.first_index) {
      return corrupt(id, dir,
                     fmt::format("log starts at {}, first index is {}", *found.log_first,
                                 state.first.first_index));
    }
    state.last_index = found.log_last;
    state.last_term = found.log_last_term;
  }
  if (state.last_term < state.first.prev_term) {
    return corrupt(id, dir, "last term below the term before the first index");
  }
  if (state.hard.commit > state.last_index) {
    return corrupt(
        id, dir,
        fmt::format("commit index {} beyond last index {}", state.hard.commit, state.last_index));
  }
  return state;
}

// Reads the tail of the group's log backwards while it fits the cache limits, checking that
// indexes are consecutive and terms never rise going back.
status read_tail(read_txn& txn, raft::group_id id, const raft_log_store_options& options,
                 loaded_group& group) {
  const raft_group_state& state = group.state;
  if (state.empty_log() || options.cache_entries_max == 0) {
    return status::success();
  }
  const std::string& dir = txn_access::dir(txn);
  const std::string what = fmt::format("cannot read the tail of raft group {} in {}", id, dir);
  cursor log;
  if (status opened =
          log.open(txn_access::handle(txn), txn_access::dbi(txn, database::raft_log), what);
      !opened.ok()) {
    return opened;
  }
  MDB_val key{};
  MDB_val value{};
  uint64_t bytes = 0;
  raft::term_t later_term = state.last_term;
  int rc = log.seek(raft_log_key(id, state.last_index), key, value);
  for (raft::index_t index = state.last_index;
       index >= state.first.first_index && group.tail.size() < options.cache_entries_max;
       --index, rc = log.prev(key, value)) {
    if (rc != MDB_SUCCESS && rc != MDB_NOTFOUND) {
      return from_lmdb(rc, what);
    }
    const std::optional<raft_log_key_parts> parts =
        rc == MDB_SUCCESS ? raft_log_key_decode(to_view(key)) : std::nullopt;
    if (!parts || parts->group != id || parts->index != index) {
      return corrupt(id, dir, fmt::format("the log has a gap at {}", index));
    }
    raft::entry entry;
    if (!raft_entry_decode(to_view(key), to_view(value), entry) || entry.term > later_term) {
      return corrupt(id, dir, fmt::format("corrupt log entry {}", index));
    }
    bytes += raft::entry_bytes(entry);
    if (bytes > options.cache_bytes_max) {
      break;
    }
    later_term = entry.term;
    group.tail.push_back(std::move(entry));
  }
  std::reverse(group.tail.begin(), group.tail.end());
  return status::success();
}

}  // namespace

result<std::map<raft::group_id, loaded_group>> load_groups(read_txn& txn,
                                                           const raft_log_store_options& options) {
  found_groups found;
  if (status scanned = scan_state(txn, found); !scanned.ok()) {
    return scanned;
  }
  if (status scanned = scan_log(txn, found); !scanned.ok()) {
    return scanned;
  }
  std::map<raft::group_id, loaded_group> groups;
  for (const auto& [id, parts] : found) {
    result<raft_group_state> state = build_state(id, parts, txn_access::dir(txn));
    if (!state.ok()) {
      return state.status();
    }
    loaded_group& group = groups[id];
    group.state = state.value();
    check_invariants(group.state);
    if (status read = read_tail(txn, id, options, group); !read.ok()) {
      return read;
    }
  }
  return groups;
}

}  // namespace ck::storage::detail
