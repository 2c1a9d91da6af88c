#include "runtime/cluster/partition_status.hpp"

#include <algorithm>

namespace ck::cluster {

std::string_view to_string(partition_health health) {
  switch (health) {
    case partition_health::healthy:
      return "healthy";
    case partition_health::under_replicated:
      return "under_replicated";
    case partition_health::no_leader:
      return "no_leader";
    case partition_health::moving:
      return "moving";
  }
  return "unknown";
}

partition_health classify_hosted(bool leader_known, size_t voters, size_t learners, size_t placed,
                                 uint32_t replication_factor) {
  if (!leader_known) {
    return partition_health::no_leader;
  }
  if (learners > 0 || voters != placed) {
    return partition_health::moving;
  }
  // Fewer voters than the replication factor is under-replicated, also when the cluster has too
  // few live nodes to place more (a 3-node cluster that lost a node for good).
  return voters < replication_factor ? partition_health::under_replicated
                                     : partition_health::healthy;
}

partition_health classify_placed(size_t placed, uint32_t replication_factor) {
  if (placed == 0) {
    return partition_health::no_leader;
  }
  return placed < replication_factor ? partition_health::under_replicated
                                     : partition_health::healthy;
}

partition_summary summarize_partition(const partition_placement& placement,
                                      const std::optional<replica_view>& hosted,
                                      const std::string& leader_guess, const std::string& self_id,
                                      uint32_t replication_factor) {
  partition_summary out;
  out.index = placement.index;
  const auto placed = [&placement](const std::string& id) {
    return std::find(placement.replicas.begin(), placement.replicas.end(), id) !=
           placement.replicas.end();
  };
  if (hosted) {
    out.leader = hosted->leader;
    out.term = hosted->term;
    out.commit_index = hosted->commit_index;
    for (const auto& voter : hosted->voters) {
      if (!voter.empty() && voter != out.leader) {
        out.replicas.push_back(voter);
      }
    }
    out.learners = hosted->learners;
    out.health = classify_hosted(!out.leader.empty(), hosted->voters.size(),
                                 hosted->learners.size(), placement.replicas.size(),
                                 replication_factor);
    return out;
  }
  const bool guess_usable = !leader_guess.empty() && leader_guess != self_id && placed(leader_guess);
  out.leader = guess_usable ? leader_guess
                            : (placement.replicas.empty() ? "" : placement.replicas.front());
  for (const auto& r : placement.replicas) {
    if (r != out.leader) {
      out.replicas.push_back(r);
    }
  }
  out.health = classify_placed(placement.replicas.size(), replication_factor);
  return out;
}

std::map<uint32_t, std::string> leaders_from_claims(
    const std::vector<leader_claims>& answers,
    const std::vector<partition_placement>& placement, const std::vector<uint32_t>& wanted) {
  std::map<uint32_t, std::pair<uint64_t, std::string>> best;  // partition -> (term, node)
  for (const auto& answer : answers) {
    for (const auto& [partition, term] : answer.led) {
      auto it = best.find(partition);
      if (it == best.end() || term > it->second.first) {
        best[partition] = {term, answer.node};
      }
    }
  }
  std::map<uint32_t, std::string> out;
  for (const uint32_t partition : wanted) {
    if (partition >= placement.size()) {
      continue;
    }
    if (auto it = best.find(partition); it != best.end()) {
      out[partition] = it->second.second;
      continue;
    }
    const auto& placed = placement[partition].replicas;
    const bool all_answered =
        !placed.empty() && std::all_of(placed.begin(), placed.end(), [&](const std::string& n) {
          return std::any_of(answers.begin(), answers.end(),
                             [&](const leader_claims& a) { return a.node == n; });
        });
    if (all_answered) {
      out[partition] = "";
    }
  }
  return out;
}

}  // namespace ck::cluster
