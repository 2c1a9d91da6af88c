#pragma once

// PUBLIC API: what extension code (HTTP routes, node services) uses to reach the cluster from
// the node it runs on. A context is built by the node at start and lives until it stops;
// copies are cheap and may be used from any actor.
//
//   node.propose(self, "counter", "visits:home", "1",
//                [](std::string& result) { ... },        // applied; the machine's result
//                [](caf::error& error) { ... });         // see "Errors" below
//
// `self` is any event-based actor or broker (an HTTP route's `self`): the answer arrives as a
// message to it, so nothing blocks. Requests are routed to the leader of the partition of
// `key` (cluster::partition_of: MD5 of the key, as the KV store and the original clients do),
// on this node or through the node-to-node transport; "not leader" answers, lost connections
// and elections are retried until the node's request timeout (REQUEST_TIMEOUT_MS).
//
// Errors (caf::error with a ck::errc code; error_response() turns one into the HTTP answer the
// built-in API gives):
//   errc::no_leader   no leader answered in time (HTTP 503; safe to retry)
//   errc::timeout     a proposal's outcome is unknown: it may still be applied (HTTP 504); the
//                     runtime never retries such a proposal itself (a retry could apply it
//                     twice with other commands in between)
//   errc::not_found   no state machine of that name is registered (HTTP 404)
//   errc::internal    the replica failed the request (HTTP 500)

#include "actors/errc.hpp"
#include "actors/event_bus.hpp"
#include "actors/partition_host.hpp"
#include "config/node_config.hpp"
#include "runtime/cluster/partition_hash.hpp"
#include "runtime/base/metrics.hpp"

#include <caf/send.hpp>

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace ck::storage {
class environment;
class table_overlay;
}

namespace ck::node {

/// Who routes node service calls at this node (the service host; runtime/node/service.hpp):
/// (service_route_atom, node id or "" for this node, call) answers the service's reply.
using service_router_actor =
    caf::typed_actor<caf::replies_to<atoms::service_route_atom, std::string,
                                     actors::service_call>::with<std::string>>;

enum class consistency : uint8_t {
  linearizable,  // reads what every acknowledged proposal wrote (a ReadIndex round)
  stale,         // this node's replica when it hosts one (may lag), else the leader's data
};

/// One page of a machine's keys stored on this node (list_local).
struct local_page {
  std::vector<std::string> keys;
  std::optional<std::string> next_after;  // set iff more keys follow
  uint64_t count = 0;                     // keys of the machine in the partitions listed
  std::string error;                      // non-empty: the storage read failed (why)
};

class context {
 public:
  struct settings {
    std::string node_id;
    uint32_t partition_count = 0;
    std::chrono::milliseconds request_timeout{5'000};
    std::vector<std::string> machines;      // registered names, in slot order
    std::vector<std::string> entity_types;  // registered entity type names
    actors::partition_host_actor partitions;
    actors::event_bus_actor events;
    service_router_actor services;  // unset when the binary registers no services
    std::shared_ptr<storage::environment> env;
    /// The replicas this node hosts (published by the partition host); null: stale queries
    /// always go through the host.
    std::shared_ptr<const actors::local_replicas> local;
    /// In journal mode (storage.journal) the applies LMDB holds only from the next checkpoint:
    /// list_local reads through it. Null otherwise.
    std::shared_ptr<const storage::table_overlay> overlay;
    runtime::node_metrics* metrics = nullptr;
    std::shared_ptr<const config::node_config> config;
  };

  /// Built by the node assembly (runtime/node/assembly.cpp) once everything runs.
  explicit context(settings s) : s_(std::move(s)) {}

  const std::string& node_id() const { return s_.node_id; }
  uint32_t partition_count() const { return s_.partition_count; }
  std::chrono::milliseconds request_timeout() const { return s_.request_timeout; }
  /// The partition that owns `key` (0 .. partition_count-1).
  uint32_t partition_of(std::string_view key) const {
    return cluster::partition_of(key, s_.partition_count);
  }
  bool has_machine(std::string_view machine) const;
  /// The node's validated configuration (docs/configuration.md), limits included.
  const config::node_config& config() const { return *s_.config; }
  /// The node's metrics (counters and latency histograms of /metrics).
  runtime::node_metrics& metrics() const { return *s_.metrics; }
  /// The partition host: the actor propose() and query() ask (partition_router_actor).
  const actors::partition_host_actor& partitions() const { return s_.partitions; }

  bool has_entity_type(std::string_view type) const;

  /// Sends `message` to the entity `id` of type `type` (runtime/node/entity.hpp), activating it
  /// on the node that leads partition_of(id) if needed; on_reply(std::string& reply) with its
  /// answer, or on_error(caf::error&): errc::not_found for an unknown type, errc::timeout when
  /// the entity may or may not have handled the message, the routing errors of propose().
  template <class Self, class OnReply, class OnError>
  void ask(Self* self, std::string_view type, std::string_view id, std::string message,
           OnReply on_reply, OnError on_error) const {
    if (!has_entity_type(type)) {
      caf::error error =
          caf::make_error(errc::not_found, "no entity type named \"" + std::string{type} + "\"");
      on_error(error);
      return;
    }
    send_request(
        self,
        actors::partition_request{partition_of(id), actors::partition_op::entity,
                                  std::string{type} + "/" + std::string{id}, std::move(message)},
        std::move(on_reply), std::move(on_error));
  }

  /// Calls service `service` on node `node_id` ("" for this node) with `payload`
  /// (runtime/node/service.hpp); on_reply(std::string&) or on_error(caf::error&).
  template <class Self, class OnReply, class OnError>
  void call_service(Self* self, std::string_view node_id, std::string_view service,
                    std::string payload, OnReply on_reply, OnError on_error) const {
    route_service(self, std::string{node_id},
                  actors::service_call{std::string{service}, std::move(payload), false},
                  std::move(on_reply), std::move(on_error));
  }

  /// Calls the cluster-wide singleton service `service`, wherever it runs now.
  template <class Self, class OnReply, class OnError>
  void call_singleton(Self* self, std::string_view service, std::string payload, OnReply on_reply,
                      OnError on_error) const {
    route_service(self, "", actors::service_call{std::string{service}, std::move(payload), true},
                  std::move(on_reply), std::move(on_error));
  }

  /// The node's event bus (runtime/node/events.hpp).
  const actors::event_bus_actor& events() const { return s_.events; }
  /// Sends every later cluster event this node observes to `subscriber` (any actor handle
  /// whose behavior takes a ck::node::cluster_event), in order, until it stops.
  template <class Handle>
  void subscribe(const Handle& subscriber) const {
    caf::anon_send(s_.events, atoms::event_subscribe_atom_v,
                   caf::actor_cast<caf::actor>(subscriber));
  }

  /// Commits `command` for `machine` in the partition of `key`, then calls
  /// on_result(std::string& result) with what the leader's apply() returned, or
  /// on_error(caf::error&).
  template <class Self, class OnResult, class OnError>
  void propose(Self* self, std::string_view machine, std::string_view key, std::string command,
               OnResult on_result, OnError on_error) const {
    call(self, actors::partition_op::propose, machine, key, std::move(command),
         std::move(on_result), std::move(on_error));
  }

  /// As propose(), for a caller that does not need apply()'s result. When another node leads
  /// the partition, on_committed() is called as soon as the command is committed (durable on
  /// a majority) and persisted on that node, without waiting for its apply (one step less for
  /// a relayed write: the KV store's set uses it); when this node leads, after its apply, as
  /// propose() does. Either way a linearizable query made after on_committed() sees the
  /// command (it waits for the replica to apply its read index), and so does a stale query
  /// on this node when it leads the partition; a stale query elsewhere may not yet (as after
  /// propose()). on_error as for propose().
  template <class Self, class OnCommitted, class OnError>
  void propose_at_commit(Self* self, std::string_view machine, std::string_view key,
                         std::string command, OnCommitted on_committed, OnError on_error) const {
    call(
        self, actors::partition_op::propose, machine, key, std::move(command),
        [on_committed = std::move(on_committed)](std::string&) mutable { on_committed(); },
        std::move(on_error), /*answer_at_commit=*/true);
  }

  /// Runs `machine`'s query() with `query` in the partition of `key`; callbacks as propose().
  /// A stale query of a machine with concurrent_queries() that this node hosts a replica of
  /// runs right here, on the caller's thread (on_result is called before query returns).
  template <class Self, class OnResult, class OnError>
  void query(Self* self, std::string_view machine, std::string_view key, std::string query,
             consistency level, OnResult on_result, OnError on_error) const {
    if (level == consistency::stale) {
      if (auto answer = query_here(machine, key, query)) {
        on_result(*answer);
        return;
      }
    }
    call(
        self,
        level == consistency::stale ? actors::partition_op::stale_read : actors::partition_op::read,
        machine, key, std::move(query), std::move(on_result), std::move(on_error));
  }

  /// Up to `limit` (1..10,000) of `machine`'s keys stored on THIS node (its replicas, leader
  /// or not; no routing), in (partition, key) order, strictly after `after` (a key; its
  /// partition is partition_of(after)); only partition `partition` when given. Reads this
  /// node's storage directly: call it from any thread, keep pages small.
  local_page list_local(std::string_view machine, std::optional<uint32_t> partition,
                        const std::optional<std::string>& after, size_t limit) const;

 private:
  /// The stale answer from this node's replica of key's partition, when the machine allows
  /// queries from any thread and the replica is here and answered; nullopt otherwise (the
  /// host then serves it, with its errors).
  std::optional<std::string> query_here(std::string_view machine, std::string_view key,
                                        std::string_view query) const;

  template <class Self, class OnResult, class OnError>
  void call(Self* self, actors::partition_op op, std::string_view machine, std::string_view key,
            std::string payload, OnResult on_result, OnError on_error,
            bool answer_at_commit = false) const {
    if (!has_machine(machine)) {
      caf::error error = caf::make_error(errc::not_found,
                                         "no state machine named \"" + std::string{machine} + "\"");
      on_error(error);
      return;
    }
    send_request(
        self,
        actors::partition_request{partition_of(key), op, std::string{machine}, std::move(payload),
                                  answer_at_commit},
        std::move(on_result), std::move(on_error));
  }

  template <class Self, class OnReply, class OnError>
  void route_service(Self* self, std::string node_id, actors::service_call call, OnReply on_reply,
                     OnError on_error) const {
    if (!s_.services) {
      caf::error error = caf::make_error(errc::not_found, "this node's binary runs no services");
      on_error(error);
      return;
    }
    self->request(s_.services, s_.request_timeout, atoms::service_route_atom_v, std::move(node_id),
                  std::move(call))
        .then(std::move(on_reply), std::move(on_error));
  }

  template <class Self, class OnResult, class OnError>
  void send_request(Self* self, actors::partition_request request, OnResult on_result,
                    OnError on_error) const {
    // No CAF timeout (each costs CAF's clock thread two wake-ups): the partition host answers
    // every request by its deadline, and all of them when it stops.
    self->request(caf::actor_cast<actors::partition_router_actor>(s_.partitions),
                  caf::infinite, atoms::partition_call_atom_v, std::move(request))
        .then(std::move(on_result), std::move(on_error));
  }

  settings s_;
};

}  // namespace ck::node
