#pragma once

// The partition host: one per node. It runs this node's replicas of the partitions (one Raft
// group actor per replica, group id = partition index + 1, hosting partition_machines: every
// registered state machine), and it is the node's front door to them: a proposal or a query
// for "the partition of key K" comes here and is routed to the partition's leader, on this
// node or on another one through the transport.
//
//   API/user --> partition_host --(local replica)--> raft_group: propose / read_index
//                     |
//                     +--(leader elsewhere)--> transport --relay--> that node's host --> ...
//
// Routing: the origin node keeps a leader guess per partition (its replica's status, then the
// hints in replies, then the placement's preferred leader) and retries on "not leader" /
// "not hosted" / a lost connection until the request's deadline, then answers no_leader
// (HTTP 503). A node that runs a routed request never forwards it further.
//
// Hosting follows the replicated placement (meta state): a replica starts when the placement
// names this node (empty log: the leader adds it as a learner and catches it up), and stops
// (its data erased) once the placement no longer names it and its group removed it.
// On every tick, each replica that leads moves its group toward the placement one change at a
// time (cluster::next_membership_step) and hands leadership to the placement's preferred
// leader once that one is caught up (leaders spread evenly).

#include "actors/event_bus.hpp"
#include "actors/endpoint_handlers.hpp"
#include "actors/meta_state_machine.hpp"
#include "actors/local_replicas.hpp"
#include "actors/partition_machines.hpp"
#include "actors/net_transport.hpp"
#include "actors/raft_group.hpp"
#include "actors/raft_log_writer.hpp"
#include "actors/type_ids.hpp"
#include "runtime/cluster/load_follow.hpp"

#include <caf/fwd.hpp>
#include <caf/replies_to.hpp>
#include <caf/typed_actor.hpp>

#include <chrono>
#include <memory>
#include <string>
#include <vector>

namespace ck::storage {
class environment;
class raft_log_store;
}  // namespace ck::storage

namespace ck::actors {

/// What the node's API and extensions ask: (partition_call_atom, request) runs a proposal or
/// a query at this node as the origin (routed to the leader, retried until the deadline) and
/// answers the machine's result. Errors: errc::no_leader (no leader answered in time: retry),
/// errc::timeout (a proposal's outcome is unknown: it may still commit), errc::not_found (no
/// such machine registered), errc::internal (the replica failed the request).
using partition_router_actor = caf::typed_actor<
    caf::replies_to<atoms::partition_call_atom, partition_request>::with<std::string>>;

using partition_host_actor = partition_route_handler_actor::extend_with<partition_router_actor>::
    extend_with<service_handler_actor>::extend<
    /// Storage figures of this node and its hosted / led partition counts.
    caf::replies_to<atoms::storage_figures_atom>::with<storage_figures>,
    /// The partitions as this node sees them (leaders, voters, learners, terms).
    caf::replies_to<atoms::partitions_atom>::with<std::vector<partition_view>>,
    /// Sets who runs entity requests on this node (runtime/node/entity_host).
    caf::reacts_to<atoms::entity_attach_atom, entity_host_actor>,
    /// The meta state changed: start or stop replicas.
    caf::reacts_to<atoms::meta_applied_atom>,
    caf::reacts_to<atoms::partition_tick_atom>,
    caf::reacts_to<atoms::partition_retry_atom, uint64_t>,
    /// Fires the attempts whose deadline passed (detail::sweep_attempts).
    caf::reacts_to<atoms::attempt_sweep_atom>,
    /// A hosted replica's status changed (raft_group_options::on_status).
    caf::reacts_to<atoms::replica_status_atom, uint32_t, raft::status_info>>;

struct partition_host_options {
  std::string node_id;
  raft::node_id raft_id = raft::no_node;  // this node's replica id in every group it joins
  /// Template for each replica's group options (ticks, timing); id and group are set per
  /// replica.
  raft_group_options group;
  /// The registered state machines every replica hosts, in slot order.
  std::shared_ptr<const machine_types> machines;
  /// Where the host publishes partition_leader_changed (may be a null handle).
  event_bus_actor events;
  /// Where replicas count apply batches (may be null; must outlive the host).
  runtime::node_metrics* metrics = nullptr;
  /// Requests waiting at this node as the origin; beyond it a request is refused (no_leader).
  size_t pending_max = 65'536;
  /// How long a request may keep retrying before it answers no_leader.
  std::chrono::milliseconds request_deadline{4'500};
  std::chrono::milliseconds tick_interval{300};
  /// Where the host publishes the replicas it runs (may be null): node::context serves stale
  /// queries from it on the caller's thread.
  std::shared_ptr<local_replicas> local;
  uint64_t promote_lag_max = 256;
  /// The least time between two leadership transfers of one partition (leader balancing).
  std::chrono::milliseconds transfer_spacing{3'000};
  /// Leadership follows the workload (cluster/load_follow.hpp): a leader whose requests mostly
  /// come through another voter's node hands leadership there.
  cluster::load_follow_options load_follow;
  /// In journal mode (spawn_journaled_raft_log_writer) the writer's overlay: every replica's
  /// machines record their applies into it and read through it. Null otherwise.
  std::shared_ptr<storage::table_overlay> overlay;
};

/// Spawns the host. `meta` is the node's meta state machine (read with view()). Registers
/// with `transport` for relayed partition requests and for every replica it starts.
partition_host_actor spawn_partition_host(caf::actor_system& sys, partition_host_options options,
                                          std::shared_ptr<storage::environment> env,
                                          std::shared_ptr<storage::raft_log_store> store,
                                          raft_log_writer_actor writer,
                                          net_transport_actor transport,
                                          std::shared_ptr<const meta_state_machine> meta);

}  // namespace ck::actors
