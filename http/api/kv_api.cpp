#include "http/api/kv_api.hpp"

#include "http/api/error_mapping.hpp"
#include "http/api/params.hpp"
#include "runtime/cluster/partition_hash.hpp"
#include "runtime/metrics.hpp"

#include <caf/io/broker.hpp>
#include <nlohmann/json.hpp>

namespace ck::http::api {

namespace {

using json = nlohmann::json;
using clock_type = std::chrono::steady_clock;

// Checks a key against the contract's limits; returns an error response when it fails.
std::optional<response> check_key(const api_context& ctx, std::string_view key) {
  if (key.empty()) {
    return response::error(400, "invalid_key", "key must not be empty");
  }
  if (key.size() > ctx.limits.key_bytes_max) {
    return response::error(400, "key_too_long",
                           "key is " + std::to_string(key.size()) + " bytes, the limit is " +
                               std::to_string(ctx.limits.key_bytes_max));
  }
  return std::nullopt;
}

// The ?key= parameter, checked like a key in a body.
std::variant<std::string, response> key_param(const api_context& ctx, const request& req) {
  auto key = required_param(req, "key");
  if (auto* text = std::get_if<std::string>(&key)) {
    if (auto bad = check_key(ctx, *text)) {
      return std::move(*bad);
    }
  }
  return key;
}

struct set_body {
  std::string key;
  std::string value;
};

// Parses {"key": K, "value": V}; both strings. Unknown fields are ignored.
std::variant<set_body, response> parse_set_body(const api_context& ctx, const std::string& text) {
  json doc = json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (doc.is_discarded()) {
    return response::error(400, "invalid_json", "request body is not valid JSON");
  }
  if (!doc.is_object()) {
    return response::error(400, "invalid_json", "request body must be a JSON object");
  }
  auto key = doc.find("key");
  if (key == doc.end() || key->is_null()) {
    return response::error(400, "missing_key", "field \"key\" is required");
  }
  if (!key->is_string()) {
    return response::error(400, "invalid_key", "field \"key\" must be a string");
  }
  auto value = doc.find("value");
  if (value == doc.end() || value->is_null()) {
    return response::error(400, "missing_value", "field \"value\" is required");
  }
  if (!value->is_string()) {
    return response::error(400, "invalid_value", "field \"value\" must be a string");
  }
  set_body body{key->get<std::string>(), value->get<std::string>()};
  if (auto bad = check_key(ctx, body.key)) {
    return *bad;
  }
  if (body.value.size() > ctx.limits.value_bytes_max) {
    return response::error(413, "value_too_large",
                           "value is " + std::to_string(body.value.size()) +
                               " bytes, the limit is " + std::to_string(ctx.limits.value_bytes_max));
  }
  return body;
}

// Answers a failed KV request and counts it.
void reply_error(const api_context& ctx, responder& reply, const caf::error& error) {
  ctx.metrics->kv_failures.add();
  reply.send(error_response(error));
}

void handle_set(const context_ptr& ctx, caf::io::broker* self, request& req, responder reply) {
  auto parsed = parse_set_body(*ctx, req.body);
  if (auto* bad = std::get_if<response>(&parsed)) {
    reply.send(std::move(*bad));
    return;
  }
  auto& body = std::get<set_body>(parsed);
  const auto partition = cluster::partition_of(body.key, ctx->partition_count);
  json ok = {{"key", body.key}, {"status", "success"},
             {"partition", cluster::partition_name(partition)}};
  const auto started = clock_type::now();
  actors::kv_set_request set{partition, std::move(body.key), std::move(body.value)};
  self->request(ctx->kv, ctx->request_timeout, atoms::kv_set_atom_v, std::move(set))
      .then(
          [ctx, reply, ok = std::move(ok), started](actors::kv_write_reply&) mutable {
            ctx->metrics->kv_sets.add();
            ctx->metrics->kv_set_latency.record(clock_type::now() - started);
            reply.send(response::json(200, ok));
          },
          [ctx, reply](caf::error& error) mutable { reply_error(*ctx, reply, error); });
}

void handle_get(const context_ptr& ctx, caf::io::broker* self, request& req, responder reply) {
  auto key = key_param(*ctx, req);
  if (auto* bad = std::get_if<response>(&key)) {
    reply.send(std::move(*bad));
    return;
  }
  auto& key_text = std::get<std::string>(key);
  auto consistency = req.query_param("consistency").value_or("linearizable");
  if (consistency != "linearizable" && consistency != "stale") {
    reply.send(response::error(400, "invalid_consistency",
                               "consistency must be linearizable or stale"));
    return;
  }
  const auto partition = cluster::partition_of(key_text, ctx->partition_count);
  const auto started = clock_type::now();
  actors::kv_get_request get{partition, key_text, consistency == "stale"};
  self->request(ctx->kv, ctx->request_timeout, atoms::kv_get_atom_v, std::move(get))
      .then(
          [ctx, reply, key_text, partition, started](actors::kv_get_reply& got) mutable {
            ctx->metrics->kv_gets.add();
            ctx->metrics->kv_get_latency.record(clock_type::now() - started);
            if (!got.found) {
              ctx->metrics->kv_get_misses.add();
              reply.send(response::error(404, "key_not_found", "key not found"));
              return;
            }
            reply.send(response::json(200, {{"key", key_text},
                                            {"value", std::move(got.value)},
                                            {"partition", cluster::partition_name(partition)}}));
          },
          [ctx, reply](caf::error& error) mutable { reply_error(*ctx, reply, error); });
}

void handle_delete(const context_ptr& ctx, caf::io::broker* self, request& req,
                   responder reply) {
  auto key = key_param(*ctx, req);
  if (auto* bad = std::get_if<response>(&key)) {
    reply.send(std::move(*bad));
    return;
  }
  auto& key_text = std::get<std::string>(key);
  const auto partition = cluster::partition_of(key_text, ctx->partition_count);
  actors::kv_delete_request del{partition, key_text};
  self->request(ctx->kv, ctx->request_timeout, atoms::kv_del_atom_v, std::move(del))
      .then(
          [ctx, reply, key_text, partition](actors::kv_write_reply& done) mutable {
            ctx->metrics->kv_deletes.add();
            reply.send(response::json(200, {{"key", key_text},
                                            {"status", "deleted"},
                                            {"existed", done.existed},
                                            {"partition", cluster::partition_name(partition)}}));
          },
          [ctx, reply](caf::error& error) mutable { reply_error(*ctx, reply, error); });
}

// Builds the list request from ?partition=&limit=&after=; an error response when invalid.
std::variant<actors::kv_list_request, response> parse_list_request(const api_context& ctx,
                                                                   const request& req) {
  actors::kv_list_request list;
  if (auto text = req.query_param("partition")) {
    uint32_t index = 0;
    if (!cluster::parse_partition_name(*text, index) || index >= ctx.partition_count) {
      return response::error(400, "invalid_partition",
                             "partition must be 0.." + std::to_string(ctx.partition_count - 1));
    }
    list.has_partition = true;
    list.partition = index;
  }
  auto limit = uint_param(req, "limit", ctx.limits.list_limit_default, 1, ctx.limits.list_limit_max);
  if (auto* bad = std::get_if<response>(&limit)) {
    return std::move(*bad);
  }
  list.limit = std::get<uint32_t>(limit);
  if (auto after = req.query_param("after")) {
    list.has_after = true;
    list.after_key = std::string{*after};
    list.after_partition = cluster::partition_of(list.after_key, ctx.partition_count);
  }
  return list;
}

void handle_list(const context_ptr& ctx, caf::io::broker* self, request& req, responder reply) {
  auto parsed = parse_list_request(*ctx, req);
  if (auto* bad = std::get_if<response>(&parsed)) {
    reply.send(std::move(*bad));
    return;
  }
  auto list = std::get<actors::kv_list_request>(std::move(parsed));
  ctx->metrics->kv_lists.add();
  self->request(ctx->kv, ctx->request_timeout, atoms::kv_list_atom_v, std::move(list))
      .then(
          [ctx, reply](actors::kv_list_reply& page) mutable {
            json body = {{"node_id", ctx->node_id},
                         {"count", page.count},
                         {"keys", std::move(page.keys)},
                         {"next_after", nullptr}};
            if (page.has_next) {
              body["next_after"] = std::move(page.next_after);
            }
            reply.send(response::json(200, body));
          },
          [reply](caf::error& error) mutable { reply.send(error_response(error)); });
}

void handle_stats(const context_ptr& ctx, caf::io::broker* self, request&, responder reply) {
  self->request(ctx->kv, ctx->request_timeout, atoms::kv_stats_atom_v)
      .then(
          [ctx, reply](actors::kv_stats_reply& stats) mutable {
            reply.send(response::json(200, {{"node_id", ctx->node_id},
                                            {"local_keys", stats.local_keys},
                                            {"partitions_hosted", stats.partitions_hosted},
                                            {"partitions_led", stats.partitions_led},
                                            {"sets", stats.sets},
                                            {"gets", stats.gets},
                                            {"deletes", stats.deletes}}));
          },
          [reply](caf::error& error) mutable { reply.send(error_response(error)); });
}

}  // namespace

void add_kv_routes(router& routes, std::shared_ptr<const api_context> context) {
  auto bind = [&context](auto fn) { return bind_handler(context, fn); };
  auto bind_mutating = [&context](auto fn) { return bind_mutating_handler(context, fn); };
  routes.add("POST", "/kv/set", bind_mutating(handle_set));
  routes.add("GET", "/kv/get", bind(handle_get));
  routes.add("POST", "/kv/delete", bind_mutating(handle_delete));
  routes.add("DELETE", "/kv/delete", bind_mutating(handle_delete));
  routes.add("GET", "/kv/list", bind(handle_list));
  routes.add("GET", "/kv/stats", bind(handle_stats));
}

}  // namespace ck::http::api
