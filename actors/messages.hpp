#pragma once

// Message types exchanged between actors, declared once. Each struct has an `inspect`
// overload so CAF can serialise it when the receiver lives on another node; every type is
// registered in actors/type_ids.hpp. Plain data only: no handles to local resources.

#include "runtime/cluster/meta_state.hpp"

#include <caf/meta/type_name.hpp>

#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace ck::actors {

// ---- partitions: state machine commands and queries -------------------------------------

/// What a routed partition request asks of the partition's replica.
/// Do not renumber: the value crosses the network between nodes of different builds.
enum class partition_op : uint8_t {
  propose = 1,     // commit `payload` as a command of `machine`; reply: the apply result
  read = 2,        // linearizable query: ReadIndex on the leader, then machine's query()
  stale_read = 3,  // query() on whichever replica receives it, from its current data
  entity = 4,      // deliver `payload` to the entity `machine` (its "type/id") on the leader's
                   // node (runtime/node/entity.hpp); reply: the entity's answer
};

/// A command or query for one state machine of one partition, routed to the node that should
/// run it (the partition's leader; any replica for a stale read).
struct partition_request {
  uint32_t partition = 0;
  partition_op op = partition_op::propose;
  std::string machine;
  std::string payload;
  /// For propose: answer (with an empty result) once the command is committed and durable on
  /// the leader's node, before its apply (raft_group.hpp). Last on the wire: a build that
  /// lacks it fails to decode the request, and the origin answers 503, rather than proposing
  /// it with other semantics.
  bool answer_at_commit = false;
};

/// How a routed request ended on the node that received it.
/// Do not renumber: the value crosses the network.
enum class route_status : uint8_t {
  ok = 0,
  not_leader = 1,  // leader_hint names the leader as the replica knows it
  not_hosted = 2,  // no replica here; leader_hint may still help
  unknown = 3,     // a proposal timed out: it may or may not commit (never retried)
  failed = 4,      // a definite failure (payload says why): not retried
  storage_full = 5,  // the leader's disk is full, nothing was written (payload says why)
};

struct partition_reply {
  route_status status = route_status::ok;
  uint64_t leader_hint = 0;  // raft id of the leader as the replica knows it (0 unknown)
  std::string payload;       // the apply or query result; why, for failed
};

/// Asks the partition's leader whether the replica with raft id `raft_id` is still in its
/// group. A replica its group removed while it was away never hears of it otherwise.
struct member_probe {
  uint32_t partition = 0;
  uint64_t raft_id = 0;
};

struct member_probe_reply {
  route_status status = route_status::ok;  // ok only from a leader
  uint64_t leader_hint = 0;
  bool member = false;
};

/// What a node stores and how its storage is doing (GET /metrics, /cluster/health).
struct storage_figures {
  uint64_t local_entries = 0;  // entries of every state machine in the replicas hosted here
  uint32_t partitions_hosted = 0;
  uint32_t partitions_led = 0;
  std::string data_dir;
  uint64_t used_bytes = 0;
  uint64_t map_size_bytes = 0;
  uint64_t commits = 0;
  uint64_t fsyncs = 0;
  uint64_t bytes_written = 0;
};

inline std::string to_string(partition_op op) {
  switch (op) {
    case partition_op::propose:
      return "propose";
    case partition_op::read:
      return "read";
    case partition_op::stale_read:
      return "stale_read";
    case partition_op::entity:
      return "entity";
  }
  return "partition_op(" + std::to_string(static_cast<int>(op)) + ")";
}

inline std::string to_string(route_status status) {
  switch (status) {
    case route_status::ok:
      return "ok";
    case route_status::not_leader:
      return "not_leader";
    case route_status::not_hosted:
      return "not_hosted";
    case route_status::unknown:
      return "unknown";
    case route_status::failed:
      return "failed";
    case route_status::storage_full:
      return "storage_full";
  }
  return "route_status(" + std::to_string(static_cast<int>(status)) + ")";
}

// ---- node services -------------------------------------------------------------------------

/// A call of a named node service (runtime/node/service.hpp): bytes in, bytes out.
struct service_call {
  std::string service;
  std::string payload;
  bool singleton = false;  // the cluster-wide singleton (runs on the meta leader's node)
};

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
  std::map<std::string, std::string> services;  // name -> address, as the node published them
};

struct partition_view {
  uint32_t index = 0;
  std::string leader;                 // "" when no leader
  std::vector<std::string> replicas;  // the other voters
  std::vector<std::string> learners;
  uint64_t term = 0;
  uint64_t commit_index = 0;
  std::string status;  // healthy | under_replicated | no_leader | moving
  // Hosted here, without a leader now but led moments ago (within leader_change_grace_ms):
  // a leader change under way (a handover for balance, an election after a leader died),
  // which readiness does not count as "no leader".
  bool leader_changing = false;
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

/// A join request as the meta state records the node (cluster::node_record without status,
/// times and raft id, which the meta state machine assigns).
cluster::node_record node_record_of(const join_request& request);

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
typename Inspector::result_type inspect(Inspector& f, partition_request& x) {
  return f(caf::meta::type_name("partition_request"), x.partition, x.op, x.machine, x.payload,
           x.answer_at_commit);
}
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, partition_reply& x) {
  return f(caf::meta::type_name("partition_reply"), x.status, x.leader_hint, x.payload);
}
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, member_probe& x) {
  return f(caf::meta::type_name("member_probe"), x.partition, x.raft_id);
}
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, member_probe_reply& x) {
  return f(caf::meta::type_name("member_probe_reply"), x.status, x.leader_hint, x.member);
}
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, service_call& x) {
  return f(caf::meta::type_name("service_call"), x.service, x.payload, x.singleton);
}
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, storage_figures& x) {
  return f(caf::meta::type_name("storage_figures"), x.local_entries, x.partitions_hosted,
           x.partitions_led, x.data_dir, x.used_bytes, x.map_size_bytes, x.commits, x.fsyncs,
           x.bytes_written);
}
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, node_view& x) {
  return f(caf::meta::type_name("node_view"), x.id, x.name, x.status, x.raft_addr, x.http_addr,
           x.kv_addr, x.is_leader, x.partitions_hosted, x.partitions_led, x.joined_unix_ms,
           x.raft_id, x.meta_role, x.last_seen_ms_ago, x.connected, x.match_index, x.services);
}
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, partition_view& x) {
  return f(caf::meta::type_name("partition_view"), x.index, x.leader, x.replicas, x.learners,
           x.term, x.commit_index, x.status, x.leader_changing);
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
