#pragma once

// What the API handlers need from the node: the actors they ask, the limits they enforce and
// the metrics they update. Built once by the node assembly and shared read-only by every
// connection broker (all on the I/O thread).

#include "actors/endpoint_handlers.hpp"
#include "actors/event_bus.hpp"
#include "actors/partition_host.hpp"
#include "actors/node_actor.hpp"
#include "http/router.hpp"

#include <chrono>
#include <memory>
#include <string>

namespace ck::runtime {
struct node_metrics;
}

namespace ck::http::api {

struct api_limits {
  uint32_t key_bytes_max = 1024;
  uint32_t value_bytes_max = 1 << 20;
  uint32_t list_limit_default = 1000;
  uint32_t list_limit_max = 10000;
  uint32_t nodes_limit_default = 50;
  uint32_t nodes_limit_max = 1000;
};

struct api_context {
  std::string node_id;
  std::string node_name;
  uint32_t partition_count = 0;
  api_limits limits;
  std::chrono::milliseconds request_timeout{5000};
  std::string token;  // when set, mutating endpoints need "Authorization: Bearer <token>"
  std::string previous_token;  // while the token changes: accepted too ("" for none)
  bool protect_reads = false;  // with a token: reads need it too (all but /health and /ready)
  actors::partition_host_actor partitions;  // storage figures, partition requests
  actors::node_actor node;
  actors::join_handler_actor join;  // POST /join
  actors::event_bus_actor events;    // GET /events
  runtime::node_metrics* metrics = nullptr;
  /// The node's disk state: /ready and /health/detailed name a full disk; may be null.
  std::shared_ptr<const runtime::storage_health> storage;
};

using context_ptr = std::shared_ptr<const api_context>;

/// True when `req` carries "Authorization: Bearer <token>" (compared in constant time).
bool bearer_token_matches(const request& req, std::string_view token);

/// The tokens a guarded endpoint takes: the cluster's, and while it changes (security.
/// previous_token) the one before it, so clients keep working during a rotation.
struct accepted_tokens {
  std::string_view current;   // "" : no token needed
  std::string_view previous;  // "" : none
};

/// 401 {"error": ..., "code": "unauthorized"} with a WWW-Authenticate challenge.
response unauthorized_response();

/// When a token is set and `req` carries neither accepted one: answers 401 through `reply` and
/// returns true (the handler must not run). Every token check of the HTTP APIs goes through
/// here.
bool refused_without_token(const request& req, accepted_tokens tokens, responder& reply);

/// Turns `fn(context, self, request, responder)` into a router handler that carries the
/// shared context.
template <class Fn>
handler bind_handler(const context_ptr& context, Fn fn) {
  return [context, fn](caf::io::broker* self, request& req, responder reply) {
    fn(context, self, req, std::move(reply));
  };
}

/// Like bind_handler, for an endpoint that reads: with a token and protect_reads, a request
/// without the token gets 401 (health checks stay open: they use bind_handler).
template <class Fn>
handler bind_read_handler(const context_ptr& context, Fn fn) {
  return [context, fn](caf::io::broker* self, request& req, responder reply) {
    if (context->protect_reads &&
        refused_without_token(req, {context->token, context->previous_token}, reply)) {
      return;
    }
    fn(context, self, req, std::move(reply));
  };
}

/// Like bind_handler, for an endpoint that changes state: when the context has a token, a
/// request without "Authorization: Bearer <token>" gets 401 and never reaches `fn`.
template <class Fn>
handler bind_mutating_handler(const context_ptr& context, Fn fn) {
  return [context, fn](caf::io::broker* self, request& req, responder reply) {
    if (refused_without_token(req, {context->token, context->previous_token}, reply)) {
      return;
    }
    fn(context, self, req, std::move(reply));
  };
}

}  // namespace ck::http::api
