// storage/journaled_log: batches written through the journal are visible at once, survive a
// reopen with or without a checkpoint, and the checkpoint releases the journal; bad input is
// refused without breaking the object; a damaged journal or checkpoint record is corruption.
// (Durability under kill -9: the journal rounds of storage_raft_crash_test.)

#include "storage/journaled_log.hpp"

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include <doctest/doctest.h>

#include "storage/detail/lmdb_ops.hpp"
#include "storage/format.hpp"
#include "tests/unit/storage/test_support.hpp"

namespace ck::storage {
namespace {

group_write append(raft::group_id group, raft::index_t index, raft::term_t term,
                   std::string data) {
  group_write w;
  w.group = group;
  w.entries.push_back(raft::entry{term, index, raft::entry_type::normal, std::move(data)});
  w.hard = raft::hard_state{term, 0, 0};
  return w;
}

struct node_storage {
  explicit node_storage(const std::string& dir) {
    environment_options options = test::options_in(dir + "/env");
    options.defer_meta_sync = true;
    env = test::open_or_fail(options);
    auto opened = raft_log_store::open(*env);
    REQUIRE(opened.ok());
    store = std::move(opened).value();
  }
  result<std::unique_ptr<journaled_log>> open_log(const std::string& dir) {
    return journaled_log::open(*env, *store, dir + "/journal");
  }
  std::unique_ptr<environment> env;
  std::unique_ptr<raft_log_store> store;
};

raft::index_t last_of(raft_log_store& store, raft::group_id group) {
  return store.group(group).last_index();
}

TEST_CASE("journaled_log: writes are visible at once and survive reopening, checkpointed or not") {
  test::temp_dir tmp;
  {
    node_storage node(tmp.path());
    auto log = node.open_log(tmp.path());
    REQUIRE_MESSAGE(log.ok(), log.status().to_string());
    REQUIRE(log.value()->write({append(1, 1, 1, "a")}, true).ok());
    CHECK(last_of(*node.store, 1) == 1);
    REQUIRE(log.value()->checkpoint().ok());
    CHECK(log.value()->bytes_since_checkpoint() == 0);
    REQUIRE(log.value()->write({append(1, 2, 1, "b"), append(2, 1, 1, "c")}, true).ok());
    CHECK(last_of(*node.store, 2) == 1);
    CHECK(log.value()->bytes_since_checkpoint() > 0);
    // Dropped without a checkpoint: the second batch lives only in the journal.
  }
  {
    node_storage node(tmp.path());
    CHECK(last_of(*node.store, 1) == 1);  // LMDB alone: the checkpoint
    auto log = node.open_log(tmp.path());
    REQUIRE_MESSAGE(log.ok(), log.status().to_string());
    CHECK(last_of(*node.store, 1) == 2);  // replayed
    CHECK(last_of(*node.store, 2) == 1);
    std::vector<raft::entry> got;
    REQUIRE(node.store->group(1).entries(1, 3, UINT64_MAX, got) == raft::log_error::none);
    REQUIRE(got.size() == 2);
    CHECK(got[1].data == "b");
    // The replay was checkpointed: the journal before it is gone, LMDB has everything.
    auto checkpoint = load_journal_checkpoint(*node.env);
    REQUIRE(checkpoint.ok());
    CHECK(checkpoint.value() == log.value()->journal_end());
  }
  {
    node_storage node(tmp.path());
    CHECK(last_of(*node.store, 1) == 2);
  }
}

// A hard state that moves only the commit index (raft::ready::must_sync false).
group_write commit_only(raft::group_id group, raft::term_t term, raft::index_t commit) {
  group_write w;
  w.group = group;
  w.hard = raft::hard_state{term, 0, commit};
  return w;
}

raft::index_t commit_of(raft_log_store& store, raft::group_id group) {
  return store.group(group).initial_hard_state().commit;
}

TEST_CASE("journaled_log: stage() appends nothing; a checkpoint keeps what it staged, a crash "
          "before one loses only that") {
  test::temp_dir tmp;
  {
    node_storage node(tmp.path());
    auto log = node.open_log(tmp.path());
    REQUIRE_MESSAGE(log.ok(), log.status().to_string());
    REQUIRE(log.value()->write({append(1, 1, 1, "a"), append(1, 2, 1, "b")}, true).ok());
    const uint64_t journaled = log.value()->bytes_since_checkpoint();
    REQUIRE(log.value()->stage({commit_only(1, 1, 2)}).ok());
    CHECK(log.value()->bytes_since_checkpoint() == journaled);
    // Dropped without a checkpoint (a crash): the staged commit is lost, the entries are not.
  }
  {
    node_storage node(tmp.path());
    auto log = node.open_log(tmp.path());
    REQUIRE_MESSAGE(log.ok(), log.status().to_string());
    CHECK(last_of(*node.store, 1) == 2);
    CHECK(commit_of(*node.store, 1) == 0);
    REQUIRE(log.value()->stage({commit_only(1, 1, 2)}).ok());
    REQUIRE(log.value()->checkpoint().ok());
    // A journaled batch after it carries the whole hard state, commit included.
    group_write next = append(1, 3, 1, "c");
    next.hard->commit = 2;
    REQUIRE(log.value()->write({next}, true).ok());
  }
  {
    node_storage node(tmp.path());
    CHECK(commit_of(*node.store, 1) == 2);  // LMDB alone: the checkpoint
    auto log = node.open_log(tmp.path());
    REQUIRE_MESSAGE(log.ok(), log.status().to_string());
    CHECK(last_of(*node.store, 1) == 3);  // the journaled batch replays over it
    CHECK(commit_of(*node.store, 1) == 2);
  }
}

TEST_CASE("journaled_log: an oversized entry is refused and the log goes on") {
  test::temp_dir tmp;
  node_storage node(tmp.path());
  auto log = node.open_log(tmp.path());
  REQUIRE(log.ok());
  const status refused =
      log.value()->write({append(1, 1, 1, std::string(raft_entry_data_bytes_max + 1, 'x'))}, true);
  CHECK(refused.code() == code::invalid_argument);
  CHECK(log.value()->write({append(1, 1, 1, "fits")}, true).ok());
  CHECK(log.value()->checkpoint().ok());
  CHECK(last_of(*node.store, 1) == 1);
}

TEST_CASE("journaled_log: a journal record that is no flush record is corruption") {
  test::temp_dir tmp;
  {
    node_storage node(tmp.path());
    auto log = node.open_log(tmp.path());
    REQUIRE(log.ok());
  }
  {  // a well-formed segment record whose body is not a flush record
    auto segment = segment_writer::reopen(journal::segment_path(tmp.path() + "/journal", 1), 0);
    REQUIRE(segment.ok());
    REQUIRE(segment.value()->append("\x09garbage").ok());
    REQUIRE(segment.value()->sync().ok());
  }
  node_storage node(tmp.path());
  auto log = node.open_log(tmp.path());
  REQUIRE_FALSE(log.ok());
  CHECK(log.status().code() == code::corruption);
  CHECK(log.status().to_string().find("not a flush record") != std::string::npos);
}

TEST_CASE("journaled_log: a malformed checkpoint record is corruption") {
  test::temp_dir tmp;
  node_storage node(tmp.path());
  REQUIRE(node.env
              ->write([](write_txn& txn) {
                return detail::put(txn, database::meta, meta_key_journal_checkpoint, "short");
              })
              .ok());
  auto checkpoint = load_journal_checkpoint(*node.env);
  REQUIRE_FALSE(checkpoint.ok());
  CHECK(checkpoint.status().code() == code::corruption);
  CHECK_FALSE(node.open_log(tmp.path()).ok());
}

}  // namespace
}  // namespace ck::storage
