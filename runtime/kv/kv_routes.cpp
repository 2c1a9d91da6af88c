#include "runtime/kv/kv_routes.hpp"

#include "http/api/params.hpp"
#include "http/json_depth.hpp"
#include "http/json_string.hpp"
#include "http/off_io.hpp"
#include "runtime/cluster/partition_hash.hpp"
#include "runtime/kv/kv_machine.hpp"
#include "runtime/base/metrics.hpp"

#include <caf/io/broker.hpp>
#include <nlohmann/json.hpp>

#include <map>

namespace ck::kv {

using http::request;
using http::responder;
using http::response;
using http::api::required_param;
using http::api::uint_param;

namespace {

using json = nlohmann::json;
using clock_type = std::chrono::steady_clock;

// Pages of /kv/list (API contract): the default and the largest ?limit=.
constexpr uint32_t list_limit_default = 1000;
constexpr uint32_t list_limit_max = 10000;
// How long /kv/stats waits for the partition host's figures.
constexpr auto stats_timeout = std::chrono::seconds(5);

uint32_t key_bytes_max(const node::context& ctx) { return ctx.config().limits.key_bytes_max; }

// Set bodies from this size on are parsed on a scheduler thread (http::run_off_io): a 1 MiB
// value takes nlohmann::json ~20 ms, which the I/O thread owes to the node's Raft traffic.
constexpr size_t parse_off_io_bytes = 64u << 10;

// The KV section of /metrics ("kv"; clusterkit_kv_* in Prometheus), defined before the node
// serves (add_kv_routes registers it).
struct kv_figures {
  runtime::counter* sets = nullptr;
  runtime::counter* gets = nullptr;
  runtime::counter* get_misses = nullptr;
  runtime::counter* deletes = nullptr;
  runtime::counter* lists = nullptr;
  runtime::counter* failures = nullptr;  // set/get/delete answered with an error
  runtime::latency_histogram* set_latency = nullptr;
  runtime::latency_histogram* get_latency = nullptr;
};
using figures_ptr = std::shared_ptr<kv_figures>;

void define_figures(kv_figures& f, runtime::metrics_section& section, const node::context& ctx) {
  f.sets = &section.add_counter("sets", "clusterkit_kv_sets_total", "KV sets acknowledged.");
  f.gets = &section.add_counter("gets", "clusterkit_kv_gets_total", "KV gets answered.");
  f.get_misses = &section.add_counter("get_misses", "clusterkit_kv_get_misses_total",
                                      "KV gets of a missing key.");
  f.deletes =
      &section.add_counter("deletes", "clusterkit_kv_deletes_total", "KV deletes acknowledged.");
  f.lists = &section.add_counter("lists", "clusterkit_kv_lists_total", "KV list pages served.");
  f.failures = &section.add_counter("failures", "clusterkit_kv_failures_total",
                                    "KV operations answered with an error.");
  f.set_latency = &section.add_latency("set_latency", "clusterkit_kv_set_duration_seconds",
                                       "KV set latency (to durable).");
  f.get_latency =
      &section.add_latency("get_latency", "clusterkit_kv_get_duration_seconds", "KV get latency.");
  section.add_gauge("local_keys", "clusterkit_kv_local_keys", "Keys stored on this node.", [&ctx] {
    return static_cast<double>(ctx.list_local(machine_name, std::nullopt, std::nullopt, 1).count);
  });
}

// Checks a key against the contract's limits; returns an error response when it fails.
std::optional<response> check_key(uint32_t bytes_max, std::string_view key) {
  if (key.empty()) {
    return response::error(400, "invalid_key", "key must not be empty");
  }
  if (key.size() > bytes_max) {
    return response::error(400, "key_too_long",
                           "key is " + std::to_string(key.size()) + " bytes, the limit is " +
                               std::to_string(bytes_max));
  }
  return std::nullopt;
}

std::optional<response> check_key(const node::context& ctx, std::string_view key) {
  return check_key(key_bytes_max(ctx), key);
}

// The ?key= parameter, checked like a key in a body.
std::variant<std::string, response> key_param(const node::context& ctx, const request& req) {
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

// What parse_set_body checks against: copied out of the node's settings, so a parse on
// another thread does not reach into the node context.
struct set_limits {
  uint32_t key_bytes_max = 0;
  size_t value_bytes_max = 0;
};

set_limits set_limits_of(const node::context& ctx) {
  return {key_bytes_max(ctx), ctx.config().limits.value_bytes_max};
}

// Parses {"key": K, "value": V}; both strings. Unknown fields are ignored.
std::variant<set_body, response> parse_set_body(const set_limits& limits, const std::string& text) {
  if (http::json_nesting_exceeds(text)) {
    return response::error(400, "invalid_json",
                           "request body nests deeper than " +
                               std::to_string(http::json_depth_max) + " levels");
  }
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
  if (auto bad = check_key(limits.key_bytes_max, body.key)) {
    return *bad;
  }
  const size_t value_bytes_max = limits.value_bytes_max;
  if (body.value.size() > value_bytes_max) {
    return response::error(413, "value_too_large",
                           "value is " + std::to_string(body.value.size()) +
                               " bytes, the limit is " + std::to_string(value_bytes_max));
  }
  return body;
}

// Answers a failed KV request and counts it.
void reply_error(const kv_figures& f, responder& reply, const caf::error& error) {
  f.failures->add();
  reply.send(node::error_response(error));
}

void propose_set(const figures_ptr& f, const node::context& ctx, caf::io::broker* self,
                 std::variant<set_body, response>& parsed, responder reply) {
  if (auto* bad = std::get_if<response>(&parsed)) {
    reply.send(std::move(*bad));
    return;
  }
  auto& body = std::get<set_body>(parsed);
  const auto partition = ctx.partition_of(body.key);
  json ok = {
      {"key", body.key}, {"status", "success"}, {"partition", cluster::partition_name(partition)}};
  const auto started = clock_type::now();
  // The answer does not depend on apply()'s result: acknowledged once committed.
  ctx.propose_at_commit(
      self, machine_name, body.key, encode_set(body.key, body.value),
      [f, reply, ok = std::move(ok), started]() mutable {
        f->sets->add();
        f->set_latency->record(clock_type::now() - started);
        reply.send(response::json(200, ok));
      },
      [f, reply](caf::error& error) mutable { reply_error(*f, reply, error); });
}

void handle_set(const figures_ptr& f, const node::context& ctx, caf::io::broker* self, request& req,
                responder reply) {
  if (req.body.size() < parse_off_io_bytes) {
    auto parsed = parse_set_body(set_limits_of(ctx), req.body);
    propose_set(f, ctx, self, parsed, std::move(reply));
    return;
  }
  struct parse_job {
    set_limits limits;
    std::string text;
    std::optional<std::variant<set_body, response>> parsed;
  };
  auto job = std::make_shared<parse_job>();
  job->limits = set_limits_of(ctx);
  job->text = std::move(req.body);
  // `ctx` outlives the continuation: the route's closure holds the node context, and the
  // broker that runs the continuation holds the route.
  http::run_off_io(
      self, [job] { job->parsed = parse_set_body(job->limits, job->text); },
      [f, &ctx, self, job, reply]() mutable {
        if (!job->parsed) {
          reply.send(response::error(500, "internal", "the request body could not be parsed"));
          return;
        }
        propose_set(f, ctx, self, *job->parsed, std::move(reply));
      });
}

void handle_get(const figures_ptr& f, const node::context& ctx, caf::io::broker* self, request& req,
                responder reply) {
  auto key = key_param(ctx, req);
  if (auto* bad = std::get_if<response>(&key)) {
    reply.send(std::move(*bad));
    return;
  }
  auto& key_text = std::get<std::string>(key);
  auto consistency = req.query_param("consistency").value_or("linearizable");
  if (consistency != "linearizable" && consistency != "stale") {
    reply.send(
        response::error(400, "invalid_consistency", "consistency must be linearizable or stale"));
    return;
  }
  const auto partition = ctx.partition_of(key_text);
  const auto started = clock_type::now();
  ctx.query(
      self, machine_name, key_text, key_text,
      consistency == "stale" ? node::consistency::stale : node::consistency::linearizable,
      [f, reply, key_text, partition, started](std::string& answer) mutable {
        f->gets->add();
        f->get_latency->record(clock_type::now() - started);
        auto value = decode_get(answer);
        if (!value) {
          f->get_misses->add();
          reply.send(response::error(404, "key_not_found", "key not found"));
          return;
        }
        // Written by hand (same bytes as nlohmann's dump, keys in its sorted order): the
        // value may be large, and the generic dump checks it byte by byte.
        std::string body;
        body.reserve(value->size() + key_text.size() + 64);
        body += "{\"key\":";
        http::append_json_string(body, key_text);
        body += ",\"partition\":";
        http::append_json_string(body, cluster::partition_name(partition));
        body += ",\"value\":";
        http::append_json_string(body, *value);
        body += '}';
        reply.send(response::json_text(200, std::move(body)));
      },
      [f, reply](caf::error& error) mutable { reply_error(*f, reply, error); });
}

void handle_delete(const figures_ptr& f, const node::context& ctx, caf::io::broker* self,
                   request& req, responder reply) {
  auto key = key_param(ctx, req);
  if (auto* bad = std::get_if<response>(&key)) {
    reply.send(std::move(*bad));
    return;
  }
  auto& key_text = std::get<std::string>(key);
  const auto partition = ctx.partition_of(key_text);
  ctx.propose(
      self, machine_name, key_text, encode_delete(key_text),
      [f, reply, key_text, partition](std::string& result) mutable {
        f->deletes->add();
        reply.send(response::json(200, {{"key", key_text},
                                        {"status", "deleted"},
                                        {"existed", decode_existed(result).value_or(false)},
                                        {"partition", cluster::partition_name(partition)}}));
      },
      [f, reply](caf::error& error) mutable { reply_error(*f, reply, error); });
}

struct list_request {
  std::optional<uint32_t> partition;
  std::optional<std::string> after;
  uint32_t limit = list_limit_default;
};

// Builds the list request from ?partition=&limit=&after=; an error response when invalid.
std::variant<list_request, response> parse_list_request(const node::context& ctx,
                                                        const request& req) {
  list_request list;
  if (auto text = req.query_param("partition")) {
    uint32_t index = 0;
    if (!cluster::parse_partition_name(*text, index) || index >= ctx.partition_count()) {
      return response::error(400, "invalid_partition",
                             "partition must be 0.." + std::to_string(ctx.partition_count() - 1));
    }
    list.partition = index;
  }
  auto limit = uint_param(req, "limit", list_limit_default, 1, list_limit_max);
  if (auto* bad = std::get_if<response>(&limit)) {
    return std::move(*bad);
  }
  list.limit = std::get<uint32_t>(limit);
  if (auto after = req.query_param("after")) {
    list.after = std::string{*after};
  }
  return list;
}

void handle_list(const figures_ptr& f, const node::context& ctx, caf::io::broker*, request& req,
                 responder reply) {
  auto parsed = parse_list_request(ctx, req);
  if (auto* bad = std::get_if<response>(&parsed)) {
    reply.send(std::move(*bad));
    return;
  }
  auto& list = std::get<list_request>(parsed);
  f->lists->add();
  auto page = ctx.list_local(machine_name, list.partition, list.after, list.limit);
  if (!page.error.empty()) {
    reply.send(response::error(500, "storage_failure", page.error));
    return;
  }
  json body = {{"node_id", ctx.node_id()},
               {"count", page.count},
               {"keys", std::move(page.keys)},
               {"next_after", nullptr}};
  if (page.next_after) {
    body["next_after"] = std::move(*page.next_after);
  }
  reply.send(response::json(200, body));
}

void handle_stats(const figures_ptr& f, const node::context& ctx, caf::io::broker* self, request&,
                  responder reply) {
  auto keys = ctx.list_local(machine_name, std::nullopt, std::nullopt, 1);
  if (!keys.error.empty()) {
    reply.send(response::error(500, "storage_failure", keys.error));
    return;
  }
  self->request(ctx.partitions(), stats_timeout, atoms::storage_figures_atom_v)
      .then(
          [f, &ctx, reply, local_keys = keys.count](actors::storage_figures& figures) mutable {
            reply.send(response::json(200, {{"node_id", ctx.node_id()},
                                            {"local_keys", local_keys},
                                            {"partitions_hosted", figures.partitions_hosted},
                                            {"partitions_led", figures.partitions_led},
                                            {"sets", f->sets->value()},
                                            {"gets", f->gets->value()},
                                            {"deletes", f->deletes->value()}}));
          },
          [reply](caf::error& error) mutable { reply.send(node::error_response(error)); });
}

void handle_watch(const std::shared_ptr<watch_hub>& watches, const node::context& ctx,
                  caf::io::broker* self, request& req, responder reply) {
  const auto key = req.query_param("key");
  const auto prefix = req.query_param("prefix");
  if (key.has_value() == prefix.has_value()) {
    reply.send(response::error(400, "invalid_parameter",
                               "give exactly one of the query parameters \"key\" and \"prefix\""));
    return;
  }
  std::map<uint32_t, uint64_t> from;
  if (auto positions = req.query_param("from")) {
    auto parsed = cluster::parse_partition_positions(*positions, ctx.partition_count());
    if (!parsed) {
      reply.send(response::error(400, "invalid_parameter",
                                 "query parameter \"from\" must be PARTITION:INDEX[,...] with "
                                 "partitions of this cluster"));
      return;
    }
    from = std::move(*parsed);
  }
  watch_filter filter{std::string{key ? *key : *prefix}, prefix.has_value()};
  // The replicas' commit indexes are the start positions of partitions without events yet.
  self->request(ctx.partitions(), stats_timeout, atoms::partitions_atom_v)
      .then(
          [watches, filter = std::move(filter), from = std::move(from),
           reply](std::vector<actors::partition_view>& views) mutable {
            std::map<uint32_t, uint64_t> floor;
            for (const auto& v : views) {
              floor[v.index] = v.commit_index;
            }
            response head;
            head.headers.emplace_back("Content-Type", "text/event-stream");
            head.headers.emplace_back("Cache-Control", "no-cache");
            watches->watch(std::move(filter), from, floor, reply.stream(std::move(head)));
          },
          [reply](caf::error& error) mutable { reply.send(node::error_response(error)); });
}

}  // namespace

void add_kv_routes(node::extensions& ext, std::shared_ptr<watch_hub> watches) {
  using node::access;
  using node::api;
  auto f = std::make_shared<kv_figures>();
  ext.add_metrics("kv", [f](runtime::metrics_section& section, const node::context& ctx) {
    define_figures(*f, section, ctx);
  });
  auto bind = [f](auto handler) {
    return [f, handler](const node::context& ctx, caf::io::broker* self, request& req,
                        responder reply) { handler(f, ctx, self, req, std::move(reply)); };
  };
  ext.add_route(api::kv, "POST", "/kv/set", access::write, bind(handle_set));
  ext.add_route(api::kv, "GET", "/kv/get", access::read, bind(handle_get));
  ext.add_route(api::kv, "POST", "/kv/delete", access::write, bind(handle_delete));
  ext.add_route(api::kv, "DELETE", "/kv/delete", access::write, bind(handle_delete));
  ext.add_route(api::kv, "GET", "/kv/list", access::read, bind(handle_list));
  ext.add_route(api::kv, "GET", "/kv/stats", access::read, bind(handle_stats));
  ext.add_route(api::kv, "GET", "/kv/watch", access::read,
                [watches](const node::context& ctx, caf::io::broker* self, request& req,
                          responder reply) {
                  handle_watch(watches, ctx, self, req, std::move(reply));
                });
}

}  // namespace ck::kv
