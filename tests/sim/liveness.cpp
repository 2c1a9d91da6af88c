// The calm phase after the chaos: heal every partition, restart every crashed node, deliver
// everything in order with no loss, and require that a fresh proposal commits and is applied
// on every live member within 50 election timeouts, then that a leadership transfer to another
// voter completes within two. Failing either is a liveness violation.

#include "tests/sim/cluster.hpp"

#include <string>

namespace ck::sim {

namespace {

std::string n(uint64_t value) { return std::to_string(value); }

}  // namespace

void cluster::calm_down() {
  net_.unblock_all();
  net_.set_faults(network_faults{});
  shell_context ctx = context();
  for (auto& [id, r] : replicas_) {
    if (!r->up()) {
      r->start(ctx);
    }
  }
  events_.record("calm: partitions healed, faults off, every node up");
}

void cluster::stabilize() {
  // Run every shell and deliver every message until nothing moves (bounded: a healthy group
  // goes quiet within a few rounds between ticks).
  constexpr int rounds_max = 200;
  for (int round = 0; round < rounds_max; ++round) {
    bool moved = false;
    shell_context ctx = context();
    for (replica* r : up_replicas()) {
      if (r->has_shell_work()) {
        r->shell_drain(ctx);
        moved = true;
      }
    }
    const size_t queued = net_.in_flight();
    for (size_t k = 0; k < queued; ++k) {
      std::optional<envelope> e = net_.take_oldest();
      deliver(*e);
      moved = true;
    }
    after_step();
    if (!moved) {
      return;
    }
  }
}

bool cluster::probe_applied_everywhere() const {
  // A probe counts once every member applied past its index (state machine safety makes the
  // entry there the probe itself; a member may have jumped over it with a snapshot).
  raft::index_t probe_index = 0;
  for (const auto& [id, r] : replicas_) {
    for (const auto& [data, index] : r->probes_applied()) {
      probe_index = probe_index == 0 ? index : std::min(probe_index, index);
    }
  }
  if (probe_index == 0) {
    return false;
  }
  std::vector<raft::node_id> members = membership_.voters;
  members.insert(members.end(), membership_.learners.begin(), membership_.learners.end());
  for (raft::node_id id : members) {
    auto it = replicas_.find(id);
    if (it == replicas_.end() || !it->second->up() ||
        it->second->machine().applied_index < probe_index) {
      return false;
    }
  }
  return true;
}

void cluster::run_liveness() {
  calm_down();
  const uint64_t rounds_max = 50ull * settings_.election_ticks;
  uint64_t last_probe_round = 0;
  uint64_t probes = 0;
  for (uint64_t round = 1; round <= rounds_max; ++round) {
    events_.set_step(++now_);
    for (replica* r : up_replicas()) {
      tick(*r);
    }
    stabilize();
    if (probe_applied_everywhere()) {
      stats_.liveness_rounds = round;
      events_.record("liveness: probe applied on every member after " + n(round) + " ticks");
      check_calm_transfer();
      return;
    }
    replica* leader = current_leader();
    const bool probe_due =
        last_probe_round == 0 || round - last_probe_round >= 2ull * settings_.election_ticks;
    if (leader != nullptr && probe_due) {
      const std::string data = "probe-" + n(++probes);
      const raft::propose_result r = leader->core().propose(data);
      events_.record("propose n=" + n(leader->id()) + " " + data + " -> " + n(static_cast<int>(r)));
      last_probe_round = r == raft::propose_result::ok ? round : last_probe_round;
    }
  }
  replica* leader = current_leader();
  std::string applied;
  for (const auto& [id, r] : replicas_) {
    applied += " n" + n(id) + (r->up() ? "=" + n(r->machine().applied_index) : "=down");
  }
  throw violation("liveness", "applied:" + applied + "; no probe applied on all " +
                                  n(membership_.voters.size() + membership_.learners.size()) +
                                  " members within " + n(rounds_max) + " ticks after healing;" +
                                  " leader " + (leader ? n(leader->id()) : std::string("none")) +
                                  ", probes proposed " + n(probes));
}

void cluster::check_calm_transfer() {
  // Every member applied the probe, so every voter is a valid, up-to-date target: in a healthy
  // network the transfer must finish within the leader's own deadline (one election timeout),
  // whatever the chaos left behind (a conf change committed but not applied on the target
  // delays its campaign to its next apply, not to a retry).
  replica* leader = current_leader();
  if (leader == nullptr) {
    return;  // the probe was applied, but leadership is changing hands right now
  }
  std::vector<raft::node_id> targets;
  for (raft::node_id id : leader->core().status().conf.voters) {
    if (id != leader->id() && find_up(id) != nullptr) {
      targets.push_back(id);
    }
  }
  if (targets.empty()) {
    return;
  }
  const raft::node_id to = targets[random_.below(targets.size())];
  const raft::propose_result r = leader->core().transfer_leadership(to);
  events_.record("calm transfer n=" + n(leader->id()) + " to=" + n(to) + " -> " +
                 n(static_cast<int>(r)));
  if (r != raft::propose_result::ok) {
    throw violation("transfer liveness", "a calm leader refused to transfer to voter " + n(to));
  }
  const uint64_t rounds_max = 2ull * settings_.election_ticks;
  for (uint64_t round = 0; round <= rounds_max; ++round) {
    stabilize();
    replica* now_leading = current_leader();
    if (now_leading != nullptr && now_leading->id() == to) {
      stats_.calm_transfer_rounds = round;
      events_.record("calm transfer done after " + n(round) + " ticks");
      return;
    }
    events_.set_step(++now_);
    for (replica* up : up_replicas()) {
      tick(*up);
    }
  }
  replica* now_leading = current_leader();
  throw violation("transfer liveness",
                  "leadership not with " + n(to) + " " + n(rounds_max) +
                      " ticks after a calm transfer from " + n(leader->id()) + "; leader " +
                      (now_leading ? n(now_leading->id()) : std::string("none")));
}

}  // namespace ck::sim
