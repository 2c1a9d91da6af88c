#pragma once

// Internal: the per-connection broker of the HTTP server. Only server.cpp uses this header.

#include "http/router.hpp"
#include "http/server.hpp"

#include <caf/actor.hpp>
#include <caf/atom.hpp>
#include <caf/io/connection_handle.hpp>
#include <caf/io/fwd.hpp>

#include <memory>

namespace ck::http::detail {

// Shared, immutable configuration of one server's connections.
struct server_context {
  std::shared_ptr<const router> routes;
  server_options options;
};

// Tells a connection broker to finish the requests it already read and then close. No reply.
using connection_drain_atom = caf::atom_constant<caf::atom("http_cdrn")>;

// Moves the connection `hdl` from `acceptor` into a new connection broker and returns it.
// Must run inside `acceptor`'s handler (on the I/O thread).
caf::actor fork_connection(caf::io::broker* acceptor, caf::io::connection_handle hdl,
                           std::shared_ptr<const server_context> context);

// Answers `hdl` with 503 "too many connections" and `Connection: close`, then closes it.
// Must run inside `acceptor`'s handler, which still owns `hdl`.
void reject_connection(caf::io::broker* acceptor, caf::io::connection_handle hdl,
                       const server_context& context, const std::string& why);

}  // namespace ck::http::detail
