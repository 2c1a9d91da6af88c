#pragma once

// The wiring shared by the Raft actor tests: N replicas of one group on a real actor system
// (2 scheduler threads), each with its own LMDB environment, raft_log_store and
// raft_log_writer, talking through the in-process transport. Replicas 1..founders found the
// group; the others may join it. `Machine` is the replicated state machine under test.

#include "actors/local_transport.hpp"
#include "actors/raft_group.hpp"
#include "actors/raft_log_writer.hpp"
#include "actors/type_ids.hpp"
#include "runtime/raft/bootstrap.hpp"
#include "storage/environment.hpp"
#include "storage/raft_log_store.hpp"

#include <atomic>
#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/scoped_actor.hpp>
#include <doctest/doctest.h>

#include <array>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <optional>
#include <stdexcept>
#include <string>
#include <thread>

namespace ck::test {

// Generous for a loaded 2-core machine; a pass takes far less.
inline constexpr std::chrono::seconds raft_wait_max{15};

template <class Machine>
struct raft_replica {
  raft::node_id id = 0;
  std::filesystem::path dir;
  std::shared_ptr<storage::environment> env;
  std::shared_ptr<storage::raft_log_store> store;
  std::shared_ptr<Machine> sm;
  actors::raft_log_writer_actor writer;
  actors::raft_group_actor group;
};

template <class Machine, size_t ReplicaCount>
struct raft_cluster_fixture {
  using replica = raft_replica<Machine>;

  caf::actor_system_config cfg;
  std::unique_ptr<caf::actor_system> sys;
  actors::local_transport_actor transport;
  std::array<replica, ReplicaCount> replicas;
  const raft::group_id group_id;
  static constexpr size_t founders = 3;
  uint64_t snapshot_every_entries = 0;
  uint64_t snapshot_keep_entries = 0;
  uint64_t snapshot_every_bytes = 0;
  uint64_t snapshot_keep_bytes = 0;
  /// Shared by every replica, as by the groups of one node (see raft_group_options).
  std::shared_ptr<std::atomic<int64_t>> last_chunk_received_ms;
  /// All replicas tick from one shared group ticker (as a node's partition groups do) and
  /// go quiet when idle (config::quiesce).
  bool shared_ticker = false;
  actors::group_ticker_actor ticker;
  bool sync = false;  // durability across a machine crash is the store's own tests' job

  raft_cluster_fixture(raft::group_id group, const char* dir_prefix) : group_id(group) {
    static_assert(ReplicaCount >= founders);
    cfg.set("scheduler.max-threads", 2);
    actors::register_types(cfg);
    sys = std::make_unique<caf::actor_system>(cfg);
    transport = actors::spawn_local_transport(*sys);
    for (size_t k = 0; k < replicas.size(); ++k) {
      std::string pattern = std::string{"/tmp/"} + dir_prefix + "-XXXXXX";
      replicas[k].id = k + 1;
      replicas[k].dir = ::mkdtemp(pattern.data());
    }
  }

  ~raft_cluster_fixture() {
    stop_all();
    {
      caf::scoped_actor self{*sys};
      self->send_exit(transport, caf::exit_reason::user_shutdown);
      self->wait_for(transport);
      if (ticker) {
        self->send_exit(ticker, caf::exit_reason::user_shutdown);
        self->wait_for(ticker);
      }
    }  // the scoped actor must be gone too: ~actor_system waits for every actor
    transport = nullptr;
    sys.reset();
    for (auto& r : replicas) {
      std::filesystem::remove_all(r.dir);
    }
  }

  // Opens the replica's environment and store; a founder's empty store gets the bootstrap.
  void open_storage(replica& r) {
    storage::environment_options options;
    options.dir = r.dir.string();
    options.sync = sync;
    auto env = storage::environment::open(options);
    REQUIRE_MESSAGE(env.ok(), env.status().to_string());
    r.env = std::move(env.value());
    auto store = storage::raft_log_store::open(*r.env);
    REQUIRE_MESSAGE(store.ok(), store.status().to_string());
    r.store = std::move(store.value());
    if (r.id <= founders && r.store->group(group_id).last_index() == 0) {
      auto boot = raft::make_bootstrap(raft::conf_state{{1, 2, 3}, {}});
      storage::group_write write;
      write.group = group_id;
      write.entries = boot.entries;
      write.hard = boot.hard;
      auto st = r.store->write({write});
      REQUIRE_MESSAGE(st.ok(), st.to_string());
    }
  }

  // Spawns writer and group actor over the replica's storage. By default with an empty state
  // machine (applied 0: it replays the log from the start); `applied` > 0 keeps the replica's
  // state machine, as a durable one would survive a restart, having applied that far.
  void start(replica& r, raft::index_t applied = 0) {
    open_storage(r);
    if (applied == 0 || r.sm == nullptr) {
      r.sm = std::make_shared<Machine>();
    }
    r.writer = actors::spawn_raft_log_writer(*sys, r.store);
    actors::raft_group_options options;
    options.raft.id = r.id;
    options.raft.group = group_id;
    options.node_name = "node-" + std::to_string(r.id);
    options.tick_interval = std::chrono::milliseconds(10);  // elections in ~100-200 ms
    options.snapshot_every_entries = snapshot_every_entries;
    options.snapshot_keep_entries = snapshot_keep_entries;
    options.snapshot_every_bytes = snapshot_every_bytes;
    options.snapshot_keep_bytes = snapshot_keep_bytes;
    options.last_chunk_received_ms = last_chunk_received_ms;
    options.applied = applied;
    if (shared_ticker) {
      if (!ticker) {
        ticker = actors::spawn_group_ticker(*sys, options.tick_interval);
      }
      options.ticker = ticker;
      options.raft.quiesce = true;
    }
    r.group = actors::spawn_raft_group(*sys, options, r.store, r.writer,
                                       caf::actor_cast<actors::raft_transport_actor>(transport),
                                       r.sm);
    caf::anon_send(transport, atoms::raft_register_atom_v, group_id, r.id, r.group);
  }

  void start_all() {
    for (size_t k = 0; k < founders; ++k) {
      start(replicas[k]);
    }
  }

  // Stops the replica's actors and closes its storage (the directory stays). Idempotent.
  void stop(replica& r) {
    if (r.group) {
      caf::scoped_actor self{*sys};
      self->send_exit(r.group, caf::exit_reason::user_shutdown);
      self->send_exit(r.writer, caf::exit_reason::user_shutdown);
      self->wait_for(r.group, r.writer);
    }
    r.group = nullptr;
    r.writer = nullptr;
    r.store.reset();
    r.env.reset();
  }

  void stop_all() {
    for (auto& r : replicas) {
      stop(r);
    }
  }

  std::optional<raft::status_info> status(replica& r) {
    std::optional<raft::status_info> out;
    caf::scoped_actor self{*sys};
    self->request(r.group, std::chrono::seconds(2), atoms::raft_status_atom_v)
        .receive([&](raft::status_info& s) { out = std::move(s); }, [](caf::error&) {});
    return out;
  }

  // The replica that leads the highest term among the running ones, once one does.
  replica& wait_for_leader() {
    const auto deadline = std::chrono::steady_clock::now() + raft_wait_max;
    while (std::chrono::steady_clock::now() < deadline) {
      replica* best = nullptr;
      raft::term_t best_term = 0;
      for (auto& r : replicas) {
        auto s = r.group ? status(r) : std::nullopt;
        if (s && s->state == raft::role::leader && s->term >= best_term) {
          best = &r;
          best_term = s->term;
        }
      }
      if (best != nullptr) {
        return *best;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(10));  // poll pace, bounded
    }
    FAIL("no leader elected within " << raft_wait_max.count() << " s");
    throw std::logic_error("unreachable");
  }
};

}  // namespace ck::test
