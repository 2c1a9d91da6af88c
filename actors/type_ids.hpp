#pragma once

// The one registry of every message type and atom the actors exchange. Every node calls
// `register_types(cfg)` before its actor system starts, so all nodes announce the same types
// under the same names (CAF 0.17 silently drops messages of unannounced types).

#include "actors/errc.hpp"
#include "actors/event_wire.hpp"
#include "actors/messages.hpp"
#include "actors/net_transport_stats.hpp"
#include "actors/raft_wire.hpp"

#include <caf/atom.hpp>
#include <caf/type_id.hpp>

CAF_BEGIN_TYPE_ID_BLOCK(clusterkit, caf::first_custom_type_id)
  CAF_ADD_TYPE_ID(clusterkit, (ck::actors::partition_request))
  CAF_ADD_TYPE_ID(clusterkit, (ck::actors::partition_reply))
  CAF_ADD_TYPE_ID(clusterkit, (ck::actors::member_probe))
  CAF_ADD_TYPE_ID(clusterkit, (ck::actors::member_probe_reply))
  CAF_ADD_TYPE_ID(clusterkit, (ck::actors::storage_figures))
  CAF_ADD_TYPE_ID(clusterkit, (ck::actors::node_view))
  CAF_ADD_TYPE_ID(clusterkit, (ck::actors::partition_view))
  CAF_ADD_TYPE_ID(clusterkit, (ck::actors::cluster_view))

  CAF_ADD_ATOM(clusterkit, ck::atoms, partition_call_atom, "part_call")
  CAF_ADD_ATOM(clusterkit, ck::atoms, storage_figures_atom, "stor_figs")
  CAF_ADD_ATOM(clusterkit, ck::atoms, flush_atom, "flush")
  CAF_ADD_ATOM(clusterkit, ck::atoms, view_atom, "view")

  // Raft (appended: entries above keep their type ids).
  CAF_ADD_TYPE_ID(clusterkit, (ck::raft::entry))
  CAF_ADD_TYPE_ID(clusterkit, (ck::raft::hard_state))
  CAF_ADD_TYPE_ID(clusterkit, (ck::raft::conf_state))
  CAF_ADD_TYPE_ID(clusterkit, (ck::raft::snapshot_meta))
  CAF_ADD_TYPE_ID(clusterkit, (ck::raft::snapshot))
  CAF_ADD_TYPE_ID(clusterkit, (ck::raft::message))
  CAF_ADD_TYPE_ID(clusterkit, (ck::raft::progress_status))
  CAF_ADD_TYPE_ID(clusterkit, (ck::raft::status_info))
  CAF_ADD_TYPE_ID(clusterkit, (ck::actors::raft_batch))
  CAF_ADD_TYPE_ID(clusterkit, (ck::actors::raft_propose_reply))
  CAF_ADD_TYPE_ID(clusterkit, (ck::raft::conf_change))

  CAF_ADD_ATOM(clusterkit, ck::atoms, raft_step_atom, "raft_step")
  CAF_ADD_ATOM(clusterkit, ck::atoms, raft_propose_atom, "raft_prop")
  CAF_ADD_ATOM(clusterkit, ck::atoms, raft_read_atom, "raft_read")
  CAF_ADD_ATOM(clusterkit, ck::atoms, raft_status_atom, "raft_stat")
  CAF_ADD_ATOM(clusterkit, ck::atoms, raft_persist_atom, "raft_pers")
  CAF_ADD_ATOM(clusterkit, ck::atoms, raft_snapshot_atom, "raft_snap")
  CAF_ADD_ATOM(clusterkit, ck::atoms, raft_send_atom, "raft_send")
  CAF_ADD_ATOM(clusterkit, ck::atoms, raft_tick_atom, "raft_tick")
  CAF_ADD_ATOM(clusterkit, ck::atoms, raft_ready_atom, "raft_ready")
  CAF_ADD_ATOM(clusterkit, ck::atoms, raft_register_atom, "raft_reg")
  CAF_ADD_ATOM(clusterkit, ck::atoms, raft_drop_atom, "raft_drop")
  CAF_ADD_ATOM(clusterkit, ck::atoms, raft_conf_atom, "raft_conf")
  CAF_ADD_ATOM(clusterkit, ck::atoms, raft_transfer_atom, "raft_xfer")

  // Net transport (appended).
  CAF_ADD_TYPE_ID(clusterkit, (ck::actors::transport_peer_stats))
  CAF_ADD_TYPE_ID(clusterkit, (ck::actors::transport_stats))

  CAF_ADD_ATOM(clusterkit, ck::atoms, transport_peer_atom, "tr_peer")
  CAF_ADD_ATOM(clusterkit, ck::atoms, transport_forget_atom, "tr_forget")
  CAF_ADD_ATOM(clusterkit, ck::atoms, transport_stats_atom, "tr_stats")
  CAF_ADD_ATOM(clusterkit, ck::atoms, transport_flush_atom, "tr_flush")
  CAF_ADD_ATOM(clusterkit, ck::atoms, transport_connect_atom, "tr_conn")

  // Membership (appended).
  CAF_ADD_TYPE_ID(clusterkit, (ck::actors::join_request))
  CAF_ADD_TYPE_ID(clusterkit, (ck::actors::join_member))
  CAF_ADD_TYPE_ID(clusterkit, (ck::actors::join_reply))

  CAF_ADD_ATOM(clusterkit, ck::atoms, join_atom, "join")
  CAF_ADD_ATOM(clusterkit, ck::atoms, member_tick_atom, "mem_tick")
  CAF_ADD_ATOM(clusterkit, ck::atoms, meta_applied_atom, "meta_appl")
  CAF_ADD_ATOM(clusterkit, ck::atoms, transport_heartbeat_atom, "tr_beat")

  // Partitions (appended).
  CAF_ADD_TYPE_ID(clusterkit, (std::vector<ck::actors::partition_view>))

  CAF_ADD_ATOM(clusterkit, ck::atoms, partition_route_atom, "part_route")
  CAF_ADD_ATOM(clusterkit, ck::atoms, transport_partition_relay_atom, "tr_prelay")
  CAF_ADD_ATOM(clusterkit, ck::atoms, partition_attach_atom, "part_atch")
  CAF_ADD_ATOM(clusterkit, ck::atoms, partition_tick_atom, "part_tick")
  CAF_ADD_ATOM(clusterkit, ck::atoms, partitions_atom, "parts")
  CAF_ADD_ATOM(clusterkit, ck::atoms, partition_retry_atom, "part_retry")
  CAF_ADD_ATOM(clusterkit, ck::atoms, meta_command_atom, "meta_cmd")

  // Snapshot transfer (appended).
  CAF_ADD_TYPE_ID(clusterkit, (ck::actors::snapshot_chunk))

  CAF_ADD_ATOM(clusterkit, ck::atoms, snapshot_chunk_atom, "snap_chunk")

  // Cluster events (appended).
  CAF_ADD_TYPE_ID(clusterkit, (ck::cluster::cluster_event))
  CAF_ADD_TYPE_ID(clusterkit, (std::vector<ck::cluster::cluster_event>))

  CAF_ADD_ATOM(clusterkit, ck::atoms, event_publish_atom, "ev_pub")
  CAF_ADD_ATOM(clusterkit, ck::atoms, event_subscribe_atom, "ev_sub")
  CAF_ADD_ATOM(clusterkit, ck::atoms, events_atom, "events")

  // Sharded entities (appended).
  CAF_ADD_ATOM(clusterkit, ck::atoms, entity_deliver_atom, "ent_dlvr")
  CAF_ADD_ATOM(clusterkit, ck::atoms, entity_attach_atom, "ent_atch")
  CAF_ADD_ATOM(clusterkit, ck::atoms, entity_tick_atom, "ent_tick")
  CAF_ADD_ATOM(clusterkit, ck::atoms, entity_passivate_atom, "ent_pasv")

  // Node services (appended).
  CAF_ADD_TYPE_ID(clusterkit, (ck::actors::service_call))

  CAF_ADD_ATOM(clusterkit, ck::atoms, service_attach_atom, "svc_atch")
  CAF_ADD_ATOM(clusterkit, ck::atoms, service_relay_atom, "svc_relay")
  CAF_ADD_ATOM(clusterkit, ck::atoms, service_call_atom, "svc_call")
  CAF_ADD_ATOM(clusterkit, ck::atoms, service_route_atom, "svc_route")

  // Rebalancer (appended).
  CAF_ADD_ATOM(clusterkit, ck::atoms, rebalance_tick_atom, "rebal_tick")
  CAF_ADD_ATOM(clusterkit, ck::atoms, membership_tick_atom, "memb_tick")

  // Quiescence (appended).
  CAF_ADD_ATOM(clusterkit, ck::atoms, raft_forget_leader_atom, "raft_fgtl")

  // Attempt deadlines without per-request CAF timeouts (appended).
  CAF_ADD_ATOM(clusterkit, ck::atoms, attempt_sweep_atom, "att_sweep")
  CAF_ADD_ATOM(clusterkit, ck::atoms, replica_status_atom, "repl_stat")

  // One timer for a node's partition groups (appended).
  CAF_ADD_ATOM(clusterkit, ck::atoms, tick_subscribe_atom, "tick_sub")

  // The transport learns its cluster id (appended).
  CAF_ADD_ATOM(clusterkit, ck::atoms, transport_cluster_atom, "tr_cluster")

  // The log writer's checkpoint timer (appended).
  CAF_ADD_ATOM(clusterkit, ck::atoms, checkpoint_timer_atom, "ckpt_timer")

  // Another writer of the environment waits for the log writer's open transaction (appended).
  CAF_ADD_ATOM(clusterkit, ck::atoms, checkpoint_now_atom, "ckpt_now")
CAF_END_TYPE_ID_BLOCK(clusterkit)

namespace caf {
class actor_system_config;
}

namespace ck::actors {

/// Announces every message type and the "ck" error category.
void register_types(caf::actor_system_config& cfg);

}  // namespace ck::actors
