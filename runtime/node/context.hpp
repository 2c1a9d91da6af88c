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
#include "runtime/metrics.hpp"

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
}

namespace ck::node {

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
    std::vector<std::string> machines;  // registered names, in slot order
    actors::partition_host_actor partitions;
    actors::event_bus_actor events;
    std::shared_ptr<storage::environment> env;
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

  /// The node's event bus (runtime/node/events.hpp).
  const actors::event_bus_actor& events() const { return s_.events; }
  /// Sends every later cluster event this node observes to `subscriber` (any actor handle
  /// whose behavior takes a ck::node::cluster_event), in order, until it stops.
  template <class Handle>
  void subscribe(const Handle& subscriber) const {
    caf::anon_send(s_.events, atoms::event_subscribe_atom_v, caf::actor_cast<caf::actor>(subscriber));
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

  /// Runs `machine`'s query() with `query` in the partition of `key`; callbacks as propose().
  template <class Self, class OnResult, class OnError>
  void query(Self* self, std::string_view machine, std::string_view key, std::string query,
             consistency level, OnResult on_result, OnError on_error) const {
    call(self,
         level == consistency::stale ? actors::partition_op::stale_read
                                     : actors::partition_op::read,
         machine, key, std::move(query), std::move(on_result), std::move(on_error));
  }

  /// Up to `limit` (1..10,000) of `machine`'s keys stored on THIS node (its replicas, leader
  /// or not; no routing), in (partition, key) order, strictly after `after` (a key; its
  /// partition is partition_of(after)); only partition `partition` when given. Reads this
  /// node's storage directly: call it from any thread, keep pages small.
  local_page list_local(std::string_view machine, std::optional<uint32_t> partition,
                        const std::optional<std::string>& after, size_t limit) const;

 private:
  template <class Self, class OnResult, class OnError>
  void call(Self* self, actors::partition_op op, std::string_view machine, std::string_view key,
            std::string payload, OnResult on_result, OnError on_error) const {
    if (!has_machine(machine)) {
      caf::error error = caf::make_error(
          errc::not_found, "no state machine named \"" + std::string{machine} + "\"");
      on_error(error);
      return;
    }
    actors::partition_request request{partition_of(key), op, std::string{machine},
                                      std::move(payload)};
    self->request(caf::actor_cast<actors::partition_router_actor>(s_.partitions),
                  s_.request_timeout, atoms::partition_call_atom_v, std::move(request))
        .then(std::move(on_result), std::move(on_error));
  }

  settings s_;
};

}  // namespace ck::node
