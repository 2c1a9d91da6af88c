#pragma once

// One simulated server: the Raft core, its disk (what survives a crash), its state machine,
// and the shell that carries out ready() -- in three phases, so a crash or any other event can
// fall between any two of them:
//
//   idle --fetch--> fetched --persist--> persisted --complete--> idle
//
//   fetched   get_ready() returned; nothing of it is durable: a crash loses all of it.
//   persisted snap, entries, hard state are on disk; no message sent, nothing applied.
//   complete  messages sent, snap and committed entries applied, reads answered once
//             applied, advance() called (the ready contract of node.hpp, steps 2 to 5).
//
// Messages, ticks and proposals may reach the core in any phase (the real shell keeps
// stepping while the storage writer flushes).

#include "runtime/raft/node.hpp"
#include "tests/sim/checker.hpp"
#include "tests/sim/disk.hpp"
#include "tests/sim/network.hpp"
#include "tests/sim/rng.hpp"
#include "tests/sim/state_machine.hpp"
#include "tests/sim/trace.hpp"

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace ck::sim {

/// Per-run settings every replica shares.
struct replica_settings {
  uint64_t run_seed = 0;
  uint32_t election_ticks = 10;
  uint32_t heartbeat_ticks = 1;
  bool pre_vote = true;
  bool check_quorum = true;
  bool quiesce = false;  // config::quiesce; the cluster then plays the failure detector
  bool defer_commit_broadcast = false;  // config::defer_commit_broadcast
  uint64_t append_bytes_max = 1 << 20;
  uint32_t inflight_msgs_max = 256;
  uint64_t snapshot_every_entries = 20;  // the shell snapshots after this many applied entries
  uint64_t snapshot_keep_entries = 0;    // entries kept below the snapshot when compacting
  bool verbose = false;
};

/// What the shell's work touches outside the replica.
struct shell_context {
  checker& check;
  network& net;
  rng& random;
  trace& events;
  uint64_t now = 0;
};

enum class shell_phase { idle, fetched, persisted };

class replica {
 public:
  replica(raft::node_id id, const raft::conf_state& bootstrap, const replica_settings& settings);

  raft::node_id id() const { return id_; }
  uint64_t incarnation() const { return incarnation_; }
  bool up() const { return core_ != nullptr; }
  raft::node& core() { return *core_; }
  const raft::node& core() const { return *core_; }
  const disk& storage_disk() const { return disk_; }
  /// Before the first start: the disk holds `hard` (a returning replica's tombstone).
  void seed_hard_state(const raft::hard_state& hard) { disk_.seed_hard_state(hard); }
  const state_machine& machine() const { return machine_; }
  const raft::conf_state& conf() const { return conf_; }
  shell_phase phase() const { return phase_; }
  /// True when the shell has something to do (a ready to fetch or one in progress).
  bool has_shell_work() const;

  /// Starts a new life from the disk: the state machine restarts from the disk's snapshot and
  /// the core from the persisted state, with config::applied = the snapshot's index.
  void start(shell_context& ctx);
  /// Loses everything not on disk: the core, the ready in progress, the state machine.
  void crash(trace& events);

  /// Runs the shell's next phase (see the diagram above). Requires: has_shell_work().
  void shell_step(shell_context& ctx);
  /// Runs the shell until it has nothing to do (bounded).
  void shell_drain(shell_context& ctx);

  /// The index at which a payload starting with "probe-" was applied (liveness phase).
  const std::map<std::string, raft::index_t>& probes_applied() const { return probes_applied_; }

 private:
  void fetch(shell_context& ctx);
  void persist(shell_context& ctx);
  void complete(shell_context& ctx);
  /// Hands `messages` to the network and empties it.
  void send_all(shell_context& ctx, std::vector<raft::message>& messages);
  void apply_snapshot(shell_context& ctx, const raft::snapshot& snap);
  void apply_entry(shell_context& ctx, const raft::entry& e, raft::term_t term_now);
  void release_reads(shell_context& ctx);
  void maybe_take_snapshot(shell_context& ctx);

  const raft::node_id id_;
  const replica_settings settings_;
  const raft::conf_state bootstrap_;
  uint64_t incarnation_ = 0;
  disk disk_;
  std::unique_ptr<raft::node> core_;
  state_machine machine_;
  raft::conf_state conf_;  // the membership as of machine_.applied_index
  shell_phase phase_ = shell_phase::idle;
  std::optional<raft::ready> pending_;
  std::vector<raft::read_state> waiting_reads_;  // released once applied >= index
  std::map<std::string, raft::index_t> probes_applied_;
};

}  // namespace ck::sim
