#pragma once

// The node-to-node transport: Raft batches, snapshot chunks, relayed partition requests and
// named service calls between nodes, over ClusterKit's own frames (runtime/wire, sockets in
// actors/wire_hub.hpp, encoding in net_transport_wire.cpp; docs/architecture.md).
//
// Each node runs one net_transport actor listening on the node's raft address. Groups hand it
// (raft_send_atom, raft_batch) like the local transport; it routes every message to a local
// group actor registered for (group, to), or queues it for the peer node that hosts replica
// `to`. Queues are drained by a self-sent flush: everything the groups hand over in one burst
// goes to a peer as ONE batch frame, bounded by `max_batch_messages` / `max_batch_bytes`. A
// peer's queue is bounded by `max_queue_messages` and `max_queue_bytes`; beyond them the
// oldest message is dropped and counted (Raft retries). A peer whose connection was lost
// queues nothing until it is back.
//
// Connecting never blocks a scheduler thread, this actor or the I/O thread (wire_dial):
// failed dials retry with exponential backoff and jitter. Of two nodes, the one whose name
// sorts first dials; the other uses the connection it accepted, and dials itself only after
// `dial_fallback` without one. A connection is used once it authenticated (token handshake,
// inside TLS when configured); batches on it must name its authenticated peer as sender.
//
// The node assembly calls actors::register_types(cfg) (the message types' serialization) and
// stops the transport before destroying the actor system (its hub and connections stop with it).

#include "actors/endpoint_handlers.hpp"
#include "actors/messages.hpp"
#include "actors/raft_group.hpp"
#include "actors/raft_transport.hpp"
#include "actors/type_ids.hpp"
#include "actors/wire_hub.hpp"

#include <caf/expected.hpp>
#include <caf/fwd.hpp>
#include <caf/replies_to.hpp>
#include <caf/typed_actor.hpp>

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

namespace ck::actors {

using net_transport_actor = raft_transport_actor::extend<
    /// Routes incoming messages for (group, replica) to the actor; replaces an earlier one.
    caf::reacts_to<atoms::raft_register_atom, raft::group_id, raft::node_id, raft_group_actor>,
    /// Adds or updates a peer node: its name, the raft replica ids it hosts, host and port of
    /// its endpoint. A changed address drops the connection and connects to the new one.
    caf::reacts_to<atoms::transport_peer_atom, std::string, std::vector<raft::node_id>,
                   std::string, uint16_t>,
    /// Removes a peer node (its queue is dropped).
    caf::reacts_to<atoms::transport_forget_atom, std::string>,
    /// Sets this node's cluster id once it is known (a joining node learns it from the join):
    /// outgoing batches carry it, incoming batches of another cluster are dropped.
    caf::reacts_to<atoms::transport_cluster_atom, std::string>,
    caf::replies_to<atoms::transport_stats_atom>::with<transport_stats>,
    /// Routed partition requests (the KV store's and every state machine's hot path). The
    /// attached handler is the partition host; the relay hands a request to a peer node (the
    /// reply goes back to the requester, errc::no_leader while there is no connection to that
    /// peer), whose transport runs it on its handler (errc::not_ready while nothing is
    /// attached there).
    caf::reacts_to<atoms::partition_attach_atom, partition_route_handler_actor>,
    caf::replies_to<atoms::transport_partition_relay_atom, std::string, partition_request>::with<
        partition_reply>,
    /// Named services: the one generic relay for everything else that crosses nodes, user
    /// node services (runtime/node/service.hpp) and the built-in control plane alike ("ck.join",
    /// "ck.meta", "ck.probe"; payloads in actors/wire_codec.hpp). Attach sets the local handler
    /// of a service name (replacing an earlier one); the relay hands a call to a peer node
    /// (errc::no_leader while there is no connection to it), whose transport hands it to the
    /// handler attached under call.service (errc::not_found if none).
    caf::reacts_to<atoms::service_attach_atom, std::string, service_handler_actor>,
    caf::replies_to<atoms::service_relay_atom, std::string, service_call>::with<std::string>>;

/// The built-in services on the generic relay (names starting "ck." are reserved).
inline constexpr const char* join_service_name = "ck.join";    // join_request -> join_reply
inline constexpr const char* meta_service_name = "ck.meta";    // command -> raft_propose_reply
inline constexpr const char* probe_service_name = "ck.probe";  // member_probe -> its reply
inline constexpr const char* leaders_service_name = "ck.leaders";  // "" -> led (partition, term)s

struct net_transport_options {
  /// This node's name (raft_batch::from_node, log lines).
  std::string node_name;
  /// This node's cluster ("" until known: see transport_cluster_atom).
  std::string cluster_id;
  /// Where the endpoint listens; port 0 picks a free one (see net_transport::port).
  std::string host = "127.0.0.1";
  uint16_t port = 0;
  std::chrono::milliseconds connect_timeout{2'000};
  /// Of two nodes, the one whose name sorts first dials; the other waits this long for it
  /// before dialing too (one connection per pair is enough).
  /// 0: always dial at once.
  std::chrono::milliseconds dial_fallback{2'000};
  std::chrono::milliseconds backoff_min{100};
  std::chrono::milliseconds backoff_max{1'000};
  /// Seeds the backoff jitter.
  uint64_t seed = 1;
  /// Bounds of one remote message; a longer queue goes out in several flushes.
  size_t max_batch_messages = 4'096;
  size_t max_batch_bytes = 8u << 20;
  /// Messages (and their approximate bytes) kept per peer; beyond either the oldest is
  /// dropped. A queue bridges a connect and a burst, not an outage: a peer whose connection
  /// was lost (suspected down) gets nothing queued until it is connected again.
  size_t max_queue_messages = 16'384;
  size_t max_queue_bytes = 64u << 20;
  /// A connected peer that was sent nothing for this long gets an empty batch, so every node
  /// hears from every other (last_heard_ms_ago, the failure detector's input) even where Raft
  /// has nothing to say (between two followers). 0: off.
  std::chrono::milliseconds heartbeat_interval{500};
  /// The node-level failure detector of quiescent groups (raft::config::quiesce): a peer that
  /// was heard from and then is silent this long, or whose connection drops, is suspected
  /// down, and every local group is told its replica ids (raft_forget_leader_atom), so the
  /// followers of a leader there campaign. Heard from again, it is trusted again. 0: off.
  std::chrono::milliseconds suspect_after{1'500};
  /// Mutual TLS (runtime/wire/tls_session.hpp) with these PEM files: the CA every peer's
  /// certificate must chain to, this node's certificate and key. Empty: plain TCP.
  std::string tls_ca;
  std::string tls_cert;
  std::string tls_key;
  /// Where the port counts what it refuses (may stay empty).
  wire_counters counters;
  /// The cluster token ("" for none): a connection is admitted only after a handshake proving
  /// that both sides hold it (runtime/wire/handshake.hpp), inside TLS when there is TLS.
  std::string token;
  /// Accepted too while the token changes (security.previous_token); "" for none.
  std::string previous_token;
};

struct net_transport {
  net_transport_actor actor;
  uint16_t port = 0;  // where the endpoint listens
  /// The socket owner (actors/wire_hub.hpp); it stops when the transport does.
  caf::actor hub;
};

/// Spawns the transport and publishes it on options.host:options.port (reuse_addr). Call it
/// from a thread that is not an actor (it waits for the middleman). The error if publishing
/// fails (the actor is stopped then).
caf::expected<net_transport> spawn_net_transport(caf::actor_system& sys,
                                                 net_transport_options options);

/// Round-trips a sample of every raft wire type through binary_serializer/deserializer and
/// compares the bytes: false if any type loses data (a node's startup self-test).
bool check_wire_types(caf::actor_system& sys);

}  // namespace ck::actors
