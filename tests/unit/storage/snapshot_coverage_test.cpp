// check_snapshots_covered: a partition replica whose stored applied index is below its Raft
// snapshot is refused with a line naming the partition and both indexes (the node prints it
// and exits instead of failing an assertion in the group), and nothing else is.

#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "storage/partition_state.hpp"
#include "storage/raft_log_store.hpp"
#include "storage/snapshot_coverage.hpp"
#include "test_support.hpp"

namespace ck::storage {
namespace {

using test::open_or_fail;
using test::options_in;
using test::temp_dir;

std::unique_ptr<raft_log_store> open_store(environment& env) {
  result<std::unique_ptr<raft_log_store>> opened = raft_log_store::open(env);
  REQUIRE_MESSAGE(opened.ok(), opened.status().to_string());
  return std::move(opened).value();
}

// Group `group` holds entries 1..10 of term 1, committed, and a snapshot recorded at `snapshot`
// (none for 0); its machine's stored applied index is `applied`.
void make_replica(environment& env, raft_log_store& store, raft::group_id group,
                  raft::index_t snapshot, uint64_t applied) {
  group_write write;
  write.group = group;
  for (raft::index_t index = 1; index <= 10; ++index) {
    raft::entry entry;
    entry.index = index;
    entry.term = 1;
    entry.data = "command " + std::to_string(index);
    write.entries.push_back(entry);
  }
  write.hard = raft::hard_state{1, 1, 10};
  const status written = store.write({write});
  REQUIRE_MESSAGE(written.ok(), written.to_string());
  if (snapshot > 0) {
    const status recorded = store.record_snapshot(group, raft::snapshot_meta{snapshot, 1, {{1}, {}}});
    REQUIRE_MESSAGE(recorded.ok(), recorded.to_string());
  }
  const status saved = env.write([&](write_txn& txn) {
    return save_partition_applied(txn, static_cast<uint32_t>(group), applied);
  });
  REQUIRE_MESSAGE(saved.ok(), saved.to_string());
}

TEST_CASE("check_snapshots_covered: data at or above every snapshot passes") {
  temp_dir tmp;
  auto env = open_or_fail(options_in(tmp.path()));
  auto store = open_store(*env);
  CHECK(check_snapshots_covered(*env, *store).ok());  // nothing stored
  make_replica(*env, *store, 1, 7, 7);    // applied exactly at the snapshot
  make_replica(*env, *store, 2, 5, 10);   // applied beyond it
  make_replica(*env, *store, 3, 0, 0);    // no snapshot, nothing applied yet
  make_replica(*env, *store, 0, 0, 0);    // the meta group is not a partition
  CHECK(check_snapshots_covered(*env, *store).ok());
}

TEST_CASE("check_snapshots_covered: data below a snapshot names the partition and both indexes") {
  temp_dir tmp;
  auto env = open_or_fail(options_in(tmp.path()));
  {
    auto store = open_store(*env);
    make_replica(*env, *store, 1, 7, 7);
    make_replica(*env, *store, 6, 9, 8);  // partition-5: the pre-baed5db shape (snapshot at an
                                          // entry the machine never saw)
  }
  auto store = open_store(*env);  // as a restart finds it
  const status found = check_snapshots_covered(*env, *store);
  REQUIRE_FALSE(found.ok());
  CHECK(found.code() == code::corruption);
  const std::string& line = found.message();
  CHECK(line.find("partition-5's data is applied through index 8, below its Raft snapshot at 9") !=
        std::string::npos);
  CHECK(line.find('\n') == std::string::npos);
}

}  // namespace
}  // namespace ck::storage
