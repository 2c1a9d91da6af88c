#pragma once

// PUBLIC API: HTTP routes added to the node's cluster API (HTTP_ADDR) or KV API (KV_ADDR).
//
// A handler is called for every request to its method and exact path, on the node's HTTP I/O
// thread: decode, ask (context::propose / query, or any actor through `self`), reply; never
// block there. It answers exactly once through `reply` (now or from a continuation); a handler
// that drops its responder answers 500, one that throws answers 500 "internal". Errors use the
// same JSON shape as the built-in API: {"error": "...", "code": "..."} (http::response::error,
// or error_response() for a caf::error from the cluster).
//
//   extensions.add_route(ck::node::api::kv, "POST", "/counter/add", ck::node::access::write,
//       [](const ck::node::context& node, caf::io::broker* self, ck::http::request& req,
//          ck::http::responder reply) { ... });

#include "http/request.hpp"
#include "http/responder.hpp"
#include "http/response.hpp"
#include "runtime/node/context.hpp"

#include <functional>
#include <string>

namespace caf {
class error;
namespace io {
class broker;
}
}  // namespace caf

namespace ck::node {

/// Which of the node's two HTTP listeners serves a route.
enum class api : uint8_t {
  cluster,  // HTTP_ADDR (default :8080): cluster administration
  kv,       // KV_ADDR (default :9080): data
};

/// write: when the node has a TOKEN, a request without "Authorization: Bearer <token>" gets
/// 401 and never reaches the handler (as POST /kv/set). read: open to every client.
enum class access : uint8_t { read, write };

using route_handler = std::function<void(const context& node, caf::io::broker* self,
                                         http::request& req, http::responder reply)>;

/// The built-in API's answer to a failed cluster request: 503 (no leader, with Retry-After),
/// 504 (outcome unknown), 404, 400, 409 or 500, as {"error": ..., "code": ...}.
http::response error_response(const caf::error& error);

}  // namespace ck::node
