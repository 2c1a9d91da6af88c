#pragma once

// ReadIndex (Raft thesis 6.4, etcd's read_only.go): a leader answers a linearizable read
// without writing to the log. It records its commit index with the request's context,
// confirms it is still the leader by a heartbeat round carrying that context, and releases
// the read once a quorum of voters answered; the reader then waits until its state machine
// applied that index.
//
// Requests are confirmed in order: a quorum answering the heartbeat of a later request also
// confirms every earlier one (the leader was still the leader after they arrived).

#include "runtime/raft/node.hpp"
#include "runtime/raft/types.hpp"

#include <cstdint>
#include <deque>
#include <string>
#include <vector>

namespace ck::raft {

class read_only {
 public:
  /// Requires: pending_max >= 1.
  explicit read_only(uint32_t pending_max);

  /// Records a read at `commit_index`, acknowledged by `self`. Returns false (nothing
  /// recorded) when the queue is full or `context` is already pending.
  bool add_request(index_t commit_index, const std::string& context, node_id self);
  /// A heartbeat answer from `from` echoed `context`. Returns the voters that acked that
  /// request so far, or nullptr when the context is not pending (a late or foreign answer).
  const std::vector<node_id>* receive_ack(node_id from, const std::string& context);
  /// Releases the request with `context` and every earlier one, oldest first, into `out`.
  void release_through(const std::string& context, std::vector<read_state>& out);
  /// The newest pending context ("" when none): heartbeats carry it to retry confirmation.
  const std::string& last_pending_context() const;
  size_t pending_count() const { return queue_.size(); }
  void reset() { queue_.clear(); }

 private:
  struct request {
    index_t index = 0;
    std::string context;
    std::vector<node_id> acks;
  };
  request* find(const std::string& context);

  uint32_t pending_max_;
  std::deque<request> queue_;  // Invariant: size <= pending_max_; indices never decrease.
};

}  // namespace ck::raft
