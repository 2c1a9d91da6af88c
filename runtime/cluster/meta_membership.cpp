// Meta group voter planning and the one-step-at-a-time walk toward the plan (see the header
// for the ranking and the step order, and why).

#include "runtime/cluster/meta_membership.hpp"

#include "runtime/base/assert.hpp"

#include <algorithm>
#include <tuple>

namespace ck::cluster {

namespace {

bool contains(const std::vector<raft::node_id>& ids, raft::node_id id) {
  return std::find(ids.begin(), ids.end(), id) != ids.end();
}

bool is_healthy(node_status status) {
  return status == node_status::alive || status == node_status::suspect;
}

// Lower ranks become voters first (header, items 1..5).
int voter_rank(const node_record& node, bool voter_now) {
  if (voter_now && is_healthy(node.status)) {
    return 1;
  }
  if (node.status == node_status::alive) {
    return 2;
  }
  if (node.status == node_status::suspect) {
    return 3;
  }
  return voter_now ? 4 : 5;
}

// The lowest id in `ids` that `pick` accepts.
template <class Pick>
std::optional<raft::node_id> lowest(const std::vector<raft::node_id>& ids, Pick pick) {
  std::optional<raft::node_id> best;
  for (const raft::node_id id : ids) {
    if (pick(id) && (!best || id < *best)) {
      best = id;
    }
  }
  return best;
}

raft::conf_change make_change(raft::conf_change_type type, raft::node_id id) {
  raft::conf_change change;
  change.type = type;
  change.node = id;
  return change;
}

}  // namespace

meta_voter_plan plan_meta_voters(const meta_state& state, const raft::conf_state& current,
                                 size_t voters_max) {
  CK_ASSERT_GE(voters_max, size_t{1});
  std::vector<std::tuple<int, raft::node_id>> ranked;
  ranked.reserve(state.nodes.size());
  for (const auto& [id, node] : state.nodes) {
    CK_ASSERT_NE(node.raft_id, raft::no_node);
    ranked.emplace_back(voter_rank(node, contains(current.voters, node.raft_id)), node.raft_id);
  }
  std::sort(ranked.begin(), ranked.end());
  meta_voter_plan plan;
  const size_t voter_count = std::min(voters_max, ranked.size());
  for (size_t i = 0; i < ranked.size(); ++i) {
    auto& list = i < voter_count ? plan.voters : plan.learners;
    list.push_back(std::get<1>(ranked[i]));
  }
  std::sort(plan.voters.begin(), plan.voters.end());
  std::sort(plan.learners.begin(), plan.learners.end());
  CK_ASSERT_EQ(plan.voters.size() + plan.learners.size(), state.nodes.size());
  CK_ASSERT_LE(plan.voters.size(), voters_max);
  return plan;
}

meta_voter_plan plan_meta_voters(const meta_state& state, size_t voters_max) {
  return plan_meta_voters(state, raft::conf_state{}, voters_max);
}

std::optional<raft::conf_change> next_meta_conf_change(const raft::conf_state& current,
                                                       const meta_voter_plan& plan) {
  using raft::conf_change_type;
  if (plan.voters.empty()) {
    return std::nullopt;
  }
  const auto is_member = [&](raft::node_id id) {
    return contains(current.voters, id) || contains(current.learners, id);
  };
  const auto is_planned = [&](raft::node_id id) {
    return contains(plan.voters, id) || contains(plan.learners, id);
  };
  const auto not_member = [&](raft::node_id id) { return !is_member(id); };
  if (auto id = lowest(plan.voters, not_member)) {  // step 1, voters first
    return make_change(conf_change_type::add_learner, *id);
  }
  if (auto id = lowest(plan.learners, not_member)) {  // step 1
    return make_change(conf_change_type::add_learner, *id);
  }
  if (auto id = lowest(current.learners, [&](auto i) { return contains(plan.voters, i); })) {
    return make_change(conf_change_type::add_voter, *id);  // step 2
  }
  if (auto id = lowest(current.learners, [&](auto i) { return !is_planned(i); })) {
    return make_change(conf_change_type::remove_node, *id);  // step 3
  }
  // Steps 4 and 5 shrink the voters; every planned voter is a voter by now, and since a
  // candidate is not a planned voter, at least one voter remains after the change.
  for (const raft::node_id id : plan.voters) {
    CK_ASSERT(contains(current.voters, id));
  }
  if (auto id = lowest(current.voters, [&](auto i) { return contains(plan.learners, i); })) {
    CK_ASSERT_GT(current.voters.size(), plan.voters.size());
    return make_change(conf_change_type::add_learner, *id);  // step 4
  }
  if (auto id = lowest(current.voters, [&](auto i) { return !is_planned(i); })) {
    CK_ASSERT_GT(current.voters.size(), plan.voters.size());
    return make_change(conf_change_type::remove_node, *id);  // step 5
  }
  return std::nullopt;
}

}  // namespace ck::cluster
