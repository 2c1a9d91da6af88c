// Placement planning (see the header for the goals and their order). Works on candidate
// indexes (position in the sorted candidate list) and runs in phases:
//   keep    - the current candidate replicas, trimmed to rf_eff where a move is in flight;
//   targets - floor or ceil per node, the ceil going to the nodes that host the most already;
//   fill    - free slots go to the nodes furthest below target;
//   shed    - each node above target hands replicas to nodes below target, one for one;
//   leaders - keep the current first replica, then shift leadership along shortest chains
//             from the least to the most loaded nodes.
// Every tie breaks on the candidate index or the partition index, never on memory layout.

#include "runtime/cluster/placement.hpp"

#include "runtime/base/assert.hpp"

#include <algorithm>
#include <map>
#include <numeric>

namespace ck::cluster {

namespace {

using slots = std::vector<size_t>;  // one partition's replicas as candidate indexes

bool has(const slots& s, size_t node) { return std::find(s.begin(), s.end(), node) != s.end(); }

void erase(slots& s, size_t node) { s.erase(std::find(s.begin(), s.end(), node)); }

// base or base + 1 each, summing to `total`; the `total % n` nodes with the most `have`
// (lowest index on a tie) get the + 1, so keeping what exists costs the fewest moves.
std::vector<size_t> targets(const std::vector<size_t>& have, size_t total) {
  const size_t n = have.size();
  std::vector<size_t> order(n);
  std::iota(order.begin(), order.end(), size_t{0});
  std::stable_sort(order.begin(), order.end(),
                   [&](size_t a, size_t b) { return have[a] > have[b]; });
  std::vector<size_t> target(n, total / n);
  for (size_t i = 0; i < total % n; ++i) {
    ++target[order[i]];
  }
  return target;
}

struct planner {
  size_t n = 0;   // candidates
  size_t rf = 0;  // replicas per partition
  std::vector<slots> parts;
  std::vector<size_t> count;   // replicas per node
  std::vector<size_t> target;  // wanted replicas per node

  size_t deficit(size_t node) const {
    return count[node] < target[node] ? target[node] - count[node] : 0;
  }

  // The node not in `s` furthest below its target (lowest index on a tie), or n.
  size_t neediest_outside(const slots& s) const {
    size_t best = n;
    for (size_t node = 0; node < n; ++node) {
      if (deficit(node) > 0 && !has(s, node) && (best == n || deficit(node) > deficit(best))) {
        best = node;
      }
    }
    return best;
  }

  void fill(size_t p) {
    while (parts[p].size() < rf) {
      if (const size_t u = neediest_outside(parts[p]); u < n) {
        parts[p].push_back(u);
        ++count[u];
        continue;
      }
      swap_in(p);
    }
  }

  // Every node outside parts[p] is at target, yet some replica x of p is below it (the
  // targets sum to partitions * rf). Some full y outside p hosts a partition q without x
  // (y hosts at least as many as x, and x hosts p without y): q gives y's slot to x, y joins p.
  void swap_in(size_t p) {
    for (size_t x : parts[p]) {
      if (deficit(x) == 0) {
        continue;
      }
      for (size_t y = 0; y < n; ++y) {
        if (has(parts[p], y)) {
          continue;
        }
        for (size_t q = 0; q < parts.size(); ++q) {
          if (q != p && has(parts[q], y) && !has(parts[q], x)) {
            erase(parts[q], y);
            parts[q].push_back(x);
            parts[p].push_back(y);
            ++count[x];
            return;
          }
        }
      }
    }
    CK_ASSERT(false && "no swap frees a slot (targets inconsistent with the partitions)");
  }

  // Moves replicas off `over` until it is at target: first where it is not the leader, then
  // anywhere. Terminates with `over` at target: while it is above and some u below, some
  // partition holds over and not u (over hosts more than u).
  void shed(size_t over) {
    for (const bool allow_first : {false, true}) {
      for (auto& s : parts) {
        if (count[over] <= target[over]) {
          return;
        }
        if (!has(s, over) || (!allow_first && s.front() == over)) {
          continue;
        }
        if (const size_t u = neediest_outside(s); u < n) {
          erase(s, over);
          s.push_back(u);
          --count[over];
          ++count[u];
        }
      }
    }
    CK_ASSERT_LE(count[over], target[over]);
  }
};

// Leadership, with the replica sets fixed: one leader per partition among its replicas.
struct leader_planner {
  const std::vector<slots>& parts;
  std::vector<size_t> leader;           // per partition
  std::vector<size_t> led;              // partitions led, per node
  std::vector<std::vector<size_t>> on;  // partitions hosted, per node

  // Gives `u` one more partition, taken along the shortest chain u <- v1 <- ... <- vk where
  // each arrow is a partition led by the right node and hosted by the left one, ending at a
  // node vk leading at least two more than u. Returns false when no such chain exists.
  bool shift_to(size_t u) {
    const size_t n = led.size();
    std::vector<size_t> via(n, parts.size());  // partition that reached the node
    std::vector<size_t> from(n, n);            // its host that reached it
    std::vector<bool> seen(n, false);
    std::vector<size_t> queue{u};
    seen[u] = true;
    for (size_t head = 0; head < queue.size(); ++head) {
      const size_t w = queue[head];
      for (const size_t p : on[w]) {
        const size_t v = leader[p];
        if (seen[v]) {
          continue;
        }
        seen[v] = true;
        via[v] = p;
        from[v] = w;
        if (led[v] >= led[u] + 2) {
          --led[v];
          ++led[u];
          for (size_t node = v; node != u; node = from[node]) {  // intermediates: net zero
            leader[via[node]] = from[node];
          }
          return true;
        }
        queue.push_back(v);
      }
    }
    return false;
  }

  void balance() {
    const size_t n = led.size();
    for (bool moved = true; moved;) {
      moved = false;
      std::vector<size_t> order(n);
      std::iota(order.begin(), order.end(), size_t{0});
      std::stable_sort(order.begin(), order.end(),
                       [&](size_t a, size_t b) { return led[a] < led[b]; });
      const size_t most = led[order.back()];
      for (const size_t u : order) {
        if (led[u] + 2 <= most && shift_to(u)) {
          moved = true;
          break;
        }
      }
    }
  }
};

}  // namespace

std::vector<std::string> placement_candidates(const meta_state& state) {
  std::vector<std::string> ids;
  for (const auto& [id, node] : state.nodes) {  // std::map: already sorted by id
    if (node.status == node_status::alive || node.status == node_status::suspect) {
      ids.push_back(id);
    }
  }
  return ids;
}

std::vector<partition_placement> plan_placement(const meta_state& state) {
  const std::vector<std::string> ids = placement_candidates(state);
  const size_t rf = std::min<size_t>(state.replication_factor, ids.size());
  if (!state.bootstrapped() || rf == 0 || state.placement.empty()) {
    return state.placement;
  }
  CK_ASSERT_EQ(state.placement.size(), size_t{state.partition_count});
  std::map<std::string, size_t> index_of;
  for (size_t i = 0; i < ids.size(); ++i) {
    index_of.emplace(ids[i], i);
  }
  planner plan;
  plan.n = ids.size();
  plan.rf = rf;
  plan.count.assign(plan.n, 0);
  plan.parts.resize(state.placement.size());
  for (size_t p = 0; p < state.placement.size(); ++p) {  // keep
    for (const auto& id : state.placement[p].replicas) {
      const auto found = index_of.find(id);
      if (found != index_of.end() && !has(plan.parts[p], found->second)) {
        plan.parts[p].push_back(found->second);
        ++plan.count[found->second];
      }
    }
  }
  for (auto& s : plan.parts) {  // a move in flight: drop the most loaded (latest on a tie)
    while (s.size() > rf) {
      size_t drop = s.back();
      for (const size_t node : s) {
        drop = plan.count[node] > plan.count[drop] ? node : drop;
      }
      erase(s, drop);
      --plan.count[drop];
    }
  }
  plan.target = targets(plan.count, plan.parts.size() * rf);
  for (size_t p = 0; p < plan.parts.size(); ++p) {
    plan.fill(p);
  }
  for (size_t node = 0; node < plan.n; ++node) {
    plan.shed(node);
  }
  for (size_t node = 0; node < plan.n; ++node) {
    CK_ASSERT_EQ(plan.count[node], plan.target[node]);
  }

  leader_planner leaders{plan.parts, {}, std::vector<size_t>(plan.n, 0), {}};
  leaders.on.resize(plan.n);
  leaders.leader.assign(plan.parts.size(), plan.n);
  for (size_t p = 0; p < plan.parts.size(); ++p) {  // keep the current first replica
    for (const size_t node : plan.parts[p]) {
      leaders.on[node].push_back(p);
    }
    const auto& current = state.placement[p].replicas;
    const auto found = current.empty() ? index_of.end() : index_of.find(current.front());
    if (found != index_of.end() && has(plan.parts[p], found->second)) {
      leaders.leader[p] = found->second;
      ++leaders.led[found->second];
    }
  }
  for (size_t p = 0; p < plan.parts.size(); ++p) {  // the rest: the least loaded replica
    if (leaders.leader[p] == plan.n) {
      size_t best = plan.parts[p].front();
      for (const size_t node : plan.parts[p]) {
        best = leaders.led[node] < leaders.led[best] ? node : best;
      }
      leaders.leader[p] = best;
      ++leaders.led[best];
    }
  }
  leaders.balance();

  std::vector<partition_placement> out(plan.parts.size());
  for (size_t p = 0; p < plan.parts.size(); ++p) {
    out[p].index = static_cast<uint32_t>(p);
    out[p].replicas.push_back(ids[leaders.leader[p]]);
    for (const size_t node : plan.parts[p]) {
      if (node != leaders.leader[p]) {
        out[p].replicas.push_back(ids[node]);
      }
    }
  }
  return out;
}

std::vector<set_placement_command> placement_changes(const meta_state& state,
                                                     const std::vector<partition_placement>& target,
                                                     size_t max_commands) {
  CK_ASSERT_EQ(target.size(), state.placement.size());
  std::vector<set_placement_command> commands;
  for (size_t i = 0; i < target.size() && commands.size() < max_commands; ++i) {
    CK_ASSERT_EQ(size_t{target[i].index}, i);
    if (target[i].replicas != state.placement[i].replicas && !target[i].replicas.empty()) {
      commands.push_back(set_placement_command{target[i].index, target[i].replicas});
    }
  }
  return commands;
}

meta_voter_plan partition_voter_plan(const meta_state& state, const partition_placement& target) {
  meta_voter_plan plan;
  for (const auto& id : target.replicas) {
    const auto found = state.nodes.find(id);
    if (found != state.nodes.end() && found->second.raft_id != raft::no_node) {
      plan.voters.push_back(found->second.raft_id);
    }
  }
  std::sort(plan.voters.begin(), plan.voters.end());
  plan.voters.erase(std::unique(plan.voters.begin(), plan.voters.end()), plan.voters.end());
  return plan;
}

bool placement_names(const meta_state& state, const std::string& node) {
  return std::any_of(state.placement.begin(), state.placement.end(), [&](const auto& p) {
    return std::find(p.replicas.begin(), p.replicas.end(), node) != p.replicas.end();
  });
}

}  // namespace ck::cluster
