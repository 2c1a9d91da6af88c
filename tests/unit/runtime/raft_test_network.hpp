#pragma once

// A tiny in-memory network for Raft unit tests: N replicas, each a raft::node over a
// memory_log_storage, whose readies are processed exactly as the contract says (persist,
// then send, then apply, then advance) and whose messages are delivered until the group is
// quiet. Filters drop messages to model partitions. The full chaos simulator lives in
// tests/sim; this stays small on purpose.

#include "runtime/raft/memory_log_storage.hpp"
#include "runtime/raft/node.hpp"

#include <doctest/doctest.h>

#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

namespace ck::raft::test {

inline config make_config(node_id id) {
  config c;
  c.id = id;
  c.group = 7;
  c.election_ticks = 10;
  c.heartbeat_ticks = 1;
  c.seed = 42;
  return c;
}

inline conf_state voters_of(std::initializer_list<node_id> ids) {
  conf_state conf;
  conf.voters.assign(ids);
  return conf;
}

/// One replica: its durable storage, its node, and what its state machine applied.
struct replica {
  config cfg;
  std::unique_ptr<memory_log_storage> storage;
  std::unique_ptr<node> raft;
  std::vector<entry> applied;  // every committed entry handed out, in order
  std::vector<read_state> reads;
  index_t snapshot_index = 0;  // the last snapshot applied to the state machine
  std::string snapshot_data;
};

/// Persists, applies and advances one ready of `r`; returns its messages.
inline std::vector<message> process_ready(replica& r) {
  ready rd = r.raft->get_ready();
  if (rd.snap) {
    r.storage->apply_snapshot(*rd.snap);
  }
  r.storage->append(rd.entries);
  if (rd.hard) {
    r.storage->set_hard_state(*rd.hard);
  }
  if (rd.snap) {
    r.snapshot_index = rd.snap->meta.index;
    r.snapshot_data = rd.snap->data;
  }
  for (const entry& e : rd.committed) {
    if (e.type == entry_type::conf_change) {
      conf_change change;
      REQUIRE(decode_conf_change(e.data, change));
      r.storage->set_conf_state(r.raft->apply_conf_change(change));
    }
    r.applied.push_back(e);
  }
  r.reads.insert(r.reads.end(), rd.reads.begin(), rd.reads.end());
  r.raft->advance();
  return std::move(rd.messages);
}

class network {
 public:
  /// Replicas 1..voter_count, all founding voters. `tune` adjusts every config.
  explicit network(size_t voter_count, std::function<void(config&)> tune = {})
      : tune_(std::move(tune)) {
    conf_state conf;
    for (node_id id = 1; id <= voter_count; ++id) {
      conf.voters.push_back(id);
    }
    for (node_id id = 1; id <= voter_count; ++id) {
      add(id, conf);
    }
    stabilize();  // the founders apply their bootstrap entries, as a shell does at once
  }
  network(const network&) = delete;
  network& operator=(const network&) = delete;

  /// Every fixture ends with an invariant check of every replica (LogCabin style).
  ~network() { check(); }

  /// A founder of membership `conf`, or a joiner (empty `conf`) that learns it from the log.
  void add(node_id id, const conf_state& conf) {
    replica& r = replicas_[id];
    r.cfg = make_config(id);
    if (tune_) {
      tune_(r.cfg);
    }
    r.storage = std::make_unique<memory_log_storage>(conf);
    r.raft = std::make_unique<node>(r.cfg, *r.storage);
  }

  /// A crash and restart: the node is rebuilt from what its storage holds.
  void restart(node_id id) {
    replica& r = replicas_.at(id);
    r.cfg.applied = r.applied.empty() ? r.snapshot_index : r.applied.back().index;
    r.raft = std::make_unique<node>(r.cfg, *r.storage);
  }

  node& at(node_id id) { return *replicas_.at(id).raft; }
  replica& get(node_id id) { return replicas_.at(id); }
  std::map<node_id, replica>& replicas() { return replicas_; }

  /// Drops every message to or from `id` until heal().
  void isolate(node_id id) { isolated_.insert(id); }
  void heal() {
    isolated_.clear();
    cut_.clear();
  }
  /// Drops messages between a and b (both ways).
  void cut(node_id a, node_id b) {
    cut_.insert({a, b});
    cut_.insert({b, a});
  }
  /// Extra filter: return false to drop a message.
  std::function<bool(const message&)> filter;
  /// Report each install_snapshot's fate to its sender, as a shell must (node.hpp).
  bool report_snapshots = true;
  /// Keep a copy of every delivered message in delivered() (off for throughput runs).
  bool record_delivered = true;

  /// Processes readies and delivers messages until nothing moves. Returns the number of
  /// messages delivered. Bounded by rounds_max.
  size_t stabilize(size_t rounds_max = 1000) {
    size_t delivered = 0;
    for (size_t round = 0; round < rounds_max; ++round) {
      collect();
      if (queue_.empty()) {
        return delivered;
      }
      delivered += deliver_queued();
    }
    FAIL("network did not stabilize");
    return delivered;
  }

  /// Collects every replica's ready into the queue (messages not yet delivered).
  void collect() {
    for (auto& [id, r] : replicas_) {
      // A node must run out of work: a ready that leaves has_ready() true forever would
      // spin a shell.
      for (int round = 0; r.raft->has_ready(); ++round) {
        REQUIRE(round < 100);
        for (message& m : process_ready(r)) {
          queue_.push_back(std::move(m));
        }
      }
    }
  }

  /// Delivers what is queued now; returns how many arrived.
  size_t deliver_queued() {
    std::deque<message> batch;
    batch.swap(queue_);
    size_t delivered = 0;
    for (message& m : batch) {
      const bool snapshot = m.type == message_type::install_snapshot;
      if (!allowed(m)) {
        if (snapshot && report_snapshots && replicas_.count(m.from) != 0) {
          at(m.from).report_snapshot(m.to, false);  // the shell's duty (node.hpp)
        }
        continue;
      }
      if (record_delivered) {
        delivered_.push_back(m);
      }
      replicas_.at(m.to).raft->step(m);
      if (snapshot && report_snapshots) {
        at(m.from).report_snapshot(m.to, true);
      }
      ++delivered;
    }
    return delivered;
  }

  void tick(node_id id, uint32_t ticks = 1) {
    for (uint32_t i = 0; i < ticks; ++i) {
      at(id).tick();
    }
  }
  void tick_all(uint32_t ticks = 1) {
    for (uint32_t i = 0; i < ticks; ++i) {
      for (auto& [id, r] : replicas_) {
        r.raft->tick();
      }
    }
  }

  /// Makes `id` time out and run its election to the end.
  void elect(node_id id) {
    stabilize();
    tick(id, 2 * replicas_.at(id).cfg.election_ticks);
    stabilize();
  }

  /// The leader with the highest term, or no_node.
  node_id leader() {
    node_id best = no_node;
    term_t best_term = 0;
    for (auto& [id, r] : replicas_) {
      const status_info s = r.raft->status();
      if (s.state == role::leader && s.term >= best_term) {
        best = id;
        best_term = s.term;
      }
    }
    return best;
  }

  /// Proposes `data` at `id` and stabilizes.
  void propose(node_id id, const std::string& data) {
    REQUIRE(at(id).propose(data) == propose_result::ok);
    stabilize();
  }

  std::vector<message>& delivered() { return delivered_; }
  std::deque<message>& queued() { return queue_; }

  /// Invariants of every replica, and State Machine Safety across them: no two replicas
  /// applied different entries at the same index.
  void check() {
    std::map<index_t, entry> seen;
    for (auto& [id, r] : replicas_) {
      r.raft->check_invariants();
      for (const entry& e : r.applied) {
        const auto [at_index, fresh] = seen.emplace(e.index, e);
        CHECK(at_index->second == e);
      }
    }
  }

 private:
  bool allowed(const message& m) const {
    if (replicas_.count(m.to) == 0) {
      return false;
    }
    if (isolated_.count(m.from) != 0 || isolated_.count(m.to) != 0) {
      return false;
    }
    if (cut_.count({m.from, m.to}) != 0) {
      return false;
    }
    return !filter || filter(m);
  }

  std::function<void(config&)> tune_;
  std::map<node_id, replica> replicas_;
  std::deque<message> queue_;
  std::vector<message> delivered_;
  std::set<node_id> isolated_;
  std::set<std::pair<node_id, node_id>> cut_;
};

/// Applied normal entries' data (no-ops skipped), for comparing state machines.
inline std::vector<std::string> applied_data(const replica& r) {
  std::vector<std::string> data;
  for (const entry& e : r.applied) {
    if (e.type == entry_type::normal && !e.data.empty()) {
      data.push_back(e.data);
    }
  }
  return data;
}

/// A single node over a prepared storage, driven by hand (etcd's paper-test style).
struct solo {
  explicit solo(node_id id, conf_state conf, std::function<void(config&)> tune = {}) {
    r.cfg = make_config(id);
    if (tune) {
      tune(r.cfg);
    }
    // Membership known, log empty: the paper tests seed the log they need (with_log).
    r.storage = std::make_unique<memory_log_storage>();
    r.storage->set_conf_state(std::move(conf));
  }
  ~solo() {
    if (r.raft) {
      r.raft->check_invariants();
    }
  }
  /// Seeds the durable log with entries of the given terms (indices 1..n) and hard state.
  solo& with_log(const std::vector<term_t>& terms, hard_state hard = {}) {
    std::vector<entry> entries;
    for (size_t k = 0; k < terms.size(); ++k) {
      entry e;
      e.index = k + 1;
      e.term = terms[k];
      entries.push_back(e);
    }
    r.storage->append(entries);
    r.storage->set_hard_state(hard);
    return *this;
  }
  node& start() {
    r.raft = std::make_unique<node>(r.cfg, *r.storage);
    return *r.raft;
  }
  node& n() { return *r.raft; }
  /// Processes every pending ready; returns all messages.
  std::vector<message> drain() {
    std::vector<message> out;
    while (r.raft->has_ready()) {
      for (message& m : process_ready(r)) {
        out.push_back(std::move(m));
      }
    }
    return out;
  }
  replica r;
};

/// A message to `to` from `from`, in group 7 (make_config's group).
inline message msg(message_type type, node_id from, node_id to, term_t term) {
  message m;
  m.group = 7;
  m.type = type;
  m.from = from;
  m.to = to;
  m.term = term;
  return m;
}

inline std::vector<message> of_type(const std::vector<message>& messages, message_type type) {
  std::vector<message> out;
  for (const message& m : messages) {
    if (m.type == type) {
      out.push_back(m);
    }
  }
  return out;
}

/// Plain Raft elections: no PreVote, no CheckQuorum (and so no lease).
inline void no_pre_vote(config& c) {
  c.pre_vote = false;
  c.check_quorum = false;
}

inline conf_change change_of(conf_change_type type, node_id id) {
  conf_change change;
  change.type = type;
  change.node = id;
  return change;
}

/// The leader's view of `id` in status `s`.
inline const progress_status& progress_of(const status_info& s, node_id id) {
  for (const progress_status& p : s.progress) {
    if (p.id == id) {
      return p;
    }
  }
  FAIL("no progress for node");
  return s.progress.front();
}

inline size_t count_of(const std::deque<message>& messages, message_type type, node_id to) {
  size_t count = 0;
  for (const message& m : messages) {
    count += m.type == type && m.to == to ? 1u : 0u;
  }
  return count;
}

/// Snapshots `id`'s state machine at its applied index and compacts its log there.
inline index_t snapshot_and_compact(network& net, node_id id) {
  replica& r = net.get(id);
  const index_t applied = r.applied.back().index;
  REQUIRE(r.storage->create_snapshot(applied, r.storage->initial_conf_state(), "image"));
  REQUIRE(r.storage->compact(applied));
  return applied;
}

}  // namespace ck::raft::test
