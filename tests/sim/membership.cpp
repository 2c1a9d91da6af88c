// Membership changes in the middle of chaos: add a learner (a fresh node), promote a learner,
// demote or remove a voter, remove a learner -- keeping voters in [3, 7] and members <= 7.

#include "tests/sim/cluster.hpp"

#include <string>

namespace ck::sim {

namespace {

std::string n(uint64_t value) { return std::to_string(value); }

}  // namespace

void cluster::change_membership() {
  replica* leader = current_leader();
  if (leader == nullptr) {
    return;
  }
  const raft::conf_state conf = leader->core().status().conf;
  const size_t voters = conf.voters.size();
  const size_t members = voters + conf.learners.size();
  std::vector<raft::conf_change> options;
  if (members < members_max && next_id_ <= node_id_max) {
    options.push_back({raft::conf_change_type::add_learner, next_id_, "fresh"});
  }
  if (options_.readd != run_options::readd_mode::none && members < members_max) {
    for (const auto& [id, hard] : retired_) {
      options.push_back({raft::conf_change_type::add_learner, id, "readd"});
    }
  }
  for (raft::node_id id : conf.learners) {
    options.push_back({raft::conf_change_type::add_voter, id, "promote"});
    options.push_back({raft::conf_change_type::remove_node, id, "remove learner"});
  }
  if (voters > voters_min) {
    for (raft::node_id id : conf.voters) {
      options.push_back({raft::conf_change_type::remove_node, id, "remove voter"});
      options.push_back({raft::conf_change_type::add_learner, id, "demote"});
    }
  }
  if (options.empty()) {
    return;
  }
  const raft::conf_change change = options[random_.below(options.size())];
  const raft::propose_result r = leader->core().propose_conf_change(change);
  stats_.conf_changes_proposed += 1;
  events_.record("conf change n=" + n(leader->id()) + " " + change.context +
                 " node=" + n(change.node) + " -> " +
                 (r == raft::propose_result::ok ? "ok" : "refused " + n(static_cast<int>(r))));
  if (r == raft::propose_result::ok && (change.context == "fresh" || change.context == "readd")) {
    // The new node starts empty and learns everything from the leader.
    replicas_[change.node] = std::make_unique<replica>(change.node, raft::conf_state{}, settings_);
    if (change.context == "fresh") {
      ++next_id_;
    } else {
      if (options_.readd == run_options::readd_mode::tombstone) {
        // Only the term and the vote survive the replica's removal.
        raft::hard_state kept = retired_[change.node];
        kept.commit = 0;
        replicas_[change.node]->seed_hard_state(kept);
        check_.on_tombstone(change.node, kept);
      }
      retired_.erase(change.node);
      was_member_.erase(change.node);
    }
    shell_context ctx = context();
    replicas_[change.node]->start(ctx);
  }
}

}  // namespace ck::sim
