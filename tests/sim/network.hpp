#pragma once

// The simulated network: messages in flight with a delivery step each, and a table of blocked
// links (partitions). Loss, duplication and delay are decided when a message is sent; a lost
// message still takes its turn, so that every drop -- lost, partitioned, receiver down -- is
// handled at delivery time in one place (a dropped snapshot must be reported to its sender).
// Reordering comes from the cluster picking any deliverable message, not the oldest.

#include "runtime/raft/types.hpp"
#include "tests/sim/rng.hpp"
#include "tests/sim/trace.hpp"

#include <cstdint>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

namespace ck::sim {

/// Fault rates of the network, drawn per seed; all zero in the calm (liveness) phase.
struct network_faults {
  uint32_t loss_per_million = 0;
  uint32_t duplicate_per_million = 0;
  uint32_t delay_per_million = 0;  // a delayed message waits 1..delay_steps_max steps
  uint64_t delay_steps_max = 0;
  bool reorder = false;  // deliver any deliverable message, not the oldest
};

struct envelope {
  uint64_t deliver_step = 0;        // earliest step at which it may be delivered
  uint64_t sequence = 0;            // send order
  uint64_t sender_incarnation = 0;  // the sender's life (reports go to the same life only)
  bool lost = false;                // dropped when its turn comes (the sender learns late)
  raft::message msg;
};

/// One line describing a message, for the trace.
std::string describe(const raft::message& m);

class network {
 public:
  /// Messages beyond this are dropped on send (a bounded queue, like a real transport's).
  static constexpr size_t in_flight_max = 20000;

  void set_faults(const network_faults& faults) { faults_ = faults; }
  const network_faults& faults() const { return faults_; }

  /// Queues `m` (one or two copies, per the faults; a lost one is dropped at its turn).
  /// Returns how many copies were queued.
  int send(raft::message m, uint64_t now, uint64_t sender_incarnation, rng& random, trace& events);

  /// Removes and returns a message deliverable at `now`: the oldest, or any when reordering.
  std::optional<envelope> take_deliverable(uint64_t now, rng& random);
  /// Removes and returns the oldest message regardless of its delivery step (calm phase).
  std::optional<envelope> take_oldest();

  void block(raft::node_id from, raft::node_id to) { blocked_.insert({from, to}); }
  void unblock(raft::node_id from, raft::node_id to) { blocked_.erase({from, to}); }
  void unblock_all() { blocked_.clear(); }
  bool is_blocked(raft::node_id from, raft::node_id to) const {
    return blocked_.count({from, to}) != 0;
  }
  size_t blocked_link_count() const { return blocked_.size(); }
  const std::set<std::pair<raft::node_id, raft::node_id>>& blocked_links() const {
    return blocked_;
  }

  size_t in_flight() const { return queue_.size(); }

 private:
  uint64_t delivery_step(uint64_t now, rng& random) const;

  network_faults faults_;
  uint64_t next_sequence_ = 0;
  std::vector<envelope> queue_;  // in send order; bounded by in_flight_max
  std::set<std::pair<raft::node_id, raft::node_id>> blocked_;
};

}  // namespace ck::sim
