#pragma once

// Internal to the partition host (partition_host*.cpp): its state and shared helpers.

#include "actors/partition_host.hpp"
#include "runtime/cluster/load_follow.hpp"
#include "runtime/cluster/meta_state.hpp"

#include <caf/response_promise.hpp>
#include <caf/stateful_actor.hpp>
#include <caf/typed_event_based_actor.hpp>

#include <algorithm>
#include <functional>
#include <map>
#include <optional>
#include <string>

namespace ck::actors::detail {

struct hosted_replica {
  raft_group_actor group;
  std::shared_ptr<partition_machines> sm;
  std::optional<raft::status_info> status;  // refreshed every tick
  int64_t last_transfer_ms = 0;
  bool conf_in_flight = false;
  int64_t last_probe_ms = 0;  // membership probe of a replica the placement dropped
  uint32_t probe_turn = 0;    // which placed node the next probe asks
  int64_t leaderless_since_ms = 0;  // 0: has a leader (or not seen without one yet)
  int64_t leader_seen_ms = 0;  // when its status last named a leader; 0: not since it started
  bool leaderless_reported = false;  // the warning below was logged for this stretch
  // Where this replica's requests entered the cluster while it leads (load_follow.hpp).
  cluster::request_origins origins;
};

/// A request waiting for its answer at the origin node (retried until its deadline).
struct pending_request {
  partition_request request;
  std::chrono::steady_clock::time_point deadline;
  caf::typed_response_promise<std::string> promise;
  uint32_t attempts = 0;
};

/// An attempt in flight (to a local group or another node) with its own deadline. The hot
/// path's requests carry no CAF timeout, because each one costs CAF's clock thread a wake-up
/// to arm it and another to cancel it (14% of a node's CPU under write load); one sweep timer
/// per host fires the attempts whose deadline passed instead.
struct attempt_timer {
  std::chrono::steady_clock::time_point deadline;
  std::function<void()> on_timeout;
};

struct partition_host_state {
  static inline const char* name = "partition_host";

  partition_host_options options;
  std::shared_ptr<storage::environment> env;
  std::shared_ptr<storage::raft_log_store> store;
  raft_log_writer_actor writer;
  net_transport_actor transport;
  std::shared_ptr<const meta_state_machine> meta;
  entity_host_actor entities;  // runs entity requests when this node leads (may be unset)

  std::map<uint32_t, hosted_replica> replicas;  // by partition index
  bool started = false;                         // the first reconcile ran
  // Replicas that left: their group actor is stopping (by its address), then the writer drops
  // their log and the data goes (by partition). Not started again until both are done.
  std::map<caf::actor_addr, uint32_t> stopping;
  std::map<uint32_t, std::shared_ptr<partition_machines>> dropping;
  // Where the origin sends a partition's requests next: a node id ("" unknown).
  std::map<uint32_t, std::string> leader_guess;
  // When this node last asked the nodes hosting the other partitions who leads them (a view
  // of all partitions refreshes leader_guess so at most once a second; -1 never).
  int64_t leaders_asked_ms = -1;
  std::map<uint64_t, pending_request> pending;  // at most options.pending_max
  uint64_t next_pending = 1;
  std::map<uint64_t, attempt_timer> attempts;  // by key, from open_attempt
  uint64_t next_attempt = 1;
  bool sweep_armed = false;  // an attempt_sweep_atom is on its way
  bool tick_running = false;
};

using host_pointer = partition_host_actor::stateful_pointer<partition_host_state>;

inline raft::group_id group_of(uint32_t partition) { return partition + 1; }

/// Whether replica `id` is in the group's membership (voter or learner).
inline bool is_member(const raft::conf_state& conf, raft::node_id id) {
  return std::find(conf.voters.begin(), conf.voters.end(), id) != conf.voters.end() ||
         std::find(conf.learners.begin(), conf.learners.end(), id) != conf.learners.end();
}

/// Starts a request at the origin: routes and retries until answered or the deadline.
void start_request(host_pointer self, partition_request request,
                   caf::typed_response_promise<std::string> promise);
/// One more attempt of a pending request (the retry timer).
void retry_request(host_pointer self, uint64_t id);
/// Runs a routed request on this node's replica only (no forwarding). `origin`: the node the
/// request entered the cluster at (this node's id for its own requests).
void run_routed(host_pointer self, partition_request request, std::string_view origin,
                std::function<void(partition_reply&)> done);
/// Registers an attempt that fails with `on_timeout` unless close_attempt(key) comes first
/// (within `timeout`, give or take the sweep period). Returns its key.
uint64_t open_attempt(host_pointer self, std::chrono::milliseconds timeout,
                      std::function<void()> on_timeout);
/// Ends attempt `key`; false when it had timed out already (its answer is to be ignored).
bool close_attempt(host_pointer self, uint64_t key);
/// Handles attempt_sweep_atom.
void sweep_attempts(host_pointer self);
/// Answers every request waiting here (origin requests with errc::shutting_down, attempts as
/// timed out): the host stops.
void fail_all_requests(host_pointer self, const std::string& why);
/// Answers a membership probe from this node's replica (a leader only).
member_probe_reply answer_probe(host_pointer self, const member_probe& probe);

}  // namespace ck::actors::detail
