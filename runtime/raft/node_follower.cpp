// The follower side of replication (Raft 5.3) and of snapshots (Raft 7).

#include "runtime/raft/node_impl.hpp"

#include "runtime/base/assert.hpp"

#include <algorithm>
#include <cinttypes>

namespace ck::raft {

namespace {

// An append whose entries do not follow its prev index, go back in term, or come from a
// future term cannot be from a correct leader: it is dropped, not asserted (input).
bool well_formed_append(const message& m) {
  term_t previous = m.log_term;
  for (size_t k = 0; k < m.entries.size(); ++k) {
    const entry& e = m.entries[k];
    if (e.index != m.index + 1 + k || e.term < previous || e.term > m.term) {
      return false;
    }
    previous = e.term;
  }
  return m.log_term <= m.term;
}

}  // namespace

void node::impl::step_follower(const message& m) {
  switch (m.type) {
    case message_type::append:
    case message_type::heartbeat:
    case message_type::install_snapshot:
      election_elapsed = 0;  // the leader of our term is alive
      leader = m.from;
      break;
    case message_type::timeout_now:
      log_line("campaigning at once: leadership transfer from %" PRIu64, m.from);
      campaign_for_transfer();
      return;
    default:
      return;  // answers addressed to a role this node no longer has
  }
  if (m.type == message_type::append) {
    handle_append(m);
  } else if (m.type == message_type::heartbeat) {
    handle_heartbeat(m);
  } else {
    handle_snapshot(m);
  }
}

void node::impl::handle_append(const message& m) {
  if (!well_formed_append(m)) {
    log_line("dropped a malformed append from %" PRIu64, m.from);
    return;
  }
  message answer = make_message(message_type::append_response, m.from);
  if (m.index < log.committed()) {
    // Everything up to our commit index matches any leader's log: tell it where we are.
    answer.index = log.committed();
    send(std::move(answer));
    return;
  }
  if (const auto last_new = log.maybe_append(m.index, m.log_term, m.commit, m.entries)) {
    answer.index = *last_new;
    send(std::move(answer));
    return;
  }
  // 5.3: our entry at m.index differs. Hint where the logs may match, skipping a whole
  // term of ours per round trip instead of one entry (etcd's findConflictByTerm).
  const index_t guess = std::min(m.index, log.last_index());
  const auto [hint, hint_term] = log.find_conflict_by_term(guess, m.log_term);
  answer.reject = true;
  answer.index = m.index;
  answer.reject_hint = hint;
  answer.reject_hint_term = hint_term;
  send(std::move(answer));
}

void node::impl::handle_heartbeat(const message& m) {
  // The leader sends min(our match, its commit), so we hold those entries, unless the log it
  // matched is gone: a replica dropped and started again empty under the same id (a node
  // does that when a group removes its replica and wants it back) while this leader still
  // counts the old log. Say where our log ends instead, and commit nothing: the leader
  // starts over from there (handle_heartbeat_response), and appends commit what matches.
  if (m.commit > log.last_index()) {
    log_line("heartbeat commit %" PRIu64 " is beyond our last index %" PRIu64
             ": the leader counts a log this replica no longer holds",
             m.commit, log.last_index());
    message answer = make_message(message_type::heartbeat_response, m.from);
    answer.reject = true;
    answer.reject_hint = log.last_index();
    if (m.context != quiesce_context) {
      answer.context = m.context;  // a read's confirmation of leadership stands
    }
    send(std::move(answer));
    return;
  }
  log.commit_to(m.commit);
  if (m.context == quiesce_context && cfg.quiesce) {
    quiescent = true;  // the leader went quiet with everything replicated; no answer needed
    return;
  }
  message answer = make_message(message_type::heartbeat_response, m.from);
  answer.context = m.context;
  send(std::move(answer));
}

void node::impl::handle_snapshot(const message& m) {
  message answer = make_message(message_type::append_response, m.from);
  if (restore(m.snap)) {
    log_line("restored snapshot at index %" PRIu64 " term %" PRIu64, m.snap.meta.index,
             m.snap.meta.term);
    answer.index = log.last_index();
  } else {
    answer.index = log.committed();
  }
  send(std::move(answer));
}

bool node::impl::restore(const snapshot& snap) {
  CK_ASSERT(state == role::follower);  // step_candidate made us one; a leader never gets it
  if (snap.meta.index <= log.committed()) {
    return false;  // old news: we have it all committed
  }
  // Unlike etcd, a snapshot whose membership lacks this node is accepted: a learner added
  // after the leader's latest snapshot needs that snapshot and then the entries that add it
  // (only a leader that tracks this node as a member sends it one).
  if (log.match_term(snap.meta.index, snap.meta.term)) {
    // We hold the snapshot's last entry, so all before it (Log Matching): just commit.
    log.commit_to(snap.meta.index);
    return false;
  }
  log.restore(snap);
  tracker.reset(snap.meta.conf, log.last_index() + 1);
  return true;
}

}  // namespace ck::raft
