// ready / advance: the one door out of the core (see raft::ready for the contract).

#include "runtime/raft/node_impl.hpp"

#include "runtime/base/assert.hpp"

#include <algorithm>

namespace ck::raft {

bool node::impl::has_ready() const {
  if (handed.outstanding) {
    return false;  // the caller is still working on the last one
  }
  if (!(soft() == prev_soft) || hard() != prev_hard) {
    return true;
  }
  const unstable_log& tail = log.unstable();
  if (tail.pending_snapshot() || !tail.entries().empty()) {
    return true;
  }
  if (!outbox.empty() || !read_states.empty() || log.has_entries_to_apply()) {
    return true;
  }
  if (state != role::leader) {
    return false;
  }
  if (read_heartbeat_due) {
    return true;
  }
  return std::any_of(tracker.members().begin(), tracker.members().end(),
                     [this](const progress& pr) { return pr.id != cfg.id && needs_append(pr); });
}

ready node::impl::get_ready() {
  CK_ASSERT(!handed.outstanding);
  if (state == role::leader) {
    flush_appends();
    if (read_heartbeat_due) {
      // Confirming the newest pending read confirms all before it (read_only.hpp); each was
      // recorded before this round leaves, so the round proves leadership after its arrival.
      broadcast_heartbeat(reads.last_pending_context());
      read_heartbeat_due = false;
    }
  }
  ready rd;
  const soft_state soft_now = soft();
  if (!(soft_now == prev_soft)) {
    rd.soft = soft_now;
    prev_soft = soft_now;
  }
  const hard_state hard_now = hard();
  const bool vote_changed = hard_now.term != prev_hard.term || hard_now.vote != prev_hard.vote;
  if (hard_now != prev_hard) {
    rd.hard = hard_now;
    prev_hard = hard_now;
  }
  const unstable_log& tail = log.unstable();
  if (tail.pending_snapshot()) {
    rd.snap = *tail.pending_snapshot();
  }
  rd.entries = tail.entries();  // the tail stays until advance(): terms are looked up there
  log.entries_to_apply(cfg.committed_bytes_max, rd.committed);
  rd.messages.swap(outbox);
  rd.reads.swap(read_states);
  // Entries, snapshots, term and vote must be on disk before any message leaves; a commit
  // index alone can be recovered from a quorum and needs no fsync.
  rd.must_sync = !rd.entries.empty() || rd.snap.has_value() || vote_changed;
  // A leader's messages need nothing of this ready on disk: its appends carry entries the
  // followers persist themselves, and its own copy counts only after advance(). A term or
  // vote change (a campaign, a step-down) must be durable before anyone hears of it.
  rd.send_before_persist = state == role::leader && !vote_changed && !rd.snap.has_value();

  handed = handed_out{};
  handed.outstanding = true;
  if (!rd.entries.empty()) {
    handed.entries_last_index = rd.entries.back().index;
    handed.entries_last_term = rd.entries.back().term;
  }
  if (rd.snap) {
    handed.snapshot_index = rd.snap->meta.index;
  }
  for (const entry& e : rd.committed) {
    handed.committed_bytes += entry_bytes(e);
  }
  if (!rd.committed.empty()) {
    handed.committed_last_index = rd.committed.back().index;
  }
  return rd;
}

void node::impl::advance() {
  CK_ASSERT(handed.outstanding);
  if (handed.snapshot_index != 0) {
    log.stable_snapshot_to(handed.snapshot_index);
  }
  if (handed.entries_last_index != 0) {
    log.stable_to(handed.entries_last_index, handed.entries_last_term);
  }
  // The snapshot precedes the committed entries handed out with it (there are none then).
  const index_t applied = std::max(handed.snapshot_index, handed.committed_last_index);
  const bool applied_more = applied > log.applied();
  if (applied_more) {
    log.applied_to(applied);
  }
  if (state == role::leader) {
    uncommitted_bytes -= std::min(uncommitted_bytes, handed.committed_bytes);
    // Our own entries count towards a quorum once they are durable here.
    progress* self = tracker.find(cfg.id);
    CK_ASSERT(self != nullptr);
    if (self->maybe_update(log.stable_last_index()) && maybe_commit()) {
      release_waiting_reads();
    }
  }
  handed = handed_out{};
  // Last: the campaign starts a new role, which the bookkeeping above must not touch.
  if (applied_more && transfer_campaign_ticks > 0 && state == role::follower) {
    campaign_for_transfer();  // a transfer waited for this apply (campaign_for_transfer)
  }
}

}  // namespace ck::raft
