#pragma once

// What the net transport answers to (transport_stats_atom): its own counters and one row per
// peer node. Plain values, announced in actors/type_ids.hpp.

#include <caf/meta/type_name.hpp>

#include <cstdint>
#include <string>
#include <vector>

namespace ck::actors {

struct transport_peer_stats {
  std::string name;     // the peer's node name
  std::string address;  // host:port of its endpoint
  bool connected = false;
  uint64_t queued = 0;         // messages waiting for a flush (or a connection)
  uint64_t sent_batches = 0;   // remote messages sent
  uint64_t sent_messages = 0;  // raft messages in them
  uint64_t dropped = 0;        // raft messages dropped (queue full, peer forgotten)
  uint64_t connects = 0;       // connections established
  uint64_t disconnects = 0;    // connections lost
  int64_t last_heard_ms_ago = -1;  // since its last batch arrived; -1 never
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, transport_peer_stats& x) {
  return f(caf::meta::type_name("ck::actors::transport_peer_stats"), x.name, x.address,
           x.connected, x.queued, x.sent_batches, x.sent_messages, x.dropped, x.connects,
           x.disconnects, x.last_heard_ms_ago);
}

struct transport_stats {
  std::string node_name;
  uint16_t port = 0;
  uint64_t received_batches = 0;
  uint64_t received_messages = 0;
  uint64_t unroutable = 0;  // messages for a replica neither local nor on a known peer
  uint64_t foreign_batches = 0;  // batches from nodes of another cluster, dropped
  std::vector<transport_peer_stats> peers;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, transport_stats& x) {
  return f(caf::meta::type_name("ck::actors::transport_stats"), x.node_name, x.port,
           x.received_batches, x.received_messages, x.unroutable, x.foreign_batches, x.peers);
}

}  // namespace ck::actors
