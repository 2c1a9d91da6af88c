// Reads of the Raft log store answered from one LMDB snapshot (storage/detail/raft_log_ops.hpp).

#include <fmt/format.h>

#include <limits>

#include "storage/detail/lmdb_ops.hpp"
#include "storage/detail/raft_log_ops.hpp"

namespace ck::storage::detail {

namespace {

struct group_bounds {
  raft_first_index first;
  raft::index_t last_index = 0;
};

status malformed(std::string_view what, raft::group_id group, const std::string& dir) {
  return status::corruption(fmt::format("{} of raft group {} in {}", what, group, dir));
}

// The first index record and the highest stored index of `group` in the snapshot of `txn`.
// Corruption when the record is malformed, the group's highest key is malformed, or records
// of the group lie below its first index.
result<group_bounds> read_bounds(read_txn& txn, raft::group_id group) {
  MDB_txn* handle = txn_access::handle(txn);
  const std::string& dir = txn_access::dir(txn);
  const std::string what = fmt::format("cannot read the bounds of raft group {} in {}", group, dir);
  result<std::optional<std::string_view>> record =
      get_view(handle, txn_access::dbi(txn, database::raft_state),
               raft_state_key(group, raft_state_kind::first_index), what);
  if (!record.ok()) {
    return record.status();
  }
  group_bounds bounds;
  if (record.value()) {
    const std::optional<raft_first_index> first = raft_first_index_decode(group, *record.value());
    if (!first) {
      return malformed("malformed first index record", group, dir);
    }
    bounds.first = *first;
  }
  bounds.last_index = bounds.first.first_index - 1;
  cursor log;
  if (status opened = log.open(handle, txn_access::dbi(txn, database::raft_log), what);
      !opened.ok()) {
    return opened;
  }
  MDB_val key{};
  MDB_val value{};
  int rc = MDB_NOTFOUND;
  if (group < std::numeric_limits<raft::group_id>::max()) {
    rc = log.seek(raft_group_first_key(group + 1), key, value);
    rc = rc == MDB_SUCCESS ? log.prev(key, value) : rc == MDB_NOTFOUND ? log.last(key, value) : rc;
  } else {
    rc = log.last(key, value);
  }
  if (rc != MDB_SUCCESS && rc != MDB_NOTFOUND) {
    return from_lmdb(rc, what);
  }
  if (rc == MDB_SUCCESS) {
    const std::optional<raft_log_key_parts> parts = raft_log_key_decode(to_view(key));
    if (!parts) {
      return status::corruption(fmt::format("malformed raft_log key in {}", dir));
    }
    if (parts->group == group) {
      if (parts->index < bounds.first.first_index) {
        return malformed("entries below the first index", group, dir);
      }
      bounds.last_index = parts->index;
    }
  }
  return bounds;
}

// Classifies a read that did not find every record it expected: compacted or unavailable per
// the snapshot's bounds, else the stored log has a gap (corruption).
result<raft::log_error> classify_miss(read_txn& txn, raft::group_id group, raft::index_t lo,
                                      raft::index_t hi) {
  result<group_bounds> bounds = read_bounds(txn, group);
  if (!bounds.ok()) {
    return bounds.status();
  }
  if (lo < bounds.value().first.first_index) {
    return raft::log_error::compacted;
  }
  if (hi > bounds.value().last_index + 1) {
    return raft::log_error::unavailable;
  }
  return status::corruption(fmt::format("the log of raft group {} in {} has a gap in [{}, {})",
                                        group, txn_access::dir(txn), lo, hi));
}

}  // namespace

result<raft::log_error> read_entries(read_txn& txn, raft::group_id group, raft::index_t lo,
                                     raft::index_t hi, uint64_t bytes_max,
                                     std::vector<raft::entry>& out) {
  CK_ASSERT_LE(lo, hi);
  if (lo == 0 || lo == hi) {
    result<group_bounds> bounds = read_bounds(txn, group);
    if (!bounds.ok()) {
      return bounds.status();
    }
    if (lo < bounds.value().first.first_index) {
      return raft::log_error::compacted;
    }
    return hi > bounds.value().last_index + 1 ? raft::log_error::unavailable
                                              : raft::log_error::none;
  }
  const std::string& dir = txn_access::dir(txn);
  const std::string what = fmt::format("cannot read entries of raft group {} in {}", group, dir);
  cursor log;
  if (status opened =
          log.open(txn_access::handle(txn), txn_access::dbi(txn, database::raft_log), what);
      !opened.ok()) {
    return opened;
  }
  MDB_val key{};
  MDB_val value{};
  uint64_t bytes = 0;
  const std::size_t base = out.size();  // what the caller had: kept, and restored on failure
  const auto give_up = [&out, base] { out.resize(base); };
  int rc = log.seek(raft_log_key(group, lo), key, value);
  for (raft::index_t expected = lo; expected < hi; ++expected, rc = log.next(key, value)) {
    if (rc != MDB_SUCCESS && rc != MDB_NOTFOUND) {
      give_up();
      return from_lmdb(rc, what);
    }
    const std::optional<raft_log_key_parts> parts =
        rc == MDB_SUCCESS ? raft_log_key_decode(to_view(key)) : std::nullopt;
    if (rc == MDB_NOTFOUND || !parts || parts->group != group || parts->index != expected) {
      give_up();
      if (rc == MDB_SUCCESS && !parts) {
        return status::corruption(fmt::format("malformed raft_log key in {}", dir));
      }
      return classify_miss(txn, group, lo, hi);
    }
    raft::entry entry;
    if (!raft_entry_decode(to_view(key), to_view(value), entry)) {
      give_up();
      return malformed(fmt::format("corrupt log entry {}", expected), group, dir);
    }
    const uint64_t entry_bytes = raft::entry_bytes(entry);
    if (expected > lo && (bytes + entry_bytes > bytes_max || bytes + entry_bytes < bytes)) {
      break;  // the first entry always goes, so a huge entry cannot stall replication
    }
    bytes += entry_bytes;
    out.push_back(std::move(entry));
  }
  CK_ASSERT_LT(base, out.size());
  return raft::log_error::none;
}

result<raft::log_error> read_term(read_txn& txn, raft::group_id group, raft::index_t index,
                                  raft::term_t& out) {
  if (index != 0) {
    const std::string& dir = txn_access::dir(txn);
    const std::string key = raft_log_key(group, index);
    result<std::optional<std::string_view>> record = get_view(
        txn_access::handle(txn), txn_access::dbi(txn, database::raft_log), key,
        fmt::format("cannot read the term of entry {} of raft group {} in {}", index, group, dir));
    if (!record.ok()) {
      return record.status();
    }
    if (record.value()) {
      const std::optional<raft::term_t> term = raft_entry_term(key, *record.value());
      if (!term) {
        return malformed(fmt::format("corrupt log entry {}", index), group, dir);
      }
      out = *term;
      return raft::log_error::none;
    }
  }
  result<group_bounds> bounds = read_bounds(txn, group);
  if (!bounds.ok()) {
    return bounds.status();
  }
  const raft_first_index& first = bounds.value().first;
  if (index + 1 == first.first_index) {
    out = first.prev_term;
    return raft::log_error::none;
  }
  if (index < first.first_index) {
    return raft::log_error::compacted;
  }
  if (index > bounds.value().last_index) {
    return raft::log_error::unavailable;
  }
  return status::corruption(fmt::format("the log of raft group {} in {} has no entry {}", group,
                                        txn_access::dir(txn), index));
}

}  // namespace ck::storage::detail
