#pragma once

// Which nodes are voters of the meta Raft group, and the one membership change that moves
// the group toward that. Pure: the meta actor (on the meta leader) calls these after each
// applied meta command and after each applied conf change, and proposes what they return.

#include "runtime/cluster/meta_state.hpp"
#include "runtime/raft/types.hpp"

#include <cstddef>
#include <optional>
#include <vector>

namespace ck::cluster {

inline constexpr size_t meta_voters_max_default = 5;

/// The meta group's target membership, in raft ids, each list sorted ascending.
/// Invariant: disjoint; together exactly the raft ids of the state's nodes.
struct meta_voter_plan {
  std::vector<raft::node_id> voters;
  std::vector<raft::node_id> learners;

  friend bool operator==(const meta_voter_plan& a, const meta_voter_plan& b) {
    return a.voters == b.voters && a.learners == b.learners;
  }
};

/// Every node is a member; min(voters_max, nodes) of them are voters, picked in this order:
///   1. current voters that are alive or suspect (stability: a live voter is never churned;
///      suspect is often a blip, and demoting on it would churn the group),
///   2. alive non-voters, 3. suspect non-voters,
///   4. current voters that are dead or leaving (kept while nobody better exists: removing
///      them would not make the group tolerate more failures),
///   5. the rest;
/// within a rank by raft id, which is join order. So a dead voter is replaced by an alive
/// learner as soon as one exists, and a new node never displaces a live voter.
/// Requires: voters_max >= 1. An unbootstrapped state gives an empty plan.
meta_voter_plan plan_meta_voters(const meta_state& state, const raft::conf_state& current,
                                 size_t voters_max = meta_voters_max_default);
/// The same without a current membership (rank 1 and 4 are empty): the plan at bootstrap.
meta_voter_plan plan_meta_voters(const meta_state& state,
                                 size_t voters_max = meta_voters_max_default);

/// The next single change toward `plan`, or nullopt when `current` already equals it (or the
/// plan has no voter: never dismantle a group on an empty plan). Steps, in this order, each
/// on the lowest raft id first ("add before remove"):
///   1. add_learner for a planned node that is not a member yet (a new voter catches up as a
///      learner first, so it cannot stall commits while it copies the log);
///   2. add_voter for a planned voter that is a learner (promotion);
///   3. remove_node for a learner that is not planned (no effect on the quorum);
///   4. add_learner (demotion) for a voter planned as a learner;
///   5. remove_node for a voter that is not planned.
/// Steps 4 and 5 run only once every planned voter is a voter, so the voters never drop below
/// the plan's voter count, and never below one.
/// Bound: from any start it converges in at most |current members| + 2 * |plan members| steps.
/// The shell should promote (step 2) only once the learner's match is close to the leader's
/// last index, and transfer leadership away before removing or demoting the leader itself.
std::optional<raft::conf_change> next_meta_conf_change(const raft::conf_state& current,
                                                       const meta_voter_plan& plan);

}  // namespace ck::cluster
