#pragma once

// The sockets of the node-to-node transport, which speaks ClusterKit's own frames
// (runtime/wire), with or without TLS. net_transport owns the peers and decodes the frames;
// this layer only moves bytes, on CAF's multiplexer thread.
//
//   - The hub listens on the Raft address. It admits at most `connections_max` connections,
//     `handshakes_max` of them still in their handshake, and closes any beyond at once (an
//     outsider cannot take the node's file descriptors). Each admitted connection gets a
//     broker of its own (fork).
//   - wire_dial connects without blocking the multiplexer or a scheduler thread (a detached
//     actor per attempt, bounded by a timeout) and hands the socket to the hub, which forks the
//     dialing side's broker. CAF's own connect blocks the multiplexer (caf-notes 2.5).
//   - With TLS, a connection broker first runs a TLS session over the socket's bytes (mutual:
//     a peer without a certificate of the cluster's CA gets no further); everything below
//     runs inside it.
//   - A connection broker runs the handshake (runtime/wire/handshake.hpp): frames of at most
//     1 KiB until it completes, within `handshake_timeout`. Then it tells the transport
//     (wire_up_atom, peer, peer_cluster, conn, dialed, generation), forwards the frames of
//     each read as (wire_frame_atom, peer, types, bodies: types[k] the frame type of bodies[k],
//     in arrival order), writes what the transport sends it as
//     (wire_write_atom, bytes), and closes after `idle_timeout` without a byte from the peer.
//     A dial that ends before the handshake completes is reported as (wire_failed_atom, peer,
//     generation, why). The transport monitors each connection it uses: its end is a down
//     message.

#include <caf/actor.hpp>
#include <caf/atom.hpp>
#include <caf/expected.hpp>
#include <caf/fwd.hpp>

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>

namespace ck::wire {
class tls_context;
}
namespace ck::runtime {
class counter;
}

namespace ck::actors {

// Local messages only (never cross a node): broker <-> transport.
using wire_up_atom = caf::atom_constant<caf::atom("wire_up")>;
using wire_frame_atom = caf::atom_constant<caf::atom("wire_frame")>;
using wire_write_atom = caf::atom_constant<caf::atom("wire_write")>;
using wire_failed_atom = caf::atom_constant<caf::atom("wire_fail")>;
using wire_adopt_atom = caf::atom_constant<caf::atom("wire_adopt")>;
using wire_tick_atom = caf::atom_constant<caf::atom("wire_tick")>;
using wire_cluster_atom = caf::atom_constant<caf::atom("wire_clstr")>;

/// Where the node-to-node port counts what it refuses (/metrics "transport"); null: not counted.
/// The counters must outlive the transport.
struct wire_counters {
  runtime::counter* connections_refused = nullptr;  // beyond the caps, closed at once
  runtime::counter* handshakes_failed = nullptr;    // accepted connections that did not authenticate
  runtime::counter* forged_batches = nullptr;       // batches naming another sender than their link
  runtime::counter* bad_frames = nullptr;           // frames that did not decode
};

struct wire_options {
  std::string node_name;
  std::string cluster_id;  // "" until known; updated with (wire_cluster_atom, id)
  std::string token;       // the cluster token ("" for none)
  std::string previous_token;  // accepted too while the token changes ("" for none)
  std::string host;        // where to listen ("" = every interface)
  uint16_t port = 0;       // 0 picks a free one
  size_t connections_max = 256;
  size_t handshakes_max = 32;
  std::chrono::milliseconds handshake_timeout{5'000};
  /// An authenticated connection silent this long is closed (the transport sends a heartbeat
  /// every 500 ms to every connected peer).
  std::chrono::milliseconds idle_timeout{10'000};
  /// The largest frame body after the handshake.
  uint32_t frame_bytes_max = 64u << 20;
  /// Mutual TLS around everything (runtime/wire/tls_session.hpp); null: plain TCP.
  std::shared_ptr<wire::tls_context> tls;
  wire_counters counters;
};

struct wire_hub {
  caf::actor actor;
  uint16_t port = 0;
};

/// Starts the hub: listens and reports to `transport`. Call from a thread that is not an actor
/// (it waits for the bind); the error names the cause when it cannot listen.
caf::expected<wire_hub> spawn_wire_hub(caf::actor_system& sys, wire_options options,
                                       caf::actor transport);

/// Connects to host:port for peer `expected` within `timeout`; the hub forks the connection's
/// broker, which reports to `transport` as described above (wire_failed_atom if it fails).
void wire_dial(caf::actor_system& sys, const caf::actor& hub, const caf::actor& transport,
               std::string host, uint16_t port, std::string expected, uint64_t generation,
               std::chrono::milliseconds timeout);


}  // namespace ck::actors
