#include "actors/net_transport.hpp"

#include "actors/errc.hpp"
#include "actors/net_transport_state.hpp"
#include "actors/wire_hub.hpp"
#include "runtime/wire/tls_session.hpp"
#include "runtime/base/log.hpp"

#include <caf/actor_system.hpp>
#include <caf/binary_deserializer.hpp>
#include <caf/binary_serializer.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/scoped_actor.hpp>
#include <caf/send.hpp>
#include <caf/stateful_actor.hpp>

#include <algorithm>
#include <deque>
#include <map>
#include <optional>
#include <random>
#include <set>
#include <utility>

namespace ck::actors {

namespace transport_detail {

std::string address_of(const peer& p) {
  return p.host + ":" + std::to_string(p.port);
}

// Rough wire size of a message, for the batch byte bound.
size_t approx_size(const raft::message& m) {
  size_t n = 96 + m.context.size() + m.snap.data.size();
  for (auto& e : m.entries) {
    n += 32 + e.data.size();
  }
  return n;
}

// The peer `name` while this node has a connection to it, else null.
peer* connected_peer(pointer self, const std::string& name) {
  auto it = self->state.peers.find(name);
  return it == self->state.peers.end() || !it->second.handle ? nullptr : &it->second;
}

// errc::no_leader: nothing was sent, the caller may retry (route policy: unreachable).
caf::error no_connection(const std::string& name) {
  return caf::make_error(errc::no_leader, "no connection to " + name + " yet");
}

void schedule_flush(pointer self) {
  if (!self->state.flush_pending) {
    self->state.flush_pending = true;
    self->send(self, atoms::transport_flush_atom_v);
  }
}

void connect(pointer self, const std::string& name);

void schedule_connect(pointer self, peer& p) {
  auto& st = self->state;
  auto& o = st.options;
  if (p.backoff.count() == 0) {
    p.backoff = o.backoff_min;
  }
  auto base = p.backoff;
  std::uniform_int_distribution<int64_t> jitter(0, std::max<int64_t>(base.count() / 2, 1));
  auto delay = base + std::chrono::milliseconds(jitter(st.rng));
  p.backoff = std::min(o.backoff_max, base * 2);
  ++p.generation;
  self->delayed_send(self, delay, atoms::transport_connect_atom_v, p.name, p.generation);
}

// An empty batch: keeps the peer hearing from us, and lets a peer that did not dial adopt
// the connection at once (deliver: "it reached us first").
void send_empty_batch(pointer self, peer& p) {
  raft_batch empty;
  empty.from_node = self->state.options.node_name;
  empty.cluster_id = self->state.options.cluster_id;
  p.sent = std::chrono::steady_clock::now();
  wire_send_batch(self, p, empty);
}

void connect(pointer self, const std::string& name) {
  auto& st = self->state;
  auto it = st.peers.find(name);
  if (it == st.peers.end() || it->second.handle || it->second.connecting) {
    return;
  }
  auto& p = it->second;
  // One connection per pair is enough: the node with the smaller name dials; the other waits
  // dial_fallback for it, then dials too (the smaller may be unable to reach it, or down).
  // Two connections are harmless (both sides send on the same one, see wire_link), but each
  // costs a handshake and a broker.
  if (st.options.node_name > p.name && !p.waited_for_peer &&
      st.options.dial_fallback.count() > 0) {
    p.waited_for_peer = true;
    ++p.generation;
    self->delayed_send(self, st.options.dial_fallback, atoms::transport_connect_atom_v, p.name,
                       p.generation);
    return;
  }
  p.connecting = true;
  ++p.generation;
  wire_connect(self, p);
}

raft::message pop_queued(peer& p) {
  raft::message m = std::move(p.queue.front());
  p.queue.pop_front();
  p.queue_bytes -= approx_size(m);
  return m;
}

void drop_queue(peer& p) {
  p.stats.dropped += p.queue.size();
  p.queue.clear();
  p.queue_bytes = 0;
}

void enqueue(pointer self, peer& p, raft::message&& m) {
  auto& o = self->state.options;
  if (!p.handle && p.suspected) {
    // Lost, not yet back: a restarted peer resumes from the log it persisted, not from
    // what was sent to its previous life, and Raft resends what a live one missed. Holding
    // these would only cost memory (a node down for an hour under load) and, delivered
    // late, catch a restarted replica up by stale appends instead of a snapshot.
    ++p.stats.dropped;
    return;
  }
  p.queue_bytes += approx_size(m);
  p.queue.push_back(std::move(m));
  while (p.queue.size() > o.max_queue_messages ||
         (p.queue.size() > 1 && p.queue_bytes > o.max_queue_bytes)) {
    pop_queued(p);
    ++p.stats.dropped;
  }
}

void route(pointer self, raft_batch& batch) {
  auto& st = self->state;
  bool queued = false;
  for (auto& m : batch.messages) {
    auto local = st.routes.find({m.group, m.to});
    if (local != st.routes.end()) {
      self->send(local->second, atoms::raft_step_atom_v, std::move(m));
      continue;
    }
    auto node = st.replicas.find(m.to);
    if (node == st.replicas.end()) {
      ++st.unroutable;
      continue;
    }
    enqueue(self, st.peers[node->second], std::move(m));
    queued = true;
  }
  if (queued) {
    schedule_flush(self);
  }
}

void flush(pointer self) {
  auto& st = self->state;
  st.flush_pending = false;
  bool more = false;
  for (auto& [name, p] : st.peers) {
    if (!p.handle || p.queue.empty()) {
      continue;
    }
    raft_batch batch;
    batch.from_node = st.options.node_name;
    batch.cluster_id = st.options.cluster_id;
    size_t bytes = 0;
    while (!p.queue.empty() && batch.messages.size() < st.options.max_batch_messages) {
      auto size = approx_size(p.queue.front());
      if (!batch.messages.empty() && bytes + size > st.options.max_batch_bytes) {
        break;
      }
      bytes += size;
      batch.messages.push_back(pop_queued(p));
    }
    ++p.stats.sent_batches;
    p.stats.sent_messages += batch.messages.size();
    p.sent = std::chrono::steady_clock::now();
    wire_send_batch(self, p, batch);
    more = more || !p.queue.empty();
  }
  wire_send_outboxes(self);
  if (more) {
    schedule_flush(self);
  }
}

// Tells every local group that the replicas of `p` are suspected down (options.suspect_after).
void suspect(pointer self, peer& p, const char* why) {
  auto& st = self->state;
  if (p.suspected || st.options.suspect_after.count() == 0) {
    return;
  }
  p.suspected = true;
  std::vector<raft::node_id> ids;
  for (const auto& [id, name] : st.replicas) {
    if (name == p.name) {
      ids.push_back(id);
    }
  }
  if (ids.empty()) {
    return;
  }
  CK_LOG_INFO("transport: {} suspected down ({}): groups led there will elect anew", p.name, why);
  for (const auto& [key, group] : st.routes) {
    self->send(group, atoms::raft_forget_leader_atom_v, ids);
  }
}

// Sends an empty batch to every connected peer that got nothing for a heartbeat interval, and
// suspects the peers that were silent for options.suspect_after.
void heartbeat(pointer self) {
  auto& st = self->state;
  const auto now = std::chrono::steady_clock::now();
  for (auto& [name, p] : st.peers) {
    if (p.handle && now - p.sent >= st.options.heartbeat_interval) {
      send_empty_batch(self, p);
    }
    if (p.heard && now - *p.heard >= st.options.suspect_after) {
      suspect(self, p, "silent");
    }
  }
  if (st.wire) {
    wire_sweep_calls(self);
  }
  self->delayed_send(self, st.options.heartbeat_interval / 2, atoms::transport_heartbeat_atom_v);
}

void deliver(pointer self, raft_batch& batch) {
  auto& st = self->state;
  if (!st.options.cluster_id.empty() && !batch.cluster_id.empty() &&
      batch.cluster_id != st.options.cluster_id) {
    ++st.foreign_batches;
    if (st.foreign_reported.size() < 64 &&
        st.foreign_reported.insert(batch.from_node + "@" + batch.cluster_id).second) {
      CK_LOG_WARN("transport: dropping Raft messages from {} of cluster {} (this node is in "
                  "cluster {}): a node of another cluster is sending to this address",
                  batch.from_node, batch.cluster_id, st.options.cluster_id);
    }
    return;
  }
  if (!batch.messages.empty()) {  // empty ones are heartbeats
    ++st.received_batches;
    st.received_messages += batch.messages.size();
  }
  if (auto from = st.peers.find(batch.from_node); from != st.peers.end()) {
    auto& p = from->second;
    p.heard = std::chrono::steady_clock::now();  // the failure detectors' input
    p.suspected = false;
  }
  for (auto& m : batch.messages) {
    auto local = st.routes.find({m.group, m.to});
    if (local == st.routes.end()) {
      ++st.unroutable;  // a replica not (or no longer) here: lost, as on a network
      continue;
    }
    self->send(local->second, atoms::raft_step_atom_v, std::move(m));
  }
}

void drop_connection(pointer self, peer& p) {
  wire_close_links(self, p);
  p.handle = nullptr;
  p.connecting = false;
  p.stats.connected = false;
  p.backoff = std::chrono::milliseconds{0};
}

void on_lost(pointer self, peer& p, const std::string& why) {
  p.stats.connected = false;
  ++p.stats.disconnects;
  p.waited_for_peer = false;  // the peer, if it leads the dial, redials first
  CK_LOG_WARN("transport: lost {} ({})", p.name, why);
  suspect(self, p, "connection lost");
  if (p.suspected) {
    drop_queue(p);  // see enqueue: nothing is kept for a lost peer
  }
  schedule_connect(self, p);
}

caf::behavior net_transport_impl(pointer self, net_transport_options options) {
  self->state.rng.seed(options.seed);
  self->state.options = std::move(options);
  self->set_down_handler(
      [=](caf::down_msg& msg) { wire_on_down(self, msg.source, msg.reason); });
  self->set_default_handler(caf::drop);
  if (self->state.options.heartbeat_interval.count() > 0) {
    self->send(self, atoms::transport_heartbeat_atom_v);
  }
  return {
      [=](atoms::raft_send_atom, raft_batch& batch) { route(self, batch); },
      [=](atoms::snapshot_chunk_atom, snapshot_chunk& chunk) -> caf::result<uint64_t> {
        // From a local group: to the local target or the endpoint of the node hosting it
        // (whose transport then finds it local). The answer goes straight back.
        auto& st = self->state;
        auto local = st.routes.find({chunk.group, chunk.to});
        if (local != st.routes.end()) {
          return self->delegate(local->second, atoms::snapshot_chunk_atom_v, std::move(chunk));
        }
        auto node = st.replicas.find(chunk.to);
        auto peer = node == st.replicas.end() ? st.peers.end() : st.peers.find(node->second);
        if (peer == st.peers.end() || !peer->second.handle) {
          return caf::make_error(errc::no_leader, "no connection to the snapshot's target");
        }
        return wire_relay(self, peer->second, chunk);
      },
      [=](atoms::raft_register_atom, raft::group_id group, raft::node_id id,
          raft_group_actor& target) { self->state.routes[{group, id}] = std::move(target); },
      [=](atoms::transport_peer_atom, std::string& name, std::vector<raft::node_id>& ids,
          std::string& host, uint16_t port) {
        auto& st = self->state;
        for (auto i = st.replicas.begin(); i != st.replicas.end();) {
          i = i->second == name ? st.replicas.erase(i) : std::next(i);
        }
        for (auto id : ids) {
          st.replicas[id] = name;
        }
        auto& p = st.peers[name];
        p.name = name;
        p.stats.name = name;
        wire_adopt_strays(self, p);  // a joiner may have reached us before we knew of it
        if (p.host != host || p.port != port) {
          if (!p.host.empty()) {
            drop_connection(self, p);  // moved: what we hold goes to the old address
          }
          ++p.generation;
          p.host = std::move(host);
          p.port = port;
          p.stats.address = address_of(p);
          connect(self, name);
        }
      },
      [=](atoms::transport_cluster_atom, std::string& cluster_id) {
        if (self->state.wire) {
          self->send(self->state.wire, wire_cluster_atom::value, cluster_id);
        }
        self->state.options.cluster_id = std::move(cluster_id);
      },
      [=](atoms::transport_forget_atom, const std::string& name) {
        auto& st = self->state;
        auto it = st.peers.find(name);
        if (it == st.peers.end()) {
          return;
        }
        // Its groups' leaders there may have gone quiet: without this their followers would
        // wait for a heartbeat that never comes.
        suspect(self, it->second, "no longer a member");
        drop_connection(self, it->second);
        st.peers.erase(it);
        for (auto i = st.replicas.begin(); i != st.replicas.end();) {
          i = i->second == name ? st.replicas.erase(i) : std::next(i);
        }
      },
      [=](atoms::transport_stats_atom) {
        auto& st = self->state;
        transport_stats out;
        out.node_name = st.options.node_name;
        out.port = st.port;
        out.received_batches = st.received_batches;
        out.received_messages = st.received_messages;
        out.unroutable = st.unroutable;
        out.foreign_batches = st.foreign_batches;
        const auto now = std::chrono::steady_clock::now();
        for (auto& [name, p] : st.peers) {
          auto row = p.stats;
          row.queued = p.queue.size();
          if (p.heard) {
            row.last_heard_ms_ago =
                std::chrono::duration_cast<std::chrono::milliseconds>(now - *p.heard).count();
          }
          out.peers.push_back(std::move(row));
        }
        return out;
      },
      [=](atoms::transport_flush_atom) { flush(self); },
      [=](atoms::transport_heartbeat_atom) { heartbeat(self); },
      [=](atoms::transport_connect_atom, const std::string& name, uint64_t generation) {
        auto it = self->state.peers.find(name);
        if (it != self->state.peers.end() && it->second.generation == generation) {
          connect(self, name);
        }
      },
      [=](atoms::partition_attach_atom, partition_route_handler_actor& handler) {
        self->state.partition_handler = std::move(handler);
      },
      [=](atoms::transport_partition_relay_atom, const std::string& name,
          partition_request& request) -> caf::result<partition_reply> {
        peer* p = connected_peer(self, name);
        if (p == nullptr) {
          return no_connection(name);
        }
        return wire_relay(self, *p, request);
      },
      [=](atoms::service_attach_atom, std::string& name, service_handler_actor& handler) {
        self->state.services[std::move(name)] = std::move(handler);
      },
      [=](atoms::service_relay_atom, const std::string& name,
          service_call& call) -> caf::result<std::string> {
        peer* p = connected_peer(self, name);
        if (p == nullptr) {
          return no_connection(name);
        }
        return wire_relay(self, *p, call);
      },
      [=](caf::actor& hub, uint16_t port) {  // from spawn_net_transport
        self->state.wire = std::move(hub);
        self->state.port = port;
        for (auto& [name, p] : self->state.peers) {
          connect(self, name);  // peers added before the hub was there
        }
      },
      [=](wire_up_atom, const std::string& peer, const std::string& cluster, caf::actor& conn,
          bool dialed, uint64_t generation) {
        wire_on_up(self, peer, cluster, std::move(conn), dialed, generation);
      },
      [=](wire_frame_atom, const std::string& peer, const std::string& types,
          std::vector<std::string>& bodies) {
        const auto conn = caf::actor_cast<caf::actor>(self->current_sender());
        for (size_t k = 0; k < bodies.size() && k < types.size(); ++k) {
          wire_on_frame(self, conn, peer, static_cast<uint8_t>(types[k]), bodies[k]);
        }
      },
      [=](wire_failed_atom, const std::string& peer, uint64_t generation,
          const std::string& why) { wire_on_failed(self, peer, generation, why); },
  };
}

template <class T>
bool round_trips(caf::actor_system& sys, T value) {
  std::vector<char> first;
  caf::binary_serializer sink{sys, first};
  if (sink(value)) {
    return false;
  }
  T copy;
  caf::binary_deserializer source{sys, first};
  if (source(copy)) {
    return false;
  }
  std::vector<char> second;
  caf::binary_serializer again{sys, second};
  if (again(copy)) {
    return false;
  }
  return first == second;
}

}  // namespace transport_detail

caf::expected<net_transport> spawn_net_transport(caf::actor_system& sys,
                                                 net_transport_options options) {
  using namespace transport_detail;
  wire_options wire;
  wire.node_name = options.node_name;
  wire.cluster_id = options.cluster_id;
  wire.token = options.token;
  wire.previous_token = options.previous_token;
  wire.host = options.host;
  wire.port = options.port;
  wire.counters = options.counters;
  if (!options.tls_ca.empty()) {
    std::string error;
    wire.tls = wire::tls_context::load(options.tls_ca, options.tls_cert, options.tls_key, error);
    if (!wire.tls) {
      return caf::make_error(caf::sec::invalid_argument, error);
    }
  }
  const std::string name = options.node_name;
  const std::string host = options.host;
  const bool tls = wire.tls != nullptr;
  auto handle = sys.spawn(net_transport_impl, std::move(options));
  auto hub = spawn_wire_hub(sys, std::move(wire), handle);
  if (!hub) {
    caf::anon_send_exit(handle, caf::exit_reason::user_shutdown);
    return std::move(hub.error());
  }
  caf::anon_send(handle, hub->actor, hub->port);
  CK_LOG_INFO("transport: {} listening at {}:{}{}", name, host, hub->port,
              tls ? " (mutual TLS)" : "");
  return net_transport{caf::actor_cast<net_transport_actor>(handle), hub->port, hub->actor};
}

bool check_wire_types(caf::actor_system& sys) {
  raft::entry e;
  e.term = 3;
  e.index = 7;
  e.data = "payload";
  raft::message m;
  m.group = 5;
  m.from = 1;
  m.to = 2;
  m.term = 3;
  m.log_term = 2;
  m.index = 6;
  m.commit = 4;
  m.entries = {e, e};
  m.reject = true;
  m.reject_hint = 1;
  m.reject_hint_term = 1;
  m.snap.data = "image";
  m.context = "ctx";
  raft_batch batch;
  batch.from_node = "node-1";
  batch.cluster_id = "c-1";
  batch.messages = {m, m};
  raft::hard_state hard;
  hard.term = 9;
  hard.vote = 2;
  hard.commit = 8;
  transport_stats stats;
  stats.node_name = "node-1";
  stats.peers.resize(2);
  stats.peers[0].name = "node-2";
  using transport_detail::round_trips;
  return round_trips(sys, e) && round_trips(sys, m) && round_trips(sys, batch) &&
         round_trips(sys, hard) && round_trips(sys, raft::conf_state{}) &&
         round_trips(sys, raft::snapshot_meta{}) && round_trips(sys, raft::snapshot{}) &&
         round_trips(sys, raft::conf_change{}) && round_trips(sys, raft_propose_reply{1, "r"}) &&
         round_trips(sys, raft::status_info{}) && round_trips(sys, stats);
}

}  // namespace ck::actors
