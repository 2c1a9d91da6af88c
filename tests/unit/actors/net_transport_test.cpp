// The net transport over real loopback TCP: two or three caf::actor_systems in this process,
// each with its own net_transport published on 127.0.0.1. A 3-replica Raft group over the
// network, connecting to a peer that starts late, a peer restart on the same port, batching
// per peer, and the wire-type self-test. Every wait is bounded by a deadline and fails with a
// message saying what did not happen.

#include "actors/net_transport.hpp"
#include "actors/raft_group.hpp"
#include "actors/raft_log_writer.hpp"
#include "actors/type_ids.hpp"
#include "actors/wire_codec.hpp"
#include "runtime/raft/bootstrap.hpp"
#include "storage/environment.hpp"
#include "storage/raft_log_store.hpp"

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/io/middleman.hpp>
#include <caf/scoped_actor.hpp>
#include <caf/typed_event_based_actor.hpp>
#include <doctest/doctest.h>

#include "tests/unit/actors/vector_machine.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <array>
#include <atomic>
#include <chrono>
#include <filesystem>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

using namespace ck;
using ck::test::vector_machine;
using namespace std::chrono_literals;

namespace {

constexpr raft::group_id test_group = 1;
constexpr auto wait_max = 20s;  // generous for a loaded 2-core machine; a pass takes far less

// A port nothing listens on right now (bound to 0, then closed).
uint16_t free_port() {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  REQUIRE(fd >= 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  REQUIRE(::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0);
  socklen_t len = sizeof(addr);
  REQUIRE(::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) == 0);
  ::close(fd);
  return ntohs(addr.sin_port);
}

// Polls `done` every 10 ms until it holds or the deadline passes.
bool eventually(const std::function<bool()>& done, std::chrono::seconds limit = wait_max) {
  const auto deadline = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < deadline) {
    if (done()) {
      return true;
    }
    std::this_thread::sleep_for(10ms);  // poll pace, bounded by the deadline
  }
  return done();
}

// One node: an actor system with its transport and (optionally) one replica of test_group.
struct node {
  std::string name;
  raft::node_id id = 0;
  uint16_t port = 0;
  std::filesystem::path dir;
  caf::actor_system_config cfg;
  std::unique_ptr<caf::actor_system> sys;
  actors::net_transport_actor transport;
  std::shared_ptr<storage::environment> env;
  std::shared_ptr<storage::raft_log_store> store;
  std::shared_ptr<vector_machine> sm;
  actors::raft_log_writer_actor writer;
  actors::raft_group_actor group;

  explicit node(raft::node_id k) : name("node-" + std::to_string(k)), id(k) {
    char pattern[] = "/tmp/ck-net-transport-XXXXXX";
    dir = ::mkdtemp(pattern);
    cfg.load<caf::io::middleman>();
    cfg.set("scheduler.max-threads", 2);
    // Identical on every node (see net_transport.hpp).
    cfg.set("middleman.heartbeat-interval", caf::timespan{200ms});
    cfg.set("middleman.connection-timeout", caf::timespan{3s});
    actors::register_types(cfg);
  }

  ~node() {
    down();
    std::filesystem::remove_all(dir);
  }

  // Starts the system and the transport on `port` (0: any free one; the chosen one is kept).
  void up(uint16_t want, actors::net_transport_options options = {}) {
    sys = std::make_unique<caf::actor_system>(cfg);
    options.node_name = name;
    options.port = want;
    options.seed = id;
    auto tr = actors::spawn_net_transport(*sys, options);
    REQUIRE_MESSAGE(tr, name << ": publish failed: " << sys->render(tr.error()));
    transport = tr->actor;
    port = tr->port;
  }

  void add_peer(const node& other) {
    caf::anon_send(transport, atoms::transport_peer_atom_v, other.name,
                   std::vector<raft::node_id>{other.id}, std::string{"127.0.0.1"}, other.port);
  }

  void start_replica() {
    storage::environment_options options;
    options.dir = dir.string();
    options.sync = false;
    auto e = storage::environment::open(options);
    REQUIRE_MESSAGE(e.ok(), e.status().to_string());
    env = std::move(e.value());
    auto s = storage::raft_log_store::open(*env);
    REQUIRE_MESSAGE(s.ok(), s.status().to_string());
    store = std::move(s.value());
    if (store->group(test_group).last_index() == 0) {
      auto boot = raft::make_bootstrap(raft::conf_state{{1, 2, 3}, {}});
      storage::group_write write;
      write.group = test_group;
      write.entries = boot.entries;
      write.hard = boot.hard;
      auto st = store->write({write});
      REQUIRE_MESSAGE(st.ok(), st.to_string());
    }
    sm = std::make_shared<vector_machine>();
    writer = actors::spawn_raft_log_writer(*sys, store);
    actors::raft_group_options go;
    go.raft.id = id;
    go.raft.group = test_group;
    go.node_name = name;
    go.tick_interval = 20ms;
    go.snapshot_every_entries = 0;
    group = actors::spawn_raft_group(*sys, go, store, writer,
                                     caf::actor_cast<actors::raft_transport_actor>(transport), sm);
    caf::anon_send(transport, atoms::raft_register_atom_v, test_group, id, group);
  }

  // Stops everything and destroys the system (the storage directory stays).
  void down() {
    if (!sys) {
      return;
    }
    {
      caf::scoped_actor self{*sys};
      if (group) {
        self->send_exit(group, caf::exit_reason::user_shutdown);
        self->send_exit(writer, caf::exit_reason::user_shutdown);
        self->wait_for(group, writer);
      }
      self->send_exit(transport, caf::exit_reason::user_shutdown);
      self->wait_for(transport);
    }  // the scoped actor must be gone too: ~actor_system waits for every actor
    group = nullptr;
    writer = nullptr;
    transport = nullptr;
    store.reset();
    env.reset();
    sys.reset();
  }

  std::optional<actors::transport_stats> stats() {
    std::optional<actors::transport_stats> out;
    caf::scoped_actor self{*sys};
    self->request(transport, 2s, atoms::transport_stats_atom_v)
        .receive([&](actors::transport_stats& s) { out = std::move(s); }, [](caf::error&) {});
    return out;
  }

  std::optional<actors::transport_peer_stats> peer_stats(const std::string& peer) {
    auto s = stats();
    if (s) {
      for (auto& p : s->peers) {
        if (p.name == peer) {
          return p;
        }
      }
    }
    return std::nullopt;
  }

  bool connected_to(const std::string& peer) {
    auto p = peer_stats(peer);
    return p && p->connected;
  }

  std::optional<raft::status_info> status() {
    std::optional<raft::status_info> out;
    if (!group) {
      return out;
    }
    caf::scoped_actor self{*sys};
    self->request(group, 2s, atoms::raft_status_atom_v)
        .receive([&](raft::status_info& s) { out = std::move(s); }, [](caf::error&) {});
    return out;
  }
};

void connect_all(std::array<std::unique_ptr<node>, 3>& nodes) {
  for (auto& a : nodes) {
    for (auto& b : nodes) {
      if (a != b) {
        a->add_peer(*b);
      }
    }
  }
}

node& wait_for_leader(std::array<std::unique_ptr<node>, 3>& nodes) {
  node* leader = nullptr;
  bool found = eventually([&] {
    raft::term_t best = 0;
    leader = nullptr;
    for (auto& n : nodes) {
      auto s = n->status();
      if (s && s->state == raft::role::leader && s->term >= best) {
        leader = n.get();
        best = s->term;
      }
    }
    return leader != nullptr;
  });
  REQUIRE_MESSAGE(found, "no leader elected over the network within " << wait_max.count() << " s");
  return *leader;
}

void propose_many(node& leader, int count, const std::string& prefix) {
  caf::scoped_actor self{*leader.sys};
  for (int i = 0; i < count; ++i) {
    self->send(leader.group, atoms::raft_propose_atom_v, prefix + std::to_string(i));
  }
  int received = 0;
  self->receive_for(received, count)(
      [&](actors::raft_propose_reply&) {},
      [&](caf::error& e) { FAIL("proposal failed: " << leader.sys->render(e)); },
      caf::after(wait_max) >> [&] { FAIL("only " << received << " of " << count << " answers"); });
}

// Every node applied the same `length` commands.
void wait_for_same_sequence(std::array<std::unique_ptr<node>, 3>& nodes, size_t length) {
  std::string problem;
  bool same = eventually([&] {
    auto first = nodes[0]->sm->sequence();
    for (auto& n : nodes) {
      auto seq = n->sm->sequence();
      if (seq.size() != length) {
        problem = n->name + " applied " + std::to_string(seq.size()) + " of " +
                  std::to_string(length);
        return false;
      }
      if (seq != first) {
        problem = n->name + " applied a different sequence";
        return false;
      }
    }
    return true;
  });
  REQUIRE_MESSAGE(same, "replicas did not converge within " << wait_max.count() << " s: " << problem);
}

}  // namespace

TEST_CASE("net transport: wire types round-trip through binary_serializer") {
  node n{1};
  n.up(0);
  CHECK(actors::check_wire_types(*n.sys));
}

TEST_CASE("net transport: 3 replicas over loopback elect, commit 100, survive a restart") {
  std::array<std::unique_ptr<node>, 3> nodes{std::make_unique<node>(1), std::make_unique<node>(2),
                                             std::make_unique<node>(3)};
  for (auto& n : nodes) {
    n->up(0);
  }
  connect_all(nodes);
  for (auto& n : nodes) {
    n->start_replica();
  }
  REQUIRE_MESSAGE(eventually([&] {
                    for (auto& a : nodes) {
                      for (auto& b : nodes) {
                        if (a != b && !a->connected_to(b->name)) {
                          return false;
                        }
                      }
                    }
                    return true;
                  }),
                  "the three transports did not all connect");
  auto& leader = wait_for_leader(nodes);
  propose_many(leader, 100, "a");
  wait_for_same_sequence(nodes, 100);
  auto s = leader.stats();
  REQUIRE(s);
  for (auto& p : s->peers) {
    INFO(p.name);
    CHECK(p.sent_batches > 0);
    CHECK(p.sent_messages >= p.sent_batches);
  }

  // Restart a follower: destroy its actor system, start a new one on the same port.
  node* follower = nodes[0].get() == &leader ? nodes[1].get() : nodes[0].get();
  const auto port = follower->port;
  follower->down();
  for (auto& n : nodes) {
    if (n.get() != follower) {
      REQUIRE_MESSAGE(eventually([&] { return !n->connected_to(follower->name); }),
                      n->name << " did not notice that " << follower->name << " went down");
    }
  }
  follower->up(port);
  REQUIRE(follower->port == port);
  for (auto& n : nodes) {
    if (n.get() != follower) {
      follower->add_peer(*n);
    }
  }
  follower->start_replica();
  for (auto& n : nodes) {
    if (n.get() != follower) {
      REQUIRE_MESSAGE(eventually([&] { return n->connected_to(follower->name); }),
                      n->name << " did not reconnect to the restarted " << follower->name);
      auto p = n->peer_stats(follower->name);
      REQUIRE(p);
      CHECK(p->connects >= 2);
      CHECK(p->disconnects >= 1);
    }
  }
  auto& leader2 = wait_for_leader(nodes);
  propose_many(leader2, 10, "b");
  wait_for_same_sequence(nodes, 110);
}

TEST_CASE("net transport: connects to a peer that starts late; one flush, one batch") {
  node a{1};
  node b{2};
  a.up(0);
  b.port = free_port();
  a.add_peer(b);  // b is not listening yet: a keeps retrying

  // 50 groups' messages to replica 2 while it is unreachable: queued, not lost.
  constexpr int groups = 50;
  for (int g = 1; g <= groups; ++g) {
    actors::raft_batch batch;
    batch.from_node = a.name;
    raft::message m;
    m.group = static_cast<raft::group_id>(g);
    m.from = 1;
    m.to = 2;
    batch.messages.push_back(m);
    caf::anon_send(a.transport, atoms::raft_send_atom_v, std::move(batch));
  }
  REQUIRE_MESSAGE(eventually([&] {
                    auto p = a.peer_stats(b.name);
                    return p && p->queued == groups;
                  }),
                  "the messages for the unreachable peer were not queued");
  CHECK_FALSE(a.connected_to(b.name));

  b.up(b.port);
  std::atomic<int> delivered{0};
  auto sink = b.sys->spawn([&delivered](caf::event_based_actor*) -> caf::behavior {
    return {[&delivered](atoms::raft_step_atom, const raft::message&) { ++delivered; }};
  });
  for (int g = 1; g <= groups; ++g) {
    caf::anon_send(b.transport, atoms::raft_register_atom_v, static_cast<raft::group_id>(g),
                   raft::node_id{2}, caf::actor_cast<actors::raft_group_actor>(sink));
  }
  // Registrations first (same sender, kept order), then b can be reached.
  REQUIRE_MESSAGE(eventually([&] { return a.connected_to(b.name); }),
                  "a did not connect to the late peer within " << wait_max.count() << " s");
  REQUIRE_MESSAGE(eventually([&] { return delivered.load() == groups; }),
                  "only " << delivered.load() << " of " << groups << " messages delivered");
  auto p = a.peer_stats(b.name);
  REQUIRE(p);
  CHECK(p->sent_batches == 1);
  CHECK(p->sent_messages == groups);
  CHECK(p->dropped == 0);
  auto bs = b.stats();
  REQUIRE(bs);
  CHECK(bs->received_batches == 1);
  CHECK(bs->received_messages == groups);
  caf::scoped_actor self{*b.sys};  // the sink uses locals of this test: wait until it is gone
  self->send_exit(sink, caf::exit_reason::user_shutdown);
  self->wait_for(sink);
}

// The crash of session 8: a new cluster started on the addresses of an old one still running
// received the old cluster's Raft messages (same node names, same replica ids) and a group
// asserted on them. The handshake refuses a node of another cluster: nothing of it arrives.
TEST_CASE("net transport: a node of another cluster cannot connect") {
  node a{1};
  node b{2};
  actors::net_transport_options of_a;
  of_a.cluster_id = "cluster-a";
  actors::net_transport_options of_b;
  of_b.cluster_id = "cluster-b";
  a.up(0, of_a);
  b.up(0, of_b);
  std::atomic<int> delivered{0};
  auto sink = b.sys->spawn([&](caf::event_based_actor*) -> caf::behavior {
    return {[&](atoms::raft_step_atom, const raft::message&) { ++delivered; }};
  });
  caf::anon_send(b.transport, atoms::raft_register_atom_v, raft::group_id{1}, raft::node_id{2},
                 caf::actor_cast<actors::raft_group_actor>(sink));
  a.add_peer(b);
  auto send_to_b = [&] {
    actors::raft_batch batch;
    raft::message m;
    m.group = 1;
    m.from = 1;
    m.to = 2;
    batch.messages.push_back(m);
    caf::anon_send(a.transport, atoms::raft_send_atom_v, std::move(batch));
  };
  // a dials (its name sorts first) and retries with backoff; every handshake is refused.
  const auto refused_until = std::chrono::steady_clock::now() + 1500ms;
  while (std::chrono::steady_clock::now() < refused_until) {
    send_to_b();
    CHECK_FALSE(a.connected_to(b.name));
    std::this_thread::sleep_for(100ms);  // observation window, not synchronisation
  }
  CHECK(delivered.load() == 0);
  // b joins cluster-a (as a joining node learns its id): a's next dial is admitted.
  caf::anon_send(b.transport, atoms::transport_cluster_atom_v, std::string{"cluster-a"});
  REQUIRE_MESSAGE(eventually([&] { return a.connected_to(b.name); }),
                  "a did not connect once b was in its cluster");
  send_to_b();
  REQUIRE_MESSAGE(eventually([&] { return delivered.load() >= 1; }),
                  "the batch of the same cluster was not delivered");
  caf::scoped_actor self{*b.sys};
  self->send_exit(sink, caf::exit_reason::user_shutdown);
  self->wait_for(sink);
}

TEST_CASE("net transport: bounded queue drops the oldest; batches are bounded") {
  node a{1};
  node b{2};
  actors::net_transport_options options;
  options.max_queue_messages = 10;
  options.max_batch_messages = 4;
  a.up(0, options);
  b.port = free_port();
  a.add_peer(b);
  for (int i = 1; i <= 25; ++i) {
    actors::raft_batch batch;
    raft::message m;
    m.group = test_group;
    m.from = 1;
    m.to = 2;
    m.index = static_cast<raft::index_t>(i);
    batch.messages.push_back(m);
    caf::anon_send(a.transport, atoms::raft_send_atom_v, std::move(batch));
  }
  // A message for a replica no peer hosts is counted, not queued.
  actors::raft_batch stray;
  raft::message m;
  m.group = test_group;
  m.to = 9;
  stray.messages.push_back(m);
  caf::anon_send(a.transport, atoms::raft_send_atom_v, std::move(stray));
  REQUIRE_MESSAGE(eventually([&] {
                    auto s = a.stats();
                    return s && s->unroutable == 1;
                  }),
                  "the stray message was not counted");
  auto p = a.peer_stats(b.name);
  REQUIRE(p);
  CHECK(p->queued == 10);
  CHECK(p->dropped == 15);

  b.up(b.port);
  std::mutex mutex;
  std::vector<raft::index_t> seen;
  auto sink = b.sys->spawn([&](caf::event_based_actor*) -> caf::behavior {
    return {[&](atoms::raft_step_atom, const raft::message& msg) {
      std::lock_guard<std::mutex> lock(mutex);
      seen.push_back(msg.index);
    }};
  });
  caf::anon_send(b.transport, atoms::raft_register_atom_v, test_group, raft::node_id{2},
                 caf::actor_cast<actors::raft_group_actor>(sink));
  REQUIRE_MESSAGE(eventually([&] {
                    std::lock_guard<std::mutex> lock(mutex);
                    return seen.size() == 10;
                  }),
                  "the 10 queued messages did not arrive");
  {
    std::lock_guard<std::mutex> lock(mutex);
    std::vector<raft::index_t> expected;
    for (raft::index_t i = 16; i <= 25; ++i) {
      expected.push_back(i);
    }
    CHECK(seen == expected);  // the newest 10, in order
  }
  p = a.peer_stats(b.name);
  REQUIRE(p);
  CHECK(p->sent_batches == 3);  // 4 + 4 + 2
  CHECK(p->sent_messages == 10);
  caf::scoped_actor self{*b.sys};  // the sink uses locals of this test: wait until it is gone
  self->send_exit(sink, caf::exit_reason::user_shutdown);
  self->wait_for(sink);
}

// One message to replica 2 of test_group through `from`'s transport, carrying `data_bytes` of
// entry data and `index` (to tell messages apart at the receiver).
void send_to_replica_2(node& from, raft::index_t index, size_t data_bytes = 0) {
  actors::raft_batch batch;
  raft::message m;
  m.group = test_group;
  m.from = 1;
  m.to = 2;
  m.index = index;
  if (data_bytes > 0) {
    raft::entry e;
    e.data.assign(data_bytes, 'x');
    m.entries.push_back(std::move(e));
  }
  batch.messages.push_back(std::move(m));
  caf::anon_send(from.transport, atoms::raft_send_atom_v, std::move(batch));
}

// Two nodes that know each other: only the one whose name sorts first dials, the other
// adopts that connection on its first batch (simultaneous dials make CAF drop both).
TEST_CASE("net transport: of two peers only one dials; the other adopts the connection") {
  node a{1};
  node b{2};
  a.up(0);
  b.up(0);
  b.add_peer(a);  // b learns of a first, yet waits for a (node-1 < node-2) to dial
  a.add_peer(b);
  REQUIRE_MESSAGE(eventually([&] { return a.connected_to(b.name) && b.connected_to(a.name); }),
                  "a and b did not connect to each other");
  auto pa = a.peer_stats(b.name);
  auto pb = b.peer_stats(a.name);
  REQUIRE(pa);
  REQUIRE(pb);
  CHECK(pa->connects == 1);
  CHECK(pb->connects == 1);
  CHECK(pa->disconnects == 0);
  CHECK(pb->disconnects == 0);
  // b never dialed: its wait for a outlasts the test (dial_fallback 2 s), so b's side was
  // adopted from a's hello well before it.
}

TEST_CASE("net transport: the queue is bounded by bytes too") {
  node a{1};
  node b{2};
  actors::net_transport_options options;
  options.max_queue_bytes = 10'000;  // about 4 messages of 2 KB
  a.up(0, options);
  b.port = free_port();  // never listening: everything stays queued
  a.add_peer(b);
  for (raft::index_t i = 1; i <= 20; ++i) {
    send_to_replica_2(a, i, 2'000);
  }
  REQUIRE_MESSAGE(eventually([&] {
                    auto p = a.peer_stats(b.name);
                    return p && p->queued + p->dropped == 20;
                  }),
                  "the 20 messages were neither queued nor dropped");
  auto p = a.peer_stats(b.name);
  REQUIRE(p);
  CHECK(p->queued == 4);  // 4 x (2,000 + overhead) <= 10,000 < 5 x
  CHECK(p->dropped == 16);
}

// A restarted node must catch up from what it persisted (by log or snapshot), not from
// messages sent to its previous life: once a connection is lost, nothing is queued for the
// peer until it is connected again (session 10: 16,384 stale appends held per down node).
TEST_CASE("net transport: nothing is queued for a peer whose connection was lost") {
  node a{1};
  node b{2};
  a.up(0);
  b.up(0);
  a.add_peer(b);
  REQUIRE_MESSAGE(eventually([&] { return a.connected_to(b.name); }), "a did not connect to b");
  const uint16_t b_port = b.port;
  b.down();
  REQUIRE_MESSAGE(eventually([&] { return !a.connected_to(b.name); }),
                  "a did not notice that b went down");
  for (raft::index_t i = 1; i <= 20; ++i) {
    send_to_replica_2(a, i);
  }
  REQUIRE_MESSAGE(eventually([&] {
                    auto p = a.peer_stats(b.name);
                    return p && p->dropped == 20;
                  }),
                  "the messages for the lost peer were not dropped");
  CHECK(a.peer_stats(b.name)->queued == 0);

  b.up(b_port);
  std::atomic<int> delivered{0};
  std::atomic<uint64_t> first_index{0};
  auto sink = b.sys->spawn([&](caf::event_based_actor*) -> caf::behavior {
    return {[&](atoms::raft_step_atom, const raft::message& m) {
      if (delivered++ == 0) {
        first_index = m.index;
      }
    }};
  });
  caf::anon_send(b.transport, atoms::raft_register_atom_v, test_group, raft::node_id{2},
                 caf::actor_cast<actors::raft_group_actor>(sink));
  REQUIRE_MESSAGE(eventually([&] { return a.connected_to(b.name); }),
                  "a did not reconnect to the restarted b");
  send_to_replica_2(a, 21);  // connected again: queued and sent as usual
  REQUIRE_MESSAGE(eventually([&] { return delivered.load() >= 1; }),
                  "the message sent after the reconnect was not delivered");
  CHECK(delivered.load() == 1);
  CHECK(first_index.load() == 21);
  caf::scoped_actor self{*b.sys};
  self->send_exit(sink, caf::exit_reason::user_shutdown);
  self->wait_for(sink);
}

TEST_CASE("net transport: named services are relayed to the handler attached under the name") {
  node a{1};
  node b{2};
  a.up(0);
  b.up(0);
  a.add_peer(b);
  // b runs two services behind one handler that answers "<service>:<payload>"; a runs none.
  auto echo = b.sys->spawn([]() -> actors::service_handler_actor::behavior_type {
    return {[](atoms::service_call_atom, actors::service_call& call) {
      return call.service + ":" + call.payload;
    }};
  });
  for (const char* service : {"echo", actors::probe_service_name}) {
    caf::anon_send(b.transport, atoms::service_attach_atom_v, std::string{service}, echo);
  }
  REQUIRE_MESSAGE(eventually([&] { return a.connected_to(b.name); }),
                  "a did not connect to b within " << wait_max.count() << " s");
  caf::scoped_actor self{*a.sys};
  auto call = [&](const std::string& node, const std::string& service) {
    std::string answer;
    self->request(a.transport, 5s, atoms::service_relay_atom_v, node,
                  actors::service_call{service, "hi", false})
        .receive([&](std::string& reply) { answer = reply; },
                 [&](caf::error& error) { answer = "error " + to_string(errc_of(error)); });
    return answer;
  };
  CHECK(call(b.name, "echo") == "echo:hi");
  CHECK(call(b.name, actors::probe_service_name) == std::string{"ck.probe:hi"});
  CHECK(call(b.name, "nothing") == "error not_found");  // the name is not attached on b
  CHECK(call("node-9", "echo") == "error no_leader");   // no connection: retry later
  caf::anon_send_exit(echo, caf::exit_reason::user_shutdown);
}

TEST_CASE("wire codec: a control-plane payload round-trips; garbage and trailing bytes fail") {
  actors::join_request request;
  request.id = "node-4";
  request.raft_addr = "127.0.0.1:9004";
  auto bytes = actors::encode_wire(request);
  auto back = actors::decode_wire<actors::join_request>(bytes);
  REQUIRE(back);
  CHECK(back->id == "node-4");
  CHECK(back->raft_addr == "127.0.0.1:9004");
  CHECK_FALSE(actors::decode_wire<actors::join_request>(bytes + "x"));
  CHECK_FALSE(actors::decode_wire<actors::join_request>(bytes.substr(0, bytes.size() / 2)));
  auto probe = actors::decode_wire<actors::member_probe_reply>(
      actors::encode_wire(actors::member_probe_reply{actors::route_status::ok, 7, true}));
  REQUIRE(probe);
  CHECK(probe->leader_hint == 7);
  CHECK(probe->member);
}

TEST_CASE("net transport: only nodes holding the same token connect") {
  node a{1};
  node b{2};
  node c{3};
  actors::net_transport_options secret;
  secret.token = "s3cret";
  actors::net_transport_options other;
  other.token = "another";
  a.up(0, secret);
  b.up(0, other);
  c.up(0, secret);
  a.add_peer(b);
  a.add_peer(c);
  REQUIRE_MESSAGE(eventually([&] { return a.connected_to(c.name); }),
                  "a did not connect to c, which holds the same token");
  // a dials b (its name sorts first) with backoff; every handshake fails at a's check of b's
  // proof, so nothing of a reaches b either.
  const auto until = std::chrono::steady_clock::now() + 1500ms;
  while (std::chrono::steady_clock::now() < until) {
    CHECK_FALSE(a.connected_to(b.name));
    std::this_thread::sleep_for(100ms);  // observation window, not synchronisation
  }
}

TEST_CASE("net transport: a call fails at once when its connection closes") {
  node a{1};
  node b{2};
  a.up(0);
  b.up(0);
  a.add_peer(b);
  // b's handler takes the call and never answers.
  auto silent = b.sys->spawn([](caf::event_based_actor* self) -> caf::behavior {
    return {[self](atoms::service_call_atom, actors::service_call&) {
      return self->make_response_promise<std::string>();  // never delivered
    }};
  });
  caf::anon_send(b.transport, atoms::service_attach_atom_v, std::string{"silent"},
                 caf::actor_cast<actors::service_handler_actor>(silent));
  REQUIRE_MESSAGE(eventually([&] { return a.connected_to(b.name); }), "a did not connect to b");
  caf::scoped_actor self{*a.sys};
  auto pending = self->request(a.transport, 20s, atoms::service_relay_atom_v, b.name,
                               actors::service_call{"silent", "hi", false});
  std::this_thread::sleep_for(200ms);  // the call reaches b (a window, not synchronisation)
  const auto stopped = std::chrono::steady_clock::now();
  caf::anon_send_exit(silent, caf::exit_reason::user_shutdown);
  b.down();  // b's process is gone: its connection closes
  std::string outcome;
  pending.receive([&](std::string&) { outcome = "answered"; },
                  [&](caf::error& error) { outcome = to_string(errc_of(error)); });
  // The remote may have run the call: the caller hears so (not no_leader, which means "not
  // sent"), and at once instead of after its 20 s.
  CHECK(outcome == "shutting_down");
  CHECK(std::chrono::steady_clock::now() - stopped < 5s);
}
