// The meta state machine: one handler per command. Every handler validates first and changes
// nothing on a refusal, so a refused command is a no-op on every replica alike.

#include "runtime/cluster/meta_state.hpp"

#include "runtime/base/assert.hpp"

#include <algorithm>
#include <set>

namespace ck::cluster {

namespace {

apply_result refuse(apply_outcome outcome, std::string message) {
  return apply_result{outcome, std::move(message), raft::no_node};
}

// The fields a join may refresh. An empty name defaults to the id, as NODE_NAME does.
void copy_join_fields(node_record& into, const node_record& from) {
  into.name = from.name.empty() ? from.id : from.name;
  into.raft_addr = from.raft_addr;
  into.http_addr = from.http_addr;
  into.kv_addr = from.kv_addr;
  into.services = from.services;
}

// A fresh incarnation: new raft id, alive since at_unix_ms.
node_record make_member(meta_state& state, const node_record& fields, int64_t at_unix_ms) {
  node_record node;
  node.id = fields.id;
  copy_join_fields(node, fields);
  node.status = node_status::alive;
  node.joined_unix_ms = at_unix_ms;
  node.status_changed_unix_ms = at_unix_ms;
  node.raft_id = state.next_raft_id;
  ++state.next_raft_id;
  CK_ASSERT_LT(node.raft_id, state.next_raft_id);  // no wrap: ids are never reused
  return node;
}

apply_result apply_bootstrap(meta_state& state, const bootstrap_command& cmd) {
  if (state.bootstrapped()) {
    return refuse(apply_outcome::conflict, "cluster already bootstrapped as " + state.cluster_id);
  }
  if (auto error = validate_bootstrap(cmd); !error.empty()) {
    return refuse(apply_outcome::invalid, std::move(error));
  }
  CK_ASSERT(state.nodes.empty());
  state.cluster_id = cmd.cluster_id;
  state.cluster_name = cmd.cluster_name;
  state.partition_count = cmd.partition_count;
  state.replication_factor = cmd.replication_factor;
  state.placement.resize(cmd.partition_count);
  for (uint32_t i = 0; i < cmd.partition_count; ++i) {
    state.placement[i].index = i;
  }
  node_record first = make_member(state, cmd.first, cmd.at_unix_ms);
  const raft::node_id raft_id = first.raft_id;
  state.nodes.emplace(first.id, std::move(first));
  ++state.version;
  return apply_result{apply_outcome::ok, "bootstrapped cluster " + cmd.cluster_id, raft_id};
}

apply_result join_new(meta_state& state, const join_command& cmd) {
  if (state.nodes.size() >= nodes_max) {
    return refuse(apply_outcome::conflict, "the cluster already has 4096 nodes");
  }
  node_record node = make_member(state, cmd.node, cmd.at_unix_ms);
  const raft::node_id raft_id = node.raft_id;
  state.nodes.emplace(node.id, std::move(node));
  ++state.version;
  return apply_result{apply_outcome::joined, "node " + cmd.node.id + " joined", raft_id};
}

// Same id, same raft_addr: the node restarted or retried its join. Idempotent: a repeat
// changes nothing and bumps no version. A leaving node stays leaving (a restart does not
// cancel a decommission); any other status comes back to alive.
apply_result join_again(meta_state& state, node_record& node, const join_command& cmd) {
  node_record updated = node;
  copy_join_fields(updated, cmd.node);
  if (updated.status != node_status::leaving && updated.status != node_status::alive) {
    updated.status = node_status::alive;
    updated.status_changed_unix_ms = cmd.at_unix_ms;
  }
  if (!(updated == node)) {
    node = std::move(updated);
    ++state.version;
  }
  return apply_result{apply_outcome::rejoined, "node " + node.id + " rejoined", node.raft_id};
}

apply_result apply_join(meta_state& state, const join_command& cmd) {
  if (auto error = validate_node_fields(cmd.node); !error.empty()) {
    return refuse(apply_outcome::invalid, std::move(error));
  }
  const auto found = state.nodes.find(cmd.node.id);
  if (found == state.nodes.end()) {
    return join_new(state, cmd);
  }
  node_record& node = found->second;
  if (node.raft_addr == cmd.node.raft_addr) {
    return join_again(state, node, cmd);
  }
  if (node.status != node_status::dead) {
    return refuse(apply_outcome::conflict, "node id " + node.id + " is in use by " +
                                               node.raft_addr + " (" +
                                               std::string(to_string(node.status)) + ")");
  }
  // A dead id joining from elsewhere: the machine moved or was rebuilt. It may have lost its
  // disk, hence its Raft votes, so it gets a fresh raft id (the old one is retired for good).
  node = make_member(state, cmd.node, cmd.at_unix_ms);
  ++state.version;
  return apply_result{
      apply_outcome::replaced,
      "node " + node.id + " replaced its dead incarnation, now at " + node.raft_addr, node.raft_id};
}

apply_result apply_set_status(meta_state& state, const set_status_command& cmd) {
  const auto found = state.nodes.find(cmd.id);
  if (found == state.nodes.end()) {
    return refuse(apply_outcome::not_found, "no node " + cmd.id);
  }
  if (static_cast<uint8_t>(cmd.status) > static_cast<uint8_t>(node_status::leaving)) {
    return refuse(apply_outcome::invalid, "unknown status");
  }
  node_record& node = found->second;
  if (node.status == cmd.status) {
    return apply_result{apply_outcome::unchanged,
                        "node " + cmd.id + " already " + std::string(to_string(cmd.status)),
                        node.raft_id};
  }
  if (cmd.status == node_status::leaving &&
      (node.status == node_status::alive || node.status == node_status::suspect)) {
    // A live node may leave only when the others can still hold every partition's replicas:
    // otherwise draining it would silently lower the replication of the whole key space.
    // (A dead node hosts nothing any more and may always be removed.)
    const auto live = static_cast<uint32_t>(std::count_if(
        state.nodes.begin(), state.nodes.end(), [](const auto& entry) {
          return entry.second.status == node_status::alive ||
                 entry.second.status == node_status::suspect;
        }));
    if (live <= state.replication_factor) {
      return refuse(apply_outcome::conflict,
                    "node " + cmd.id + " cannot leave: " + std::to_string(live - 1) +
                        " live nodes would be left for replication factor " +
                        std::to_string(state.replication_factor) + "; add a node first");
    }
  }
  node.status = cmd.status;
  node.status_changed_unix_ms = cmd.at_unix_ms;
  ++state.version;
  return apply_result{apply_outcome::ok,
                      "node " + cmd.id + " is " + std::string(to_string(cmd.status)), node.raft_id};
}

// Refused while the node hosts a replica: placement must never name an unknown node, and
// only the rebalancer knows where the replicas should go instead.
apply_result apply_remove_node(meta_state& state, const remove_node_command& cmd) {
  const auto found = state.nodes.find(cmd.id);
  if (found == state.nodes.end()) {
    return refuse(apply_outcome::not_found, "no node " + cmd.id);
  }
  if (state.nodes.size() == 1) {
    return refuse(apply_outcome::conflict, "node " + cmd.id + " is the last node");
  }
  for (const auto& p : state.placement) {
    if (std::find(p.replicas.begin(), p.replicas.end(), cmd.id) != p.replicas.end()) {
      return refuse(apply_outcome::conflict, "node " + cmd.id + " still hosts partition " +
                                                 std::to_string(p.index) +
                                                 "; move its replicas first");
    }
  }
  const raft::node_id raft_id = found->second.raft_id;
  state.nodes.erase(found);
  ++state.version;
  return apply_result{apply_outcome::ok, "node " + cmd.id + " removed", raft_id};
}

apply_result apply_set_placement(meta_state& state, const set_placement_command& cmd) {
  if (cmd.index >= state.partition_count) {
    return refuse(apply_outcome::invalid,
                  "partition " + std::to_string(cmd.index) + " is beyond the partition count");
  }
  if (cmd.replicas.empty() || cmd.replicas.size() > replicas_max) {
    return refuse(apply_outcome::invalid, "a placement needs 1..7 replicas");
  }
  std::set<std::string> seen;
  for (const auto& replica : cmd.replicas) {
    if (!seen.insert(replica).second) {
      return refuse(apply_outcome::invalid, "replica " + replica + " is listed twice");
    }
    if (state.nodes.count(replica) == 0) {
      return refuse(apply_outcome::not_found, "no node " + replica);
    }
  }
  auto& placement = state.placement[cmd.index];
  CK_ASSERT_EQ(placement.index, cmd.index);
  if (placement.replicas == cmd.replicas) {
    return refuse(apply_outcome::unchanged, "placement unchanged");
  }
  placement.replicas = cmd.replicas;
  ++state.version;
  return refuse(apply_outcome::ok, "partition " + std::to_string(cmd.index) + " placed");
}

}  // namespace

apply_result apply(meta_state& state, const command& cmd) {
  const uint64_t version_before = state.version;
  apply_result result;
  if (!state.bootstrapped() && !std::holds_alternative<bootstrap_command>(cmd)) {
    result = refuse(apply_outcome::not_bootstrapped, "the cluster is not bootstrapped");
  } else if (const auto* b = std::get_if<bootstrap_command>(&cmd)) {
    result = apply_bootstrap(state, *b);
  } else if (const auto* j = std::get_if<join_command>(&cmd)) {
    result = apply_join(state, *j);
  } else if (const auto* s = std::get_if<set_status_command>(&cmd)) {
    result = apply_set_status(state, *s);
  } else if (const auto* r = std::get_if<remove_node_command>(&cmd)) {
    result = apply_remove_node(state, *r);
  } else {
    result = apply_set_placement(state, std::get<set_placement_command>(cmd));
  }
  // Pair check: a version moves by exactly one on a change and not at all otherwise.
  CK_ASSERT_LE(state.version, version_before + 1);
  CK_ASSERT_GE(state.version, version_before);
  const bool changes =
      result.outcome == apply_outcome::ok || result.outcome == apply_outcome::joined ||
      result.outcome == apply_outcome::replaced || result.outcome == apply_outcome::rejoined;
  if (!changes) {
    CK_ASSERT_EQ(state.version, version_before);  // refusals and no-ops change nothing
  }
#ifndef NDEBUG
  check_invariants(state);  // O(partitions x replicas): debug builds and tests only
#endif
  return result;
}

}  // namespace ck::cluster
