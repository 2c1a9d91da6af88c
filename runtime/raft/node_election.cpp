// Terms, roles, ticks and elections (Raft 5.1, 5.2, 5.4.1; thesis 9.6 PreVote, 6.2 lease).

#include "runtime/raft/node_impl.hpp"

#include "runtime/base/assert.hpp"

#include <algorithm>
#include <cinttypes>
#include <limits>

namespace ck::raft {

void node::impl::step(const message& m) {
  if (m.group != cfg.group || m.to != cfg.id || m.from == cfg.id || m.from == no_node) {
    return;  // not for this replica
  }
  if (quiescent && m.type != message_type::heartbeat_response &&
      !(m.type == message_type::heartbeat && m.context == quiesce_context)) {
    wake();  // anything but the quiet group's own last words means there is work
  }
  if (!step_term(m)) {
    return;
  }
  if (m.type == message_type::vote || m.type == message_type::pre_vote) {
    handle_vote_request(m);
    return;
  }
  (this->*step_role)(m);
}

bool node::impl::in_lease(const message& m) const {
  if (m.context == transfer_campaign_context) {
    return false;  // the leader itself asked for this election
  }
  if (leader == no_node || election_elapsed >= cfg.election_ticks) {
    return false;
  }
  // CheckQuorum guarantees a live leader steps down on losing its quorum, so its followers
  // may ignore real votes; a pre-vote is refused on this ground in any case (thesis 9.6).
  return cfg.check_quorum || m.type == message_type::pre_vote;
}

bool node::impl::step_term(const message& m) {
  if (m.term > term) {
    const bool vote_request = m.type == message_type::vote || m.type == message_type::pre_vote;
    if (vote_request && in_lease(m)) {
      return false;  // a disruptive candidate; the leader we hear from is alive
    }
    if (m.type == message_type::pre_vote) {
      return true;  // a pre-vote is for a future term and changes nothing here
    }
    if (m.type == message_type::pre_vote_response && !m.reject) {
      return true;  // a pre-vote granted for our next term: counted by step_candidate
    }
    const bool from_leader = m.type == message_type::append || m.type == message_type::heartbeat ||
                             m.type == message_type::install_snapshot;
    log_line("received %.*s of term %" PRIu64 " from %" PRIu64,
             static_cast<int>(to_string(m.type).size()), to_string(m.type).data(), m.term, m.from);
    become_follower(m.term, from_leader ? m.from : no_node);
    return true;
  }
  if (m.term < term) {
    // Figure 2: a stale request is answered "false" with our term, which makes its sender
    // adopt the term. Stale leaders step down (with CheckQuorum or PreVote our votes would
    // not raise their term), and stale candidates catch up: a candidate whose vote requests
    // were dropped silently could climb terms in lockstep with another partition forever.
    if (m.type == message_type::append || m.type == message_type::heartbeat) {
      send(make_message(message_type::append_response, m.from));
    } else if (m.type == message_type::vote || m.type == message_type::pre_vote) {
      message answer = make_message(m.type == message_type::vote ? message_type::vote_response
                                                                 : message_type::pre_vote_response,
                                    m.from);
      answer.reject = true;
      send(std::move(answer));
    }
    return false;
  }
  return true;
}

void node::impl::handle_vote_request(const message& m) {
  const bool pre = m.type == message_type::pre_vote;
  const message_type answer_type =
      pre ? message_type::pre_vote_response : message_type::vote_response;
  // 5.2: at most one vote per term; a pre-vote for a newer term binds nothing.
  const bool can_vote =
      vote == m.from || (vote == no_node && leader == no_node) || (pre && m.term > term);
  // 5.4.1: only for a candidate whose log is at least as up to date as ours.
  if (can_vote && log.is_up_to_date(m.index, m.log_term)) {
    message answer = make_message(answer_type, m.from);
    answer.term = m.term;  // a granted pre-vote speaks for the candidate's next term
    send(std::move(answer));
    if (!pre) {
      election_elapsed = 0;
      vote = m.from;
      log_line("voted for %" PRIu64, m.from);
    }
    return;
  }
  message answer = make_message(answer_type, m.from);
  answer.reject = true;
  send(std::move(answer));
}

void node::impl::step_candidate(const message& m) {
  switch (m.type) {
    case message_type::append:
      become_follower(m.term, m.from);  // a leader of our term exists (5.2)
      handle_append(m);
      return;
    case message_type::heartbeat:
      become_follower(m.term, m.from);
      handle_heartbeat(m);
      return;
    case message_type::install_snapshot:
      become_follower(m.term, m.from);
      handle_snapshot(m);
      return;
    default:
      break;
  }
  const message_type answer_type =
      state == role::pre_candidate ? message_type::pre_vote_response : message_type::vote_response;
  if (m.type != answer_type) {
    return;
  }
  tracker.record_vote(m.from, !m.reject);
  switch (tracker.vote_outcome()) {
    case vote_result::won:
      if (state == role::pre_candidate) {
        campaign(campaign_kind::election);
      } else {
        become_leader();
      }
      return;
    case vote_result::lost:
      become_follower(term, no_node);  // a pre-candidate keeps its term: nothing changed
      return;
    case vote_result::pending:
      return;
  }
}

void node::impl::tick_election() {
  if (transfer_campaign_ticks > 0) {
    --transfer_campaign_ticks;  // the leader aborts its transfer after an election timeout
  }
  if (quiescent) {
    return;  // the leader went quiet; the shell's failure detector watches its node
  }
  // Saturates: a learner never campaigns, and a wrapped count would look like a fresh lease.
  if (election_elapsed < std::numeric_limits<uint32_t>::max()) {
    ++election_elapsed;
  }
  if (promotable() && election_elapsed >= randomized_election_ticks) {
    election_elapsed = 0;
    campaign(cfg.pre_vote ? campaign_kind::pre_election : campaign_kind::election);
  }
}

void node::impl::tick_heartbeat() {
  if (quiescent) {
    return;
  }
  ++heartbeat_elapsed;
  ++election_elapsed;
  if (election_elapsed >= cfg.election_ticks) {
    election_elapsed = 0;
    if (cfg.check_quorum) {
      if (!tracker.quorum_active()) {
        log_line("stepped down: no quorum of voters active within an election timeout");
        become_follower(term, no_node);
        return;
      }
      tracker.reset_recent_active(cfg.id);
    }
    if (transferee != no_node) {
      log_line("aborted leadership transfer to %" PRIu64 ": timed out", transferee);
      abort_transfer();
    }
  }
  if (heartbeat_elapsed >= cfg.heartbeat_ticks) {
    heartbeat_elapsed = 0;
    if (cfg.quiesce && can_quiesce()) {
      // The followers hold everything and learn the commit index from this heartbeat.
      log_line("quiescent at index %" PRIu64, log.last_index());
      broadcast_heartbeat(std::string(quiesce_context));
      quiescent = true;
      return;
    }
    broadcast_heartbeat(reads.last_pending_context());  // also retries pending reads
  }
}

bool node::impl::can_quiesce() const {
  if (state != role::leader || transferee != no_node || reads.pending_count() != 0 ||
      !reads_waiting.empty()) {
    return false;
  }
  const index_t last = log.last_index();
  if (log.committed() != last || log.applied() != last || !committed_entry_in_current_term()) {
    return false;
  }
  for (const progress& pr : tracker.members()) {  // self included: our tail is durable
    if (pr.match != last || (pr.id != cfg.id && pr.state != progress_state::replicate)) {
      return false;
    }
  }
  return true;
}

void node::impl::wake() {
  quiescent = false;
  if (state == role::leader) {
    // A fresh CheckQuorum period: the followers' silence while quiet proves nothing.
    election_elapsed = 0;
    heartbeat_elapsed = 0;
    tracker.reset_recent_active(cfg.id);
    broadcast_heartbeat(reads.last_pending_context());
  }
}

void node::impl::forget_leader() {
  if (state == role::leader) {
    return;
  }
  quiescent = false;
  if (leader != no_node) {
    log_line("forgot leader %" PRIu64 ": its node is suspected down", leader);
    leader = no_node;
  }
  // Out of the lease (in_lease) at once; the campaign follows within one election timeout
  // (randomized_election_ticks < 2 * election_ticks), spread as usual.
  election_elapsed = std::max(election_elapsed, cfg.election_ticks);
}

bool node::impl::promotable() const {
  return tracker.is_voter(cfg.id) && !log.unstable().pending_snapshot();
}

bool node::impl::has_unapplied_conf_changes() const {
  bool found = false;
  const log_error error = log.scan(log.applied() + 1, log.committed() + 1, cfg.committed_bytes_max,
                                   [&found](const entry& e) {
                                     found = e.type == entry_type::conf_change;
                                     return !found;
                                   });
  // When the log cannot tell, do not campaign on a possibly stale membership.
  return found || error != log_error::none;
}

void node::impl::campaign_for_transfer() {
  if (promotable() && has_unapplied_conf_changes()) {
    // Common right after a promotion: the leader hands over as soon as the new voter's conf
    // change commits, and the commit index reaches us before our shell applied the entry.
    if (transfer_campaign_ticks == 0) {  // a later timeout_now does not extend the wait
      log_line("leadership transfer: campaigning once the committed conf changes are applied");
      transfer_campaign_ticks = cfg.election_ticks;
    }
    return;
  }
  transfer_campaign_ticks = 0;
  campaign(campaign_kind::transfer);
}

void node::impl::campaign(campaign_kind kind) {
  if (!promotable()) {
    log_line("did not campaign: not a voter, or a snapshot is pending");
    return;
  }
  if (has_unapplied_conf_changes()) {
    log_line("did not campaign: committed conf changes are not applied yet");
    return;
  }
  const bool pre = kind == campaign_kind::pre_election;
  if (pre) {
    become_pre_candidate();
  } else {
    become_candidate();
  }
  tracker.record_vote(cfg.id, true);
  if (tracker.vote_outcome() == vote_result::won) {  // a group of one voter
    if (pre) {
      campaign(campaign_kind::election);
    } else {
      become_leader();
    }
    return;
  }
  for (const node_id voter : tracker.conf().voters) {
    if (voter == cfg.id) {
      continue;
    }
    message request = make_message(pre ? message_type::pre_vote : message_type::vote, voter);
    request.term = pre ? term + 1 : term;
    request.index = log.last_index();
    request.log_term = log.last_term();
    if (kind == campaign_kind::transfer) {
      request.context = std::string(transfer_campaign_context);
    }
    send(std::move(request));
  }
}

void node::impl::reset(term_t new_term) {
  if (term != new_term) {
    CK_ASSERT_GT(new_term, term);
    term = new_term;
    vote = no_node;
  }
  leader = no_node;
  election_elapsed = 0;
  heartbeat_elapsed = 0;
  quiescent = false;
  randomized_election_ticks =
      cfg.election_ticks + static_cast<uint32_t>(random() % cfg.election_ticks);
  transfer_campaign_ticks = 0;
  abort_transfer();
  tracker.reset_votes();
  tracker.reset_progress(log.last_index() + 1);
  pending_conf_index = 0;
  uncommitted_bytes = 0;
  reads.reset();  // unconfirmed reads are dropped: the caller retries at the new leader
  reads_waiting.clear();
  read_heartbeat_due = false;
}

void node::impl::become_follower(term_t new_term, node_id new_leader) {
  step_role = &impl::step_follower;
  reset(new_term);
  leader = new_leader;
  state = role::follower;
  log_line("became follower (leader %" PRIu64 ")", new_leader);
}

void node::impl::become_pre_candidate() {
  CK_ASSERT(state != role::leader);
  // Term, vote and timers stay: a pre-election must not disturb anything (thesis 9.6).
  step_role = &impl::step_candidate;
  tracker.reset_votes();
  leader = no_node;
  transfer_campaign_ticks = 0;  // our own election is under way; the transfer's has lapsed
  state = role::pre_candidate;
  log_line("became pre-candidate");
}

void node::impl::become_candidate() {
  CK_ASSERT(state != role::leader);
  step_role = &impl::step_candidate;
  reset(term + 1);
  vote = cfg.id;
  state = role::candidate;
  log_line("became candidate");
}

void node::impl::become_leader() {
  CK_ASSERT(state == role::candidate);
  step_role = &impl::step_leader;
  reset(term);
  leader = cfg.id;
  state = role::leader;
  progress* self = tracker.find(cfg.id);
  CK_ASSERT(self != nullptr);
  self->maybe_update(log.stable_last_index());
  self->become_replicate();
  self->recent_active = true;
  // Entries of earlier terms are not known committed; conservatively treat any conf change
  // among them as pending, so the next one waits until they are applied.
  pending_conf_index = log.last_index();
  // Raft 5.4.2 / 8: an entry of our own term lets us commit (and answer reads) at all.
  const bool appended = append_entry(entry_type::normal, std::string());
  CK_ASSERT(appended);
  log_line("became leader at term %" PRIu64, term);
}

}  // namespace ck::raft
