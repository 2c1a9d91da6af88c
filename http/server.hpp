#pragma once

// The HTTP/1.1 server actor on CAF's I/O layer: one listening broker (the acceptor) forks one
// broker per connection. Every broker runs on CAF's single middleman I/O thread, together with
// all node-to-node traffic, so they only parse, route and write; handlers ask other actors.

#include "http/request.hpp"
#include "http/router.hpp"

#include <caf/actor.hpp>
#include <caf/atom.hpp>
#include <caf/expected.hpp>
#include <caf/fwd.hpp>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <utility>

namespace ck::http {

struct server_options {
  std::string host;   // interface address to bind, e.g. "127.0.0.1"; "" = all interfaces
  uint16_t port = 0;  // 0 picks a free port (start_server returns the bound one)
  size_t header_bytes_max = 16 << 10;  // request line + header fields; over it: 431
  size_t body_bytes_max = 2 << 20;     // Content-Length over it: 413 (before the body is read)
  // A connection without outstanding requests is closed after this long without input.
  std::chrono::milliseconds idle_timeout{60000};
  size_t connections_max = 1024;   // further connections get 503 and are closed
  // Connections one client address may hold at once (0: no cap); further ones get 503. Keeps
  // one client (a slowloris among them) from taking every slot of connections_max.
  size_t connections_per_client_max = 256;
  // A request's header and body must arrive within this from its first byte, else 408 and the
  // connection closes (the idle timeout alone is reset by every byte: a client sending one
  // byte every few seconds would hold its slot for ever).
  std::chrono::milliseconds request_read_timeout{15000};
  size_t pipeline_depth_max = 64;  // outstanding requests per connection; reading pauses at it
  // Response bytes a connection may have queued but not yet sent. Past it the connection
  // neither writes nor starts further responses (so reading pauses once the pipeline is full)
  // until the client has taken most of them: a client that pipelines large GETs and never
  // reads costs the node this much memory, not the sum of its answers.
  size_t unsent_bytes_max = 4u << 20;
  std::string name;                // "cluster-api" / "kv-api", for logs and metrics
  // Optional metrics hook, called on the I/O thread once per response written (keep it cheap;
  // it must not throw). `latency` runs from the request's dispatch to its write. For answers the
  // server makes without a parsed request (parse errors, connection limit) `req.method` is empty.
  std::function<void(const request& req, int status, std::chrono::nanoseconds latency)>
    on_response;
};

// Graceful stop, sent to the actor start_server returns:
//   (drain_atom, caf::timespan deadline) -> (caf::ok_atom)
// The server stops accepting, lets every connection finish the requests it already read (the
// last of them is answered with `Connection: close`), closes idle connections at once, and
// replies when all connections are closed or when `deadline` passed (remaining connections are
// then closed without their answers). The server actor exits after replying. Local only: the
// message is never sent between nodes, so nothing needs announcing.
using drain_atom = caf::atom_constant<caf::atom("http_drain")>;

// Starts the listening broker on `opts.host:opts.port` (SO_REUSEADDR set, so a restarted node
// can bind again at once) serving `routes`. Blocks the caller until the socket is bound
// (bounded; never call it from a broker, whose I/O thread must do the binding).
// Returns the server actor and the bound port, or an error whose message names host:port and
// the OS error (e.g. address already in use), or invalid options.
// Shutdown: send (drain_atom, deadline) and wait for ok, or `anon_send_exit(server,
// caf::exit_reason::user_shutdown)`, which closes every connection at once; either way the
// server's actors exit and ~actor_system does not wait on them.
caf::expected<std::pair<caf::actor, uint16_t>>
start_server(caf::actor_system& sys, std::shared_ptr<const router> routes, server_options opts);

}  // namespace ck::http
