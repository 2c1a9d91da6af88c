#pragma once

// The role machine behind raft::node (internal: include only from runtime/raft/*.cpp).
// One struct, its methods split by concept over several files:
//   node.cpp             construction, public forwarding, log lines, status
//   node_election.cpp    terms, roles, ticks, campaigns, votes (PreVote, lease)
//   node_follower.cpp    the follower side of replication and snapshots
//   node_leader.cpp      the leader side: proposals, replication, commit, ReadIndex
//   node_membership.cpp  conf changes, leadership transfer, shell reports
//   node_ready.cpp       ready / advance
//   node_invariants.cpp  check_invariants
//
// Roles are swapped on each transition by pointing step_role at one step function per
// role, as etcd does; a transition that cannot happen (follower -> leader, leader ->
// candidate) aborts.

#include "runtime/raft/node.hpp"
#include "runtime/raft/raft_log.hpp"
#include "runtime/raft/read_only.hpp"
#include "runtime/raft/tracker.hpp"

#include <cstdint>
#include <random>
#include <string>
#include <vector>

namespace ck::raft {

enum class campaign_kind : uint8_t {
  pre_election,  // PreVote: ask whether we could win, changing no state anywhere
  election,      // a real election: term + 1, vote for ourselves
  transfer,      // a real election asked for by the leader (timeout_now): bypasses leases
};

struct node::impl {
  impl(config c, const log_storage& s);

  // --- node.cpp -----------------------------------------------------------------------
  /// One log line through config::logger, prefixed "[g=.. n=.. t=..] ".
  void log_line(const char* format, ...) const __attribute__((format(printf, 2, 3)));
  /// A message from us at our term; callers override what differs.
  message make_message(message_type type, node_id to) const;
  void send(message m) { outbox.push_back(std::move(m)); }
  status_info status() const;

  // --- node_election.cpp --------------------------------------------------------------
  void step(const message& m);
  /// Raft's "if a message's term is newer, adopt it; if older, drop it", with the PreVote
  /// and lease exceptions. Returns false when `m` must not be handled further.
  bool step_term(const message& m);
  /// The leader lease (CheckQuorum) and the PreVote rule: a node that heard from a leader
  /// within the election timeout ignores a vote request, unless it is a transfer campaign.
  bool in_lease(const message& m) const;
  void handle_vote_request(const message& m);
  void step_candidate(const message& m);
  void tick_election();
  void tick_heartbeat();
  /// Leader: everything is replicated, committed, applied and answered (config::quiesce).
  bool can_quiesce() const;
  /// Leaves quiescence; a leader restarts its timers and heartbeats at once, so its
  /// followers wake too.
  void wake();
  /// A proposal, read, conf change or transfer reached us: a quiescent leader wakes
  /// (followers answer not_leader and stay as they are).
  void wake_for_work() {
    if (quiescent && state == role::leader) {
      wake();
    }
  }
  void forget_leader();
  void campaign(campaign_kind kind);
  /// timeout_now from the leader: campaign now, or once the committed conf changes are applied.
  void campaign_for_transfer();
  bool promotable() const;
  /// Committed conf changes not yet applied: campaigning now would use a stale membership.
  bool has_unapplied_conf_changes() const;
  void reset(term_t new_term);
  void become_follower(term_t new_term, node_id new_leader);
  void become_pre_candidate();
  void become_candidate();
  void become_leader();

  // --- node_follower.cpp --------------------------------------------------------------
  void step_follower(const message& m);
  void handle_append(const message& m);
  void handle_heartbeat(const message& m);
  void handle_snapshot(const message& m);
  /// Returns true when `snap` replaced the log (then it appears in the next ready).
  bool restore(const snapshot& snap);

  // --- node_leader.cpp ----------------------------------------------------------------
  void step_leader(const message& m);
  void handle_append_response(const message& m, progress& pr);
  void handle_heartbeat_response(const message& m, progress& pr);
  propose_result propose(std::string data);
  /// Appends one entry of ours; false when the uncommitted backlog is full.
  bool append_entry(entry_type type, std::string data);
  /// Moves the commit index to what a quorum stored, if that entry is of our term.
  bool maybe_commit();
  bool committed_entry_in_current_term() const;
  /// Sends every follower what it lacks, within flow control (called by get_ready, so many
  /// proposals between two readies travel in one append per follower).
  void flush_appends();
  bool needs_append(const progress& pr) const;
  /// Sends one append (or the snapshot when the entries are compacted). False when nothing
  /// could be sent.
  bool send_append(progress& pr);
  bool send_snapshot(progress& pr);
  void send_heartbeat(progress& pr, const std::string& context);
  void broadcast_heartbeat(const std::string& context);
  propose_result read_index(std::string context);
  /// Records the reads; the next ready confirms them with one heartbeat round.
  void start_reads(const std::vector<std::string>& contexts);
  /// Reads that waited for the leader's first commit in its term go out now.
  void release_waiting_reads();
  void handle_read_ack(const message& m);

  // --- node_membership.cpp ------------------------------------------------------------
  /// At start: the stored membership, then every conf change in [first_index, applied].
  void restore_membership(const conf_state& stored);
  propose_result propose_conf_change(const conf_change& change);
  conf_state apply_conf_change(const conf_change& change);
  propose_result transfer_leadership(node_id to);
  void send_timeout_now(node_id to);
  void abort_transfer();
  void report_unreachable(node_id to);
  void report_snapshot(node_id to, bool ok);

  // --- node_ready.cpp -----------------------------------------------------------------
  soft_state soft() const { return soft_state{leader, state}; }
  hard_state hard() const { return hard_state{term, vote, log.committed()}; }
  bool has_ready() const;
  ready get_ready();
  void advance();

  // --- node_invariants.cpp ------------------------------------------------------------
  void check_invariants() const;

  // --- constant after construction ----------------------------------------------------
  const config cfg;
  const log_storage& storage;

  // --- persistent (Raft Figure 2): a change reaches the next ready's `hard`, which the
  // shell persists before sending anything.
  term_t term = 0;
  node_id vote = no_node;  // Invariant: changes at most once per term (reset() clears it).
  raft_log log;

  // --- volatile -----------------------------------------------------------------------
  role state = role::follower;
  void (impl::*step_role)(const message&) = nullptr;  // Invariant: matches `state`.
  node_id leader = no_node;                           // Invariant: leader -> == cfg.id.
  progress_tracker tracker;                           // progress is the leader's view only
  read_only reads;                                    // leader: reads being confirmed
  std::vector<std::string> reads_waiting;             // leader: reads before its first commit
  /// Leader: reads were recorded since the last heartbeat round; get_ready() sends one round
  /// for all of them (the newest context confirms every earlier read).
  bool read_heartbeat_due = false;
  node_id transferee = no_node;                       // leader: target of a leadership transfer
  /// Follower: ticks left to act on a timeout_now that arrived while a committed conf change
  /// was not applied yet (campaign refuses then); 0 = none. The campaign follows the apply
  /// (advance) instead of the leader's retry seconds later; it lapses after an election
  /// timeout, when the leader has given the transfer up.
  uint32_t transfer_campaign_ticks = 0;
  /// Leader: index of the last conf change proposed; the next waits until it is applied.
  index_t pending_conf_index = 0;
  uint64_t uncommitted_bytes = 0;  // leader: bytes proposed and not yet applied
  /// Follower/candidate: ticks since the leader was last heard (or the campaign began).
  /// Leader: ticks since the last CheckQuorum.
  uint32_t election_elapsed = 0;
  uint32_t heartbeat_elapsed = 0;  // leader only
  /// config::quiesce: no election or heartbeat timers run. Invariant: leader or follower.
  bool quiescent = false;
  /// Invariant: in [election_ticks, 2 * election_ticks); drawn anew on every reset().
  uint32_t randomized_election_ticks = 0;
  std::mt19937_64 random;

  // --- output, drained by get_ready() -------------------------------------------------
  std::vector<message> outbox;
  std::vector<read_state> read_states;
  soft_state prev_soft;  // as last handed out
  hard_state prev_hard;  // as last handed out (or loaded from storage)
  /// What the outstanding ready handed out, for advance().
  struct handed_out {
    bool outstanding = false;
    index_t entries_last_index = 0;
    term_t entries_last_term = 0;
    index_t snapshot_index = 0;
    index_t committed_last_index = 0;
    uint64_t committed_bytes = 0;
  } handed;
};

}  // namespace ck::raft
