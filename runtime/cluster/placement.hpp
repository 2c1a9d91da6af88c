#pragma once

// Where each partition's replicas should live, and which of them should lead. Pure and
// deterministic (standard library only, no clock, no randomness): every node computes the
// same target from the same meta state, so the meta leader's rebalancer and any observer
// (GET /rebalance) agree on what is left to do. The rebalancer (the shell) walks the current
// placement toward the target a few partitions at a time (`placement_changes`), and each
// partition leader walks its Raft group toward its target replicas with
// `partition_voter_plan` + `next_meta_conf_change` (add learner, promote, remove; transfer
// leadership away before removing the leader itself).
//
// Worked scenario (64 partitions, RF 3): on 3 nodes every node hosts all 64 partitions and
// leads 21, 21 or 22. node-4 joins: the ideal becomes 64 * 3 / 4 = 48 replicas per node, so
// each of node-1..3 hands exactly 16 replicas to node-4 (48 changed replicas, the minimum;
// no partition gets two new replicas, no replica moves between old nodes), and leadership is
// rebalanced to 16 per node by reordering replicas (a leader change moves no data).

#include "runtime/cluster/meta_membership.hpp"
#include "runtime/cluster/meta_state.hpp"

#include <cstddef>
#include <string>
#include <vector>

namespace ck::cluster {

/// Whether any partition's current placement names `node` (a leaving node is drained only
/// after none does, and after its replicas actually left their groups).
bool placement_names(const meta_state& state, const std::string& node);

/// Nodes that may host replicas: alive or suspect (a suspect is often a blip; moving data off
/// it would churn), not dead, not leaving. Sorted by id.
std::vector<std::string> placement_candidates(const meta_state& state);

/// The target placement for every partition (size == state.partition_count, index i at [i]).
/// Each partition gets rf_eff = min(replication_factor, candidates) distinct candidate
/// replicas. Goals, in priority order:
///   1. replicas on non-candidate nodes (dead, leaving, removed) are replaced;
///   2. replicas per candidate within [floor, ceil] of partitions * rf_eff / candidates;
///   3. fewest changes from state.placement: every existing candidate replica that goals 1-2
///      allow is kept; the nodes allowed the ceiling are those that host the most already;
///   4. preferred leaders (replicas[0]) per candidate within [floor, ceil] of
///      partitions / candidates, chosen among each partition's replicas, keeping the current
///      first replica where the balance allows (shortest chains of leader changes).
/// Replica order: the leader, then the kept replicas in their current order, then new ones.
/// A partition holding more than rf_eff candidate replicas (a move in flight) drops those of
/// the most loaded nodes. Goals 2 and 4 are best effort only for degenerate input (never hit
/// from a placement this planner produced; the random tests check the bounds).
/// Unbootstrapped state or no candidate: returns state.placement unchanged.
/// Cost: O(partitions * rf * candidates) plus the leader balancing.
std::vector<partition_placement> plan_placement(const meta_state& state);

/// The set_placement commands that turn state.placement into `target` (only partitions that
/// differ), at most `max_commands` of them, lowest index first: the throttle. Each command
/// is valid for `apply` when target came from plan_placement on the same state.
/// Requires: target.size() == state.placement.size() and target[i].index == i.
std::vector<set_placement_command> placement_changes(const meta_state& state,
                                                     const std::vector<partition_placement>& target,
                                                     size_t max_commands);

/// The Raft membership one partition's group should reach: every target replica a voter
/// (the group is rf voters, no learners at rest), mapped from node ids to raft ids via
/// state.nodes (unknown nodes skipped), sorted ascending. Feed it to next_meta_conf_change
/// with the group's conf_state for the next single change (add learner -> promote ->
/// remove); an empty plan yields no change, so a group is never dismantled.
meta_voter_plan partition_voter_plan(const meta_state& state, const partition_placement& target);

}  // namespace ck::cluster
