#include "runtime/node/assembly.hpp"

#include "actors/cluster_member.hpp"
#include "actors/net_transport.hpp"
#include "actors/raft_log_writer.hpp"
#include "actors/type_ids.hpp"
#include "http/api/cluster_api.hpp"
#include "http/server.hpp"
#include "runtime/node/join_cluster.hpp"
#include "runtime/base/log.hpp"
#include "runtime/base/metrics.hpp"
#include "runtime/base/storage_health.hpp"
#include "runtime/cluster/machine_command.hpp"
#include "runtime/io/io_thread_scheduler.hpp"
#include "runtime/node/context.hpp"
#include "runtime/node/entity_host.hpp"
#include "runtime/node/service_host.hpp"
#include "runtime/node/tls_files.hpp"
#include "runtime/node/token_check.hpp"
#include "runtime/node/extensions.hpp"
#include "runtime/node/node_identity.hpp"
#include "storage/partition_state.hpp"
#include "runtime/raft/bootstrap.hpp"
#include "storage/environment.hpp"
#include "storage/journaled_log.hpp"
#include "storage/table_overlay.hpp"
#include "storage/raft_log_store.hpp"
#include "storage/snapshot_coverage.hpp"

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/io/middleman.hpp>
#include <caf/scoped_actor.hpp>

#include <csignal>
#include <cstdlib>
#include <unistd.h>
#include <cstdio>
#include <thread>

namespace ck::runtime {

namespace {

// How long a stop waits for in-flight HTTP requests before closing their connections.
constexpr auto drain_deadline = std::chrono::seconds(10);
// Partition groups go quiet when idle (raft::config::quiesce), with the transport's failure
// detector (net_transport_options::suspect_after) to wake them: both or neither. Idle CPU with
// both: 0.5% (1 x 64), 1.6% (3 x 64), 11.6% (9 x 1024) of a core, against 2.6%, 23.7% and
// 24.5% without.
constexpr bool partitions_quiesce = true;

void fail_line(const std::string& line) {
  std::fprintf(stderr, "clusterkit: %s\n", line.c_str());
  std::fflush(stderr);
}

// CAF settings fixed by the project (caf-notes.md): no more scheduler threads than cores,
// the sharing scheduler (no idle polling),
// no stray INI file, every message type announced, and BASP heartbeats with the same values
// on every node (without them a frozen peer is never detected; with them on only some nodes,
// idle links flap).
void configure_actor_system(caf::actor_system_config& cfg, const config::node_config& node) {
  const unsigned cores = std::max(1u, std::thread::hardware_concurrency());
  const size_t threads = node.threads == 0 ? cores : node.threads;
  cfg.set("scheduler.max-threads", threads);
  // One shared run queue with a condition variable instead of work stealing: stealing
  // workers poll with 50 us sleeps while messages trickle in (an idle node's timers), about
  // 10,000 clock_nanosleep calls a second. Measured (bench/idle_cpu.sh, bench/kv_cluster.sh,
  // 2 cores): idle 1 node x 64 partitions 20.3% -> 2.6% of a core, 3 nodes 78.7% -> 23.7%;
  // under load set 808 -> 1,154 req/s (16 conns), get 5,439 -> 9,048 (64 conns).
  cfg.set("scheduler.policy", caf::atom("sharing"));
  cfg.set("logger.verbosity", caf::atom("quiet"));
  // The I/O layer for the brokers (HTTP servers, the transport's sockets); nothing speaks
  // BASP, so its heartbeat settings do not matter.
  cfg.load<caf::io::middleman>();
  // One read per readiness event: with CAF's default (50) every event ends in a read that
  // fails with EAGAIN, a wasted recvfrom for each of the many small messages of a write's
  // path. The poller is level-triggered, so a socket with more to read is reported again.
  cfg.set("middleman.max-consecutive-reads", size_t{1});
  // One thread: the I/O thread runs the actors too (runtime/io/io_thread_scheduler.hpp).
  if (threads == 1) {
    io::use_io_thread_scheduler(cfg);
  }
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
  opts.connections_per_client_max = node.limits.per_client_max;
  opts.request_read_timeout = std::chrono::milliseconds(node.limits.read_timeout_ms);
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
  actors::event_bus_actor events;
  caf::actor entities;  // the entity host, when entity types are registered
  caf::actor services;  // the service host, when services are registered
  actors::raft_log_writer_actor raft_writer;
  actors::net_transport_actor transport;
  actors::cluster_member_actor member;
  actors::partition_host_actor host;
  std::vector<caf::actor> servers;
};

// What add_extension_routes does with a route the router serves already.
enum class on_clash {
  fail,  // false and one line: two handlers for one route is a mistake in the binary
  keep,  // the router's own handler stays (mirroring one API's routes onto another)
};

// Adds the extensions' routes for `which` listener.
bool add_extension_routes(http::router& routes, node::api which, const node::extensions& ext,
                          const std::shared_ptr<const node::context>& node_context,
                          const config::node_config& cfg, on_clash clash = on_clash::fail) {
  for (const auto& r : ext.routes()) {
    if (r.api != which) {
      continue;
    }
    if (routes.route(r.method, r.path).target != nullptr) {
      if (clash == on_clash::keep) {
        continue;
      }
      fail_line("route " + r.method + " " + r.path + " is already served by this node");
      return false;
    }
    const bool guarded = r.access == node::access::write || cfg.protect_reads;
    routes.add(r.method, r.path,
               [node_context, handler = r.handler, guarded, token = cfg.token,
                previous = cfg.previous_token](caf::io::broker* self, http::request& req,
                                               http::responder reply) {
                 if (guarded && http::api::refused_without_token(req, {token, previous}, reply)) {
                   return;
                 }
                 handler(*node_context, self, req, std::move(reply));
               });
  }
  return true;
}

// Starts both HTTP servers; on failure prints why and stops what it started.
bool start_servers(caf::actor_system& sys, const config::node_config& cfg,
                   const std::shared_ptr<const http::api::api_context>& context,
                   const std::shared_ptr<const node::context>& node_context,
                   const node::extensions& ext, node_metrics& metrics, running_node& node) {
  auto cluster_routes = std::make_shared<http::router>();
  http::api::add_cluster_routes(*cluster_routes, context);
  auto kv_routes = std::make_shared<http::router>();
  if (!add_extension_routes(*cluster_routes, node::api::cluster, ext, node_context, cfg) ||
      !add_extension_routes(*kv_routes, node::api::kv, ext, node_context, cfg)) {
    return false;
  }
  // The cluster API answers the KV API's routes too: clients that know a node only by its
  // HTTP address (the original ClusterKit smart client sends /kv/* to cluster.nodes[].ip)
  // reach the store there. A route both APIs define keeps the cluster API's handler.
  add_extension_routes(*cluster_routes, node::api::kv, ext, node_context, cfg, on_clash::keep);
  struct listener {
    const char* setting;
    const config::host_port& addr;
    std::shared_ptr<http::router> routes;
    const char* name;
  };
  // The KV API first: a client that waited for the cluster API's /health may use the KV API
  // at once (a test under ASan found it refused in between).
  for (const listener& l : {listener{"KV_ADDR", cfg.kv_addr, kv_routes, "kv-api"},
                            listener{"HTTP_ADDR", cfg.http_addr, cluster_routes, "cluster-api"}}) {
    auto started =
        http::start_server(sys, l.routes, server_options_for(cfg, l.addr, l.name, &metrics));
    if (!started) {
      fail_line("cannot listen on " + std::string{l.setting} + " " + l.addr.to_string() + ": " +
                sys.render(started.error()));
      return false;
    }
    node.servers.push_back(started->first);
  }
  return true;
}

// The registered state machines must match the ones the DATA_DIR's data was written for (a
// machine's position is its storage slot); a DATA_DIR without the record takes them.
bool check_machine_slots(storage::environment& env, const config::node_config& cfg,
                         const node::extensions& ext) {
  std::vector<std::string> registered;
  for (const auto& m : ext.machines()) {
    registered.push_back(m.name);
  }
  auto stored = storage::load_machine_names(env);
  if (!stored.ok()) {
    fail_line("cannot read the state machine names in " + cfg.storage.dir + ": " +
              stored.status().to_string());
    return false;
  }
  if (stored.value()) {
    if (auto bad = cluster::machine_slots_mismatch(*stored.value(), registered); !bad.empty()) {
      fail_line(bad);
      return false;
    }
    if (stored.value()->size() == registered.size()) {
      return true;
    }
  }
  auto saved = storage::save_machine_names(env, registered);
  if (!saved.ok()) {
    fail_line("cannot record the state machine names in " + cfg.storage.dir + ": " +
              saved.to_string());
    return false;
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
        .receive(
            [](caf::ok_atom) {},
            [](caf::error& e) { CK_LOG_WARN("http: drain did not finish: {}", to_string(e)); });
    self->send_exit(server, caf::exit_reason::user_shutdown);
  }
  // The member takes its (linked) meta group replica with it; the transport is published, so
  // ~actor_system would wait for it forever if it were left running.
  for (const caf::actor& a :
       {node.services, node.entities, caf::actor_cast<caf::actor>(node.member),
        caf::actor_cast<caf::actor>(node.host), caf::actor_cast<caf::actor>(node.raft_writer),
        caf::actor_cast<caf::actor>(node.transport), caf::actor_cast<caf::actor>(node.events)}) {
    if (a) {
      self->send_exit(a, caf::exit_reason::user_shutdown);
      self->wait_for(a);
    }
  }
}

std::string journal_dir(const config::node_config& cfg) { return cfg.storage.dir + "/journal"; }

// The journal when the node writes through one (storage.journal with storage.sync), else null.
// A journal an earlier run left (the switch was on then) is replayed either way: its synced
// batches were acknowledged, and LMDB holds them only once they are replayed and checkpointed.
storage::result<std::shared_ptr<storage::journaled_log>> open_journal(
    storage::environment& env, storage::raft_log_store& store, const config::node_config& cfg) {
  const bool wanted = cfg.storage.journal && cfg.storage.sync;
  if (!wanted && ::access(journal_dir(cfg).c_str(), F_OK) != 0) {
    return std::shared_ptr<storage::journaled_log>{};
  }
  storage::journal_recovery found;
  auto opened = storage::journaled_log::open(env, store, journal_dir(cfg), &found);
  if (!opened.ok()) {
    return opened.status();
  }
  if (found.records > 0 || found.torn_bytes > 0) {
    CK_LOG_INFO("storage: journal replayed {} records from {} segments{}", found.records,
                found.segments,
                found.torn_bytes == 0 ? std::string{}
                                      : fmt::format(", cut a torn tail of {} bytes ({})",
                                                    found.torn_bytes, found.torn_tail));
  }
  if (!wanted) {
    CK_LOG_INFO("storage: journal of an earlier run replayed; writing without it (storage.journal "
                "is off)");
    return std::shared_ptr<storage::journaled_log>{};
  }
  return std::shared_ptr<storage::journaled_log>{std::move(opened.value())};
}

// Writes the founding membership (voter: raft id 1) of the meta group and of every partition
// group into the founder's empty logs, in one transaction. A founder that crashed before that
// write does it on restart. Done once: the meta group's log (never dropped) says it happened.
// Partition logs may be empty later for another reason (the replica moved away and its log was
// dropped); founding one of those again would start a second group under the same id.
bool persist_founding(storage::raft_log_store& store, uint32_t partition_count,
                      const std::string& dir) {
  if (store.group(0).last_index() != 0) {
    return true;
  }
  const auto boot = raft::make_bootstrap(raft::conf_state{{1}, {}});
  std::vector<storage::group_write> writes;
  for (raft::group_id group = 0; group <= partition_count; ++group) {
    storage::group_write write;
    write.group = group;
    write.entries = boot.entries;
    write.hard = boot.hard;
    writes.push_back(std::move(write));
  }
  auto written = store.write(writes);
  if (!written.ok()) {
    fail_line("cannot write the founding Raft state to " + dir + ": " + written.to_string());
    return false;
  }
  return true;
}

actors::join_request join_request_for(const config::node_config& cfg, const node::extensions& ext) {
  actors::join_request self;
  self.id = cfg.node_id;
  self.name = cfg.node_name;
  self.raft_addr = advertised(cfg, cfg.raft_addr);
  self.http_addr = advertised(cfg, cfg.http_addr);
  self.kv_addr = advertised(cfg, cfg.kv_addr);
  self.services = {{"kv", self.kv_addr}};
  // Node services are reached through the transport, at the node's raft address.
  for (const auto& service : ext.services()) {
    self.services[service.name] = self.raft_addr;
  }
  return self;
}

actors::cluster_member_options member_options(const config::node_config& cfg,
                                              const storage::node_identity& identity,
                                              std::vector<actors::join_member> seed_members,
                                              runtime::node_metrics* metrics,
                                              const node::extensions& ext) {
  actors::cluster_member_options o;
  const auto self = join_request_for(cfg, ext);
  o.self = self;
  o.cluster_id = identity.cluster_id;
  o.partition_count = identity.partition_count;
  o.replication_factor = identity.replication_factor;
  o.founder = identity.meta_raft_id == 1;
  o.seed_members = std::move(seed_members);
  o.liveness.suspect_after_ms = cfg.membership.suspect_after_ms;
  o.liveness.dead_after_ms = cfg.membership.dead_after_ms;
  o.meta_voters_max = cfg.membership.meta_voters_max;
  o.tick_interval = std::chrono::milliseconds(std::max<uint32_t>(cfg.raft_timing.tick_ms * 2, 50));
  o.meta_group.raft.id = identity.meta_raft_id;
  o.meta_group.raft.group = 0;
  o.meta_group.raft.heartbeat_ticks = cfg.raft_timing.heartbeat_ticks;
  o.meta_group.raft.election_ticks = cfg.raft_timing.election_ticks;
  o.meta_group.node_name = cfg.node_id;
  o.meta_group.tick_interval = std::chrono::milliseconds(cfg.raft_timing.tick_ms);
  o.meta_group.metrics = metrics;
  o.partitions.group.metrics = metrics;
  o.partitions.metrics = metrics;
  // The meta state machine lives in memory and is rebuilt from the log at every start, so
  // the meta log is never compacted (meta commands are rare: joins, status changes).
  o.meta_group.snapshot_every_entries = 0;
  o.partitions.group.raft.heartbeat_ticks = cfg.raft_timing.heartbeat_ticks;
  o.partitions.group.raft.election_ticks = cfg.raft_timing.election_ticks;
  o.partitions.group.raft.quiesce = partitions_quiesce;
  o.partitions.group.raft.defer_commit_broadcast = true;
  o.partitions.group.node_name = cfg.node_id;
  o.partitions.group.tick_interval = std::chrono::milliseconds(cfg.raft_timing.tick_ms);
  o.partitions.group.snapshot_every_entries = cfg.raft_timing.snapshot_entries;
  o.partitions.group.snapshot_every_bytes = cfg.raft_timing.snapshot_bytes;
  // One clock for all the node's partition groups: see raft_group_options.
  o.partitions.group.last_chunk_received_ms = std::make_shared<std::atomic<int64_t>>(0);
  o.partitions.group.snapshot_keep_entries = cfg.raft_timing.snapshot_keep_entries;
  o.partitions.group.snapshot_keep_bytes = cfg.raft_timing.snapshot_keep_bytes;
  o.partitions.load_follow.enabled = cfg.leader_follows_load;
  o.partitions.request_deadline =
      std::chrono::milliseconds(std::max<uint32_t>(cfg.limits.request_timeout_ms, 1000) - 500);
  return o;
}

}  // namespace

exit_code run_node(const config::node_config& cfg, const node::extensions& ext) {
  if (cfg.tls.enabled()) {
    if (auto bad = node::check_tls_files(cfg.tls); !bad.empty()) {
      fail_line(bad);
      return exit_code::start_failed;
    }
  }
  storage::environment_options env_options;
  env_options.dir = cfg.storage.dir;
  env_options.map_size_bytes = cfg.storage.map_size_bytes;
  env_options.map_size_max_bytes = cfg.storage.map_size_max_bytes;
  // Commits sync their data pages, and the log writer's sync_now() after each batch makes
  // the batch durable (meta page included) before it is acknowledged: one fsync per commit
  // plus one per batch, and an environment that a power loss cannot corrupt (see
  // environment_options::defer_meta_sync). STORAGE_SYNC=false: no fsync at all.
  env_options.sync = cfg.storage.sync;
  env_options.defer_meta_sync = true;
  auto opened = storage::environment::open(env_options);
  if (!opened.ok()) {
    fail_line("cannot open storage (DATA_DIR " + cfg.storage.dir +
              "): " + opened.status().to_string());
    return exit_code::start_failed;
  }
  std::shared_ptr<storage::environment> env = std::move(opened.value());
  auto identity = establish_identity(*env, cfg);
  if (!identity.ok) {
    fail_line(identity.error_line);
    return identity.code;
  }
  if (!identity.needs_join) {  // a joiner's token is checked by the cluster, then recorded
    if (auto bad = node::check_token(*env, cfg); !bad.empty()) {
      fail_line(bad);
      return exit_code::bad_config;
    }
  }
  auto raft_store = storage::raft_log_store::open(*env);
  if (!raft_store.ok()) {
    fail_line("cannot open the raft log in " + cfg.storage.dir + ": " +
              raft_store.status().to_string());
    return exit_code::start_failed;
  }
  std::shared_ptr<storage::raft_log_store> store = std::move(raft_store.value());
  auto journal = open_journal(*env, *store, cfg);
  if (!journal.ok()) {
    fail_line("cannot replay the journal in " + journal_dir(cfg) + ": " +
              journal.status().to_string());
    return exit_code::start_failed;
  }
  if (const storage::status covered = storage::check_snapshots_covered(*env, *store);
      !covered.ok()) {
    fail_line("cannot start on DATA_DIR " + cfg.storage.dir + ": " + covered.message());
    return exit_code::start_failed;
  }
  if (!check_machine_slots(*env, cfg, ext)) {
    return exit_code::start_failed;
  }
  auto machines = std::make_shared<const actors::machine_types>(ext.machines());
  node_metrics metrics;
  exit_code result = exit_code::ok;
  {
    caf::actor_system_config caf_cfg;
    configure_actor_system(caf_cfg, cfg);
    caf::actor_system sys{caf_cfg};
    const io::io_thread_routing io_routing{sys};  // ends before sys: see there
    running_node node;
    if (!actors::check_wire_types(sys)) {
      fail_line("internal error: a message type does not survive serialization");
      return exit_code::start_failed;
    }
    actors::net_transport_options transport_options;
    transport_options.node_name = cfg.node_id;
    transport_options.host = cfg.raft_addr.host;
    transport_options.port = cfg.raft_addr.port;
    transport_options.seed = std::hash<std::string>{}(cfg.node_id);
    if (cfg.tls.enabled()) {
      transport_options.tls_ca = cfg.tls.ca;
      transport_options.tls_cert = cfg.tls.cert;
      transport_options.tls_key = cfg.tls.key;
    }
    transport_options.token = cfg.token;
    transport_options.previous_token = cfg.previous_token;
    auto& port_figures = metrics.add_section("transport");
    const struct {
      runtime::counter** slot;
      const char* name;
      const char* help;
    } port_counters[] = {
        {&transport_options.counters.connections_refused, "connections_refused",
         "Connections to the Raft port closed at once: beyond the connection or handshake caps."},
        {&transport_options.counters.handshakes_failed, "handshakes_failed",
         "Connections to the Raft port that did not authenticate (TLS or token handshake)."},
        {&transport_options.counters.forged_batches, "forged_batches",
         "Raft batches dropped for naming another sender than their connection's node."},
        {&transport_options.counters.bad_frames, "bad_frames",
         "Frames from authenticated peers that did not decode."},
    };
    for (const auto& c : port_counters) {
      *c.slot = &port_figures.add_counter(
          c.name, std::string{"clusterkit_transport_"} + c.name + "_total", c.help);
    }
    transport_options.cluster_id = identity.value.cluster_id;  // "" until a joiner joined
    if (!partitions_quiesce) {
      // Groups that heartbeat notice a dead leader by themselves; suspicions would only
      // add elections after a transient connection loss.
      transport_options.suspect_after = std::chrono::milliseconds{0};
    }
    auto transport = actors::spawn_net_transport(sys, transport_options);
    if (!transport) {
      fail_line("cannot listen on RAFT_ADDR " + cfg.raft_addr.to_string() + ": " +
                sys.render(transport.error()));
      return exit_code::start_failed;
    }
    node.transport = transport->actor;

    std::vector<actors::join_member> seed_members;
    bool stopped = false;
    if (identity.needs_join) {
      auto joined = join_cluster(cfg, join_request_for(cfg, ext));
      if (joined.ok) {
        identity =
            save_joined_identity(*env, cfg, joined.reply.cluster_id, joined.reply.partition_count,
                                 joined.reply.replication_factor, joined.reply.raft_id);
        seed_members = std::move(joined.reply.members);
        caf::anon_send(node.transport, atoms::transport_cluster_atom_v, joined.reply.cluster_id);
        if (!identity.ok) {
          fail_line(identity.error_line);
          result = identity.code;
        } else if (auto bad = node::check_token(*env, cfg); !bad.empty()) {
          fail_line(bad);
          result = exit_code::start_failed;
        }
      } else if (joined.stopped) {
        CK_LOG_INFO("node: stop signal received while joining");
        stopped = true;
      } else {
        fail_line(joined.error_line);
        result = joined.code;
      }
    } else if (identity.value.meta_raft_id == 1 &&
               !persist_founding(*store, identity.value.partition_count, cfg.storage.dir)) {
      result = exit_code::start_failed;
    }
    if (result == exit_code::ok && !stopped) {
      // Commits defer their meta page (defer_meta_sync): make the identity durable now.
      auto synced = env->sync_now();
      if (!synced.ok()) {
        fail_line("cannot sync DATA_DIR " + cfg.storage.dir + ": " + synced.to_string());
        result = exit_code::start_failed;
      }
    }
    if (stopped || result != exit_code::ok) {
      stop_node(sys, node);
      return result;
    }

    // The log writer's sync after each flush is the node's durability point (a commit syncs
    // only its data pages; the meta page that makes it current is synced there).
    // A full disk makes the writer wait and retry instead of failing the groups, and the
    // groups refuse proposals meanwhile (runtime/base/storage_health.hpp).
    auto storage_health = std::make_shared<runtime::storage_health>(cfg.storage.dir);
    std::shared_ptr<storage::table_overlay> overlay;
    if (journal.value()) {
      overlay = std::make_shared<storage::table_overlay>();
      actors::journal_mode mode;
      mode.journal = journal.value();
      mode.overlay = overlay;
      mode.health = storage_health;
      mode.metrics = &metrics;
      // As etcd does on a WAL failure: stop. What was acknowledged is in the journal, and a
      // restart replays it; a node that went on would fail every write of every group.
      mode.on_broken = [dir = journal_dir(cfg)](const std::string& why) {
        fail_line("the journal in " + dir + " failed, the node stops (a restart replays it): " +
                  why);
        std::_Exit(static_cast<int>(exit_code::start_failed));
      };
      node.raft_writer = actors::spawn_journaled_raft_log_writer(sys, store, env, std::move(mode));
    } else {
      node.raft_writer = actors::spawn_raft_log_writer(
          sys, store, cfg.storage.sync ? env : nullptr, storage_health);
    }
    auto options = member_options(cfg, identity.value, std::move(seed_members), &metrics, ext);
    options.meta_group.storage = storage_health;
    options.partitions.group.storage = storage_health;
    options.partitions.machines = machines;
    options.partitions.overlay = overlay;
    auto local = std::make_shared<actors::local_replicas>();
    options.partitions.local = local;
    // A removed node stops as on SIGTERM: the same path as an operator's stop.
    options.on_removed = [] { ::kill(::getpid(), SIGTERM); };
    node.events = actors::spawn_event_bus(sys);
    options.events = node.events;
    auto member = actors::spawn_cluster_member(sys, std::move(options), env, store,
                                               node.raft_writer, node.transport);
    node.member = member.member;
    node.host = member.host;

    auto context = std::make_shared<http::api::api_context>();
    context->node_id = cfg.node_id;
    context->node_name = cfg.node_name;
    context->partition_count = identity.value.partition_count;
    context->limits.key_bytes_max = cfg.limits.key_bytes_max;
    context->limits.value_bytes_max = cfg.limits.value_bytes_max;
    context->request_timeout = std::chrono::milliseconds(cfg.limits.request_timeout_ms);
    context->token = cfg.token;
    context->previous_token = cfg.previous_token;
    context->protect_reads = cfg.protect_reads;
    context->partitions = node.host;
    context->node = caf::actor_cast<actors::node_actor>(node.member);
    context->join = caf::actor_cast<actors::join_handler_actor>(node.member);
    context->events = node.events;
    context->metrics = &metrics;
    context->storage = storage_health;
    node::context::settings node_settings;
    node_settings.node_id = cfg.node_id;
    node_settings.partition_count = identity.value.partition_count;
    node_settings.request_timeout = context->request_timeout;
    for (const auto& m : ext.machines()) {
      node_settings.machines.push_back(m.name);
    }
    node_settings.partitions = node.host;
    node_settings.events = node.events;
    for (const auto& t : ext.entity_types()) {
      node_settings.entity_types.push_back(t.name);
    }
    node_settings.env = env;
    node_settings.local = local;
    node_settings.overlay = overlay;
    node_settings.metrics = &metrics;
    node_settings.config = std::make_shared<const config::node_config>(cfg);
    // The service host starts at its first message, once the context (which holds its handle)
    // exists.
    auto context_slot = std::make_shared<const node::context*>(nullptr);
    if (!ext.services().empty()) {
      auto host =
          node::detail::spawn_service_host(sys, context_slot, ext.services(), node.transport);
      node_settings.services = host;
      for (const auto& service : ext.services()) {
        caf::anon_send(node.transport, atoms::service_attach_atom_v, service.name,
                       caf::actor_cast<actors::service_handler_actor>(host));
      }
      node.services = caf::actor_cast<caf::actor>(host);
    }
    auto node_context = std::make_shared<const node::context>(std::move(node_settings));
    *context_slot = node_context.get();
    for (const auto& m : ext.metrics()) {
      m.define(metrics.add_section(m.name), *node_context);
    }
    if (node.services) {
      node_context->subscribe(node.services);
      caf::anon_send(node.services, atoms::events_atom_v, std::vector<cluster::cluster_event>{});
    }
    if (!ext.entity_types().empty()) {
      auto host = node::detail::spawn_entity_host(
          sys, node_context.get(),
          std::make_shared<const std::vector<node::entity_type>>(ext.entity_types()));
      caf::anon_send(node.host, atoms::entity_attach_atom_v,
                     caf::actor_cast<actors::entity_host_actor>(host));
      node_context->subscribe(host);
      node.entities = caf::actor_cast<caf::actor>(host);
    }
    if (start_servers(sys, cfg, context, node_context, ext, metrics, node)) {
      for (const auto& hook : ext.start_hooks()) {
        hook(sys, *node_context);
      }
      CK_LOG_INFO(
          "node: {} ({}) serving cluster API on {}, KV API on {}, raft on {}, cluster {}, "
          "data in {}",
          cfg.node_id, cfg.node_name, cfg.http_addr.to_string(), cfg.kv_addr.to_string(),
          cfg.raft_addr.to_string(), identity.value.cluster_id, cfg.storage.dir);
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
  journal = std::shared_ptr<storage::journaled_log>{};  // checkpointed as the writer stopped
  store.reset();
  env.reset();
  CK_LOG_INFO("node: stopped");
  return result;
}

}  // namespace ck::runtime
