// The leader side: proposals, replication with flow control, the commit rule, ReadIndex.

#include "runtime/raft/node_impl.hpp"

#include "runtime/base/assert.hpp"

#include <algorithm>
#include <cinttypes>

namespace ck::raft {

void node::impl::step_leader(const message& m) {
  progress* pr = tracker.find(m.from);
  if (pr == nullptr) {
    return;  // not a member (any more)
  }
  if (m.type == message_type::append_response) {
    handle_append_response(m, *pr);
  } else if (m.type == message_type::heartbeat_response) {
    handle_heartbeat_response(m, *pr);
  }
  // Vote answers of an election already won, and the rest, need nothing.
}

void node::impl::handle_append_response(const message& m, progress& pr) {
  pr.recent_active = true;
  if (m.reject) {
    // Fast back-off: jump to the last index of ours whose term is at most the follower's
    // term at its hint, skipping a whole conflicting term per round trip.
    index_t next_probe = m.reject_hint;
    if (m.reject_hint_term > 0) {
      next_probe = log.find_conflict_by_term(m.reject_hint, m.reject_hint_term).first;
    }
    if (pr.maybe_decrease_to(m.index, next_probe) && pr.state == progress_state::replicate) {
      pr.become_probe();
    }
    return;
  }
  const bool updated = pr.maybe_update(m.index);
  if (!updated && !(pr.match == m.index && pr.state == progress_state::probe)) {
    return;  // a stale acknowledgement
  }
  switch (pr.state) {
    case progress_state::probe:
      pr.become_replicate();  // the position is known: start pipelining
      break;
    case progress_state::snapshot:
      if (pr.match + 1 >= log.first_index()) {
        pr.become_probe();  // the follower caught up past our compacted prefix
        pr.become_replicate();
      }
      break;
    case progress_state::replicate:
      pr.window.free_le(m.index);
      break;
  }
  if (maybe_commit()) {
    release_waiting_reads();
  }
  if (m.from == transferee && pr.match == log.last_index()) {
    log_line("transfer target %" PRIu64 " is up to date", m.from);
    send_timeout_now(m.from);
  }
}

void node::impl::handle_heartbeat_response(const message& m, progress& pr) {
  pr.recent_active = true;
  pr.probe_sent = false;  // probe again at most once per heartbeat interval
  if (m.reject && m.reject_hint < pr.match) {
    // The follower's log ends below what we counted as matched: it lost it (handle_heartbeat).
    // Lowering a match is safe (it only takes back support); the probe finds where the logs
    // agree, or a snapshot follows.
    log_line("%" PRIu64 " lost its log above %" PRIu64 " (matched %" PRIu64 "): probing again",
             m.from, m.reject_hint, pr.match);
    pr.lost_log(m.reject_hint);
    if (quiescent) {
      wake();  // the follower must be caught up
    }
  }
  if (pr.state == progress_state::replicate && pr.window.full()) {
    pr.window.free_first_one();  // alive, but acks are lost: let one more append through
  }
  // Behind although appends went out: they may have been lost. Sending again either
  // delivers or draws a rejection that moves the follower back to probe.
  pr.append_wanted = pr.match < log.last_index();
  if (!m.context.empty()) {
    handle_read_ack(m);
  }
}

propose_result node::impl::propose(std::string data) {
  if (state != role::leader) {
    return propose_result::not_leader;
  }
  if (transferee != no_node) {
    return propose_result::dropped;  // leadership is moving: retry at the new leader
  }
  return append_entry(entry_type::normal, std::move(data)) ? propose_result::ok
                                                           : propose_result::dropped;
}

bool node::impl::append_entry(entry_type type, std::string data) {
  CK_ASSERT(state == role::leader);
  entry e;
  e.term = term;
  e.index = log.last_index() + 1;
  e.type = type;
  e.data = std::move(data);
  const uint64_t bytes = entry_bytes(e);
  const bool over = uncommitted_bytes > 0 && uncommitted_bytes + bytes > cfg.uncommitted_bytes_max;
  if (cfg.uncommitted_bytes_max != 0 && over) {
    return false;
  }
  uncommitted_bytes += bytes;
  log.append(std::move(e));
  return true;
}

bool node::impl::maybe_commit() {
  const index_t quorum_index = tracker.committed_index();
  if (quorum_index <= log.committed()) {
    return false;
  }
  // Figure 8 (5.4.2): counting replicas commits only an entry of the current term; the
  // earlier entries commit with it, by Log Matching.
  if (log.term_or_zero(quorum_index) != term) {
    return false;
  }
  log.commit_to(quorum_index);
  return true;
}

bool node::impl::committed_entry_in_current_term() const {
  return log.term_or_zero(log.committed()) == term;
}

bool node::impl::needs_append(const progress& pr) const {
  if (pr.paused()) {
    return false;
  }
  if (pr.next <= log.last_index() || pr.append_wanted) {
    return true;
  }
  if (pr.state == progress_state::probe && pr.match + 1 < pr.next) {
    return true;  // the match point is unconfirmed: probe it, even without entries
  }
  if (!pr.can_bump_commit(log.committed())) {
    return false;
  }
  // Deferred (config::defer_commit_broadcast), except for a commit that covers a conf change
  // the follower has not been told is committed: membership moves (a learner's promotion, a
  // replica's removal, the next change, which waits until this one is applied) must not wait a
  // heartbeat per step.
  const bool conf_change_news =
      pending_conf_index > pr.sent_commit && pending_conf_index <= log.committed();
  return !cfg.defer_commit_broadcast || conf_change_news;
}

void node::impl::flush_appends() {
  for (progress& pr : tracker.members()) {
    if (pr.id == cfg.id) {
      continue;
    }
    // Bounded: each append fills one slot of the window or exhausts what there is to send.
    for (uint32_t sent = 0; sent <= cfg.inflight_msgs_max && needs_append(pr); ++sent) {
      if (!send_append(pr)) {
        break;
      }
    }
  }
}

bool node::impl::send_append(progress& pr) {
  const index_t prev_index = pr.next - 1;
  term_t prev_term = 0;
  if (log.term(prev_index, prev_term) != log_error::none) {
    return send_snapshot(pr);  // compacted: the follower needs the snapshot
  }
  std::vector<entry> entries;
  if (pr.next <= log.last_index()) {
    if (log.slice(pr.next, log.last_index() + 1, cfg.append_bytes_max, entries) !=
        log_error::none) {
      return send_snapshot(pr);
    }
  }
  uint64_t bytes = 0;
  for (const entry& e : entries) {
    bytes += entry_bytes(e);
  }
  message m = make_message(message_type::append, pr.id);
  m.index = prev_index;
  m.log_term = prev_term;
  m.commit = log.committed();
  pr.sent_append(prev_index + entries.size(), entries.size(), bytes, m.commit);
  m.entries = std::move(entries);
  send(std::move(m));
  return true;
}

bool node::impl::send_snapshot(progress& pr) {
  if (!pr.recent_active) {
    // Do not ship a snapshot to a node that may be down. Pause it until it answers a
    // heartbeat (which marks it active), or get_ready would report this work forever.
    if (pr.state != progress_state::probe) {
      pr.become_probe();
    }
    pr.probe_sent = true;
    return false;
  }
  snapshot snap = storage.current_snapshot();
  CK_ASSERT(!snap.empty());  // entries are compacted only below a snapshot
  log_line("sending snapshot at index %" PRIu64 " to %" PRIu64 " (next %" PRIu64 ")",
           snap.meta.index, pr.id, pr.next);
  pr.become_snapshot(snap.meta.index);
  message m = make_message(message_type::install_snapshot, pr.id);
  m.snap = std::move(snap);
  send(std::move(m));
  return true;
}

void node::impl::send_heartbeat(progress& pr, const std::string& context) {
  message m = make_message(message_type::heartbeat, pr.id);
  // Never more than the follower holds: it may not have our commit index's entry yet.
  m.commit = std::min(pr.match, log.committed());
  m.context = context;
  pr.sent_commit = std::max(pr.sent_commit, m.commit);
  send(std::move(m));
}

void node::impl::broadcast_heartbeat(const std::string& context) {
  for (progress& pr : tracker.members()) {
    if (pr.id != cfg.id) {
      send_heartbeat(pr, context);
    }
  }
}

// --- ReadIndex (thesis 6.4) ---------------------------------------------------------------

propose_result node::impl::read_index(std::string context) {
  if (state != role::leader) {
    return propose_result::not_leader;
  }
  if (context.empty() || context == quiesce_context || context == transfer_campaign_context) {
    return propose_result::invalid;  // an empty context is a plain heartbeat; others reserved
  }
  const auto& voters = tracker.conf().voters;
  if (voters.size() == 1 && voters.front() == cfg.id) {
    read_states.push_back(read_state{log.committed(), std::move(context)});  // no one to ask
    return propose_result::ok;
  }
  const size_t pending = reads.pending_count() + reads_waiting.size();
  if (pending >= cfg.pending_reads_max) {
    return propose_result::dropped;
  }
  if (!committed_entry_in_current_term()) {
    // Our commit index may lag the previous leader's until our no-op commits.
    if (std::find(reads_waiting.begin(), reads_waiting.end(), context) != reads_waiting.end()) {
      return propose_result::dropped;  // two requests sharing acks would confuse them
    }
    reads_waiting.push_back(std::move(context));
    return propose_result::ok;
  }
  if (!reads.add_request(log.committed(), context, cfg.id)) {
    return propose_result::dropped;  // already pending
  }
  read_heartbeat_due = true;  // one round per ready, however many reads arrive before it
  return propose_result::ok;
}

void node::impl::start_reads(const std::vector<std::string>& contexts) {
  for (const std::string& context : contexts) {
    // A duplicate context is not recorded: two requests sharing acks would confuse them.
    if (reads.add_request(log.committed(), context, cfg.id)) {
      read_heartbeat_due = true;
    }
  }
}

void node::impl::release_waiting_reads() {
  if (reads_waiting.empty() || !committed_entry_in_current_term()) {
    return;
  }
  start_reads(reads_waiting);
  reads_waiting.clear();
}

void node::impl::handle_read_ack(const message& m) {
  const std::vector<node_id>* acks = reads.receive_ack(m.from, m.context);
  if (acks == nullptr || tracker.tally_acks(*acks) != vote_result::won) {
    return;
  }
  reads.release_through(m.context, read_states);
}

}  // namespace ck::raft
