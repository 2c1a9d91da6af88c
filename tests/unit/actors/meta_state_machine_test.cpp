// The meta group's state machine: its result encoding and corrupt-input handling on their own,
// then three replicas of group 0 on a real actor system (each with its own LMDB environment,
// store and writer, talking through the in-process transport) that bootstrap the cluster, take
// joins through the leader, refuse bad commands, agree byte for byte, and agree again after a
// replica restarts from its disk past a snapshot. Every wait is bounded by a deadline and fails
// with a message saying what did not happen.

#include "actors/local_transport.hpp"
#include "actors/meta_state_machine.hpp"
#include "actors/raft_group.hpp"
#include "actors/raft_log_writer.hpp"
#include "actors/type_ids.hpp"
#include "runtime/cluster/meta_state.hpp"
#include "runtime/raft/bootstrap.hpp"
#include "storage/environment.hpp"
#include "storage/raft_log_store.hpp"

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/scoped_actor.hpp>
#include <doctest/doctest.h>

#include "tests/unit/actors/raft_cluster_fixture.hpp"

#include <array>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <thread>
#include <vector>

using namespace ck;
using namespace std::chrono_literals;

namespace {

constexpr raft::group_id meta_group = 0;
constexpr auto wait_max = test::raft_wait_max;

cluster::node_record make_node(int number, int raft_port) {
  cluster::node_record node;
  node.id = "node-" + std::to_string(number);
  node.name = "Node " + std::to_string(number);
  node.raft_addr = "127.0.0.1:" + std::to_string(raft_port);
  node.http_addr = "127.0.0.1:" + std::to_string(8000 + number);
  node.kv_addr = "127.0.0.1:" + std::to_string(9000 + number);
  return node;
}

cluster::bootstrap_command make_bootstrap() {
  cluster::bootstrap_command cmd;
  cmd.cluster_id = "test-cluster";
  cmd.cluster_name = "Test cluster";
  cmd.partition_count = 4;
  cmd.replication_factor = 3;
  cmd.first = make_node(1, 7001);
  cmd.at_unix_ms = 1'000;
  return cmd;
}

std::string join_bytes(int number, int raft_port, int64_t at_unix_ms) {
  return cluster::encode_command(cluster::join_command{make_node(number, raft_port), at_unix_ms});
}

using replica = test::raft_replica<actors::meta_state_machine>;

struct meta_fixture : test::raft_cluster_fixture<actors::meta_state_machine, 3> {
  meta_fixture() : raft_cluster_fixture(meta_group, "ck-meta-sm") {}

  ~meta_fixture() {
    stop_all();
    for (auto& r : replicas) {
      if (r.sm) {
        cluster::check_invariants(r.sm->current());
      }
    }
  }

  // Proposes through the current leader; returns the decoded result once applied there.
  cluster::apply_result propose(const std::string& bytes) {
    replica& leader = wait_for_leader();
    caf::scoped_actor self{*sys};
    std::string reply;
    bool answered = false;
    self->request(leader.group, wait_max, atoms::raft_propose_atom_v, bytes)
        .receive(
            [&](actors::raft_propose_reply& r) {
              reply = std::move(r.result);
              answered = true;
            },
            [&](caf::error& e) { FAIL("proposal failed: " << to_string(e)); });
    REQUIRE(answered);
    cluster::apply_result result;
    std::string error;
    REQUIRE_MESSAGE(actors::decode_meta_apply_result(reply, result, error), error);
    return result;
  }

  // "" when every running replica holds the same encoded state as `expected`.
  std::string state_problem(const std::string& expected) {
    for (auto& r : replicas) {
      if (r.group && cluster::encode_snapshot(r.sm->current()) != expected) {
        return "node " + std::to_string(r.id) + " holds another state (version " +
               std::to_string(r.sm->current().version) + ")";
      }
    }
    return "";
  }

  void wait_for_same_state(const std::string& expected) {
    const auto deadline = std::chrono::steady_clock::now() + wait_max;
    std::string problem = state_problem(expected);
    while (!problem.empty()) {
      if (std::chrono::steady_clock::now() >= deadline) {
        FAIL("replicas did not converge within " << wait_max.count() << " s: " << problem);
      }
      std::this_thread::sleep_for(10ms);  // poll pace, bounded by the deadline
      problem = state_problem(expected);
    }
  }

  template <class Predicate>
  void wait_until(Predicate done, const char* failure) {
    const auto deadline = std::chrono::steady_clock::now() + wait_max;
    while (!done()) {
      if (std::chrono::steady_clock::now() >= deadline) {
        FAIL(failure << " within " << wait_max.count() << " s");
      }
      std::this_thread::sleep_for(10ms);  // poll pace, bounded by the deadline
    }
  }
};

}  // namespace

TEST_CASE("meta state machine: an apply result round-trips and bad bytes are refused") {
  cluster::apply_result in{cluster::apply_outcome::replaced, "node node-2 replaced", 42};
  const auto bytes = actors::encode_meta_apply_result(in);
  CHECK(bytes.size() == actors::meta_result_fixed_bytes + in.message.size());
  cluster::apply_result out;
  std::string error;
  REQUIRE_MESSAGE(actors::decode_meta_apply_result(bytes, out, error), error);
  CHECK(out.outcome == in.outcome);
  CHECK(out.message == in.message);
  CHECK(out.raft_id == 42);
  cluster::apply_result untouched{cluster::apply_outcome::ok, "keep", 7};
  const std::vector<std::string> bad = {
      "", bytes.substr(0, 13), bytes + "x", "\x02" + bytes.substr(1),
      bytes.substr(0, 1) + "\x7f" + bytes.substr(2)};
  for (const auto& b : bad) {
    error.clear();
    CHECK_FALSE(actors::decode_meta_apply_result(b, untouched, error));
    CHECK_FALSE(error.empty());
    CHECK(untouched.message == "keep");
  }
}

TEST_CASE("meta state machine: garbage commands and corrupt snapshots leave the state alone") {
  std::vector<std::pair<raft::index_t, bool>> seen;  // index, command decoded
  actors::meta_state_machine sm(
      [&](raft::index_t index, const cluster::command* cmd, const cluster::apply_result&,
          const cluster::meta_state&, const std::vector<std::string>&) {
        seen.emplace_back(index, cmd != nullptr);
      });
  cluster::apply_result result;
  std::string error;
  REQUIRE(actors::decode_meta_apply_result(
      sm.apply(1, cluster::encode_command(make_bootstrap())), result, error));
  CHECK(result.outcome == cluster::apply_outcome::ok);
  const auto image = sm.snapshot();
  REQUIRE(actors::decode_meta_apply_result(sm.apply(2, std::string("\xff\x01junk")), result,
                                           error));
  CHECK(result.outcome == cluster::apply_outcome::invalid);
  CHECK(sm.snapshot() == image);
  sm.restore(image.substr(0, image.size() / 2));
  CHECK(sm.restore_failures() == 1);
  CHECK_FALSE(sm.last_restore_error().empty());
  CHECK(sm.snapshot() == image);
  actors::meta_state_machine other;
  other.restore(image);
  CHECK(other.last_restore_error().empty());
  CHECK(cluster::encode_snapshot(other.current()) == image);
  REQUIRE(seen.size() == 2);
  CHECK(seen[0] == std::make_pair(raft::index_t{1}, true));
  CHECK(seen[1] == std::make_pair(raft::index_t{2}, false));
  CHECK(sm.applied_index() == 2);
}

TEST_CASE_FIXTURE(meta_fixture,
                  "meta state machine: three replicas bootstrap, take joins and agree") {
  snapshot_every_entries = 3;
  snapshot_keep_entries = 0;  // compact everything a snapshot covers
  for (auto& r : replicas) {
    start(r);
  }
  auto boot = propose(cluster::encode_command(make_bootstrap()));
  CHECK_MESSAGE(boot.outcome == cluster::apply_outcome::ok, boot.message);
  CHECK(boot.raft_id == 1);
  auto join2 = propose(join_bytes(2, 7002, 2'000));
  CHECK_MESSAGE(join2.outcome == cluster::apply_outcome::joined, join2.message);
  CHECK(join2.raft_id == 2);
  auto join3 = propose(join_bytes(3, 7003, 3'000));
  CHECK_MESSAGE(join3.outcome == cluster::apply_outcome::joined, join3.message);
  CHECK(join3.raft_id == 3);
  auto again = propose(join_bytes(2, 7002, 4'000));  // same id, same raft address
  CHECK_MESSAGE(again.outcome == cluster::apply_outcome::rejoined, again.message);
  CHECK(again.raft_id == 2);
  auto elsewhere = propose(join_bytes(3, 7999, 5'000));  // alive at another address
  CHECK_MESSAGE(elsewhere.outcome == cluster::apply_outcome::conflict, elsewhere.message);
  auto twice = propose(cluster::encode_command(make_bootstrap()));
  CHECK_MESSAGE(twice.outcome == cluster::apply_outcome::conflict, twice.message);
  auto bad_node = make_node(4, 7004);
  bad_node.id = "no spaces allowed";
  auto bad = propose(cluster::encode_command(cluster::join_command{bad_node, 6'000}));
  CHECK_MESSAGE(bad.outcome == cluster::apply_outcome::invalid, bad.message);

  replica& leader = wait_for_leader();
  const auto expected = cluster::encode_snapshot(leader.sm->current());
  wait_for_same_state(expected);
  const auto state = leader.sm->current();
  CHECK(state.nodes.size() == 3);
  CHECK(state.next_raft_id == 4);

  // A garbage command commits like any entry, answers invalid and changes nothing.
  auto garbage = propose(std::string("\x01\x63garbage"));
  CHECK_MESSAGE(garbage.outcome == cluster::apply_outcome::invalid, garbage.message);
  wait_for_same_state(expected);

  // Restart a follower from its LMDB directory once its log was compacted under a snapshot:
  // its durable state is the snapshot image (restored into a new machine), the rest comes
  // from the leader as entries.
  replica& follower = replicas[leader.id == 1 ? 1 : 0];
  wait_until([&] { return follower.store->group(meta_group).first_index() > 3; },
             "the follower did not compact its log under a snapshot");
  // Stop only once the follower applied the leader's whole log: the group is then idle
  // (heartbeats add no entries), so its applied index cannot move before the stop.
  std::optional<raft::status_info> before;
  wait_until(
      [&] {
        auto lead = status(leader);
        before = status(follower);
        return lead && before && before->applied == lead->last_index;
      },
      "the follower did not apply the leader's whole log");
  REQUIRE(before.has_value());
  stop(follower);
  const auto image = follower.sm->snapshot();  // the group is idle: as of before->applied
  follower.sm = std::make_shared<actors::meta_state_machine>();
  follower.sm->restore(image);
  REQUIRE_MESSAGE(follower.sm->last_restore_error().empty(), follower.sm->last_restore_error());
  start(follower, before->applied);
  auto suspect = propose(cluster::encode_command(
      cluster::set_status_command{"node-3", cluster::node_status::suspect, 7'000}));
  CHECK_MESSAGE(suspect.outcome == cluster::apply_outcome::ok, suspect.message);
  const auto after = cluster::encode_snapshot(wait_for_leader().sm->current());
  CHECK(after != expected);
  wait_for_same_state(after);
  CHECK(follower.sm->restore_failures() == 0);
}
