#include "runtime/cluster/membership_step.hpp"

#include "runtime/base/assert.hpp"

#include <algorithm>

namespace ck::cluster {

namespace {

bool is_voter(const raft::status_info& status, raft::node_id id) {
  return std::find(status.conf.voters.begin(), status.conf.voters.end(), id) !=
         status.conf.voters.end();
}

const raft::progress_status* progress_of(const raft::status_info& status, raft::node_id id) {
  for (const auto& p : status.progress) {
    if (p.id == id) {
      return &p;
    }
  }
  return nullptr;
}

}  // namespace

membership_step next_membership_step(const raft::status_info& status, const meta_voter_plan& plan,
                                     uint64_t promote_lag_max) {
  CK_ASSERT(status.state == raft::role::leader);
  membership_step step;
  const auto change = next_meta_conf_change(status.conf, plan);
  if (!change) {
    return step;
  }
  if (change->type == raft::conf_change_type::add_voter) {
    const auto* p = progress_of(status, change->node);
    // Caught up: within promote_lag_max entries, and holding 90% of the log (as etcd's
    // learner promotion asks). The count alone said nothing for a short log of large entries:
    // a partition holding 4 MB in 70 entries promoted an empty learner at once, so a move
    // "finished" (and the old replica went) before its data had reached the new one.
    if (p == nullptr || p->match + promote_lag_max < status.last_index ||
        p->match * 10 < status.last_index * 9) {
      return step;  // not caught up yet: wait
    }
  }
  const bool demotes_self = change->node == status.id &&
                            (change->type == raft::conf_change_type::remove_node ||
                             change->type == raft::conf_change_type::add_learner);
  if (!demotes_self) {
    step.change = change;
    return step;
  }
  raft::index_t best_match = 0;
  for (const auto& p : status.progress) {
    if (p.id != status.id && is_voter(status, p.id) &&
        (step.transfer_to == raft::no_node || p.match > best_match)) {
      step.transfer_to = p.id;
      best_match = p.match;
    }
  }
  return step;
}

raft::node_id leader_balance_transfer(const raft::status_info& status, raft::node_id preferred) {
  if (status.state != raft::role::leader || preferred == raft::no_node || preferred == status.id ||
      !is_voter(status, preferred)) {
    return raft::no_node;
  }
  const auto* p = progress_of(status, preferred);
  return p != nullptr && p->match == status.last_index ? preferred : raft::no_node;
}

std::string describe(const raft::conf_change& change) {
  const std::string node = std::to_string(change.node);
  switch (change.type) {
    case raft::conf_change_type::add_learner:
      return "add learner " + node;
    case raft::conf_change_type::add_voter:
      return "add voter " + node;
    case raft::conf_change_type::remove_node:
      return "remove " + node;
  }
  return "unknown change of " + node;
}

}  // namespace ck::cluster
