// What the cluster member tells the API and the log: the cluster view built from the
// replicated meta state, the meta group's Raft status and the transport's per-peer figures,
// and one log line per applied meta event.

#include "actors/cluster_member_state.hpp"
#include "runtime/base/clock.hpp"
#include "runtime/cluster/placement.hpp"
#include "runtime/base/log.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <type_traits>

namespace ck::actors::detail {

namespace {

bool contains(const std::vector<raft::node_id>& ids, raft::node_id id) {
  return std::find(ids.begin(), ids.end(), id) != ids.end();
}

std::string role_word(raft::role role) {
  switch (role) {
    case raft::role::leader:
      return "leader";
    case raft::role::candidate:
    case raft::role::pre_candidate:
      return "candidate";
    case raft::role::follower:
      return "follower";
  }
  return "follower";
}

bool has(const std::vector<std::string>& ids, const std::string& id) {
  return std::find(ids.begin(), ids.end(), id) != ids.end();
}

// Moves still planned (the placement is not at plan_placement yet) and moves under way (a
// partition's group differs from its placement).
void add_moves(cluster_view& view, const cluster::meta_state& meta) {
  if (!meta.bootstrapped()) {
    return;
  }
  const auto target = cluster::plan_placement(meta);
  for (size_t i = 0; i < target.size() && i < meta.placement.size(); ++i) {
    const auto& now = meta.placement[i].replicas;
    const auto& want = target[i].replicas;
    std::vector<std::string> out, in;
    for (const auto& r : now) {
      if (!has(want, r)) out.push_back(r);
    }
    for (const auto& r : want) {
      if (!has(now, r)) in.push_back(r);
    }
    for (size_t k = 0; k < std::max(out.size(), in.size()); ++k) {
      view.moves.push_back(partition_move{static_cast<uint32_t>(i), k < out.size() ? out[k] : "",
                                          k < in.size() ? in[k] : "", "planned"});
    }
  }
  for (const auto& p : view.partitions) {
    if (p.status != "moving" || p.index >= meta.placement.size()) {
      continue;
    }
    const auto& placed = meta.placement[p.index].replicas;
    std::vector<std::string> voters = p.replicas;
    if (!p.leader.empty()) voters.push_back(p.leader);
    for (const auto& v : voters) {
      if (!has(placed, v)) view.moves.push_back(partition_move{p.index, v, "", "removing"});
    }
    for (const auto& r : placed) {
      if (!has(voters, r)) {
        view.moves.push_back(
            partition_move{p.index, "", r, has(p.learners, r) ? "catching_up" : "adding"});
      }
    }
  }
}

}  // namespace

cluster_view build_view(const cluster_member_state& st, std::vector<partition_view> partitions) {
  const auto& o = st.options;
  const cluster::meta_state meta = st.sm->current();
  cluster_view view;
  view.self_id = o.self.id;
  view.cluster_id = meta.bootstrapped() ? meta.cluster_id : o.cluster_id;
  view.name = meta.bootstrapped() ? meta.cluster_name : o.cluster_name;
  view.partition_count = meta.bootstrapped() ? meta.partition_count : o.partition_count;
  view.replication_factor = meta.bootstrapped() ? meta.replication_factor : o.replication_factor;
  raft::status_info status;
  if (st.status) {
    status = *st.status;
  }
  const auto* leader = cluster::find_by_raft_id(meta, status.leader);
  view.leader_id = leader != nullptr ? leader->id : "";
  view.raft_state = role_word(status.state);
  view.term = status.term;
  view.commit_index = status.commit;
  view.applied_index = status.applied;
  view.last_index = status.last_index;
  for (const auto& [id, node] : meta.nodes) {
    node_view n;
    n.id = id;
    n.name = node.name;
    n.status = std::string{cluster::to_string(node.status)};
    n.raft_addr = node.raft_addr;
    n.http_addr = node.http_addr;
    n.kv_addr = node.kv_addr;
    n.services = node.services;
    n.is_leader = leader != nullptr && leader->id == id;
    n.joined_unix_ms = node.joined_unix_ms;
    n.raft_id = node.raft_id;
    n.meta_role = contains(status.conf.voters, node.raft_id)     ? "voter"
                  : contains(status.conf.learners, node.raft_id) ? "learner"
                                                                 : "";
    for (const auto& p : partitions) {
      n.partitions_led += p.leader == id ? 1u : 0u;
      n.partitions_hosted +=
          p.leader == id || std::find(p.replicas.begin(), p.replicas.end(), id) != p.replicas.end()
              ? 1u
              : 0u;
    }
    if (id == o.self.id) {
      n.last_seen_ms_ago = 0;
      n.connected = true;
    } else {
      for (const auto& peer : st.peers.peers) {
        if (peer.name == id) {
          n.last_seen_ms_ago = peer.last_heard_ms_ago;
          n.connected = peer.connected;
        }
      }
    }
    for (const auto& p : status.progress) {
      if (p.id == node.raft_id) {
        n.match_index = p.match;
      }
    }
    view.nodes.push_back(std::move(n));
  }
  view.partitions = std::move(partitions);
  add_moves(view, meta);
  view.moves_done = st.moves_done ? st.moves_done->load() : 0;
  uint32_t without_leader = 0;
  for (const auto& p : view.partitions) {
    if (p.leader == o.self.id || std::find(p.replicas.begin(), p.replicas.end(), o.self.id) !=
                                     p.replicas.end()) {
      without_leader += p.leader.empty() && !p.leader_changing ? 1u : 0u;
    }
  }

  if (!st.status) {
    view.not_ready_reasons.push_back("the meta group replica is starting");
  } else if (status.leader == raft::no_node) {
    view.not_ready_reasons.push_back("the meta group has no leader");
  }
  if (!meta.bootstrapped()) {
    view.not_ready_reasons.push_back("the cluster state has not been replicated here yet");
  } else if (meta.nodes.count(o.self.id) == 0) {
    view.not_ready_reasons.push_back("this node is not a member of the cluster yet");
  }
  if (without_leader > 0) {
    view.not_ready_reasons.push_back(std::to_string(without_leader) +
                                     " hosted partition(s) have no leader");
  }
  const auto restore_error = st.sm->last_restore_error();
  if (!restore_error.empty()) {
    view.not_ready_reasons.push_back("the meta state could not be restored: " + restore_error);
  }
  return view;
}

namespace {

// Events older than this when applied here are history this node is catching up on (a
// restart or a join replays the log): logged at debug level, not as news.
constexpr int64_t news_age_max_ms = 5000;

template <class Command>
int64_t stamped_at(const Command& cmd) {
  if constexpr (std::is_same_v<Command, cluster::remove_node_command> ||
                std::is_same_v<Command, cluster::set_placement_command>) {
    return 0;
  } else {
    return cmd.at_unix_ms;
  }
}

std::string describe_event(const cluster::command& command, const cluster::apply_result& result) {
  using cluster::apply_outcome;
  return std::visit(
      [&result](const auto& cmd) -> std::string {
        using T = std::decay_t<decltype(cmd)>;
        const bool ok = result.outcome == apply_outcome::ok;
        if constexpr (std::is_same_v<T, cluster::bootstrap_command>) {
          return !ok ? "" : fmt::format("node: cluster {} created by {} ({} partitions, "
                                        "replication factor {})",
                                        cmd.cluster_id, cmd.first.id, cmd.partition_count,
                                        cmd.replication_factor);
        } else if constexpr (std::is_same_v<T, cluster::join_command>) {
          switch (result.outcome) {
            case apply_outcome::joined:
              return fmt::format("join: node {} joined from {} (meta raft id {})", cmd.node.id,
                                 cmd.node.raft_addr, result.raft_id);
            case apply_outcome::rejoined:
            case apply_outcome::unchanged:
              return fmt::format("join: node {} rejoined from {}", cmd.node.id,
                                 cmd.node.raft_addr);
            case apply_outcome::replaced:
              return fmt::format("join: node {} replaced its dead predecessor, now at {} (meta "
                                 "raft id {})",
                                 cmd.node.id, cmd.node.raft_addr, result.raft_id);
            default:
              return fmt::format("join: node {} refused: {}", cmd.node.id, result.message);
          }
        } else if constexpr (std::is_same_v<T, cluster::set_status_command>) {
          return !ok ? "" : fmt::format("node: {} is {}", cmd.id, cluster::to_string(cmd.status));
        } else if constexpr (std::is_same_v<T, cluster::remove_node_command>) {
          return !ok ? "" : fmt::format("node: {} removed from the cluster", cmd.id);
        } else {
          return "";
        }
      },
      command);
}

}  // namespace

void log_meta_event(const cluster::command& command, const cluster::apply_result& result) {
  const std::string line = describe_event(command, result);
  if (line.empty()) {
    return;
  }
  const int64_t at = std::visit([](const auto& cmd) { return stamped_at(cmd); }, command);
  if (at > 0 && runtime::unix_now_ms() - at > news_age_max_ms) {
    CK_LOG_DEBUG("{} (earlier, replayed here)", line);
  } else {
    CK_LOG_INFO("{}", line);
  }
}

}  // namespace ck::actors::detail
