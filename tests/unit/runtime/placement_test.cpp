// Placement planning: replicas and leaders balanced within [floor, ceil], the fewest moves on
// a join, dead and leaving nodes replaced, determinism, idempotence, the throttle and the
// per-partition voter plan. The randomized case prints its seed.

#include "runtime/cluster/placement.hpp"

#include "meta_test_support.hpp"

#include <doctest/doctest.h>

#include <algorithm>
#include <limits>
#include <map>
#include <random>
#include <set>

using namespace ck::cluster;
using ck::cluster::test::make_bootstrap;
using ck::cluster::test::make_join;

namespace {

using placement = std::vector<partition_placement>;
constexpr size_t unlimited = std::numeric_limits<size_t>::max();

std::string node(int i) { return "node-" + std::to_string(i); }

meta_state make_state(int nodes, uint32_t partitions = 64, uint32_t rf = 3) {
  meta_state state;
  auto boot = make_bootstrap();
  boot.partition_count = partitions;
  boot.replication_factor = rf;
  REQUIRE(ck::cluster::apply(state, boot).outcome == apply_outcome::ok);
  for (int i = 2; i <= nodes; ++i) {
    REQUIRE(ck::cluster::apply(state, make_join(node(i))).outcome == apply_outcome::joined);
  }
  return state;
}

void set_status(meta_state& state, const std::string& id, node_status status) {
  REQUIRE(ck::cluster::apply(state, set_status_command{id, status, 5000}).outcome ==
          apply_outcome::ok);
}

// Replicas in `after` that `before` did not have (each one a copy of the partition's data).
size_t new_replicas(const placement& before, const placement& after) {
  size_t added = 0;
  for (size_t i = 0; i < after.size(); ++i) {
    const auto& old = before[i].replicas;
    for (const auto& id : after[i].replicas) {
      added += std::find(old.begin(), old.end(), id) == old.end() ? 1 : 0;
    }
  }
  return added;
}

// Applies the whole plan; returns the number of new replicas it placed.
size_t settle(meta_state& state) {
  const placement before = state.placement;
  const placement target = plan_placement(state);
  for (const auto& cmd : placement_changes(state, target, unlimited)) {
    REQUIRE(ck::cluster::apply(state, cmd).outcome == apply_outcome::ok);
  }
  CHECK(state.placement == target);
  return new_replicas(before, state.placement);
}

std::map<std::string, size_t> replica_counts(const placement& plan) {
  std::map<std::string, size_t> counts;
  for (const auto& p : plan) {
    for (const auto& id : p.replicas) {
      ++counts[id];
    }
  }
  return counts;
}

std::map<std::string, size_t> leader_counts(const placement& plan) {
  std::map<std::string, size_t> counts;
  for (const auto& p : plan) {
    ++counts[p.replicas.front()];
  }
  return counts;
}

// Every value within [floor, ceil] of total / |ids|, nodes without an entry counting 0.
void check_spread(const std::map<std::string, size_t>& counts, const std::vector<std::string>& ids,
                  size_t total) {
  for (const auto& id : ids) {
    const auto found = counts.find(id);
    const size_t have = found == counts.end() ? 0 : found->second;
    CAPTURE(id);
    CHECK(have >= total / ids.size());
    CHECK(have <= (total + ids.size() - 1) / ids.size());
  }
}

// The properties every plan has: shape, distinct candidate replicas, both spreads.
void check_plan(const meta_state& state, const placement& plan) {
  const auto ids = placement_candidates(state);
  const size_t rf = std::min<size_t>(state.replication_factor, ids.size());
  REQUIRE(plan.size() == state.partition_count);
  for (size_t i = 0; i < plan.size(); ++i) {
    CAPTURE(i);
    CHECK(plan[i].index == i);
    const std::set<std::string> distinct(plan[i].replicas.begin(), plan[i].replicas.end());
    CHECK(distinct.size() == plan[i].replicas.size());
    CHECK(plan[i].replicas.size() == rf);
    for (const auto& id : plan[i].replicas) {
      CHECK(std::binary_search(ids.begin(), ids.end(), id));
    }
  }
  check_spread(replica_counts(plan), ids, plan.size() * rf);
  check_spread(leader_counts(plan), ids, plan.size());
}

}  // namespace

TEST_CASE("placement_names tells whether any partition is placed on a node") {
  meta_state state = make_state(4, 8);
  settle(state);
  CHECK(placement_names(state, node(4)));
  set_status(state, node(4), node_status::leaving);
  CHECK(placement_names(state, node(4)));  // leaving: still placed until the moves are planned
  settle(state);
  CHECK_FALSE(placement_names(state, node(4)));
  CHECK(placement_names(state, node(1)));
  CHECK_FALSE(placement_names(state, "node-9"));
}

TEST_CASE("placement_candidates are the alive and suspect nodes, sorted") {
  auto state = make_state(5);
  set_status(state, node(2), node_status::suspect);
  set_status(state, node(3), node_status::dead);
  set_status(state, node(4), node_status::leaving);
  CHECK(placement_candidates(state) == std::vector<std::string>{node(1), node(2), node(5)});
}

TEST_CASE("plan_placement leaves an unbootstrapped state or one without candidates alone") {
  CHECK(plan_placement(meta_state{}).empty());
  auto state = make_state(1);
  set_status(state, node(1), node_status::dead);
  CHECK(plan_placement(state) == state.placement);
}

TEST_CASE("plan_placement on one node gives every partition that one replica") {
  auto state = make_state(1);
  CHECK(settle(state) == 64);
  for (const auto& p : state.placement) {
    CHECK(p.replicas == std::vector<std::string>{node(1)});
  }
}

TEST_CASE("plan_placement on three nodes with RF 3 puts all 64 everywhere, leaders 21/21/22") {
  auto state = make_state(3);
  CHECK(settle(state) == 192);
  check_plan(state, state.placement);
  const auto replicas = replica_counts(state.placement);
  for (int i = 1; i <= 3; ++i) {
    CHECK(replicas.at(node(i)) == 64);
  }
  std::vector<size_t> leaders;
  for (const auto& [id, count] : leader_counts(state.placement)) {
    leaders.push_back(count);
  }
  std::sort(leaders.begin(), leaders.end());
  CHECK(leaders == std::vector<size_t>{21, 21, 22});
}

TEST_CASE("plan_placement moves exactly 48 replicas to a fourth node and nothing else") {
  auto state = make_state(3);
  settle(state);
  const placement before = state.placement;
  REQUIRE(ck::cluster::apply(state, make_join(node(4))).outcome == apply_outcome::joined);
  CHECK(settle(state) == 48);
  check_plan(state, state.placement);
  for (int i = 1; i <= 4; ++i) {
    CHECK(replica_counts(state.placement).at(node(i)) == 48);
    CHECK(leader_counts(state.placement).at(node(i)) == 16);
  }
  for (size_t i = 0; i < before.size(); ++i) {  // only node-4 arrives, at most one per group
    CAPTURE(i);
    size_t arrived = 0;
    for (const auto& id : state.placement[i].replicas) {
      const auto& old = before[i].replicas;
      if (std::find(old.begin(), old.end(), id) == old.end()) {
        CHECK(id == node(4));
        ++arrived;
      }
    }
    CHECK(arrived <= 1);
  }
  size_t new_leaders = 0;  // node-4 takes its 16 directly, no chains
  for (size_t i = 0; i < before.size(); ++i) {
    new_leaders += before[i].replicas.front() != state.placement[i].replicas.front() ? 1 : 0;
  }
  CHECK(new_leaders == 16);
}

TEST_CASE("plan_placement replaces a dead node's replicas and keeps every other replica") {
  auto state = make_state(4);
  settle(state);
  const placement before = state.placement;
  set_status(state, node(2), node_status::dead);
  CHECK(settle(state) == 48);  // exactly node-2's replicas
  check_plan(state, state.placement);
  for (size_t i = 0; i < before.size(); ++i) {
    for (const auto& id : before[i].replicas) {
      const auto& now = state.placement[i].replicas;
      CHECK((id == node(2)) == (std::find(now.begin(), now.end(), id) == now.end()));
    }
  }
}

TEST_CASE("plan_placement keeps a suspect node's replicas") {
  auto state = make_state(4);
  settle(state);
  const placement before = state.placement;
  set_status(state, node(3), node_status::suspect);
  CHECK(plan_placement(state) == before);
}

TEST_CASE("plan_placement drains a leaving node so that it can be removed") {
  auto state = make_state(4);
  settle(state);
  set_status(state, node(4), node_status::leaving);
  CHECK(settle(state) == 48);
  check_plan(state, state.placement);
  CHECK(replica_counts(state.placement).count(node(4)) == 0);
  CHECK(ck::cluster::apply(state, remove_node_command{node(4)}).outcome == apply_outcome::ok);
  CHECK(settle(state) == 0);
}

TEST_CASE("plan_placement with RF above the node count places one replica per node") {
  auto state = make_state(2, 16, 5);
  settle(state);
  check_plan(state, state.placement);
  CHECK(state.placement[0].replicas.size() == 2);
  for (int i = 3; i <= 6; ++i) {  // up-replicated as nodes join, capped at RF
    REQUIRE(ck::cluster::apply(state, make_join(node(i))).outcome == apply_outcome::joined);
    settle(state);
    check_plan(state, state.placement);
    CHECK(state.placement[0].replicas.size() == std::min<size_t>(i, 5));
  }
}

TEST_CASE("plan_placement trims a partition holding a move in flight back to RF") {
  auto state = make_state(4);
  settle(state);
  auto moving = state.placement[0].replicas;
  for (int i = 1; i <= 4; ++i) {
    if (std::find(moving.begin(), moving.end(), node(i)) == moving.end()) {
      moving.push_back(node(i));
    }
  }
  REQUIRE(ck::cluster::apply(state, set_placement_command{0, moving}).outcome == apply_outcome::ok);
  const auto plan = plan_placement(state);
  check_plan(state, plan);
  CHECK(new_replicas(state.placement, plan) == 0);
}

TEST_CASE("plan_placement is deterministic and idempotent") {
  auto state = make_state(5, 100, 3);
  set_status(state, node(3), node_status::suspect);
  CHECK(plan_placement(state) == plan_placement(state));
  settle(state);
  CHECK(plan_placement(state) == state.placement);
  CHECK(placement_changes(state, plan_placement(state), unlimited).empty());
}

TEST_CASE("placement_changes lists only differing partitions, lowest index first, throttled") {
  auto state = make_state(3, 16, 3);
  settle(state);
  REQUIRE(ck::cluster::apply(state, make_join(node(4))).outcome == apply_outcome::joined);
  const auto target = plan_placement(state);
  const auto all = placement_changes(state, target, unlimited);
  REQUIRE(all.size() > 3);
  for (const auto& cmd : all) {
    CHECK(state.placement[cmd.index].replicas != cmd.replicas);
    CHECK(target[cmd.index].replicas == cmd.replicas);
  }
  const auto first = placement_changes(state, target, 3);
  REQUIRE(first.size() == 3);
  for (size_t i = 0; i < 3; ++i) {
    CHECK(first[i].index == all[i].index);
  }
  CHECK(placement_changes(state, target, 0).empty());
}

TEST_CASE("partition_voter_plan makes every target replica a voter and skips unknown nodes") {
  auto state = make_state(4);
  partition_placement target{7, {node(3), node(1), "node-unknown", node(4)}};
  const auto plan = partition_voter_plan(state, target);
  CHECK(plan.voters == std::vector<ck::raft::node_id>{state.nodes.at(node(1)).raft_id,
                                                      state.nodes.at(node(3)).raft_id,
                                                      state.nodes.at(node(4)).raft_id});
  CHECK(plan.learners.empty());
  ck::raft::conf_state conf;  // the group on node-1..3 walks to node-1, 3, 4
  for (int i = 1; i <= 3; ++i) {
    conf.voters.push_back(state.nodes.at(node(i)).raft_id);
  }
  const auto first = next_meta_conf_change(conf, plan);
  REQUIRE(first.has_value());
  CHECK(first->type == ck::raft::conf_change_type::add_learner);
  CHECK(first->node == state.nodes.at(node(4)).raft_id);
}

TEST_CASE("plan_placement under random churn keeps every property") {
  for (uint32_t seed = 1; seed <= 150; ++seed) {
    CAPTURE(seed);
    std::mt19937 rng(seed);
    const auto pick = [&](int n) { return static_cast<int>(rng() % static_cast<uint32_t>(n)); };
    auto state = make_state(1 + pick(4), 1 + static_cast<uint32_t>(pick(97)),
                            1 + static_cast<uint32_t>(pick(5)));
    int next = static_cast<int>(state.nodes.size()) + 1;
    for (int step = 0; step < 25; ++step) {
      CAPTURE(step);
      std::vector<std::string> ids;
      for (const auto& [id, record] : state.nodes) {
        ids.push_back(id);
      }
      const auto& id = ids[static_cast<size_t>(pick(static_cast<int>(ids.size())))];
      const int op = pick(10);
      if (op < 3 && state.nodes.size() < 9) {
        REQUIRE(ck::cluster::apply(state, make_join(node(next++))).outcome ==
                apply_outcome::joined);
      } else if (op < 8) {
        const node_status status = static_cast<node_status>(pick(4));
        ck::cluster::apply(state, set_status_command{id, status, 6000 + step});
      } else {
        ck::cluster::apply(state, remove_node_command{id});  // refused while it hosts
      }
      const auto plan = plan_placement(state);
      CHECK(plan == plan_placement(state));
      if (placement_candidates(state).empty()) {
        CHECK(plan == state.placement);
        continue;
      }
      check_plan(state, plan);
      // Apply a throttled slice, sometimes the rest, as the rebalancer would.
      const size_t budget = pick(3) == 0 ? unlimited : 1 + static_cast<size_t>(pick(8));
      for (const auto& cmd : placement_changes(state, plan, budget)) {
        REQUIRE(ck::cluster::apply(state, cmd).outcome == apply_outcome::ok);
      }
      check_invariants(state);
    }
    if (!placement_candidates(state).empty()) {
      settle(state);
      CHECK(placement_changes(state, plan_placement(state), unlimited).empty());
    }
  }
}
