#pragma once

// What a group's leader does next to move its Raft membership toward a plan (the meta group
// toward plan_meta_voters, a partition group toward its placement): nothing, one conf change,
// or first hand leadership to another voter when the change would demote or remove the leader
// itself. Pure: the actors call it with their replica's status on every tick.

#include "runtime/cluster/meta_membership.hpp"
#include "runtime/raft/node.hpp"

#include <cstdint>
#include <optional>
#include <string>

namespace ck::cluster {

struct membership_step {
  std::optional<raft::conf_change> change;  // propose this change
  raft::node_id transfer_to = raft::no_node;  // or first hand leadership to this voter
};

/// The next step for a leader with `status` (its conf, progress and last index) toward
/// `plan`. A learner is promoted only once its match is within `promote_lag_max` entries of
/// the leader's last index (a voter that cannot keep up would stall commits) and at least 90%
/// of it (a short log of large entries is all within the count). A change that
/// removes or demotes the leader itself becomes a transfer to the most caught-up other voter
/// (nothing when there is none). Requires: status.state == leader.
membership_step next_membership_step(const raft::status_info& status, const meta_voter_plan& plan,
                                     uint64_t promote_lag_max);

/// A transfer that puts leadership on `preferred` (the placement's first replica), when it is
/// another voter whose match equals the leader's last index; raft::no_node otherwise.
raft::node_id leader_balance_transfer(const raft::status_info& status, raft::node_id preferred);

/// "add learner 4", "add voter 4", "remove 4" (log lines).
std::string describe(const raft::conf_change& change);

}  // namespace ck::cluster
