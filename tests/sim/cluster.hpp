#pragma once

// The simulated cluster and its scheduler. One run: found a group of 3 to 7 members, then for
// `steps` steps let the seed pick one main action per step (deliver a message, run one shell
// phase of one node, or tick one node) plus rare actions (client proposals and reads, crashes
// and restarts, partitions forming and healing, membership changes, leadership transfers),
// and run the checker after every step. Then heal everything and require progress (see
// liveness.cpp). Everything is a function of the seed: one generator, no clock, no threads.

#include "tests/sim/checker.hpp"
#include "tests/sim/fault_plan.hpp"
#include "tests/sim/network.hpp"
#include "tests/sim/replica.hpp"
#include "tests/sim/rng.hpp"
#include "tests/sim/trace.hpp"

#include <cstdint>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

namespace ck::sim {

struct run_options {
  uint64_t seed = 1;
  uint64_t steps = 3000;
  uint32_t nodes = 0;  // founding members; 0: drawn from the seed in [3, 7]
  bool verbose = false;
  /// Membership changes may add back a removed id, as a ClusterKit node does when a
  /// partition's replica returns to a node it left (the node's raft id is the replica's), which
  /// Raft's model forbids. `tombstone` (--readd-tombstone, CI's raft_sim_readd): with only the
  /// removed replica's term and vote kept (commit 0, no log), as raft_log_store::drop_group
  /// leaves it; `wiped` (--readd-wiped): with an empty disk, as drop_group left it before
  /// session 28 (the checker finds a forgotten vote, e.g. seed 2659 of 30,000 steps).
  enum class readd_mode { none, wiped, tombstone };
  readd_mode readd = readd_mode::none;
};

struct run_stats {
  uint64_t committed = 0;
  uint64_t leader_terms = 0;
  uint64_t crashes = 0;
  uint64_t partitions = 0;
  uint64_t conf_changes_proposed = 0;
  uint64_t transfers = 0;
  uint64_t proposals_accepted = 0;
  uint64_t reads_requested = 0;
  uint64_t liveness_rounds = 0;
  uint64_t calm_transfer_rounds = 0;  // ticks the calm phase's leadership transfer took
  uint64_t quiet_steps = 0;        // steps that ended with a quiescent leader (config::quiesce)
  uint64_t forgotten_leaders = 0;  // failure-detector verdicts, false ones included
};

struct run_result {
  bool passed = true;
  uint64_t digest = 0;
  uint64_t failed_step = 0;
  std::string property;
  std::string detail;
  run_stats stats;
};

class cluster {
 public:
  /// Members never exceed this, nor fall below members_min voters.
  static constexpr size_t members_max = 7;
  static constexpr size_t voters_min = 3;
  /// Fresh ids are never reused (Raft forbids a removed id to come back); this bounds them.
  static constexpr raft::node_id node_id_max = 24;

  explicit cluster(const run_options& options);
  run_result run();
  const trace& events() const { return events_; }

 private:
  // Scheduler (cluster.cpp).
  void found_group();
  void step_chaos();
  bool deliver_one();
  bool shell_one();
  void tick_one();
  /// Ticks `r`, first playing the node-level failure detector of quiescent runs.
  void tick(replica& r);
  void deliver(envelope& e);
  void drop(const envelope& e, const char* reason);
  void after_step();
  void update_membership();
  replica* find_up(raft::node_id id);
  replica* current_leader();
  std::vector<replica*> up_replicas();
  shell_context context();

  // Client and chaos actions (chaos.cpp).
  void client_propose();
  void client_read();
  void crash_one();
  void restart_one();
  void partition_some();
  void heal_some();
  void change_membership();
  void transfer_leadership();

  // Liveness (liveness.cpp).
  void calm_down();
  void stabilize();
  bool probe_applied_everywhere() const;
  void run_liveness();
  void check_calm_transfer();

  const run_options options_;
  rng random_;
  trace events_;
  checker check_;
  network net_;
  replica_settings settings_;
  fault_plan plan_;
  std::map<raft::node_id, std::unique_ptr<replica>> replicas_;
  std::set<raft::node_id> was_member_;
  std::map<raft::node_id, raft::hard_state> retired_;  // removed ids, their last hard state
  raft::index_t membership_index_ = 0;  // applied index of the membership below
  raft::conf_state membership_;         // the latest applied (hence committed) membership
  raft::node_id next_id_ = 1;
  uint64_t now_ = 0;
  uint64_t payload_counter_ = 0;
  uint64_t read_counter_ = 0;
  run_stats stats_;
};

}  // namespace ck::sim
