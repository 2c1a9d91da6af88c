#include "counter_routes.hpp"

#include "counter_machine.hpp"

#include <caf/io/broker.hpp>
#include <nlohmann/json.hpp>

namespace counter {

namespace {

using json = nlohmann::json;
using ck::http::response;

// POST /counter/add: validate, then propose to the partition that owns the name.
void handle_add(const ck::node::context& node, caf::io::broker* self, ck::http::request& req,
                ck::http::responder reply) {
  json body = json::parse(req.body, nullptr, /*allow_exceptions=*/false);
  if (!body.is_object() || !body.contains("name") || !body["name"].is_string() ||
      body["name"].get<std::string>().empty()) {
    reply.send(response::error(400, "invalid_name", "field \"name\" must be a non-empty string"));
    return;
  }
  const auto name = body["name"].get<std::string>();
  const auto by = body.value("by", json(1));
  if (!by.is_number_integer()) {
    reply.send(response::error(400, "invalid_by", "field \"by\" must be an integer"));
    return;
  }
  const auto partition = node.partition_of(name);
  node.propose(
      self, machine_name, name, encode_add(name, by.get<int64_t>()),
      [reply, name, partition](std::string& value) {
        reply.send(response::json(
            200, {{"name", name}, {"value", std::stoll(value)}, {"partition", partition}}));
      },
      [reply](caf::error& error) { reply.send(ck::node::error_response(error)); });
}

// GET /counter/get?name=: a linearizable read by default, ?consistency=stale for a local one.
void handle_get(const ck::node::context& node, caf::io::broker* self, ck::http::request& req,
                ck::http::responder reply) {
  const auto name = std::string{req.query_param("name").value_or("")};
  if (name.empty()) {
    reply.send(response::error(400, "invalid_name", "query parameter \"name\" is required"));
    return;
  }
  const auto level = req.query_param("consistency").value_or("") == "stale"
                         ? ck::node::consistency::stale
                         : ck::node::consistency::linearizable;
  const auto partition = node.partition_of(name);
  node.query(
      self, machine_name, name, name, level,
      [reply, name, partition](std::string& value) {
        reply.send(response::json(
            200, {{"name", name}, {"value", std::stoll(value)}, {"partition", partition}}));
      },
      [reply](caf::error& error) { reply.send(ck::node::error_response(error)); });
}

}  // namespace

void add_routes(ck::node::extensions& ext) {
  using ck::node::access;
  using ck::node::api;
  ext.add_route(api::kv, "POST", "/counter/add", access::write, handle_add);
  ext.add_route(api::kv, "GET", "/counter/get", access::read, handle_get);
}

}  // namespace counter
