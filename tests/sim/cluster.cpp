#include "tests/sim/cluster.hpp"

#include "runtime/base/assert.hpp"

#include <algorithm>
#include <string>

namespace ck::sim {

namespace {

std::string n(uint64_t value) { return std::to_string(value); }

bool contains(const std::vector<raft::node_id>& ids, raft::node_id id) {
  return std::find(ids.begin(), ids.end(), id) != ids.end();
}

}  // namespace

cluster::cluster(const run_options& options)
    : options_(options), random_(options.seed), events_(options.verbose) {
  draw_run(random_, options.seed, options.verbose, settings_, plan_);
  net_.set_faults(plan_.net);
}

shell_context cluster::context() { return shell_context{check_, net_, random_, events_, now_}; }

void cluster::found_group() {
  const auto founders =
      options_.nodes != 0 ? options_.nodes : static_cast<uint32_t>(random_.between(3, 7));
  CK_ASSERT_GE(founders, voters_min);
  CK_ASSERT_LE(founders, members_max);
  raft::conf_state founding;
  for (raft::node_id id = 1; id <= founders; ++id) {
    founding.voters.push_back(id);
  }
  events_.record(
      "found voters=" + n(founders) + " heartbeat=" + n(settings_.heartbeat_ticks) +
      " pre_vote=" + n(settings_.pre_vote) + " check_quorum=" + n(settings_.check_quorum) +
      " quiesce=" + n(settings_.quiesce) +
      " defer_commit=" + n(settings_.defer_commit_broadcast) +
      " snapshot_every=" + n(settings_.snapshot_every_entries) +
      " loss=" + n(plan_.net.loss_per_million) + " dup=" + n(plan_.net.duplicate_per_million) +
      " delay=" + n(plan_.net.delay_per_million) + "/" + n(plan_.net.delay_steps_max) +
      " crash=" + n(plan_.crash_per_million) + " partition=" + n(plan_.partition_per_million));
  shell_context ctx = context();
  for (raft::node_id id : founding.voters) {
    replicas_[id] = std::make_unique<replica>(id, founding, settings_);
    check_.on_found(id, replicas_[id]->storage_disk().storage());
    replicas_[id]->start(ctx);
    was_member_.insert(id);
  }
  membership_ = founding;
  next_id_ = founders + 1;
}

run_result cluster::run() {
  run_result result;
  try {
    found_group();
    for (uint64_t step = 1; step <= options_.steps; ++step) {
      now_ = step;
      events_.set_step(step);
      step_chaos();
      after_step();
    }
    run_liveness();
  } catch (const violation& v) {
    result.passed = false;
    result.failed_step = now_;
    result.property = v.property;
    result.detail = v.what();
    events_.record(std::string("VIOLATION ") + v.what());
  }
  stats_.committed = check_.committed_count();
  stats_.leader_terms = check_.leader_terms_seen();
  result.stats = stats_;
  result.digest = events_.digest();
  return result;
}

void cluster::step_chaos() {
  // The main action: most steps move messages and shells, so a round trip takes a few
  // dozen steps while an election timeout takes hundreds (each node ticks about once in
  // N * 100 / tick_percent steps).
  const uint64_t roll = random_.below(100);
  if (roll < plan_.tick_percent) {
    tick_one();
  } else if (random_.below(100) < 55) {
    if (!deliver_one()) {
      tick_one();
    }
  } else if (!shell_one()) {
    tick_one();
  }
  // Rare actions, each with its own per-step chance drawn for this seed.
  if (random_.chance(plan_.propose_per_million)) client_propose();
  if (random_.chance(plan_.read_per_million)) client_read();
  if (random_.chance(plan_.crash_per_million)) crash_one();
  if (random_.chance(plan_.restart_per_million)) restart_one();
  if (random_.chance(plan_.partition_per_million)) partition_some();
  if (random_.chance(plan_.heal_per_million)) heal_some();
  if (random_.chance(plan_.conf_change_per_million)) change_membership();
  if (random_.chance(plan_.transfer_per_million)) transfer_leadership();
}

bool cluster::deliver_one() {
  std::optional<envelope> e = net_.take_deliverable(now_, random_);
  if (!e) {
    return false;
  }
  deliver(*e);
  return true;
}

bool cluster::shell_one() {
  std::vector<replica*> busy;
  for (replica* r : up_replicas()) {
    if (r->has_shell_work()) {
      busy.push_back(r);
    }
  }
  if (busy.empty()) {
    return false;
  }
  shell_context ctx = context();
  busy[random_.below(busy.size())]->shell_step(ctx);
  return true;
}

void cluster::tick_one() {
  std::vector<replica*> up = up_replicas();
  if (up.empty()) {
    return;
  }
  tick(*up[random_.below(up.size())]);
}

void cluster::tick(replica& r) {
  events_.record("tick n=" + n(r.id()));
  if (settings_.quiesce) {
    // The shell's failure detector (config::quiesce): a quiet follower counts no ticks, so
    // it learns of its leader's death only here. It suspects the leader's node when that
    // node is down or cut off from it (an accurate detector), and sometimes wrongly.
    const raft::node_id leader = r.core().status().leader;
    const bool suspect = leader != raft::no_node && leader != r.id() &&
                         (find_up(leader) == nullptr || net_.is_blocked(leader, r.id()));
    if (suspect || random_.chance(plan_.false_suspicion_per_million)) {
      events_.record("forget_leader n=" + n(r.id()) + (suspect ? "" : " (false suspicion)"));
      ++stats_.forgotten_leaders;
      r.core().forget_leader();
    }
  }
  r.core().tick();
}

}  // namespace ck::sim

namespace ck::sim {

void cluster::deliver(envelope& e) {
  const raft::message& m = e.msg;
  if (e.lost) {
    drop(e, "lost");
    return;
  }
  replica* target = find_up(m.to);
  if (target == nullptr) {
    drop(e, "receiver down");
    return;
  }
  if (net_.is_blocked(m.from, m.to)) {
    drop(e, "partitioned");
    return;
  }
  events_.record("deliver " + describe(m));
  target->core().step(m);
  if (m.type == raft::message_type::install_snapshot) {
    // The transport reports a snapshot it handed over, as etcd's does.
    replica* sender = find_up(m.from);
    if (sender != nullptr && sender->incarnation() == e.sender_incarnation) {
      sender->core().report_snapshot(m.to, true);
    }
  }
}

void cluster::drop(const envelope& e, const char* reason) {
  const raft::message& m = e.msg;
  events_.record(std::string("drop (") + reason + ") " + describe(m));
  replica* sender = find_up(m.from);
  if (sender == nullptr || sender->incarnation() != e.sender_incarnation) {
    return;
  }
  if (m.type == raft::message_type::install_snapshot) {
    sender->core().report_snapshot(m.to, false);
    events_.record("report snapshot failed " + n(m.from) + "->" + n(m.to));
  } else if (random_.chance(plan_.unreachable_report_per_million)) {
    sender->core().report_unreachable(m.to);
    events_.record("report unreachable " + n(m.from) + "->" + n(m.to));
  }
}

std::vector<replica*> cluster::up_replicas() {
  std::vector<replica*> up;
  for (auto& [id, r] : replicas_) {
    if (r->up()) {
      up.push_back(r.get());
    }
  }
  return up;
}

replica* cluster::find_up(raft::node_id id) {
  auto it = replicas_.find(id);
  return it != replicas_.end() && it->second->up() ? it->second.get() : nullptr;
}

replica* cluster::current_leader() {
  replica* best = nullptr;
  raft::term_t best_term = 0;
  for (replica* r : up_replicas()) {
    const raft::status_info s = r->core().status();
    if (s.state == raft::role::leader && s.term >= best_term) {
      best = r;
      best_term = s.term;
    }
  }
  return best;
}

void cluster::after_step() {
  std::vector<node_view> live;
  bool quiet = false;
  for (replica* r : up_replicas()) {
    live.push_back(node_view{r->id(), r->incarnation(), &r->core()});
    quiet = quiet || (r->core().quiescent() && r->core().status().state == raft::role::leader);
  }
  stats_.quiet_steps += quiet ? 1 : 0;
  check_.after_step(live);
  update_membership();
}

void cluster::update_membership() {
  // Every node applies the same committed sequence, so the node that applied furthest knows
  // the latest committed membership.
  bool changed = false;
  for (replica* r : up_replicas()) {
    if (r->machine().applied_index > membership_index_) {
      membership_index_ = r->machine().applied_index;
      changed = changed || !(r->conf() == membership_);
      membership_ = r->conf();
    }
  }
  if (!changed) {
    return;
  }
  events_.record("membership voters=" + n(membership_.voters.size()) +
                 " learners=" + n(membership_.learners.size()) + " at=" + n(membership_index_));
  std::vector<raft::node_id> removed;
  for (auto& [id, r] : replicas_) {
    const bool member = contains(membership_.voters, id) || contains(membership_.learners, id);
    if (member) {
      was_member_.insert(id);
    } else if (was_member_.count(id) != 0) {
      removed.push_back(id);
    }
  }
  // A removed node is shut down for good; its id is never reused.
  for (raft::node_id id : removed) {
    if (replicas_[id]->up()) {
      replicas_[id]->crash(events_);
    }
    retired_[id] = replicas_[id]->storage_disk().storage().initial_hard_state();
    replicas_.erase(id);
    check_.on_retire(id);
    events_.record("retire n=" + n(id));
  }
}

}  // namespace ck::sim
