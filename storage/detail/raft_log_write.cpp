// Changes of the Raft log store inside the one write transaction
// (storage/detail/raft_log_ops.hpp). Every function mirrors what it writes into the group's
// raft_group_state, so the caller can publish the state once the transaction commits.

#include <fmt/format.h>

#include "storage/detail/lmdb_ops.hpp"
#include "storage/detail/raft_log_ops.hpp"
#include "storage/environment.hpp"

namespace ck::storage::detail {

void check_invariants(const raft_group_state& state) {
  CK_ASSERT_GE(state.first.first_index, raft::index_t{1});
  CK_ASSERT_GE(state.last_index + 1, state.first.first_index);
  if (state.empty_log()) {
    CK_ASSERT_EQ(state.last_term, state.first.prev_term);
  }
  CK_ASSERT_LE(state.first.prev_term, state.last_term);
  CK_ASSERT_LE(state.first.first_index - 1, state.snapshot.index);
  if (state.snapshot.index == 0) {
    CK_ASSERT_EQ(state.first.first_index, raft::index_t{1});
    CK_ASSERT_EQ(state.first.prev_term, raft::term_t{0});
  }
  CK_ASSERT_LE(state.hard.commit, state.last_index);
}

namespace {

status corrupt(write_txn& txn, raft::group_id group, const std::string& what) {
  return status::corruption(
      fmt::format("raft group {} in {}: {}", group, txn_access::dir(txn), what));
}

// The term of entry `index` as of the earlier writes of `txn`.
// Requires: index in [first_index - 1, last_index].
result<raft::term_t> term_at(write_txn& txn, raft::group_id group, const raft_group_state& state,
                             raft::index_t index) {
  if (index + 1 == state.first.first_index) {
    return state.first.prev_term;
  }
  if (index == state.last_index) {
    return state.last_term;
  }
  CK_ASSERT_GE(index, state.first.first_index);
  CK_ASSERT_LE(index, state.last_index);
  const std::string key = raft_log_key(group, index);
  result<std::optional<std::string_view>> record =
      get_view(txn_access::handle(txn), txn_access::dbi(txn, database::raft_log), key,
               fmt::format("cannot read entry {} of raft group {} in {}", index, group,
                           txn_access::dir(txn)));
  if (!record.ok()) {
    return record.status();
  }
  const std::optional<raft::term_t> term =
      record.value() ? raft_entry_term(key, *record.value()) : std::nullopt;
  if (!term) {
    return corrupt(txn, group, fmt::format("entry {} is missing or corrupt", index));
  }
  return *term;
}

// Deletes the entries [from, to] of `group`, every one of which must be stored.
status erase_entries(write_txn& txn, raft::group_id group, raft::index_t from, raft::index_t to) {
  if (from > to) {
    return status::success();
  }
  const std::string what = fmt::format("cannot delete entries [{}, {}] of raft group {} in {}",
                                       from, to, group, txn_access::dir(txn));
  cursor log;
  if (status opened =
          log.open(txn_access::handle(txn), txn_access::dbi(txn, database::raft_log), what);
      !opened.ok()) {
    return opened;
  }
  MDB_val key{};
  MDB_val value{};
  int rc = log.seek(raft_log_key(group, from), key, value);
  for (raft::index_t expected = from; expected <= to; ++expected, rc = log.next(key, value)) {
    if (rc != MDB_SUCCESS && rc != MDB_NOTFOUND) {
      return from_lmdb(rc, what);
    }
    const std::optional<raft_log_key_parts> parts =
        rc == MDB_SUCCESS ? raft_log_key_decode(to_view(key)) : std::nullopt;
    if (!parts || parts->group != group || parts->index != expected) {
      return corrupt(txn, group, fmt::format("the log has a gap at {}", expected));
    }
    rc = log.erase_current();
    if (rc != MDB_SUCCESS) {
      status failure = from_lmdb(rc, what);
      txn_access::record_failure(txn, failure);
      return failure;
    }
    if (expected == to) {
      break;  // `to` may be the largest index: do not step past it
    }
  }
  return status::success();
}

status put_state(write_txn& txn, raft::group_id group, raft_state_kind kind,
                 std::string_view record) {
  return put(txn, database::raft_state, raft_state_key(group, kind), record);
}

// Records `meta` and drops the entries it covers (see group_write::snapshot). Returns whether
// the entries after it were kept.
result<bool> apply_snapshot(write_txn& txn, raft::group_id group, const raft::snapshot_meta& meta,
                            raft_group_state& state) {
  CK_ASSERT_LT(state.snapshot.index, meta.index);
  CK_ASSERT_GE(meta.index, state.first.first_index);  // implied: F - 1 <= old snapshot
  bool kept = false;
  if (meta.index <= state.last_index) {
    result<raft::term_t> term = term_at(txn, group, state, meta.index);
    if (!term.ok()) {
      return term.status();
    }
    kept = term.value() == meta.term;
  }
  if (status erased =
          erase_entries(txn, group, state.first.first_index, kept ? meta.index : state.last_index);
      !erased.ok()) {
    return erased;
  }
  state.snapshot = meta;
  state.first = raft_first_index{meta.index + 1, meta.term};
  if (!kept) {
    state.last_index = meta.index;
    state.last_term = meta.term;
  }
  if (status put = put_state(txn, group, raft_state_kind::snapshot_meta,
                             raft_snapshot_meta_encode(group, meta));
      !put.ok()) {
    return put;
  }
  if (status put = put_state(txn, group, raft_state_kind::first_index,
                             raft_first_index_encode(group, state.first));
      !put.ok()) {
    return put;
  }
  return kept;
}

// Appends `entries`, replacing the entry at their first index and every later one.
status apply_entries(write_txn& txn, raft::group_id group, const std::vector<raft::entry>& entries,
                     raft_group_state& state) {
  const raft::index_t first = entries.front().index;
  CK_ASSERT_GE(first, state.first.first_index);
  CK_ASSERT_LE(first, state.last_index + 1);
  if (first <= state.last_index) {
    CK_ASSERT_LT(state.hard.commit, first);  // committed entries are never replaced
  }
  for (std::size_t i = 1; i < entries.size(); ++i) {
    CK_ASSERT_EQ(entries[i].index, first + i);
    CK_ASSERT_LE(entries[i - 1].term, entries[i].term);
  }
  result<raft::term_t> previous = term_at(txn, group, state, first - 1);
  if (!previous.ok()) {
    return previous.status();
  }
  CK_ASSERT_LE(previous.value(), entries.front().term);
  for (const raft::entry& entry : entries) {
    if (status put = put_joined(txn, database::raft_log, raft_log_key(group, entry.index),
                                raft_entry_header(group, entry), entry.data);
        !put.ok()) {
      return put;
    }
  }
  const raft::index_t last = entries.back().index;
  if (status erased = erase_entries(txn, group, last + 1, state.last_index); !erased.ok()) {
    return erased;
  }
  state.last_index = last;
  state.last_term = entries.back().term;
  return status::success();
}

status apply_hard_state(write_txn& txn, raft::group_id group, const raft::hard_state& hard,
                        raft_group_state& state) {
  CK_ASSERT_LE(state.hard.term, hard.term);
  if (hard.term == state.hard.term && state.hard.vote != raft::no_node) {
    CK_ASSERT_EQ(hard.vote, state.hard.vote);  // a term's vote never changes
  }
  CK_ASSERT_LE(state.hard.commit, hard.commit);
  CK_ASSERT_LE(hard.commit, state.last_index);
  state.hard = hard;
  return put_state(txn, group, raft_state_kind::hard_state, raft_hard_state_encode(group, hard));
}

}  // namespace

result<bool> apply_group_write(write_txn& txn, const group_write& change, raft_group_state& state) {
  bool kept = false;
  if (change.snapshot) {
    result<bool> applied = apply_snapshot(txn, change.group, *change.snapshot, state);
    if (!applied.ok()) {
      return applied.status();
    }
    kept = applied.value();
  }
  if (!change.entries.empty()) {
    if (status applied = apply_entries(txn, change.group, change.entries, state); !applied.ok()) {
      return applied;
    }
  }
  if (change.hard) {
    if (status applied = apply_hard_state(txn, change.group, *change.hard, state); !applied.ok()) {
      return applied;
    }
  }
  check_invariants(state);
  return kept;
}

status apply_record_snapshot(write_txn& txn, raft::group_id group, const raft::snapshot_meta& meta,
                             raft_group_state& state) {
  CK_ASSERT_LT(state.snapshot.index, meta.index);
  CK_ASSERT_GE(meta.index, state.first.first_index);
  CK_ASSERT_LE(meta.index, state.hard.commit);  // a snapshot holds applied entries only
  result<raft::term_t> term = term_at(txn, group, state, meta.index);
  if (!term.ok()) {
    return term.status();
  }
  CK_ASSERT_EQ(term.value(), meta.term);
  const bool first_snapshot = state.snapshot.index == 0;
  state.snapshot = meta;
  check_invariants(state);
  if (status put = put_state(txn, group, raft_state_kind::snapshot_meta,
                             raft_snapshot_meta_encode(group, meta));
      !put.ok()) {
    return put;
  }
  // The first index record exists iff snapshot meta does (storage/format.hpp).
  return first_snapshot ? put_state(txn, group, raft_state_kind::first_index,
                                    raft_first_index_encode(group, state.first))
                        : status::success();
}

status apply_compact(write_txn& txn, raft::group_id group, raft::index_t index,
                     raft_group_state& state) {
  CK_ASSERT_LE(index, state.snapshot.index + 1);  // the snapshot covers index - 1
  CK_ASSERT_LE(index, state.last_index + 1);
  if (index <= state.first.first_index) {
    return status::success();
  }
  result<raft::term_t> previous = term_at(txn, group, state, index - 1);
  if (!previous.ok()) {
    return previous.status();
  }
  if (status erased = erase_entries(txn, group, state.first.first_index, index - 1); !erased.ok()) {
    return erased;
  }
  state.first = raft_first_index{index, previous.value()};
  check_invariants(state);
  return put_state(txn, group, raft_state_kind::first_index,
                   raft_first_index_encode(group, state.first));
}

namespace {

// Deletes every record of `which` whose key starts with the group's 4-byte prefix.
status erase_group_records(write_txn& txn, database which, raft::group_id group) {
  const std::string what = fmt::format("cannot delete raft group {} from \"{}\" in {}", group,
                                       database_name(which), txn_access::dir(txn));
  MDB_stat stat{};
  if (const int rc = mdb_stat(txn_access::handle(txn), txn_access::dbi(txn, which), &stat);
      rc != MDB_SUCCESS) {
    return from_lmdb(rc, what);
  }
  cursor records;
  if (status opened = records.open(txn_access::handle(txn), txn_access::dbi(txn, which), what);
      !opened.ok()) {
    return opened;
  }
  const std::string prefix = raft_group_first_key(group);
  MDB_val key{};
  MDB_val value{};
  int rc = records.seek(prefix, key, value);
  for (uint64_t erased = 0; rc == MDB_SUCCESS && erased <= stat.ms_entries;
       ++erased, rc = records.next(key, value)) {
    if (to_view(key).substr(0, prefix.size()) != prefix) {
      break;
    }
    rc = records.erase_current();
    if (rc != MDB_SUCCESS) {
      status failure = from_lmdb(rc, what);
      txn_access::record_failure(txn, failure);
      return failure;
    }
  }
  return rc == MDB_SUCCESS || rc == MDB_NOTFOUND ? status::success() : from_lmdb(rc, what);
}

}  // namespace

status apply_drop(write_txn& txn, raft::group_id group, const raft::hard_state& kept) {
  if (status erased = erase_group_records(txn, database::raft_log, group); !erased.ok()) {
    return erased;
  }
  if (status erased = erase_group_records(txn, database::raft_state, group); !erased.ok()) {
    return erased;
  }
  if (kept.empty()) {
    return status::success();
  }
  CK_ASSERT_EQ(kept.commit, 0u);
  return put_state(txn, group, raft_state_kind::hard_state, raft_hard_state_encode(group, kept));
}

}  // namespace ck::storage::detail
