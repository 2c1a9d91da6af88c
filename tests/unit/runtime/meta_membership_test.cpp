// Meta voter planning (who votes for 1..7 nodes, dead voters replaced, live voters kept) and
// the walk toward the plan: one change at a time, converging from any start within the
// documented bound, never without a voter. The randomized case prints its seed.

#include "runtime/cluster/meta_membership.hpp"

#include "meta_test_support.hpp"

#include <doctest/doctest.h>

#include <algorithm>
#include <random>

using namespace ck::cluster;
using ck::cluster::test::make_cluster;
using ck::raft::conf_change;
using ck::raft::conf_change_type;
using ck::raft::conf_state;
using ck::raft::node_id;

namespace {

using ids = std::vector<node_id>;

void set_status(meta_state& state, int node, node_status status) {
  const auto result =
      ck::cluster::apply(state, set_status_command{"node-" + std::to_string(node), status, 5000});
  REQUIRE(result.outcome == apply_outcome::ok);
}

void erase_id(ids& list, node_id id) {
  list.erase(std::remove(list.begin(), list.end(), id), list.end());
}

void insert_id(ids& list, node_id id) {
  list.insert(std::lower_bound(list.begin(), list.end(), id), id);
}

// What the Raft core does with a change (tracker::apply_change).
void apply_change(conf_state& conf, const conf_change& change) {
  erase_id(conf.voters, change.node);
  erase_id(conf.learners, change.node);
  if (change.type == conf_change_type::add_voter) {
    insert_id(conf.voters, change.node);
  } else if (change.type == conf_change_type::add_learner) {
    insert_id(conf.learners, change.node);
  }
}

}  // namespace

TEST_CASE("plan_meta_voters makes every node a voter up to five") {
  for (int count : {1, 3, 5}) {
    CAPTURE(count);
    const auto plan = plan_meta_voters(make_cluster(count));
    CHECK(plan.voters.size() == static_cast<size_t>(count));
    CHECK(plan.learners.empty());
  }
}

TEST_CASE("plan_meta_voters with seven nodes keeps the first five as voters, two learners") {
  const auto plan = plan_meta_voters(make_cluster(7));
  CHECK(plan.voters == ids{1, 2, 3, 4, 5});
  CHECK(plan.learners == ids{6, 7});
}

TEST_CASE("plan_meta_voters of an unbootstrapped state is empty and changes nothing") {
  const auto plan = plan_meta_voters(meta_state{});
  CHECK(plan.voters.empty());
  CHECK_FALSE(next_meta_conf_change(conf_state{{1}, {}}, plan).has_value());
}

TEST_CASE("a dead voter is replaced by an alive learner") {
  meta_state state = make_cluster(7);
  set_status(state, 2, node_status::dead);
  const conf_state current{{1, 2, 3, 4, 5}, {6, 7}};
  const auto plan = plan_meta_voters(state, current);
  CHECK(plan.voters == ids{1, 3, 4, 5, 6});
  CHECK(plan.learners == ids{2, 7});
}

TEST_CASE("a dead voter stays a voter while no live node can replace it") {
  meta_state state = make_cluster(3);
  set_status(state, 3, node_status::dead);
  const auto plan = plan_meta_voters(state, conf_state{{1, 2, 3}, {}});
  CHECK(plan.voters == ids{1, 2, 3});
}

TEST_CASE("a live voter is not churned when an earlier node comes back") {
  meta_state state = make_cluster(7);
  set_status(state, 2, node_status::dead);
  const conf_state after_replacement{{1, 3, 4, 5, 6}, {2, 7}};
  set_status(state, 2, node_status::alive);
  const auto plan = plan_meta_voters(state, after_replacement);
  CHECK(plan.voters == ids{1, 3, 4, 5, 6});
  CHECK(plan.learners == ids{2, 7});
}

TEST_CASE("a suspect voter keeps its vote, and a suspect node is not promoted over an alive one") {
  meta_state state = make_cluster(7);
  set_status(state, 3, node_status::suspect);
  set_status(state, 6, node_status::suspect);
  const auto plan = plan_meta_voters(state, conf_state{{1, 2, 3, 4}, {5, 6, 7}});
  CHECK(plan.voters == ids{1, 2, 3, 4, 5});
  CHECK(plan.learners == ids{6, 7});
}

TEST_CASE("next_meta_conf_change adds a learner, promotes it, then demotes the replaced voter") {
  const meta_voter_plan plan{{1, 3, 4, 5, 6}, {2, 7}};
  conf_state conf{{1, 2, 3, 4, 5}, {}};
  auto change = next_meta_conf_change(conf, plan);
  REQUIRE(change);
  CHECK(change->type == conf_change_type::add_learner);
  CHECK(change->node == 6);
  apply_change(conf, *change);
  change = next_meta_conf_change(conf, plan);
  REQUIRE(change);
  CHECK(change->node == 7);  // every planned member is in before any promotion
  apply_change(conf, *change);
  change = next_meta_conf_change(conf, plan);
  REQUIRE(change);
  CHECK(change->type == conf_change_type::add_voter);
  CHECK(change->node == 6);
  apply_change(conf, *change);
  CHECK(conf.voters.size() == 6);  // add before remove: one extra voter for one step
  change = next_meta_conf_change(conf, plan);
  REQUIRE(change);
  CHECK(change->type == conf_change_type::add_learner);
  CHECK(change->node == 2);
  apply_change(conf, *change);
  CHECK(conf == conf_state{plan.voters, plan.learners});
  CHECK_FALSE(next_meta_conf_change(conf, plan).has_value());
}

TEST_CASE("next_meta_conf_change converges from any start within the bound") {
  const uint64_t seed = std::random_device{}();
  MESSAGE("seed=" << seed);
  std::mt19937_64 random(seed);
  for (int round = 0; round < 2000; ++round) {
    CAPTURE(round);
    // A cluster of 1..9 nodes with random statuses and a random current membership drawn
    // from raft ids 1..12 (some not in the state: removed or replaced incarnations).
    meta_state state = make_cluster(1 + static_cast<int>(random() % 9));
    for (auto& [id, node] : state.nodes) {
      node.status = static_cast<node_status>(random() % 4);
    }
    conf_state conf;
    for (node_id id = 1; id <= 12; ++id) {
      const auto dice = random() % 3;
      if (dice == 1) {
        conf.voters.push_back(id);
      } else if (dice == 2) {
        conf.learners.push_back(id);
      }
    }
    if (conf.voters.empty()) {
      insert_id(conf.voters, 1 + random() % 12);
      erase_id(conf.learners, conf.voters.front());
    }
    const auto plan = plan_meta_voters(state, conf, 1 + random() % 7);
    const size_t bound =
        conf.voters.size() + conf.learners.size() + 2 * (plan.voters.size() + plan.learners.size());
    size_t steps = 0;
    while (auto change = next_meta_conf_change(conf, plan)) {
      REQUIRE(steps < bound);
      apply_change(conf, *change);
      REQUIRE_FALSE(conf.voters.empty());
      ++steps;
    }
    CHECK(conf.voters == plan.voters);
    CHECK(conf.learners == plan.learners);
  }
}

TEST_CASE("the plan is recomputed stably once reached") {
  meta_state state = make_cluster(7);
  set_status(state, 1, node_status::dead);
  set_status(state, 4, node_status::dead);
  conf_state conf{{1, 2, 3, 4, 5}, {6, 7}};
  const auto plan = plan_meta_voters(state, conf);
  CHECK(plan.voters == ids{2, 3, 5, 6, 7});
  while (auto change = next_meta_conf_change(conf, plan)) {
    apply_change(conf, *change);
  }
  CHECK(plan_meta_voters(state, conf) == plan);  // a fixpoint: no further churn
}
