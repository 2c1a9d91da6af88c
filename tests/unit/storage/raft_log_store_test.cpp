// Goal: the Raft log store keeps what storage/raft_log_store.hpp promises: reads within bounds
// and bytes_max, the snapshot's term before the first index, Raft's truncation rule, snapshots
// taken and installed, many groups per transaction restored by a reopen, compact and
// drop_group, damaged records reported as corruption, failed commits leaving the views alone,
// broken requirements aborting, and reads concurrent with the writer. Method: real LMDB in
// temporary directories, small caches so both the cache and LMDB answer, raw LMDB writes to
// play a damaged file, forked children for the aborts.

#include "storage/raft_log_store.hpp"

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <functional>
#include <string>
#include <chrono>
#include <thread>
#include <vector>

#include <doctest/doctest.h>

#include "raft_log_model.hpp"
#include "storage/environment.hpp"
#include "storage/format.hpp"
#include "test_support.hpp"

namespace ck::storage {
namespace {

using test::open_or_fail;
using test::options_in;
using test::temp_dir;

raft::entry make_entry(raft::index_t index, raft::term_t term, std::string data = "") {
  raft::entry entry;
  entry.index = index;
  entry.term = term;
  entry.data = data.empty() ? "e" + std::to_string(index) + "t" + std::to_string(term) : data;
  return entry;
}

// Entries [from, to] of `term`.
std::vector<raft::entry> make_entries(raft::index_t from, raft::index_t to, raft::term_t term) {
  std::vector<raft::entry> entries;
  for (raft::index_t index = from; index <= to; ++index) {
    entries.push_back(make_entry(index, term));
  }
  return entries;
}

// entries() appends to its output: each check below starts from an empty vector.
std::vector<raft::entry>& fresh(std::vector<raft::entry>& out) {
  out.clear();
  return out;
}

group_write append_write(raft::group_id group, std::vector<raft::entry> entries) {
  group_write change;
  change.group = group;
  change.entries = std::move(entries);
  return change;
}

std::unique_ptr<raft_log_store> open_store(environment& env, raft_log_store_options options = {}) {
  result<std::unique_ptr<raft_log_store>> opened = raft_log_store::open(env, options);
  REQUIRE_MESSAGE(opened.ok(), opened.status().to_string());
  return std::move(opened).value();
}

void write_ok(raft_log_store& store, const std::vector<group_write>& batch) {
  const status written = store.write(batch);
  REQUIRE_MESSAGE(written.ok(), written.to_string());
}

raft_log_store_options small_cache() {
  raft_log_store_options options;
  options.cache_entries_max = 4;
  options.cache_bytes_max = 4 * 64;
  return options;
}

TEST_CASE("raft_log_store: a group never written is an empty view") {
  temp_dir tmp;
  auto env = open_or_fail(options_in(tmp.path()));
  auto store = open_store(*env);
  raft::log_storage& group = store->group(7);
  CHECK(&group == &store->group(7));
  CHECK(group.first_index() == 1);
  CHECK(group.last_index() == 0);
  CHECK(group.initial_hard_state().empty());
  CHECK(group.initial_conf_state() == raft::conf_state{});
  CHECK(group.current_snapshot().empty());
  raft::term_t term = 99;
  CHECK(group.term(0, term) == raft::log_error::none);
  CHECK(term == 0);
  CHECK(group.term(1, term) == raft::log_error::unavailable);
  std::vector<raft::entry> out;
  CHECK(group.entries(1, 1, 100, fresh(out)) == raft::log_error::none);
  CHECK(group.entries(1, 2, 100, fresh(out)) == raft::log_error::unavailable);
  CHECK(group.entries(0, 1, 100, fresh(out)) == raft::log_error::compacted);
  CHECK(store->groups().empty());
  CHECK(store->write({}).ok());
}

TEST_CASE("raft_log_store: entries returns ranges within bytes_max, at least one entry") {
  temp_dir tmp;
  auto env = open_or_fail(options_in(tmp.path()));
  for (const raft_log_store_options& options : {raft_log_store_options{}, small_cache()}) {
    CAPTURE(options.cache_entries_max);
    auto store = open_store(*env, options);
    if (store->group(1).last_index() == 0) {
      write_ok(*store, {append_write(1, make_entries(1, 10, 1))});
    }
    raft::log_storage& group = store->group(1);
    const std::vector<raft::entry> all = make_entries(1, 10, 1);
    const uint64_t each = raft::entry_bytes(all[0]);  // "e1t1" .. "e9t1": same size up to 9
    std::vector<raft::entry> out;
    CHECK(group.entries(1, 11, UINT64_MAX, fresh(out)) == raft::log_error::none);
    CHECK(out == all);
    CHECK(group.entries(3, 6, UINT64_MAX, fresh(out)) == raft::log_error::none);
    CHECK(out == std::vector<raft::entry>(all.begin() + 2, all.begin() + 5));
    CHECK(group.entries(2, 9, 3 * each, fresh(out)) == raft::log_error::none);
    CHECK(out == std::vector<raft::entry>(all.begin() + 1, all.begin() + 4));
    CHECK(group.entries(2, 9, 3 * each - 1, fresh(out)) == raft::log_error::none);
    CHECK(out.size() == 2);
    CHECK(group.entries(5, 9, 0, fresh(out)) == raft::log_error::none);  // at least one
    CHECK(out == std::vector<raft::entry>{all[4]});
    CHECK(group.entries(4, 4, 0, fresh(out)) == raft::log_error::none);
    CHECK(out.empty());
    CHECK(group.entries(9, 12, UINT64_MAX, fresh(out)) == raft::log_error::unavailable);
    CHECK(out.empty());
    CHECK(group.entries(11, 11, UINT64_MAX, fresh(out)) == raft::log_error::none);
    // Appends, and leaves the output alone on an error.
    CHECK(group.entries(1, 3, UINT64_MAX, fresh(out)) == raft::log_error::none);
    CHECK(group.entries(9, 11, UINT64_MAX, out) == raft::log_error::none);
    CHECK(out == std::vector<raft::entry>{all[0], all[1], all[8], all[9]});
    CHECK(group.entries(9, 12, UINT64_MAX, out) == raft::log_error::unavailable);
    CHECK(out.size() == 4);
  }
}

TEST_CASE(
    "raft_log_store: term is the snapshot's at first_index - 1, compacted below, "
    "unavailable beyond the last index") {
  temp_dir tmp;
  auto env = open_or_fail(options_in(tmp.path()));
  auto store = open_store(*env, small_cache());
  group_write first = append_write(3, make_entries(1, 20, 2));
  first.hard = raft::hard_state{2, 1, 12};
  write_ok(*store, {first});
  group_write snapshot;
  snapshot.group = 3;
  snapshot.snapshot = raft::snapshot_meta{10, 2, {{1, 2, 3}, {4}}};
  write_ok(*store, {snapshot});
  for (int reopen = 0; reopen < 2; ++reopen) {
    CAPTURE(reopen);
    raft::log_storage& group = store->group(3);
    CHECK(group.first_index() == 11);
    CHECK(group.last_index() == 20);
    raft::term_t term = 0;
    CHECK(group.term(10, term) == raft::log_error::none);
    CHECK(term == 2);
    CHECK(group.term(9, term) == raft::log_error::compacted);
    CHECK(group.term(0, term) == raft::log_error::compacted);
    CHECK(group.term(21, term) == raft::log_error::unavailable);
    CHECK(group.term(11, term) == raft::log_error::none);  // from LMDB: below the cache
    CHECK(term == 2);
    std::vector<raft::entry> out;
    CHECK(group.entries(10, 12, UINT64_MAX, fresh(out)) == raft::log_error::compacted);
    CHECK(group.entries(11, 21, UINT64_MAX, fresh(out)) == raft::log_error::none);
    CHECK(out == make_entries(11, 20, 2));
    CHECK(group.current_snapshot().meta.index == 10);
    CHECK(group.initial_conf_state() == raft::conf_state{{1, 2, 3}, {4}});
    store.reset();
    store = open_store(*env, small_cache());
  }
}

TEST_CASE("raft_log_store: an entry at an existing index replaces it and every later entry") {
  temp_dir tmp;
  auto env = open_or_fail(options_in(tmp.path()));
  for (const raft_log_store_options& options : {raft_log_store_options{}, small_cache()}) {
    CAPTURE(options.cache_entries_max);
    const raft::group_id id = options.cache_entries_max;  // a fresh group per round
    auto store = open_store(*env, options);
    write_ok(*store, {append_write(id, make_entries(1, 30, 1))});
    // A new leader of term 3 overwrites the uncommitted suffix from 12 with 3 entries.
    write_ok(*store, {append_write(id, make_entries(12, 14, 3))});
    raft::log_storage& group = store->group(id);
    CHECK(group.last_index() == 14);
    std::vector<raft::entry> expected = make_entries(1, 11, 1);
    for (const raft::entry& entry : make_entries(12, 14, 3)) {
      expected.push_back(entry);
    }
    std::vector<raft::entry> out;
    CHECK(group.entries(1, 15, UINT64_MAX, fresh(out)) == raft::log_error::none);
    CHECK(out == expected);
    raft::term_t term = 0;
    CHECK(group.term(15, term) == raft::log_error::unavailable);
    CHECK(group.term(11, term) == raft::log_error::none);
    CHECK(term == 1);
    store.reset();
    store = open_store(*env, options);  // the deleted suffix stays deleted
    CHECK(store->group(id).last_index() == 14);
    CHECK(store->group(id).entries(1, 15, UINT64_MAX, fresh(out)) == raft::log_error::none);
    CHECK(out == expected);
  }
}

TEST_CASE("raft_log_store: a term read outside the cache is never answered stale") {
  // The view remembers the last term it read from LMDB (the core asks for the first entry's
  // on every step); every change to the log at or below it must make it read again.
  temp_dir tmp;
  auto env = open_or_fail(options_in(tmp.path()));
  auto store = open_store(*env, small_cache());  // caches entries 27..30 at most
  const raft::group_id id = 1;
  write_ok(*store, {append_write(id, make_entries(1, 30, 1))});
  raft::log_storage& group = store->group(id);
  raft::term_t term = 0;
  CHECK(group.term(12, term) == raft::log_error::none);  // from LMDB, then remembered
  CHECK(term == 1);
  CHECK(group.term(12, term) == raft::log_error::none);
  CHECK(term == 1);
  // A new leader replaces the suffix from 12 (and more than the cache holds).
  write_ok(*store, {append_write(id, make_entries(12, 20, 3))});
  CHECK(group.term(12, term) == raft::log_error::none);
  CHECK(term == 3);
  CHECK(group.term(11, term) == raft::log_error::none);  // below the change: still term 1
  CHECK(term == 1);
  CHECK(group.term(11, term) == raft::log_error::none);
  CHECK(term == 1);
  // A snapshot that keeps nothing replaces the whole log.
  group_write snap;
  snap.group = id;
  snap.snapshot = raft::snapshot_meta{40, 5, raft::conf_state{{1, 2, 3}, {}}};
  snap.entries = make_entries(41, 45, 5);
  write_ok(*store, {snap});
  CHECK(group.term(11, term) == raft::log_error::compacted);
  CHECK(group.term(41, term) == raft::log_error::none);
  CHECK(term == 5);
}

TEST_CASE("raft_log_store: many groups in one batch are all restored by a reopen") {
  temp_dir tmp;
  const std::vector<raft::group_id> ids = {0, 1, 2, 255, 256, 65536, 0xFFFFFFFFu};
  test::raft_batch_generator generator(
      20240601, test::raft_batch_generator::shape{ids, 12, 6, 100, 5, 10, 10, 5});
  {
    environment_options options = options_in(tmp.path());
    options.sync = false;  // a clean close, not a crash: no fsync needed to test the reopen
    auto env = open_or_fail(options);
    auto store = open_store(*env, small_cache());
    for (int batch = 0; batch < 200; ++batch) {
      write_ok(*store, generator.next_batch());
    }
    const std::string live = test::first_difference(*store, generator.model());
    CHECK_MESSAGE(live.empty(), live);
  }
  auto env = open_or_fail(options_in(tmp.path()));
  for (const raft_log_store_options& options : {raft_log_store_options{}, small_cache()}) {
    auto store = open_store(*env, options);
    CHECK(store->groups() == ids);
    const std::string reopened = test::first_difference(*store, generator.model());
    CHECK_MESSAGE(reopened.empty(), reopened);
  }
}

TEST_CASE(
    "raft_log_store: a snapshot taken from the log keeps the entries after it, an "
    "installed one discards the log") {
  temp_dir tmp;
  auto env = open_or_fail(options_in(tmp.path()));
  auto store = open_store(*env, small_cache());
  group_write start = append_write(5, make_entries(1, 10, 1));
  start.hard = raft::hard_state{1, 0, 8};
  write_ok(*store, {start});
  group_write taken;
  taken.group = 5;
  taken.snapshot = raft::snapshot_meta{6, 1, {{1}, {}}};
  write_ok(*store, {taken});
  raft::log_storage& group = store->group(5);
  CHECK(group.first_index() == 7);
  CHECK(group.last_index() == 10);
  // From another leader: index 9 with term 4 does not match our entry 9 (term 1).
  group_write installed;
  installed.group = 5;
  installed.snapshot = raft::snapshot_meta{9, 4, {{1, 2}, {}}};
  installed.entries = make_entries(10, 11, 4);
  installed.hard = raft::hard_state{4, 2, 9};
  write_ok(*store, {installed});
  CHECK(group.first_index() == 10);
  CHECK(group.last_index() == 11);
  raft::term_t term = 0;
  CHECK(group.term(9, term) == raft::log_error::none);
  CHECK(term == 4);
  std::vector<raft::entry> out;
  CHECK(group.entries(10, 12, UINT64_MAX, fresh(out)) == raft::log_error::none);
  CHECK(out == make_entries(10, 11, 4));
  CHECK(group.initial_hard_state() == raft::hard_state{4, 2, 9});
  // Beyond the log: everything goes, the log ends at the snapshot.
  group_write ahead;
  ahead.group = 5;
  ahead.snapshot = raft::snapshot_meta{40, 5, {{1, 2}, {3}}};
  write_ok(*store, {ahead});
  CHECK(group.first_index() == 41);
  CHECK(group.last_index() == 40);
  CHECK(group.term(40, term) == raft::log_error::none);
  CHECK(term == 5);
  store.reset();
  store = open_store(*env);
  CHECK(store->group(5).first_index() == 41);
  CHECK(store->group(5).last_index() == 40);
  CHECK(store->group(5).current_snapshot().meta.conf == raft::conf_state{{1, 2}, {3}});
}

TEST_CASE("raft_log_store: a recorded snapshot keeps the log until compact() drops a prefix") {
  temp_dir tmp;
  auto env = open_or_fail(options_in(tmp.path()));
  auto store = open_store(*env, small_cache());
  group_write start = append_write(2, make_entries(1, 5, 1));
  for (const raft::entry& entry : make_entries(6, 10, 2)) {
    start.entries.push_back(entry);
  }
  start.hard = raft::hard_state{2, 1, 9};
  write_ok(*store, {start});
  CHECK(store->compact(2, 1).ok());  // no snapshot: only index 0 is covered
  REQUIRE(store->record_snapshot(2, raft::snapshot_meta{7, 2, {{1, 2}, {}}}).ok());
  raft::log_storage& group = store->group(2);
  CHECK(group.first_index() == 1);  // nothing dropped yet
  CHECK(group.current_snapshot().meta.index == 7);
  CHECK(group.initial_conf_state() == raft::conf_state{{1, 2}, {}});
  CHECK(store->compact(2, 4).ok());  // keep 4..10 for a follower that lags a little
  CHECK(group.first_index() == 4);
  raft::term_t term = 0;
  CHECK(group.term(3, term) == raft::log_error::none);  // the last entry dropped, not the snapshot
  CHECK(term == 1);
  CHECK(group.term(2, term) == raft::log_error::compacted);
  std::vector<raft::entry> out;
  CHECK(group.entries(4, 11, UINT64_MAX, fresh(out)) == raft::log_error::none);
  CHECK(out.size() == 7);
  CHECK(store->compact(2, 3).ok());  // below the first index: nothing to do
  for (int reopen = 0; reopen < 2; ++reopen) {
    CAPTURE(reopen);
    store.reset();
    store = open_store(*env, reopen == 0 ? raft_log_store_options{} : small_cache());
    raft::log_storage& reopened = store->group(2);
    CHECK(reopened.first_index() == 4);
    CHECK(reopened.last_index() == 10);
    CHECK(reopened.term(3, term) == raft::log_error::none);
    CHECK(term == 1);
    CHECK(reopened.current_snapshot().meta.index == 7);
  }
  CHECK(store->compact(2, 8).ok());  // up to the snapshot
  CHECK(store->group(2).first_index() == 8);
  CHECK(store->group(2).term(7, term) == raft::log_error::none);
  CHECK(term == 2);
  // A later snapshot through write() drops what it covers, from the compacted log too.
  group_write taken;
  taken.group = 2;
  taken.snapshot = raft::snapshot_meta{9, 2, {{1, 2}, {}}};
  write_ok(*store, {taken});
  CHECK(store->group(2).first_index() == 10);
  CHECK(store->group(2).last_index() == 10);
}

TEST_CASE("raft_log_store: drop_group deletes a group but for its term and vote, and empties its view") {
  temp_dir tmp;
  auto env = open_or_fail(options_in(tmp.path()));
  auto store = open_store(*env);
  group_write a = append_write(1, make_entries(1, 5, 1));
  a.hard = raft::hard_state{1, 1, 3};
  a.snapshot = raft::snapshot_meta{2, 1, {{1}, {}}};  // applied first: the log starts at 3
  a.entries = make_entries(3, 5, 1);
  group_write b = append_write(2, make_entries(1, 5, 1));
  group_write c = append_write(3, make_entries(1, 5, 1));
  write_ok(*store, {a, b, c});
  raft::log_storage& dropped = store->group(2);
  CHECK(store->drop_group(2).ok());
  CHECK(store->drop_group(2).ok());
  CHECK(store->drop_group(99).ok());
  CHECK(&dropped == &store->group(2));
  CHECK(dropped.last_index() == 0);
  CHECK(store->groups() == std::vector<raft::group_id>{1, 3});
  CHECK(store->drop_group(1).ok());
  CHECK(store->groups() == std::vector<raft::group_id>{3});
  store.reset();
  store = open_store(*env);
  CHECK(store->groups() == std::vector<raft::group_id>{3});
  CHECK(store->group(1).first_index() == 1);
  CHECK(store->group(1).current_snapshot().empty());
  CHECK(store->group(1).last_index() == 0);
  // The tombstone: term and vote survive (commit does not), across a reopen.
  CHECK(store->group(1).initial_hard_state() == raft::hard_state{1, 1, 0});
  CHECK(store->group(3).last_index() == 5);
  // A dropped group starts over from index 1.
  write_ok(*store, {append_write(2, make_entries(1, 2, 7))});
  CHECK(store->group(2).last_index() == 2);
  // A returning replica continues from its tombstone: a later term, or its kept vote.
  group_write back = append_write(1, make_entries(1, 2, 2));
  back.hard = raft::hard_state{2, 3, 2};
  write_ok(*store, {back});
  CHECK(store->group(1).initial_hard_state() == raft::hard_state{2, 3, 2});
  CHECK(store->groups() == std::vector<raft::group_id>{1, 2, 3});
}

// The damaged record: entry `index` of `group` with one data byte flipped.
void flip_entry_byte(const std::string& dir, raft::group_id group, raft::index_t index) {
  test::raw_change(dir, "raft_log", [&](MDB_txn* txn, MDB_dbi dbi) {
    const std::string key = raft_log_key(group, index);
    MDB_val k{key.size(), const_cast<char*>(key.data())};
    MDB_val v{};
    REQUIRE(mdb_get(txn, dbi, &k, &v) == MDB_SUCCESS);
    std::string value(static_cast<const char*>(v.mv_data), v.mv_size);
    value.back() = static_cast<char>(value.back() ^ 0x01);
    MDB_val changed{value.size(), value.data()};
    REQUIRE(mdb_put(txn, dbi, &k, &changed, 0) == MDB_SUCCESS);
  });
}

TEST_CASE("raft_log_store: a damaged entry is corruption, on read and at open") {
  temp_dir tmp;
  {
    auto env = open_or_fail(options_in(tmp.path()));
    auto store = open_store(*env);
    write_ok(*store, {append_write(4, make_entries(1, 50, 1))});
  }
  flip_entry_byte(tmp.path(), 4, 20);
  {
    auto env = open_or_fail(options_in(tmp.path()));
    auto store = open_store(*env, small_cache());  // the tail (47..50) is fine and cached
    std::vector<raft::entry> out;
    result<raft::log_error> read = store->read_entries(4, 10, 30, UINT64_MAX, out);
    CHECK(read.status().code() == code::corruption);
    CHECK(read.status().message().find("entry 20") != std::string::npos);
    CHECK(out.empty());
    CHECK(store->read_entries(4, 21, 51, UINT64_MAX, out).ok());
    raft::term_t term = 0;
    CHECK(store->read_term(4, 20, term).status().code() == code::corruption);
    CHECK(store->read_term(4, 19, term).ok());
  }
  flip_entry_byte(tmp.path(), 4, 50);  // the last entry: open reads it
  auto env = open_or_fail(options_in(tmp.path()));
  result<std::unique_ptr<raft_log_store>> opened = raft_log_store::open(*env);
  CHECK(opened.status().code() == code::corruption);
}

TEST_CASE("raft_log_store: damaged or contradicting state records fail the open") {
  temp_dir tmp;
  {
    auto env = open_or_fail(options_in(tmp.path()));
    auto store = open_store(*env);
    group_write change = append_write(6, make_entries(1, 5, 1));
    change.hard = raft::hard_state{1, 2, 3};
    write_ok(*store, {change});
  }
  const std::string hard_key = raft_state_key(6, raft_state_kind::hard_state);
  SUBCASE("a hard state with a bad crc") {
    std::string record = raft_hard_state_encode(6, raft::hard_state{1, 2, 3});
    record[3] ^= 0x10;
    test::raw_put(tmp.path(), "raft_state", hard_key, record);
  }
  SUBCASE("a hard state of another group") {
    test::raw_put(tmp.path(), "raft_state", hard_key,
                  raft_hard_state_encode(7, raft::hard_state{1, 2, 3}));
  }
  SUBCASE("a commit index beyond the last entry") {
    test::raw_put(tmp.path(), "raft_state", hard_key,
                  raft_hard_state_encode(6, raft::hard_state{1, 2, 6}));
  }
  SUBCASE("a first index record without snapshot meta") {
    test::raw_put(tmp.path(), "raft_state", raft_state_key(6, raft_state_kind::first_index),
                  raft_first_index_encode(6, raft_first_index{1, 0}));
  }
  SUBCASE("an unknown kind") {
    std::string key = hard_key;
    key.back() = 0x09;
    test::raw_put(tmp.path(), "raft_state", key, "x");
  }
  SUBCASE("a log that does not start at the first index") {
    test::raw_del(tmp.path(), "raft_log", raft_log_key(6, 1));
  }
  SUBCASE("a gap in the tail") { test::raw_del(tmp.path(), "raft_log", raft_log_key(6, 3)); }
  auto env = open_or_fail(options_in(tmp.path()));
  result<std::unique_ptr<raft_log_store>> opened = raft_log_store::open(*env);
  CHECK(opened.status().code() == code::corruption);
  CHECK(opened.status().message().find(tmp.path()) != std::string::npos);
}

TEST_CASE("raft_log_store: a failed write leaves the views and the disk as they were") {
  temp_dir tmp;
  environment_options options = options_in(tmp.path());
  options.map_size_bytes = map_size_bytes_min;
  options.map_size_max_bytes = uint64_t{1} << 20;
  auto env = open_or_fail(options);
  auto store = open_store(*env);
  group_write start = append_write(1, make_entries(1, 3, 1));
  start.hard = raft::hard_state{1, 1, 2};
  write_ok(*store, {start});
  // 2 MiB in one batch cannot fit a map of at most 1 MiB.
  group_write big = append_write(1, {});
  for (raft::index_t index = 4; index < 4 + 64; ++index) {
    big.entries.push_back(make_entry(index, 2, std::string(32 << 10, 'x')));
  }
  big.hard = raft::hard_state{2, 0, 2};
  group_write other = append_write(9, make_entries(1, 3, 1));
  const status written = store->write({other, big});
  CHECK(written.code() == code::map_full);
  test::raft_model model;
  test::model_apply(model, start);
  CHECK(test::first_difference(*store, model).empty());
  store.reset();
  store = open_store(*env);
  CHECK(test::first_difference(*store, model).empty());

  group_write oversized = append_write(1, {make_entry(4, 1, "")});
  oversized.entries[0].data.resize(raft_entry_data_bytes_max + 1);
  CHECK(store->write({oversized}).code() == code::invalid_argument);
  group_write crowded;
  crowded.group = 1;
  crowded.snapshot = raft::snapshot_meta{2, 1, {}};
  crowded.snapshot->conf.voters.resize(raft_conf_nodes_max + 1, 1);
  CHECK(store->write({crowded}).code() == code::invalid_argument);
  CHECK(test::first_difference(*store, model).empty());
}

// Opens the store of `dir` in a forked child, runs `body` on it, and reports whether the child
// died of SIGABRT (a CK_ASSERT). The parent must not have `dir` open: LMDB handles do
// not survive fork(); a child killed inside a write transaction is what the crash tests show
// LMDB recovers from.
bool aborts_in_child(const std::string& dir, const std::function<void(raft_log_store&)>& body) {
  std::fflush(nullptr);
  const pid_t pid = fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    // No doctest report from the child: the abort is the expected outcome, and the parent
    // reports. Silence the expected assertion message too.
    signal(SIGABRT, SIG_DFL);
    if (freopen("/dev/null", "w", stdout) == nullptr ||
        freopen("/dev/null", "w", stderr) == nullptr) {
      _exit(3);
    }
    result<std::unique_ptr<environment>> env = environment::open(options_in(dir));
    if (!env.ok()) {
      _exit(4);
    }
    result<std::unique_ptr<raft_log_store>> store = raft_log_store::open(*env.value());
    if (!store.ok()) {
      _exit(5);
    }
    body(*store.value());
    _exit(0);
  }
  int wait_status = 0;
  REQUIRE(waitpid(pid, &wait_status, 0) == pid);
  return WIFSIGNALED(wait_status) && WTERMSIG(wait_status) == SIGABRT;
}

TEST_CASE("raft_log_store: a broken requirement aborts and writes nothing") {
  temp_dir tmp;
  group_write start = append_write(1, make_entries(1, 10, 2));
  start.hard = raft::hard_state{2, 1, 5};
  {
    auto env = open_or_fail(options_in(tmp.path()));
    write_ok(*open_store(*env), {start});
  }
  const auto write_aborts = [&](const group_write& change) {
    return aborts_in_child(tmp.path(), [&](raft_log_store& store) { (void)store.write({change}); });
  };
  CHECK(write_aborts(append_write(1, make_entries(12, 13, 2))));  // a gap after the last index
  CHECK(write_aborts(append_write(1, make_entries(5, 6, 3))));    // replaces committed entry 5
  CHECK(write_aborts(append_write(1, make_entries(11, 12, 1))));  // term falls
  CHECK(write_aborts(append_write(1, {make_entry(11, 2), make_entry(13, 2)})));
  group_write vote_change;
  vote_change.group = 1;
  vote_change.hard = raft::hard_state{2, 3, 5};  // another vote in the same term
  CHECK(write_aborts(vote_change));
  group_write commit_beyond;
  commit_beyond.group = 1;
  commit_beyond.hard = raft::hard_state{2, 1, 11};
  CHECK(write_aborts(commit_beyond));
  CHECK(aborts_in_child(tmp.path(), [](raft_log_store& store) { (void)store.compact(1, 3); }));
  CHECK_FALSE(aborts_in_child(tmp.path(), [](raft_log_store& store) {
    (void)store.compact(1, 1);  // index 0 is always covered
  }));
  const auto record_aborts = [&](const raft::snapshot_meta& meta) {
    return aborts_in_child(tmp.path(),
                           [&](raft_log_store& store) { (void)store.record_snapshot(1, meta); });
  };
  CHECK(record_aborts(raft::snapshot_meta{4, 1, {}}));  // entry 4 has term 2
  CHECK(record_aborts(raft::snapshot_meta{6, 2, {}}));  // beyond the commit index 5
  group_write snapshot;
  snapshot.group = 1;
  snapshot.snapshot = raft::snapshot_meta{3, 2, {}};
  CHECK_FALSE(write_aborts(snapshot));  // the one write that is allowed
  group_write older = snapshot;
  older.snapshot->index = 2;
  CHECK(write_aborts(older));  // not above the stored snapshot
  CHECK(write_aborts(snapshot));
  CHECK(aborts_in_child(tmp.path(), [](raft_log_store& store) { (void)store.compact(1, 5); }));
  auto env = open_or_fail(options_in(tmp.path()));
  auto store = open_store(*env);
  test::raft_model model;
  test::model_apply(model, start);
  test::model_apply(model, snapshot);
  const std::string difference = test::first_difference(*store, model);
  CHECK_MESSAGE(difference.empty(), difference);
}

TEST_CASE("raft_log_store: reads stay correct while the writer appends") {
  temp_dir tmp;
  auto env = open_or_fail(options_in(tmp.path()));
  auto store = open_store(*env, small_cache());
  constexpr raft::index_t batches = 300;
  constexpr raft::index_t per_batch = 5;
  std::atomic<bool> done{false};
  std::atomic<uint64_t> mismatches{0};
  std::atomic<uint64_t> reads{0};
  const auto reader = [&](raft::group_id id) {
    raft::log_storage& group = store->group(id);
    std::vector<raft::entry> out;
    for (uint64_t round = 0; !done.load() && round < 1'000'000; ++round) {
      const raft::index_t last = group.last_index();
      if (last == 0) {
        continue;
      }
      const raft::index_t lo = 1 + round % last;
      raft::term_t term = 0;
      const bool term_ok =
          group.term(lo, term) == raft::log_error::none && term == 1 + (lo - 1) / 100;
      const bool entries_ok =
          group.entries(lo, last + 1, 512, fresh(out)) == raft::log_error::none && !out.empty() &&
          out.front() == make_entry(lo, term);
      mismatches += term_ok && entries_ok ? 0 : 1;
      ++reads;
    }
  };
  std::thread first(reader, 1);
  std::thread second(reader, 2);
  for (raft::index_t batch = 0; batch < batches; ++batch) {
    std::vector<group_write> changes;
    for (const raft::group_id id : {1u, 2u}) {
      std::vector<raft::entry> entries;
      for (raft::index_t index = batch * per_batch + 1; index <= (batch + 1) * per_batch; ++index) {
        entries.push_back(make_entry(index, 1 + (index - 1) / 100));
      }
      changes.push_back(append_write(id, std::move(entries)));
    }
    write_ok(*store, changes);
  }
  // On a loaded machine the writer can finish before a reader thread ran at all: let the readers
  // read (the complete log) at least once before stopping them, for at most 10 s.
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (reads.load() < 2 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::yield();
  }
  done = true;
  first.join();
  second.join();
  CHECK(mismatches.load() == 0);
  CHECK(reads.load() > 0);
  CHECK(store->group(1).last_index() == batches * per_batch);
}

}  // namespace
}  // namespace ck::storage
