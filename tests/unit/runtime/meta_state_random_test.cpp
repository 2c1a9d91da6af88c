// Random command histories against the meta state machine. Goal: whatever is proposed, in
// whatever order (including commands mangled on the way), apply keeps every invariant, never
// hands out a raft id twice, and two replicas stay byte-identical. Method: draw commands from
// a small id pool so outcomes collide often; each run prints its seed.

#include "runtime/cluster/meta_state.hpp"

#include "meta_test_support.hpp"

#include <doctest/doctest.h>

#include <random>
#include <set>

using namespace ck::cluster;
using ck::cluster::test::make_bootstrap;
using ck::cluster::test::make_node;

namespace {

class command_source {
 public:
  explicit command_source(uint64_t seed) : random_(seed) {}

  command next(int64_t at_unix_ms) {
    switch (random_() % 5) {
      case 0:
      case 1: {  // joins dominate, sometimes from a second address
        auto node = make_node(pick_id(), random_() % 4 == 0 ? 7000 : 9000);
        return join_command{std::move(node), at_unix_ms};
      }
      case 2:
        return set_status_command{pick_id(), static_cast<node_status>(random_() % 4), at_unix_ms};
      case 3:
        return remove_node_command{pick_id()};
      default:
        return placement();
    }
  }

  std::mt19937_64& random() { return random_; }

 private:
  std::string pick_id() { return "node-" + std::to_string(1 + random_() % 8); }

  set_placement_command placement() {
    set_placement_command cmd;
    cmd.index = static_cast<uint32_t>(random_() % 10);  // 8 partitions: some out of range
    const auto count = random_() % 4;
    for (uint64_t i = 0; i < count; ++i) {
      cmd.replicas.push_back(pick_id());
    }
    return cmd;
  }

  std::mt19937_64 random_;
};

// Feeds the same commands to two replicas, the second through the encoding as a follower
// receives them, and checks after every step.
void run_history(uint64_t seed, bool mangle) {
  command_source source(seed);
  meta_state leader;
  meta_state follower;
  REQUIRE(ck::cluster::apply(leader, make_bootstrap()).outcome == apply_outcome::ok);
  REQUIRE(ck::cluster::apply(follower, make_bootstrap()).outcome == apply_outcome::ok);
  std::set<ck::raft::node_id> handed_out{1};
  for (int step = 0; step < 400; ++step) {
    std::string bytes = encode_command(source.next(10000 + step));
    if (mangle && !bytes.empty()) {
      bytes[source.random()() % bytes.size()] = static_cast<char>(source.random()());
    }
    command cmd;
    std::string error;
    if (!decode_command(bytes, cmd, error)) {
      continue;  // a leader never proposes what it cannot decode
    }
    const auto result = ck::cluster::apply(leader, cmd);
    const auto replay = ck::cluster::apply(follower, cmd);
    REQUIRE(result.outcome == replay.outcome);
    const bool fresh =
        result.outcome == apply_outcome::joined || result.outcome == apply_outcome::replaced;
    if (fresh) {
      REQUIRE(handed_out.insert(result.raft_id).second);  // never handed out before
    }
    REQUIRE(find_invariant_violation(leader).empty());
    REQUIRE(encode_snapshot(leader) == encode_snapshot(follower));
  }
  meta_state restored;
  std::string error;
  REQUIRE(decode_snapshot(encode_snapshot(leader), restored, error));
  CHECK(restored == leader);
}

}  // namespace

TEST_CASE("random command histories keep invariants, fresh raft ids and identical replicas") {
  const uint64_t seed = std::random_device{}();
  MESSAGE("seed=" << seed);
  for (uint64_t run = 0; run < 50; ++run) {
    CAPTURE(run);
    run_history(seed + run, false);
  }
}

TEST_CASE("mangled commands that still decode are applied safely") {
  const uint64_t seed = std::random_device{}();
  MESSAGE("seed=" << seed);
  for (uint64_t run = 0; run < 50; ++run) {
    CAPTURE(run);
    run_history(seed + run, true);
  }
}
