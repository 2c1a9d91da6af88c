#pragma once

// One replica of one Raft group, as a pure state machine in the style of etcd's raft: the
// caller feeds messages (step) and logical time (tick), takes the work to do (ready), does
// it, and confirms it (advance). No I/O, no clock, no threads, no global randomness: the
// election timeout is drawn from a generator seeded by config::seed, so a run is a function
// of its inputs (the deterministic simulator depends on that).
//
// Not thread-safe: one caller (an actor, or the simulator) owns a node.

#include "runtime/raft/log_storage.hpp"
#include "runtime/raft/types.hpp"

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace ck::raft {

enum class role : uint8_t { follower, pre_candidate, candidate, leader };
std::string_view to_string(role r);

struct config {
  node_id id = no_node;
  group_id group = 0;
  /// Ticks without hearing from a leader before a follower campaigns; the actual timeout is
  /// drawn from [election_ticks, 2 * election_ticks). Must exceed heartbeat_ticks.
  uint32_t election_ticks = 10;
  uint32_t heartbeat_ticks = 1;
  /// Appends in flight per follower (pipelining) before the leader waits for acks.
  uint32_t inflight_msgs_max = 256;
  /// Bytes of entries in one append message (at least one entry is always sent).
  uint64_t append_bytes_max = 1 << 20;
  /// Bytes of entries in flight per follower, on top of inflight_msgs_max; 0: no byte limit
  /// (then at most inflight_msgs_max * append_bytes_max, plus oversized single entries). Low
  /// values bound the memory a slow follower costs the leader; high values keep a fast link
  /// busy.
  uint64_t inflight_bytes_max = 0;
  /// Bytes of committed entries handed out in one ready (at least one entry is): bounds the
  /// memory and the apply latency of one batch.
  uint64_t committed_bytes_max = 64 << 20;
  /// Bytes of proposed entries the leader holds uncommitted before propose() returns
  /// `dropped` (an empty backlog always accepts one entry); 0: no limit. Bounds the memory a
  /// leader without a quorum accumulates.
  uint64_t uncommitted_bytes_max = 256 << 20;
  /// read_index() requests waiting for their heartbeat round (or for the leader's first
  /// commit in its term) before read_index() returns `dropped`.
  uint32_t pending_reads_max = 4096;
  /// PreVote: a node first asks whether it could win, so a partitioned node that rejoins
  /// does not force a new term on a healthy group. A pre-vote is granted only for an up to
  /// date log, by a node that has not heard from a leader within election_ticks.
  bool pre_vote = true;
  /// CheckQuorum: a leader that has not heard from a quorum within an election timeout
  /// steps down, and followers that hear from a live leader ignore vote requests.
  bool check_quorum = true;
  /// The last index the state machine had applied before a restart.
  index_t applied = 0;
  /// Seeds the election timeout generator (mixed with `id`, so replicas sharing a seed
  /// still draw different timeouts).
  uint64_t seed = 1;
  /// Optional log line sink; lines start "[g=<group> n=<id> t=<term>]".
  std::function<void(std::string_view)> logger;
  /// Quiescence (CockroachDB's quiesced ranges, TiKV's hibernate regions): a leader whose
  /// followers all hold its whole log, with nothing pending, sends one last heartbeat (context
  /// quiesce_context) and then stops heartbeating; its followers stop counting election ticks.
  /// Ticks then do nothing, so an idle group costs nothing. Any proposal, read, conf change or
  /// transfer at the leader, and any message other than that heartbeat, wakes a replica.
  /// A quiescent follower no longer notices a dead leader by itself: the shell must call
  /// forget_leader() when the leader's node is suspected down (a node-level failure detector).
  bool quiesce = false;
  /// A commit index alone sends nothing: followers learn it with the next append or within
  /// heartbeat_ticks (every heartbeat carries it, the quiescing one included). On a group
  /// with one write in flight at a time (many groups, few writes each) that saves, per write,
  /// one message to each follower and the ready and log-writer round trip it costs there.
  /// The price: while writes pause, a follower's commit and applied index lag the leader's
  /// by up to one heartbeat interval (a stale read on a follower sees that lag; the leader's
  /// answers, reads included, do not wait for followers to apply). A commit that covers a conf
  /// change still goes out at once: membership moves take several steps, each waiting for the
  /// previous to apply.
  bool defer_commit_broadcast = false;
  /// Runs check_invariants() at the end of every step() and tick(). Its cost is bounded by
  /// the number of members, not by the log: the throughput test measures no difference.
  bool check_invariants_each_step = true;

  /// "" when valid, else a line naming the bad field: id != 0, election_ticks >
  /// heartbeat_ticks >= 1, inflight_msgs_max >= 1, append_bytes_max >= 1,
  /// inflight_bytes_max 0 or >= append_bytes_max, committed_bytes_max >= 1,
  /// pending_reads_max >= 1.
  std::string validate() const;
};

/// A read that is now linearizable: serve it once the state machine applied `index`.
struct read_state {
  index_t index = 0;
  std::string context;
};

struct soft_state {
  node_id leader = no_node;
  role state = role::follower;
  friend bool operator==(const soft_state& a, const soft_state& b) {
    return a.leader == b.leader && a.state == b.state;
  }
};

/// The work a node hands its caller. Contract, in this order:
///  1. persist `snap` (if any), then `entries` (appending; an entry at an index that already
///     exists replaces it and everything after it), then `hard` (if any) -- fsync when
///     must_sync;
///  2. only then send `messages` (or, when send_before_persist, at any time from step 1 on);
///  3. apply `snap` (if any), then `committed` in order, to the state machine; for each
///     conf_change entry call node::apply_conf_change and persist the membership it returns;
///  4. answer `reads` once applied >= their index;
///  5. call advance().
/// Between get_ready() and advance() the node may be stepped, ticked and proposed to; what
/// that produces waits for the next ready.
struct ready {
  std::optional<soft_state> soft;  // set when leader or role changed
  std::optional<hard_state> hard;  // set when it changed
  /// The unstable tail: everything appended since the last advance(). Empty most readies
  /// of a follower; a leader's proposals between two readies arrive here together.
  std::vector<entry> entries;
  std::optional<snapshot> snap;
  /// Committed entries not yet handed out, in index order, up to config::committed_bytes_max
  /// bytes (at least one). Only entries that were durable here before this ready are
  /// included (etcd's rule: apply only what is persisted locally), so an entry committed
  /// while still in `entries` follows in the next ready.
  std::vector<entry> committed;
  /// Each with group, from, to and term set. A leader's appends for everything proposed
  /// since the last ready are built here, one per follower within flow control.
  /// For every install_snapshot sent, the shell must later call report_snapshot().
  std::vector<message> messages;
  std::vector<read_state> reads;
  /// `entries` or `snap` non-empty, or term or vote changed. A commit index alone needs no
  /// fsync (a quorum holds it).
  bool must_sync = false;
  /// The messages may leave before step 1 is done (Raft thesis 10.2.1): set for a leader whose
  /// term and vote did not change. Followers may then persist and acknowledge entries before
  /// the leader has them on disk; that is safe because the leader counts its own copy towards
  /// a quorum only once advance() says it is durable. Saves one fsync on a write's path.
  bool send_before_persist = false;
};

enum class propose_result : uint8_t {
  ok,
  not_leader,  // retry at the leader (status().leader, possibly none)
  dropped,     // a leadership transfer or a pending conf change blocks it; retry later
  invalid,     // e.g. a conf change that would remove the last voter
};

struct progress_status {
  node_id id = no_node;
  index_t match = 0;
  index_t next = 0;
  std::string state;  // probe | replicate | snapshot
  bool learner = false;
  bool recent_active = false;
  uint32_t inflight = 0;
};

struct status_info {
  node_id id = no_node;
  group_id group = 0;
  role state = role::follower;
  term_t term = 0;
  node_id vote = no_node;
  node_id leader = no_node;
  index_t commit = 0;
  index_t applied = 0;
  index_t last_index = 0;
  conf_state conf;
  std::vector<progress_status> progress;  // leader only
  bool quiescent = false;                  // node::quiescent()
};

class node {
 public:
  /// Restores term, vote, commit and membership from `storage`. `storage` must outlive the
  /// node; the caller appends to it what ready() hands over (see ready). A founding replica's
  /// storage holds make_bootstrap() (bootstrap.hpp); a joiner's starts empty.
  /// Requires: cfg.validate() == "" (aborts otherwise); cfg.applied <= the persisted commit.
  node(config cfg, const log_storage& storage);
  ~node();
  node(const node&) = delete;
  node& operator=(const node&) = delete;

  /// One unit of logical time (heartbeat and election timers count ticks).
  void tick();
  /// Handles one message for this group addressed to this node (others are ignored, as
  /// are malformed appends).
  void step(const message& m);

  /// Appends a command to the log (leader only); it commits once a quorum stored it.
  /// ok, or not_leader, or dropped (a transfer is under way, or uncommitted_bytes_max is
  /// reached). A proposal that was accepted can still be lost if leadership changes before
  /// it commits: callers retry on their own timeout.
  propose_result propose(std::string data);
  /// Proposes one membership change (leader only). dropped while an earlier change is not
  /// yet applied (or a transfer is under way); invalid for node 0 or when it would remove or
  /// demote the last voter.
  propose_result propose_conf_change(const conf_change& change);
  /// Requests a linearizable read (leader only; not_leader elsewhere); a read_state with
  /// `context` appears in a later ready() once a heartbeat round confirmed the leadership
  /// for the commit index at the time of the request. A new leader first waits until its
  /// no-op commits. invalid for an empty context; dropped when pending_reads_max reads wait
  /// or the context is already pending. Pending reads are dropped when leadership is lost.
  propose_result read_index(std::string context);
  /// Hands leadership to `to`, a voter: the leader drops proposals, brings `to` up to date,
  /// then sends it timeout_now; `to` campaigns at once, bypassing its peers' leases (or,
  /// when it knows of a committed conf change it has not applied, right after the advance()
  /// that applies it, within an election timeout). Aborted after one election timeout.
  /// invalid when `to` is not a voter; `to` == this node aborts a transfer under way.
  propose_result transfer_leadership(node_id to);
  /// Called by the shell once a conf_change entry is applied (membership takes effect);
  /// returns the membership to persist. A leader that is no longer a voter steps down. A
  /// change that would leave no voter is ignored (on every replica alike).
  conf_state apply_conf_change(const conf_change& change);

  /// The shell suspects the leader's node is down (its node-level failure detector): a
  /// follower wakes, forgets its leader and leaves the lease, so it campaigns within one
  /// election timeout and grants (pre-)votes at once. A false suspicion is safe: it costs at
  /// most an election. No-op on a leader.
  void forget_leader();
  /// True while quiescent (config::quiesce): ticks do nothing; the shell may stop ticking
  /// until the next step, proposal, read or forget_leader().
  bool quiescent() const;

  /// The caller could not deliver to `to`: back off replication to it (probe again).
  void report_unreachable(node_id to);
  /// Required for every install_snapshot message the shell sent: ok once `to` installed it,
  /// false when sending failed. Replication to `to` waits in snapshot state until then.
  void report_snapshot(node_id to, bool ok);

  /// Whether get_ready() would hand out anything; false while a ready is outstanding.
  bool has_ready() const;
  /// Requires: the previous ready was advanced.
  ready get_ready();
  /// Requires: a ready is outstanding and its contract was carried out.
  void advance();

  status_info status() const;
  /// Aborts (CK_ASSERT) when an internal invariant does not hold. Cost: bounded by the
  /// number of members, not by the log (runs after each step by default).
  void check_invariants() const;

 private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

}  // namespace ck::raft
