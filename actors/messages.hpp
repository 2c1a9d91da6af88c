#pragma once

// Message types exchanged between actors, declared once. Each struct has an `inspect`
// overload so CAF can serialise it when the receiver lives on another node; every type is
// registered in actors/type_ids.hpp. Plain data only: no handles to local resources.

#include <caf/meta/type_name.hpp>

#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace ck::actors {

// ---- KV ----------------------------------------------------------------------------------

struct kv_set_request {
  uint32_t partition = 0;
  std::string key;
  std::string value;
};

struct kv_delete_request {
  uint32_t partition = 0;
  std::string key;
};

struct kv_get_request {
  uint32_t partition = 0;
  std::string key;
  bool stale = false;  // true: the local replica may answer without asking its leader
};

/// Reply to a set or a delete, sent only once the write is durable.
struct kv_write_reply {
  bool existed = false;  // delete: the key was there before
};

struct kv_get_reply {
  bool found = false;
  std::string value;
};

/// A page of the keys this node stores. With has_partition, only that partition; with
/// has_after, strictly after (after_partition, after_key) in (partition, key) storage order.
struct kv_list_request {
  bool has_partition = false;
  uint32_t partition = 0;
  bool has_after = false;
  uint32_t after_partition = 0;
  std::string after_key;
  uint32_t limit = 1000;
};

struct kv_list_reply {
  uint64_t count = 0;  // keys on this node (in the partition, when one was asked for)
  std::vector<std::string> keys;
  bool has_next = false;
  std::string next_after;  // the last key of this page when has_next
};

struct kv_stats_reply {
  uint64_t local_keys = 0;
  uint32_t partitions_hosted = 0;
  uint32_t partitions_led = 0;
  uint64_t sets = 0;
  uint64_t gets = 0;
  uint64_t deletes = 0;
  // storage figures of this node
  std::string data_dir;
  uint64_t used_bytes = 0;
  uint64_t map_size_bytes = 0;
  uint64_t commits = 0;
  uint64_t fsyncs = 0;
  uint64_t bytes_written = 0;
};

/// A KV operation routed to the node that should run it (the partition's leader). The node
/// that receives it runs it on its own replica only; the origin retries elsewhere.
struct kv_routed_request {
  uint32_t partition = 0;
  uint8_t op = 0;  // kv_op_set | kv_op_delete | kv_op_get | kv_op_member
  std::string key;
  std::string value;
  bool stale = false;  // get: any replica may answer from its own data
};
inline constexpr uint8_t kv_op_set = 1;
inline constexpr uint8_t kv_op_delete = 2;
inline constexpr uint8_t kv_op_get = 3;
/// Asks the partition's leader whether the replica with raft id `key` (decimal) is still in its
/// group: flag = member. Answered kv_route_ok by a leader only (else not_leader with a hint).
/// A replica its group removed while it was away never hears of it otherwise.
inline constexpr uint8_t kv_op_member = 4;

struct kv_routed_reply {
  uint8_t status = 0;  // kv_route_ok | _not_leader | _not_hosted | _unknown
  uint64_t leader_hint = 0;      // raft id of the leader as the replica knows it (0 unknown)
  bool flag = false;             // set/delete: the key existed; get: found
  std::string value;             // get
};
inline constexpr uint8_t kv_route_ok = 0;
inline constexpr uint8_t kv_route_not_leader = 1;
inline constexpr uint8_t kv_route_not_hosted = 2;
/// The write may or may not have been proposed (its proposal timed out): never retried, since
/// a retry could be applied before the first attempt, which may still commit later.
inline constexpr uint8_t kv_route_unknown = 3;

// ---- cluster view ------------------------------------------------------------------------

struct node_view {
  std::string id;
  std::string name;
  std::string status;  // alive | suspect | dead | leaving
  std::string raft_addr;
  std::string http_addr;  // host:port other nodes and clients use
  std::string kv_addr;
  bool is_leader = false;
  uint32_t partitions_hosted = 0;
  uint32_t partitions_led = 0;
  int64_t joined_unix_ms = 0;
  uint64_t raft_id = 0;          // its replica id in the meta group
  std::string meta_role;         // voter | learner | "" (not a member of the meta group yet)
  int64_t last_seen_ms_ago = -1;  // as this node last heard from it; -1 unknown (or self)
  bool connected = false;        // this node has a live connection to it (always true for self)
  uint64_t match_index = 0;      // meta leader only: its replicated meta log index
};

struct partition_view {
  uint32_t index = 0;
  std::string leader;                 // "" when no leader
  std::vector<std::string> replicas;  // the other voters
  std::vector<std::string> learners;
  uint64_t term = 0;
  uint64_t commit_index = 0;
  std::string status;  // healthy | under_replicated | no_leader | moving
};

/// A replica move toward the planned placement (GET /rebalance).
struct partition_move {
  uint32_t partition = 0;
  std::string from;   // "" when only adding
  std::string to;     // "" when only removing
  std::string state;  // planned | adding | catching_up | removing
};

/// What this node knows about the cluster, for the cluster API.
struct cluster_view {
  std::string cluster_id;
  std::string name;
  std::string self_id;
  std::string leader_id;
  std::string raft_state;  // leader | follower | candidate
  uint64_t term = 0;
  uint64_t commit_index = 0;
  uint64_t applied_index = 0;
  uint32_t partition_count = 0;
  uint32_t replication_factor = 0;
  std::vector<node_view> nodes;
  std::vector<partition_view> partitions;
  uint64_t last_index = 0;
  std::vector<std::string> not_ready_reasons;  // empty when ready
  std::vector<partition_move> moves;
  uint64_t moves_done = 0;  // placement changes applied since this node started
};

// ---- membership --------------------------------------------------------------------------

/// POST /join: who wants in and how it is reached. Validated by the HTTP layer (400) and again
/// by the meta state machine.
struct join_request {
  std::string id;
  std::string name;
  std::string raft_addr;  // host:port of its CAF endpoint
  std::string http_addr;
  std::string kv_addr;
  std::map<std::string, std::string> services;
};

/// One member as a joiner needs it to reach the meta group.
struct join_member {
  std::string id;
  uint64_t raft_id = 0;
  std::string raft_addr;
};

/// The meta leader's answer to a join that it committed.
struct join_reply {
  std::string outcome;  // joined | rejoined | replaced | unchanged
  uint64_t raft_id = 0;  // the joiner's replica id in the meta group
  std::string cluster_id;
  std::string cluster_name;
  uint32_t partition_count = 0;
  uint32_t replication_factor = 0;
  std::vector<join_member> members;  // every node, the joiner included
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, kv_set_request& x) {
  return f(caf::meta::type_name("kv_set_request"), x.partition, x.key, x.value);
}
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, kv_delete_request& x) {
  return f(caf::meta::type_name("kv_delete_request"), x.partition, x.key);
}
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, kv_get_request& x) {
  return f(caf::meta::type_name("kv_get_request"), x.partition, x.key, x.stale);
}
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, kv_write_reply& x) {
  return f(caf::meta::type_name("kv_write_reply"), x.existed);
}
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, kv_get_reply& x) {
  return f(caf::meta::type_name("kv_get_reply"), x.found, x.value);
}
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, kv_list_request& x) {
  return f(caf::meta::type_name("kv_list_request"), x.has_partition, x.partition, x.has_after,
           x.after_partition, x.after_key, x.limit);
}
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, kv_list_reply& x) {
  return f(caf::meta::type_name("kv_list_reply"), x.count, x.keys, x.has_next, x.next_after);
}
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, kv_stats_reply& x) {
  return f(caf::meta::type_name("kv_stats_reply"), x.local_keys, x.partitions_hosted,
           x.partitions_led, x.sets, x.gets, x.deletes, x.data_dir, x.used_bytes,
           x.map_size_bytes, x.commits, x.fsyncs, x.bytes_written);
}
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, kv_routed_request& x) {
  return f(caf::meta::type_name("kv_routed_request"), x.partition, x.op, x.key, x.value, x.stale);
}
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, kv_routed_reply& x) {
  return f(caf::meta::type_name("kv_routed_reply"), x.status, x.leader_hint, x.flag, x.value);
}
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, node_view& x) {
  return f(caf::meta::type_name("node_view"), x.id, x.name, x.status, x.raft_addr, x.http_addr,
           x.kv_addr, x.is_leader, x.partitions_hosted, x.partitions_led, x.joined_unix_ms,
           x.raft_id, x.meta_role, x.last_seen_ms_ago, x.connected, x.match_index);
}
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, partition_view& x) {
  return f(caf::meta::type_name("partition_view"), x.index, x.leader, x.replicas, x.learners,
           x.term, x.commit_index, x.status);
}
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, partition_move& x) {
  return f(caf::meta::type_name("partition_move"), x.partition, x.from, x.to, x.state);
}
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, cluster_view& x) {
  return f(caf::meta::type_name("cluster_view"), x.cluster_id, x.name, x.self_id, x.leader_id,
           x.raft_state, x.term, x.commit_index, x.applied_index, x.partition_count,
           x.replication_factor, x.nodes, x.partitions, x.last_index, x.not_ready_reasons,
           x.moves, x.moves_done);
}
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, join_request& x) {
  return f(caf::meta::type_name("join_request"), x.id, x.name, x.raft_addr, x.http_addr,
           x.kv_addr, x.services);
}
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, join_member& x) {
  return f(caf::meta::type_name("join_member"), x.id, x.raft_id, x.raft_addr);
}
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, join_reply& x) {
  return f(caf::meta::type_name("join_reply"), x.outcome, x.raft_id, x.cluster_id,
           x.cluster_name, x.partition_count, x.replication_factor, x.members);
}

}  // namespace ck::actors
