// Membership changes one voter at a time (thesis 4.1), leadership transfer (thesis 3.10),
// and the shell's reports about delivery.

#include "runtime/raft/node_impl.hpp"

#include "runtime/base/assert.hpp"

#include <cinttypes>

namespace ck::raft {

namespace {

const char* to_text(conf_change_type type) {
  switch (type) {
    case conf_change_type::add_learner:
      return "add_learner";
    case conf_change_type::add_voter:
      return "add_voter";
    case conf_change_type::remove_node:
      return "remove_node";
  }
  return "unknown";
}

}  // namespace

void node::impl::restore_membership(const conf_state& stored) {
  tracker.reset(stored, log.last_index() + 1);
  // Storages differ in which membership they keep: the one as of the snapshot (the LMDB
  // store), or as of the last applied change (memory_log_storage). Replaying every change
  // the log holds up to `applied` serves both: each change sets its node's status outright,
  // so the last change per node wins whatever the starting point. Entries after `applied`
  // come back through ready::committed. Cost: one pass over the log up to `applied`.
  size_t replayed = 0;
  const log_error error =
      log.scan(log.first_index(), log.applied() + 1, cfg.committed_bytes_max, [&](const entry& e) {
        conf_change change;
        if (e.type == entry_type::conf_change && decode_conf_change(e.data, change) &&
            tracker.check_change(change) == conf_check::ok) {
          tracker.apply_change(change, log.last_index() + 1);
          ++replayed;
        }
        return true;
      });
  CK_ASSERT(error == log_error::none);  // applied entries are in the log or the snapshot
  if (replayed > 0) {
    log_line("replayed %zu applied conf changes over the stored membership", replayed);
  }
}

propose_result node::impl::propose_conf_change(const conf_change& change) {
  if (state != role::leader) {
    return propose_result::not_leader;
  }
  if (transferee != no_node) {
    return propose_result::dropped;
  }
  // One at a time: two changes in flight could produce majorities that do not overlap.
  if (pending_conf_index > log.applied()) {
    return propose_result::dropped;
  }
  if (tracker.check_change(change) != conf_check::ok) {
    return propose_result::invalid;
  }
  if (!append_entry(entry_type::conf_change, encode_conf_change(change))) {
    return propose_result::dropped;
  }
  pending_conf_index = log.last_index();
  log_line("proposed %s %" PRIu64 " at index %" PRIu64, to_text(change.type), change.node,
           pending_conf_index);
  return propose_result::ok;
}

conf_state node::impl::apply_conf_change(const conf_change& change) {
  if (tracker.check_change(change) != conf_check::ok) {
    // Refused at proposal time, so only a foreign or corrupt entry gets here; every replica
    // refuses it alike, so the memberships stay identical.
    log_line("ignored %s %" PRIu64 ": it would leave no voter", to_text(change.type), change.node);
    return tracker.conf();
  }
  tracker.apply_change(change, log.last_index() + 1);
  log_line("applied %s %" PRIu64 ": %zu voters, %zu learners", to_text(change.type), change.node,
           tracker.conf().voters.size(), tracker.conf().learners.size());
  if (transferee != no_node && !tracker.is_voter(transferee)) {
    abort_transfer();
  }
  if (state != role::leader) {
    return tracker.conf();
  }
  if (!tracker.is_voter(cfg.id)) {
    log_line("stepped down: removed from the voters");
    become_follower(term, no_node);
    return tracker.conf();
  }
  // Fewer voters may mean a smaller quorum that already stores more.
  if (maybe_commit()) {
    release_waiting_reads();
  }
  return tracker.conf();
}

propose_result node::impl::transfer_leadership(node_id to) {
  if (state != role::leader) {
    return propose_result::not_leader;
  }
  const progress* pr = tracker.find(to);
  if (pr == nullptr || pr->learner) {
    return propose_result::invalid;  // only a voter can be elected
  }
  if (transferee == to) {
    return propose_result::ok;  // already under way
  }
  if (transferee != no_node) {
    log_line("aborted leadership transfer to %" PRIu64 " for %" PRIu64, transferee, to);
    abort_transfer();
  }
  if (to == cfg.id) {
    return propose_result::ok;  // we lead already (and any other transfer is aborted)
  }
  transferee = to;
  election_elapsed = 0;  // the transfer must finish within one election timeout
  log_line("transferring leadership to %" PRIu64, to);
  if (pr->match == log.last_index()) {
    send_timeout_now(to);
  }
  // Otherwise the next ready brings `to` up to date; its answer triggers timeout_now.
  return propose_result::ok;
}

void node::impl::send_timeout_now(node_id to) { send(make_message(message_type::timeout_now, to)); }

void node::impl::abort_transfer() { transferee = no_node; }

void node::impl::report_unreachable(node_id to) {
  if (state != role::leader) {
    return;
  }
  progress* pr = tracker.find(to);
  if (pr != nullptr && pr->state == progress_state::replicate) {
    pr->become_probe();  // pipelined appends were probably lost: find the match again
  }
}

void node::impl::report_snapshot(node_id to, bool ok) {
  if (state != role::leader) {
    return;
  }
  progress* pr = tracker.find(to);
  if (pr == nullptr || pr->state != progress_state::snapshot) {
    return;
  }
  log_line("snapshot to %" PRIu64 " %s", to, ok ? "installed" : "failed");
  if (!ok) {
    pr->pending_snapshot = 0;  // probe from the match again; a new snapshot may follow
  }
  pr->become_probe();
  pr->probe_sent = true;  // wait for a heartbeat answer before probing
}

}  // namespace ck::raft
