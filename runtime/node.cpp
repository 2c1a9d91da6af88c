#include "runtime/node.hpp"

#include "actors/kv_service.hpp"
#include "actors/node_actor.hpp"
#include "actors/storage_writer.hpp"
#include "actors/type_ids.hpp"
#include "http/api/cluster_api.hpp"
#include "http/api/kv_api.hpp"
#include "http/server.hpp"
#include "runtime/log.hpp"
#include "runtime/metrics.hpp"
#include "runtime/node_identity.hpp"
#include "storage/environment.hpp"

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/io/middleman.hpp>
#include <caf/scoped_actor.hpp>

#include <csignal>
#include <cstdio>
#include <thread>

namespace ck::runtime {

namespace {

// How long a stop waits for in-flight HTTP requests before closing their connections.
constexpr auto drain_deadline = std::chrono::seconds(10);

void fail_line(const std::string& line) {
  std::fprintf(stderr, "clusterkit: %s\n", line.c_str());
  std::fflush(stderr);
}

// CAF settings fixed by the project (caf-notes.md): no more scheduler threads than cores,
// no stray INI file, every message type announced.
void configure_actor_system(caf::actor_system_config& cfg, const config::node_config& node) {
  const unsigned cores = std::max(1u, std::thread::hardware_concurrency());
  const size_t threads = node.threads == 0 ? cores : node.threads;
  cfg.set("scheduler.max-threads", threads);
  cfg.set("logger.verbosity", caf::atom("quiet"));
  cfg.load<caf::io::middleman>();
  actors::register_types(cfg);
}

// The address other nodes and clients use: the advertised host with the listening port.
std::string advertised(const config::node_config& node, const config::host_port& addr) {
  return config::host_port{node.advertise_host, addr.port}.to_string();
}

http::server_options server_options_for(const config::node_config& node,
                                        const config::host_port& addr, std::string name,
                                        node_metrics* metrics) {
  http::server_options opts;
  opts.host = addr.host;
  opts.port = addr.port;
  opts.name = std::move(name);
  opts.header_bytes_max = node.limits.header_bytes_max;
  opts.body_bytes_max = node.limits.body_bytes_max;
  opts.idle_timeout = std::chrono::milliseconds(node.limits.idle_timeout_ms);
  opts.connections_max = node.limits.connections_max;
  opts.pipeline_depth_max = node.limits.pipeline_depth_max;
  opts.on_response = [metrics](const http::request&, int status, std::chrono::nanoseconds took) {
    metrics->http_requests.add();
    metrics->http_latency.record(took);
    if (status >= 500) {
      metrics->http_errors_server.add();
    } else if (status >= 400) {
      metrics->http_errors_client.add();
    }
  };
  return opts;
}

// The actors and servers of a running node, stopped in reverse order of their start.
struct running_node {
  actors::storage_writer_actor writer;
  actors::kv_service_actor kv;
  actors::node_actor node;
  std::vector<caf::actor> servers;
};

// Starts both HTTP servers; on failure prints why and stops what it started.
bool start_servers(caf::actor_system& sys, const config::node_config& cfg,
                   const std::shared_ptr<const http::api::api_context>& context,
                   node_metrics& metrics, running_node& node) {
  auto cluster_routes = std::make_shared<http::router>();
  http::api::add_cluster_routes(*cluster_routes, context);
  auto kv_routes = std::make_shared<http::router>();
  http::api::add_kv_routes(*kv_routes, context);
  struct listener {
    const char* setting;
    const config::host_port& addr;
    std::shared_ptr<http::router> routes;
    const char* name;
  };
  for (const listener& l : {listener{"HTTP_ADDR", cfg.http_addr, cluster_routes, "cluster-api"},
                            listener{"KV_ADDR", cfg.kv_addr, kv_routes, "kv-api"}}) {
    auto started = http::start_server(sys, l.routes, server_options_for(cfg, l.addr, l.name,
                                                                        &metrics));
    if (!started) {
      fail_line("cannot listen on " + std::string{l.setting} + " " + l.addr.to_string() + ": " +
                sys.render(started.error()));
      return false;
    }
    node.servers.push_back(started->first);
  }
  return true;
}

// Waits for SIGTERM or SIGINT (blocked in every thread by main).
int wait_for_stop_signal() {
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGTERM);
  sigaddset(&stop_signals, SIGINT);
  int received = 0;
  while (sigwait(&stop_signals, &received) != 0) {
  }
  return received;
}

// Stops in order: HTTP servers drain (in-flight requests are answered), then the services,
// then the writer (which commits what it accepted), then the caller closes storage.
void stop_node(caf::actor_system& sys, running_node& node) {
  caf::scoped_actor self{sys};
  for (auto& server : node.servers) {
    self->request(server, drain_deadline + std::chrono::seconds(2), http::drain_atom::value,
                  caf::timespan{drain_deadline})
        .receive([](caf::ok_atom) {},
                 [](caf::error& e) { CK_LOG_WARN("http: drain did not finish: {}", to_string(e)); });
    self->send_exit(server, caf::exit_reason::user_shutdown);
  }
  for (const caf::actor& a : {caf::actor_cast<caf::actor>(node.kv),
                              caf::actor_cast<caf::actor>(node.node),
                              caf::actor_cast<caf::actor>(node.writer)}) {
    self->send_exit(a, caf::exit_reason::user_shutdown);
    self->wait_for(a);
  }
}

}  // namespace

exit_code run_node(const config::node_config& cfg) {
  storage::environment_options env_options;
  env_options.dir = cfg.storage.dir;
  env_options.map_size_bytes = cfg.storage.map_size_bytes;
  env_options.map_size_max_bytes = cfg.storage.map_size_max_bytes;
  env_options.sync = cfg.storage.sync;
  auto opened = storage::environment::open(env_options);
  if (!opened.ok()) {
    fail_line("cannot open storage (DATA_DIR " + cfg.storage.dir + "): " +
              opened.status().to_string());
    return exit_code::start_failed;
  }
  std::shared_ptr<storage::environment> env = std::move(opened.value());
  auto identity = establish_identity(*env, cfg);
  if (!identity.ok) {
    fail_line(identity.error_line);
    return identity.code;
  }
  node_metrics metrics;
  exit_code result = exit_code::ok;
  {
    caf::actor_system_config caf_cfg;
    configure_actor_system(caf_cfg, cfg);
    caf::actor_system sys{caf_cfg};
    running_node node;
    node.writer = actors::spawn_storage_writer(sys, env, &metrics);
    actors::kv_service_options kv_options;
    kv_options.partition_count = identity.value.partition_count;
    kv_options.data_dir = cfg.storage.dir;
    node.kv = actors::spawn_kv_service(sys, kv_options, env, node.writer, &metrics);
    actors::node_identity_view self_view;
    self_view.node_id = cfg.node_id;
    self_view.node_name = cfg.node_name;
    self_view.cluster_id = identity.value.cluster_id;
    self_view.raft_addr = advertised(cfg, cfg.raft_addr);
    self_view.http_addr = advertised(cfg, cfg.http_addr);
    self_view.kv_addr = advertised(cfg, cfg.kv_addr);
    self_view.partition_count = identity.value.partition_count;
    self_view.replication_factor = identity.value.replication_factor;
    self_view.joined_unix_ms = static_cast<int64_t>(identity.value.created_unix_ms);
    node.node = actors::spawn_node_actor(sys, self_view);

    auto context = std::make_shared<http::api::api_context>();
    context->node_id = cfg.node_id;
    context->node_name = cfg.node_name;
    context->partition_count = identity.value.partition_count;
    context->limits.key_bytes_max = cfg.limits.key_bytes_max;
    context->limits.value_bytes_max = cfg.limits.value_bytes_max;
    context->request_timeout = std::chrono::milliseconds(cfg.limits.request_timeout_ms);
    context->token = cfg.token;
    context->kv = node.kv;
    context->node = node.node;
    context->metrics = &metrics;
    if (start_servers(sys, cfg, context, metrics, node)) {
      CK_LOG_INFO("node: {} ({}) serving cluster API on {}, KV API on {}, cluster {}, data in {}",
                  cfg.node_id, cfg.node_name, cfg.http_addr.to_string(), cfg.kv_addr.to_string(),
                  identity.value.cluster_id, cfg.storage.dir);
      const int signal = wait_for_stop_signal();
      CK_LOG_INFO("node: {} received, stopping", signal == SIGTERM ? "SIGTERM" : "SIGINT");
    } else {
      result = exit_code::start_failed;
    }
    stop_node(sys, node);
  }
  auto synced = env->sync_now();
  if (!synced.ok()) {
    CK_LOG_ERROR("storage: final sync failed: {}", synced.to_string());
  }
  env.reset();
  CK_LOG_INFO("node: stopped");
  return result;
}

}  // namespace ck::runtime
