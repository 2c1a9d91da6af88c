// The rare actions of a step: client proposals and reads, crashes and restarts, partitions,
// membership changes and leadership transfers. Each is chosen by the seed; each traces itself.

#include "tests/sim/cluster.hpp"

#include <algorithm>
#include <string>

namespace ck::sim {

namespace {

std::string n(uint64_t value) { return std::to_string(value); }

const char* result_name(raft::propose_result r) {
  switch (r) {
    case raft::propose_result::ok:
      return "ok";
    case raft::propose_result::not_leader:
      return "not_leader";
    case raft::propose_result::dropped:
      return "dropped";
    case raft::propose_result::invalid:
      return "invalid";
  }
  return "?";
}

}  // namespace

void cluster::client_propose() {
  // Mostly at the leader; sometimes at any node, which must refuse or handle it.
  replica* target = current_leader();
  std::vector<replica*> up = up_replicas();
  if (up.empty()) {
    return;
  }
  if (target == nullptr || random_.below(10) == 0) {
    target = up[random_.below(up.size())];
  }
  const uint64_t burst = random_.between(1, plan_.proposal_burst_max);
  for (uint64_t k = 0; k < burst; ++k) {
    // Unique payloads: the seed and a counter, padded to a drawn size.
    std::string data = "p" + n(options_.seed) + "-" + n(++payload_counter_);
    data.append(random_.below(plan_.payload_bytes_max + 1), 'x');
    const raft::propose_result r = target->core().propose(data);
    stats_.proposals_accepted += r == raft::propose_result::ok ? 1 : 0;
    events_.record("propose n=" + n(target->id()) + " data=p" + n(payload_counter_) + " -> " +
                   result_name(r));
  }
}

void cluster::client_read() {
  std::vector<replica*> up = up_replicas();
  if (up.empty()) {
    return;
  }
  replica* target = current_leader();
  if (target == nullptr || random_.below(4) == 0) {
    target = up[random_.below(up.size())];
  }
  // Everything any node knows to be committed now must be visible to this read.
  raft::index_t commit_known = check_.committed_count();
  for (replica* r : up) {
    commit_known = std::max(commit_known, r->core().status().commit);
  }
  const std::string context = "r" + n(++read_counter_);
  check_.on_read_request(context, commit_known);
  const raft::propose_result r = target->core().read_index(context);
  stats_.reads_requested += 1;
  events_.record("read_index n=" + n(target->id()) + " ctx=" + context +
                 " known=" + n(commit_known) + " -> " + result_name(r));
}

void cluster::crash_one() {
  std::vector<replica*> up = up_replicas();
  if (up.empty()) {
    return;
  }
  // A third of the crashes hit the leader: that is what forces elections and exposes a new
  // leader's log to the completeness check.
  replica* victim = random_.below(3) == 0 ? current_leader() : nullptr;
  if (victim == nullptr) {
    victim = up[random_.below(up.size())];
  }
  victim->crash(events_);
  stats_.crashes += 1;
}

void cluster::restart_one() {
  std::vector<replica*> down;
  for (auto& [id, r] : replicas_) {
    if (!r->up()) {
      down.push_back(r.get());
    }
  }
  if (down.empty()) {
    return;
  }
  shell_context ctx = context();
  down[random_.below(down.size())]->start(ctx);
}

void cluster::transfer_leadership() {
  replica* leader = current_leader();
  if (leader == nullptr) {
    return;
  }
  const raft::conf_state conf = leader->core().status().conf;
  std::vector<raft::node_id> targets;
  for (raft::node_id id : conf.voters) {
    if (id != leader->id()) {
      targets.push_back(id);
    }
  }
  if (targets.empty()) {
    return;
  }
  const raft::node_id to = targets[random_.below(targets.size())];
  const raft::propose_result r = leader->core().transfer_leadership(to);
  stats_.transfers += 1;
  events_.record("transfer n=" + n(leader->id()) + " to=" + n(to) + " -> " + result_name(r));
}

}  // namespace ck::sim
