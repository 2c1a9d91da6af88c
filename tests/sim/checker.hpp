#pragma once

// The safety checker. It watches what every simulated node persists, applies and reports and
// throws `violation` on the first broken property:
//  - election safety: at most one leader per term, over every (term, leader) ever seen;
//  - log matching: one (index, term) names one entry and one prefix, across persisted logs;
//  - leader completeness: an entry committed in term T is in the log of every later leader;
//  - state machine safety: no two nodes apply different entries at one index;
//  - durability: the committed log only grows, and no node overwrites an entry at or below
//    its own persisted commit; a node applies only entries it persisted;
//  - per-node deltas: term and commit never fall between steps (a crash rolls them back to
//    exactly what was persisted), and a vote once persisted for a term never changes;
//  - read index: a read is released at an index covering every commit known when it was asked.
// Logs are compared by chain hashes (see hash.hpp), so each check costs O(new entries).

#include "runtime/raft/log_storage.hpp"
#include "runtime/raft/node.hpp"
#include "runtime/raft/types.hpp"

#include <cstdint>
#include <map>
#include <stdexcept>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

namespace ck::sim {

class violation : public std::runtime_error {
 public:
  violation(std::string property_name, const std::string& detail)
      : std::runtime_error(property_name + ": " + detail), property(std::move(property_name)) {}
  std::string property;
};

/// The identity of one entry of a log: its term, content hash and prefix chain hash.
struct log_link {
  raft::term_t term = 0;
  uint64_t content = 0;
  uint64_t chain = 0;
};

/// The checker's copy of one node's persisted log: a base (the snapshot, or index 0) and the
/// links after it. Compaction does not shorten it; installing a snapshot resets it.
struct log_mirror {
  raft::index_t base_index = 0;
  raft::term_t base_term = 0;
  uint64_t base_chain = 0;
  std::vector<log_link> links;  // links[k] is index base_index + 1 + k
  raft::hard_state hard;        // the last persisted hard state

  raft::index_t last_index() const { return base_index + links.size(); }
  raft::term_t term_at(raft::index_t i) const;
  uint64_t chain_at(raft::index_t i) const;  // Requires: base_index <= i <= last_index()
};

/// One node as the checker sees it after a step.
struct node_view {
  raft::node_id id = raft::no_node;
  uint64_t incarnation = 0;
  const raft::node* core = nullptr;
};

class checker {
 public:
  /// A founder's disk before its first start (the bootstrap entries and hard state).
  void on_found(raft::node_id id, const raft::log_storage& storage);
  /// Persisted state of the shell: `snapshot_chain` is the chain hash carried by rd.snap's
  /// state machine image (0 when rd.snap is empty). `storage` is read back to pair-check.
  void on_persist(raft::node_id id, const raft::ready& rd, uint64_t snapshot_chain,
                  const raft::log_storage& storage);
  /// `e` was applied; `chain_after` is the state machine's chain once it is applied.
  void on_apply(raft::node_id id, const raft::entry& e, uint64_t chain_after,
                raft::term_t node_term);
  /// The state machine was restored from a snapshot image (install or restart).
  void on_restore(raft::node_id id, raft::index_t index, uint64_t chain);
  /// A restarted node: its restored state must equal what its disk holds.
  void on_restart(const node_view& view, const raft::log_storage& storage);
  void on_retire(raft::node_id id);
  /// A retired id comes back with `hard` on its disk (--readd-tombstone).
  void on_tombstone(raft::node_id id, const raft::hard_state& hard);

  void on_read_request(const std::string& context, raft::index_t commit_known);
  void on_read_state(raft::node_id id, const raft::read_state& read);

  /// After every step: check_invariants, election safety, deltas, leader completeness.
  void after_step(const std::vector<node_view>& live);

  raft::index_t committed_count() const { return committed_.size(); }
  size_t leader_terms_seen() const { return leaders_.size(); }

 private:
  struct baseline {
    uint64_t incarnation = 0;
    raft::term_t term = 0;
    raft::index_t commit = 0;
    raft::node_id vote = raft::no_node;
  };
  struct committed_link {
    log_link link;
    raft::term_t commit_term = 0;  // an upper bound of the term in which it was committed
  };
  struct read_request {
    raft::index_t commit_known = 0;
    bool released = false;
  };

  void persist_snapshot(raft::node_id id, log_mirror& m, const raft::snapshot& snap,
                        uint64_t chain);
  void persist_entries(raft::node_id id, log_mirror& m, const std::vector<raft::entry>& entries);
  void persist_hard_state(raft::node_id id, log_mirror& m, const raft::hard_state& hard);
  void check_against_storage(raft::node_id id, const log_mirror& m,
                             const raft::log_storage& storage) const;
  void record_commit(raft::node_id id, const log_mirror& m, raft::index_t commit,
                     raft::term_t observed_term);
  void lower_commit_terms(raft::index_t up_to, raft::term_t observed_term);
  void check_node_delta(const node_view& view, const raft::status_info& status);
  void check_leader_completeness(raft::node_id id, raft::term_t term) const;

  std::map<raft::term_t, raft::node_id> leaders_;
  struct position_hash {
    size_t operator()(const std::pair<raft::index_t, raft::term_t>& p) const {
      return static_cast<size_t>(p.first * 0x9e3779b97f4a7c15ull ^ p.second);
    }
  };
  // Every (index, term) ever persisted by any node, with its content and prefix chain.
  std::unordered_map<std::pair<raft::index_t, raft::term_t>, log_link, position_hash> entries_seen_;
  std::map<raft::node_id, log_mirror> mirrors_;
  std::vector<committed_link> committed_;  // committed_[k] is index k + 1
  std::map<std::pair<raft::node_id, raft::term_t>, raft::node_id> votes_;
  std::map<raft::node_id, baseline> baselines_;
  std::unordered_map<std::string, read_request> reads_;
};

}  // namespace ck::sim
