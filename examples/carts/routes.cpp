#include "routes.hpp"

#include "cart.hpp"
#include "event_log.hpp"

#include <caf/io/broker.hpp>
#include <nlohmann/json.hpp>

namespace carts {

namespace {

using json = nlohmann::json;
using ck::http::response;

// Answers with the entity's (or service's) JSON reply, or the node's error.
auto reply_json(ck::http::responder reply) {
  return [reply](std::string& body) {
    json doc = json::parse(body, nullptr, /*allow_exceptions=*/false);
    const bool failed = doc.is_object() && doc.contains("error");
    reply.send(response::json(failed ? 400 : 200, doc));
  };
}

auto reply_error(ck::http::responder reply) {
  return [reply](caf::error& error) { reply.send(ck::node::error_response(error)); };
}

void handle_add(const ck::node::context& node, caf::io::broker* self, ck::http::request& req,
                ck::http::responder reply) {
  json body = json::parse(req.body, nullptr, /*allow_exceptions=*/false);
  if (!body.is_object() || !body.value("cart", json()).is_string()) {
    reply.send(response::error(400, "invalid_cart", "field \"cart\" must be a string"));
    return;
  }
  const auto cart = body["cart"].get<std::string>();
  json message = {{"op", "add"}, {"item", body.value("item", "")}, {"qty", body.value("qty", 1)}};
  node.ask(self, entity_type, cart, message.dump(), reply_json(reply), reply_error(reply));
}

void handle_get(const ck::node::context& node, caf::io::broker* self, ck::http::request& req,
                ck::http::responder reply) {
  const auto cart = std::string{req.query_param("cart").value_or("")};
  if (cart.empty()) {
    reply.send(response::error(400, "invalid_cart", "query parameter \"cart\" is required"));
    return;
  }
  node.ask(self, entity_type, cart, json{{"op", "get"}}.dump(), reply_json(reply),
           reply_error(reply));
}

void handle_events(const ck::node::context& node, caf::io::broker* self, ck::http::request&,
                   ck::http::responder reply) {
  node.call_service(self, "", event_log_service, "recent", reply_json(reply), reply_error(reply));
}

void handle_singleton(const ck::node::context& node, caf::io::broker* self, ck::http::request&,
                      ck::http::responder reply) {
  node.call_singleton(self, singleton_service, "", reply_json(reply), reply_error(reply));
}

}  // namespace

void add_routes(ck::node::extensions& ext) {
  using ck::node::access;
  using ck::node::api;
  ext.add_route(api::kv, "POST", "/carts/add", access::write, handle_add);
  ext.add_route(api::kv, "GET", "/carts/get", access::read, handle_get);
  ext.add_route(api::cluster, "GET", "/events/recent", access::read, handle_events);
  ext.add_route(api::cluster, "GET", "/carts/singleton", access::read, handle_singleton);
}

}  // namespace carts
