#pragma once

// Internal to the node transport (net_transport.cpp, net_transport_wire.cpp): its state and
// the functions both files use. Nothing else includes this.

#include "actors/net_transport.hpp"

#include <caf/actor.hpp>
#include <caf/actor_addr.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/stateful_actor.hpp>

#include <chrono>
#include <deque>
#include <functional>
#include <map>
#include <optional>
#include <random>
#include <set>
#include <string>
#include <vector>

namespace ck::actors::transport_detail {

// One authenticated wire connection with a peer.
struct wire_link {
  caf::actor conn;  // its broker
  // Dialed by the node whose name sorts first: both sides prefer the same connection, so
  // neither closes the one the other uses.
  bool preferred = false;
};

// A call relayed over the wire, waiting for the response frame with its id.
struct pending_call {
  caf::actor_addr conn;  // the connection it went out on: its end fails the call
  std::chrono::steady_clock::time_point deadline;
  std::function<void(const char* data, size_t size)> reply;  // the encoded answer
  std::function<void(caf::error)> fail;
};

// Call and response frames for one connection, waiting for the next flush: they leave with the
// batch frame of that flush in one write (one send, one wake-up of the peer) instead of one
// write each.
struct outbox {
  caf::actor conn;  // the connection broker
  std::string bytes;
};

struct peer {
  std::string name;
  std::string host;
  uint16_t port = 0;
  // Where batches and calls for the peer go while connected: the broker of the preferred
  // authenticated connection with it (see links).
  caf::actor handle;
  bool connecting = false;
  // This node does not lead the dial to this peer (see connect) and already waited once for
  // the peer to dial it: the next attempt dials. Reset when connected or lost.
  bool waited_for_peer = false;
  uint64_t generation = 0;  // bumps on every (re)connect decision; stale timers are ignored
  std::chrono::milliseconds backoff{0};
  std::deque<raft::message> queue;
  size_t queue_bytes = 0;  // approx_size of what `queue` holds
  transport_peer_stats stats;
  std::optional<std::chrono::steady_clock::time_point> heard;  // its last batch arrived
  bool suspected = false;  // told the local groups it is down; cleared when heard again
  std::chrono::steady_clock::time_point sent;                   // our last batch to it
  // Every authenticated connection with the peer (a dialed and an accepted one may both be up
  // for a while); `handle` is the preferred one's broker.
  std::vector<wire_link> links;
};

struct net_transport_state {
  static inline const char* name = "net_transport";
  net_transport_options options;
  uint16_t port = 0;
  std::map<std::pair<raft::group_id, raft::node_id>, raft_group_actor> routes;
  std::map<std::string, peer> peers;              // by node name
  std::map<raft::node_id, std::string> replicas;  // raft replica id -> node name
  bool flush_pending = false;
  std::mt19937_64 rng;
  uint64_t received_batches = 0;
  uint64_t received_messages = 0;
  uint64_t unroutable = 0;
  uint64_t foreign_batches = 0;             // from nodes of another cluster, dropped
  std::set<std::string> foreign_reported;   // sender@cluster pairs logged once
  partition_route_handler_actor partition_handler;  // runs partition requests relayed here
  std::map<std::string, service_handler_actor> services;  // runs named calls relayed here
  // The hub that owns the sockets (actors/wire_hub.hpp); null until spawn_net_transport
  // hands it over.
  caf::actor wire;
  uint64_t next_call = 0;
  std::map<uint64_t, pending_call> calls;  // relayed calls waiting for their response frame
  std::vector<outbox> outboxes;  // at most one per connection; emptied by every flush
  // Authenticated connections from nodes that are not peers (yet): a joining node dials the
  // members before they learn of it. Adopted as links when the peer is added.
  std::map<std::string, std::vector<wire_link>> strays;
  uint64_t forged_batches = 0;             // batches naming another sender than their link
};

using pointer = caf::stateful_actor<net_transport_state>*;

std::string address_of(const peer& p);
void schedule_flush(pointer self);
void schedule_connect(pointer self, peer& p);
void send_empty_batch(pointer self, peer& p);
void suspect(pointer self, peer& p, const char* why);
void drop_queue(peer& p);
/// Routes a batch that arrived from a peer to the local groups.
void deliver(pointer self, raft_batch& batch);
/// The peer's last connection closed.
void on_lost(pointer self, peer& p, const std::string& why);

// --- frames and connections (net_transport_wire.cpp) ---

/// Sends `batch` to `p` over its wire connection (p.handle), after the frames waiting in that
/// connection's outbox.
void wire_send_batch(pointer self, peer& p, raft_batch& batch);
/// Sends what waits in the outboxes of connections no batch went out on (wire_send_batch took
/// the others'). Part of every flush.
void wire_send_outboxes(pointer self);
/// Starts a dial to `p` (p.connecting is set by the caller).
void wire_connect(pointer self, peer& p);
/// Relays over the wire; the promise is answered by the response frame, or fails when the
/// connection ends first ("lost": the remote may have run the call).
caf::result<partition_reply> wire_relay(pointer self, peer& p, partition_request& request);
caf::result<std::string> wire_relay(pointer self, peer& p, service_call& call);
caf::result<uint64_t> wire_relay(pointer self, peer& p, snapshot_chunk& chunk);
/// An authenticated connection with `peer_name` (wire_hub.hpp).
void wire_on_up(pointer self, const std::string& peer_name, const std::string& peer_cluster,
                caf::actor conn, bool dialed, uint64_t generation);
/// A frame from an authenticated connection with `peer_name`; `conn` is its broker.
void wire_on_frame(pointer self, const caf::actor& conn, const std::string& peer_name,
                   uint8_t type, std::string& body);
/// A dial to `peer_name` ended before its connection authenticated.
void wire_on_failed(pointer self, const std::string& peer_name, uint64_t generation,
                    const std::string& why);
/// Closes every wire connection with `p` (it was forgotten or moved).
void wire_close_links(pointer self, peer& p);
/// Makes the connections `p` dialed us on before it was a peer its links.
void wire_adopt_strays(pointer self, peer& p);
/// A monitored connection broker went down.
void wire_on_down(pointer self, const caf::actor_addr& source, const caf::error& reason);
/// Fails calls past their deadline (a peer that never answers).
void wire_sweep_calls(pointer self);

}  // namespace ck::actors::transport_detail
