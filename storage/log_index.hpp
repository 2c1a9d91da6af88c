#pragma once

// The in-memory index of the planned segment log engine (issue 12; docs/performance.md, "What
// 2x etcd needs", item 1): for every Raft group of the node, where each live entry of its log
// lies in the log segments (storage/log_segment.hpp), together with the group's hard state and
// snapshot meta. It keeps the same model of a group's log as storage/raft_log_store.hpp
// (snapshot meta S, entries [first, last], hard state) and changes it by the same rules
// (group_write, record_snapshot, compact, drop_group), so the engine can stand in for the LMDB
// log store. Pure: no I/O, no threads. The engine feeds it what it appended (or, at a restart,
// what the scan of the segments read) and asks it where to read an entry, and which segments
// still hold live entries. Not used by the node yet.
//
// Which segments a restart needs: every segment from the one holding the oldest live entry
// of any group (entries of a group lie in segments that never decrease along its log: an
// entry is written after the ones before it, and a rewrite of a suffix goes to the newest
// segment, so a group's first live entry names the oldest segment it needs). Older segments
// can go once the engine has re-recorded, in a newer segment, every group's state (hard
// state, snapshot meta, first index and the term before it) that only they hold. How a
// restart that begins in the middle of the history rebuilds a group whose log then began in
// a deleted segment is the engine's to design (see the session-14 note): this index only
// answers which groups pin old segments.
//
// Requirement violations (a write that group_write or the methods below forbid) return
// invalid_argument and change nothing: at a restart they mean damaged segments, which the
// engine reports as corruption instead of aborting.

#include <cstdint>
#include <deque>
#include <map>
#include <optional>
#include <vector>

#include "runtime/raft/types.hpp"
#include "storage/raft_log_store.hpp"
#include "storage/status.hpp"

namespace ck::storage {

// Where one entry's record item lies: the segment (its sequence number), the byte offset of
// the item's payload in that file and its length, and the entry's term (kept here so that
// term lookups need no read).
struct entry_location {
  uint64_t segment = 0;
  uint64_t offset = 0;
  uint32_t bytes = 0;
  raft::term_t term = 0;

  friend bool operator==(const entry_location& a, const entry_location& b) {
    return a.segment == b.segment && a.offset == b.offset && a.bytes == b.bytes &&
           a.term == b.term;
  }
};

// One group's log as the index holds it.
struct group_log_index {
  raft::hard_state hard;
  raft::snapshot_meta snapshot;  // index 0: none
  raft::index_t first = 1;
  raft::term_t prev_term = 0;
  std::deque<entry_location> entries;  // entries[k] is index first + k

  raft::index_t last() const { return first + entries.size() - 1; }
  // The term of `index`, for index in [first - 1, last()]; nullopt outside.
  std::optional<raft::term_t> term(raft::index_t index) const;
  // The location of `index`, for index in [first, last()]; nullptr outside.
  const entry_location* find(raft::index_t index) const;
  // Anything stored: entries, a hard state or a snapshot (raft_log_store::groups()).
  bool stored() const { return !entries.empty() || !hard.empty() || snapshot.index != 0; }
};

class log_index {
 public:
  // Applies one group_write as raft_log_store::write does, the snapshot first, then the
  // entries (replacing any at the same or later indexes), then the hard state; `locations`
  // has one element per entry of `change`, where the engine wrote it, with the entry's term.
  // invalid_argument, nothing changed, when `change` breaks a requirement of group_write
  // (entries not consecutive, a gap after the log, a replaced entry at or below the commit
  // index, a falling term, a snapshot not above the stored one, a hard state whose term or
  // commit falls or whose commit passes the log's end) or `locations` does not match it.
  status apply(const group_write& change, const std::vector<entry_location>& locations);

  // raft_log_store::record_snapshot: the meta only, no entry dropped. invalid_argument unless
  // meta.index is above the stored snapshot, within [first, last], at most the commit index,
  // and meta.term is that entry's term.
  status record_snapshot(raft::group_id group, const raft::snapshot_meta& meta);

  // raft_log_store::compact: drops the entries below `index` (no-op when index <= first).
  // invalid_argument unless the snapshot covers index - 1 and index <= last + 1.
  status compact(raft::group_id group, raft::index_t index);

  // raft_log_store::drop_group: forgets everything of `group`.
  void drop(raft::group_id group) { groups_.erase(group); }

  // The group's index, or nullptr when nothing is known of it.
  const group_log_index* find(raft::group_id group) const;
  // Groups with anything stored, ascending.
  std::vector<raft::group_id> groups() const;

  // The oldest segment a restart needs, given that `newest` is being written: the segment
  // of the oldest live entry of any group, or `newest` when no live entry is older.
  uint64_t oldest_needed_segment(uint64_t newest) const;
  // Groups whose first live entry lies in a segment below `segment`, ascending: the ones whose
  // live entries must be written again (or compacted away) before those segments can go.
  std::vector<raft::group_id> groups_pinning_below(uint64_t segment) const;

 private:
  std::map<raft::group_id, group_log_index> groups_;
};

}  // namespace ck::storage
