// raft_core_bench: entries committed per second by the Raft core alone -- a 3-node group in
// one process, memory_log_storage as the disk, messages handed over in memory, no faults, no
// fsync. It measures the core's own cost (log bookkeeping, progress tracking, message
// building) so a regression there shows without the network or LMDB in the way.
//
//   raft_core_bench [entries]     default 1,000,000 per configuration
//
// One round: the client proposes `batch` entries of 100 bytes at the leader, then every
// node's ready() is carried out once (persist, send, apply, advance) and the messages of the
// round are delivered. Rows: batch 64 (a busy leader batching) and batch 1 (one entry per
// round trip of the shell). The shell snapshots and compacts every 10,000 applied entries so
// memory stays bounded.

#include "runtime/raft/memory_log_storage.hpp"
#include "runtime/raft/node.hpp"

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>
#include <vector>

namespace {

using namespace ck;

constexpr uint64_t nodes_count = 3;
constexpr size_t payload_bytes = 100;
constexpr raft::index_t snapshot_every_entries = 10000;

struct bench_node {
  explicit bench_node(const raft::conf_state& founding) : storage(founding) {}
  raft::memory_log_storage storage;
  std::unique_ptr<raft::node> core;
  raft::index_t applied = 0;
  raft::conf_state conf;
};

class bench_cluster {
 public:
  bench_cluster() {
    raft::conf_state founding;
    for (raft::node_id id = 1; id <= nodes_count; ++id) {
      founding.voters.push_back(id);
    }
    for (raft::node_id id = 1; id <= nodes_count; ++id) {
      nodes_.push_back(std::make_unique<bench_node>(founding));
      raft::config cfg;
      cfg.id = id;
      cfg.seed = id;
      cfg.check_invariants_each_step = false;  // a production build's setting
      nodes_.back()->conf = founding;
      nodes_.back()->core = std::make_unique<raft::node>(cfg, nodes_.back()->storage);
    }
  }

  /// Ticks node 1 until it leads (bounded: an election takes at most 2 election timeouts).
  bool elect() {
    for (int tick = 0; tick < 1000; ++tick) {
      nodes_[0]->core->tick();
      round();
      if (nodes_[0]->core->status().state == raft::role::leader) {
        return true;
      }
    }
    return false;
  }

  /// Carries out every node's ready once, then delivers the round's messages.
  void round() {
    std::vector<raft::message> outbox;
    for (auto& n : nodes_) {
      if (!n->core->has_ready()) {
        continue;
      }
      raft::ready rd = n->core->get_ready();
      if (rd.snap && !rd.snap->empty()) {
        n->storage.apply_snapshot(*rd.snap);
      }
      n->storage.append(rd.entries);
      if (rd.hard) {
        n->storage.set_hard_state(*rd.hard);
      }
      for (raft::message& m : rd.messages) {
        outbox.push_back(std::move(m));
      }
      apply(*n, rd);
      n->core->advance();
    }
    for (const raft::message& m : outbox) {
      nodes_[m.to - 1]->core->step(m);
    }
  }

  raft::node& leader() { return *nodes_[0]->core; }
  uint64_t leader_applied_commands() const { return commands_applied_; }

 private:
  void apply(bench_node& n, const raft::ready& rd) {
    if (rd.snap && !rd.snap->empty()) {
      n.applied = rd.snap->meta.index;
    }
    for (const raft::entry& e : rd.committed) {
      n.applied = e.index;
      if (&n == nodes_[0].get() && e.type == raft::entry_type::normal && !e.data.empty()) {
        ++commands_applied_;
      }
    }
    if (n.applied >= n.storage.current_snapshot().meta.index + snapshot_every_entries) {
      n.storage.create_snapshot(n.applied, n.conf, "image");
      n.storage.compact(n.applied);
    }
  }

  std::vector<std::unique_ptr<bench_node>> nodes_;
  uint64_t commands_applied_ = 0;
};

struct bench_row {
  uint64_t batch = 0;
  uint64_t entries = 0;
  double seconds = 0;
};

bench_row run(uint64_t batch, uint64_t entries) {
  bench_cluster c;
  if (!c.elect()) {
    std::fprintf(stderr, "raft_core_bench: no leader elected\n");
    std::exit(1);
  }
  const std::string payload(payload_bytes, 'x');
  const auto start = std::chrono::steady_clock::now();
  uint64_t proposed = 0;
  // Bounded: every round commits what the previous rounds proposed, so 4x the rounds needed
  // is plenty; hitting the bound means the core stalled.
  const uint64_t rounds_max = 4 * (entries / batch + 100);
  for (uint64_t r = 0; r < rounds_max && c.leader_applied_commands() < entries; ++r) {
    for (uint64_t k = 0; k < batch && proposed < entries; ++k) {
      proposed += c.leader().propose(payload) == raft::propose_result::ok ? 1 : 0;
    }
    if (r % 64 == 0) {
      c.leader().tick();  // heartbeats keep flowing, as in a real run
    }
    c.round();
  }
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  if (c.leader_applied_commands() < entries) {
    std::fprintf(stderr, "raft_core_bench: stalled at %llu of %llu entries\n",
                 static_cast<unsigned long long>(c.leader_applied_commands()),
                 static_cast<unsigned long long>(entries));
    std::exit(1);
  }
  return bench_row{batch, entries, seconds};
}

}  // namespace

int main(int argc, char** argv) {
  uint64_t entries = 1000000;
  if (argc > 1) {
    entries = std::strtoull(argv[1], nullptr, 10);
  }
  if (entries == 0) {
    std::fprintf(stderr, "usage: raft_core_bench [entries > 0]\n");
    return 2;
  }
  std::printf("raft_core_bench: %llu-node group in memory, %zu-byte payloads, no faults\n",
              static_cast<unsigned long long>(nodes_count), payload_bytes);
  std::printf("%-16s %12s %10s %14s\n", "proposals/round", "entries", "seconds", "entries/s");
  for (uint64_t batch : {uint64_t{64}, uint64_t{1}}) {
    const bench_row row = run(batch, entries);
    std::printf("%-16llu %12llu %10.2f %14.0f\n", static_cast<unsigned long long>(row.batch),
                static_cast<unsigned long long>(row.entries), row.seconds,
                static_cast<double>(row.entries) / row.seconds);
    std::fflush(stdout);
  }
  return 0;
}
