#include "http/api/cluster_api.hpp"

#include "runtime/base/storage_health.hpp"

#include "actors/meta_state_machine.hpp"
#include "http/api/error_mapping.hpp"
#include "http/api/events_stream.hpp"
#include "http/api/ui_assets.hpp"
#include "http/api/join_json.hpp"
#include "http/api/metrics_json.hpp"
#include "http/api/params.hpp"
#include "http/api/view_json.hpp"
#include "runtime/base/clock.hpp"
#include "runtime/cluster/partition_hash.hpp"
#include "runtime/base/metrics.hpp"

#include <caf/io/broker.hpp>
#include <nlohmann/json.hpp>

namespace ck::http::api {

namespace {

using json = nlohmann::json;
using actors::cluster_view;

// Asks the node actor for its view, then runs `then(view)`; errors become responses.
template <class F>
void with_view(const context_ptr& ctx, caf::io::broker* self, responder reply, F then) {
  self->request(ctx->node, ctx->request_timeout, atoms::view_atom_v)
      .then([reply, then](cluster_view& view) mutable { then(view, reply); },
            [reply](caf::error& error) mutable { reply.send(error_response(error)); });
}

// Metrics combine the process counters with the storage figures the KV service reports.
template <class F>
void with_storage_stats(const context_ptr& ctx, caf::io::broker* self, responder reply, F then) {
  self->request(ctx->partitions, ctx->request_timeout, atoms::storage_figures_atom_v)
      .then([reply, then](actors::storage_figures& stats) mutable { then(stats, reply); },
            [reply](caf::error& error) mutable { reply.send(error_response(error)); });
}

void handle_health(const context_ptr& ctx, caf::io::broker*, request&, responder reply) {
  reply.send(response::json(
      200, {{"success", true}, {"message", "healthy"}, {"node_id", ctx->node_id}}));
}

// A full disk makes the node not ready: it serves reads but refuses writes (507).
void add_storage_reason(const api_context& ctx, cluster_view& view) {
  if (ctx.storage != nullptr && ctx.storage->full()) {
    view.not_ready_reasons.push_back("storage full, writes refused until space is freed: " +
                                     ctx.storage->reason());
  }
}

void handle_ready(const context_ptr& ctx, caf::io::broker* self, request&, responder reply) {
  with_view(ctx, self, reply, [ctx](cluster_view& view, responder& out) {
    add_storage_reason(*ctx, view);
    const bool ready = view.not_ready_reasons.empty();
    json body = {{"ready", ready}, {"node_id", ctx->node_id}, {"reasons", view.not_ready_reasons}};
    if (ready) {
      out.send(response::json(200, body));
    } else {
      auto rsp = response::json(503, body);
      rsp.headers.emplace_back("Retry-After", "1");
      out.send(std::move(rsp));
    }
  });
}

json detailed_health(const api_context& ctx, const cluster_view& view,
                     const actors::storage_figures& stats) {
  uint32_t alive = 0;
  uint32_t hosted = 0;
  uint32_t led = 0;
  json peers = json::array();
  for (const auto& node : view.nodes) {
    alive += node.status == "alive" ? 1u : 0u;
    if (node.id == ctx.node_id) {
      hosted = node.partitions_hosted;
      led = node.partitions_led;
    } else {
      json seen = nullptr;
      if (node.last_seen_ms_ago >= 0) {
        seen = node.last_seen_ms_ago;
      }
      peers.push_back({{"id", node.id},
                       {"status", node.status},
                       {"connected", node.connected},
                       {"meta_role", node.meta_role},
                       {"last_seen_ms_ago", std::move(seen)}});
    }
  }
  uint32_t without_leader = 0;
  for (const auto& p : view.partitions) {
    without_leader += p.leader.empty() ? 1u : 0u;
  }
  return {{"healthy", view.not_ready_reasons.empty()},
          {"node_id", ctx.node_id},
          {"node_name", ctx.node_name},
          {"is_leader", view.leader_id == ctx.node_id},
          {"leader_id", view.leader_id},
          {"raft_state", view.raft_state},
          {"term", view.term},
          {"commit_index", view.commit_index},
          {"applied_index", view.applied_index},
          {"node_count", view.nodes.size()},
          {"alive_nodes", alive},
          {"partition_count", view.partition_count},
          {"partitions_hosted", hosted},
          {"partitions_led", led},
          {"partitions_without_leader", without_leader},
          {"uptime_seconds", ctx.metrics->uptime_seconds()},
          {"storage",
           {{"dir", stats.data_dir},
            {"used_bytes", stats.used_bytes},
            {"full", ctx.storage != nullptr && ctx.storage->full()},
            {"free_bytes", ctx.storage != nullptr ? json(ctx.storage->free_bytes()) : json()}}},
          {"peers", std::move(peers)},
          {"not_ready_reasons", view.not_ready_reasons}};
}

void handle_health_detailed(const context_ptr& ctx, caf::io::broker* self, request&,
                            responder reply) {
  with_view(ctx, self, reply, [ctx, self](cluster_view& view, responder& out) {
    add_storage_reason(*ctx, view);
    with_storage_stats(ctx, self, out, [ctx, view](actors::storage_figures& stats, responder& r) {
      r.send(response::json(200, detailed_health(*ctx, view, stats)));
    });
  });
}

void handle_cluster(const context_ptr& ctx, caf::io::broker* self, request&, responder reply) {
  with_view(ctx, self, reply, [](cluster_view& view, responder& out) {
    out.send(response::json(200, cluster_json(view)));
  });
}

void handle_nodes(const context_ptr& ctx, caf::io::broker* self, request& req, responder reply) {
  auto limit = uint_param(req, "limit", ctx->limits.nodes_limit_default, 1,
                          ctx->limits.nodes_limit_max);
  auto offset = uint_param(req, "offset", 0, 0, UINT32_MAX);
  for (auto* param : {&limit, &offset}) {
    if (auto* bad = std::get_if<response>(param)) {
      reply.send(std::move(*bad));
      return;
    }
  }
  const auto first = std::get<uint32_t>(offset);
  const auto count = std::get<uint32_t>(limit);
  with_view(ctx, self, reply, [first, count](cluster_view& view, responder& out) {
    const size_t total = view.nodes.size();
    const size_t begin = std::min<size_t>(first, total);
    const size_t end = std::min<size_t>(begin + count, total);
    json nodes = json::array();
    for (size_t i = begin; i < end; ++i) {
      nodes.push_back(node_json(view.nodes[i]));
    }
    out.send(response::json(200, {{"nodes", std::move(nodes)},
                                  {"total", total},
                                  {"offset", first},
                                  {"limit", count},
                                  {"has_more", end < total},
                                  {"next_offset", end}}));
  });
}

void handle_partitions(const context_ptr& ctx, caf::io::broker* self, request&,
                       responder reply) {
  with_view(ctx, self, reply, [](cluster_view& view, responder& out) {
    json partitions = json::array();
    for (const auto& p : view.partitions) {
      partitions.push_back(partition_json(view, p));
    }
    out.send(response::json(200, {{"count", view.partitions.size()},
                                  {"partitions", std::move(partitions)}}));
  });
}

void handle_partition_stats(const context_ptr& ctx, caf::io::broker* self, request&,
                            responder reply) {
  with_view(ctx, self, reply, [](cluster_view& view, responder& out) {
    out.send(response::json(200, partition_stats_json(view)));
  });
}

void handle_partition_key(const context_ptr& ctx, caf::io::broker* self, request& req,
                          responder reply) {
  auto key = required_param(req, "key");
  if (auto* bad = std::get_if<response>(&key)) {
    reply.send(std::move(*bad));
    return;
  }
  const auto& key_text = std::get<std::string>(key);
  if (key_text.empty() || key_text.size() > ctx->limits.key_bytes_max) {
    reply.send(response::error(400, "invalid_key", "key must be 1.." +
                                                       std::to_string(ctx->limits.key_bytes_max) +
                                                       " bytes"));
    return;
  }
  const auto index = cluster::partition_of(key_text, ctx->partition_count);
  with_view(ctx, self, reply, [index, key_text](cluster_view& view, responder& out) {
    if (index >= view.partitions.size()) {
      out.send(response::error(503, "not_ready", "partition map not known yet"));
      return;
    }
    auto body = partition_json(view, view.partitions[index]);
    body["key"] = key_text;
    out.send(response::json(200, body));
  });
}

void handle_consensus_leader(const context_ptr& ctx, caf::io::broker* self, request&,
                             responder reply) {
  with_view(ctx, self, reply, [](cluster_view& view, responder& out) {
    if (view.leader_id.empty()) {
      out.send(response::error(503, "no_leader", "no leader elected"));
      return;
    }
    json body = {{"leader_id", view.leader_id}, {"term", view.term}};
    for (const auto& node : view.nodes) {
      if (node.id == view.leader_id) {
        body["leader_name"] = node.name;
        body["leader_ip"] = node.http_addr;
        body["leader_raft_addr"] = node.raft_addr;
      }
    }
    out.send(response::json(200, body));
  });
}

void handle_consensus_stats(const context_ptr& ctx, caf::io::broker* self, request&,
                            responder reply) {
  with_view(ctx, self, reply, [](cluster_view& view, responder& out) {
    json peers = json::array();
    size_t voters = 0;
    size_t learners = 0;
    for (const auto& node : view.nodes) {
      voters += node.meta_role == "voter" ? 1 : 0;
      learners += node.meta_role == "learner" ? 1 : 0;
      if (node.id != view.self_id) {
        peers.push_back({{"id", node.id},
                         {"raft_id", node.raft_id},
                         {"meta_role", node.meta_role},
                         {"match_index", node.match_index},
                         {"connected", node.connected}});
      }
    }
    out.send(response::json(200, {{"group", 0},
                                  {"node_id", view.self_id},
                                  {"state", view.raft_state},
                                  {"term", view.term},
                                  {"leader", view.leader_id},
                                  {"commit_index", view.commit_index},
                                  {"applied_index", view.applied_index},
                                  {"last_index", view.last_index},
                                  {"voters", voters},
                                  {"learners", learners},
                                  {"num_peers", view.nodes.empty() ? 0 : view.nodes.size() - 1},
                                  {"peers", std::move(peers)}}));
  });
}

void handle_metrics(const context_ptr& ctx, caf::io::broker* self, request&, responder reply) {
  with_storage_stats(ctx, self, reply, [ctx](actors::storage_figures& stats, responder& out) {
    out.send(response::json(200, metrics_json(*ctx->metrics, ctx->node_id, stats)));
  });
}

void handle_metrics_prometheus(const context_ptr& ctx, caf::io::broker* self, request&,
                               responder reply) {
  with_storage_stats(ctx, self, reply, [ctx](actors::storage_figures& stats, responder& out) {
    response rsp;
    rsp.status = 200;
    rsp.headers.emplace_back("Content-Type", "text/plain; version=0.0.4");
    rsp.body = metrics_prometheus_text(*ctx->metrics, ctx->node_id, stats);
    out.send(std::move(rsp));
  });
}

json rebalance_json(const cluster_view& view) {
  json moves = json::array();
  for (const auto& m : view.moves) {
    moves.push_back({{"partition", cluster::partition_name(m.partition)},
                     {"from", m.from},
                     {"to", m.to},
                     {"state", m.state}});
  }
  return {{"running", !view.moves.empty()},
          {"moves_total", view.moves.size() + view.moves_done},
          {"moves_done", view.moves_done},
          {"moves", std::move(moves)}};
}

void handle_rebalance_get(const context_ptr& ctx, caf::io::broker* self, request&,
                          responder reply) {
  with_view(ctx, self, reply, [](cluster_view& view, responder& out) {
    out.send(response::json(200, rebalance_json(view)));
  });
}

// The rebalancer runs continuously on the meta leader; a POST reports what it is doing.
void handle_rebalance_post(const context_ptr& ctx, caf::io::broker* self, request&,
                           responder reply) {
  with_view(ctx, self, reply, [](cluster_view& view, responder& out) {
    auto body = rebalance_json(view);
    body["started"] = true;
    out.send(response::json(200, body));
  });
}

void handle_leave(const context_ptr& ctx, caf::io::broker* self, request& req, responder reply) {
  auto node = required_param(req, "node");
  if (auto* bad = std::get_if<response>(&node)) {
    reply.send(std::move(*bad));
    return;
  }
  const std::string id = std::get<std::string>(node);
  if (!cluster::is_valid_node_id(id)) {
    reply.send(response::error(400, "invalid_node", "node must match [A-Za-z0-9._-]{1,64}"));
    return;
  }
  cluster::set_status_command cmd;
  cmd.id = id;
  cmd.status = cluster::node_status::leaving;
  cmd.at_unix_ms = runtime::unix_now_ms();
  self->request(ctx->join, ctx->request_timeout, atoms::meta_command_atom_v,
                cluster::encode_command(cmd))
      .then(
          [reply, id](actors::raft_propose_reply& applied) mutable {
            cluster::apply_result result;
            std::string error;
            if (!actors::decode_meta_apply_result(applied.result, result, error)) {
              reply.send(response::error(500, "internal", error));
              return;
            }
            switch (result.outcome) {
              case cluster::apply_outcome::ok:
              case cluster::apply_outcome::unchanged:
                reply.send(response::json(
                    202, {{"node", id},
                          {"status", "leaving"},
                          {"message", "its replicas move away, then it is removed"}}));
                return;
              case cluster::apply_outcome::not_found:
                reply.send(response::error(404, "not_found", "no node " + id));
                return;
              default:
                reply.send(response::error(409, "conflict", result.message));
            }
          },
          [reply](caf::error& error) mutable { reply.send(error_response(error)); });
}

void handle_join(const context_ptr& ctx, caf::io::broker* self, request& req, responder reply) {
  actors::join_request join;
  const std::string bad = parse_join_body(req.body, join);
  if (!bad.empty()) {
    reply.send(response::error(400, "invalid_join", bad));
    return;
  }
  // The token is a cluster setting: a joiner with a token (it sends it) must not join a
  // cluster without one (then the joiner would guard writes the others take unguarded). The
  // other mismatches, no token or another one for a cluster that has one, are 401 already.
  if (ctx->token.empty() && req.header("authorization")) {
    reply.send(response::error(409, "token_mismatch",
                               "this cluster has no CLUSTERKIT_TOKEN but the joining node sent "
                               "one: give every node the same token (or none)"));
    return;
  }
  const std::string id = join.id;
  self->request(ctx->join, ctx->request_timeout, atoms::join_atom_v, std::move(join))
      .then(
          [reply, id](actors::join_reply& joined) mutable {
            reply.send(response::json(200, join_reply_json(id, joined)));
          },
          [reply](caf::error& error) mutable { reply.send(error_response(error)); });
}

}  // namespace

void add_cluster_routes(router& routes, std::shared_ptr<const api_context> context) {
  // Health checks (load balancers, Docker) carry no token: always open.
  routes.add("GET", "/health", bind_handler(context, handle_health));
  routes.add("GET", "/ready", bind_handler(context, handle_ready));
  auto bind = [&context](auto fn) { return bind_read_handler(context, fn); };
  routes.add("GET", "/health/detailed", bind(handle_health_detailed));
  routes.add("GET", "/cluster", bind(handle_cluster));
  routes.add("GET", "/nodes", bind(handle_nodes));
  routes.add("GET", "/partitions", bind(handle_partitions));
  routes.add("GET", "/partitions/stats", bind(handle_partition_stats));
  routes.add("GET", "/partitions/key", bind(handle_partition_key));
  routes.add("GET", "/consensus/leader", bind(handle_consensus_leader));
  routes.add("GET", "/consensus/stats", bind(handle_consensus_stats));
  routes.add("GET", "/metrics", bind(handle_metrics));
  routes.add("GET", "/metrics/prometheus", bind(handle_metrics_prometheus));
  auto bind_mutating = [&context](auto fn) { return bind_mutating_handler(context, fn); };
  routes.add("POST", "/join", bind_mutating(handle_join));
  routes.add("POST", "/leave", bind_mutating(handle_leave));
  routes.add("GET", "/rebalance", bind(handle_rebalance_get));
  routes.add("GET", "/events", bind(handle_events));
  // The dashboard: GET /ui is its page; the page loads /ui/app.js and /ui/style.css.
  auto serve = [&bind](const ui_asset& asset) {
    return bind([&asset](const context_ptr&, caf::io::broker*, request&, responder reply) {
      response page;
      page.headers.emplace_back("Content-Type", std::string{asset.content_type});
      page.headers.emplace_back("Cache-Control", "no-cache");
      page.body = std::string{asset.body};
      reply.send(std::move(page));
    });
  };
  routes.add("GET", "/ui", serve(ui_assets().front()));
  for (const ui_asset& asset : ui_assets()) {
    routes.add("GET", std::string{asset.path}, serve(asset));
  }
  routes.add("POST", "/rebalance", bind_mutating(handle_rebalance_post));
}

}  // namespace ck::http::api
