// The group actor's ready loop, in the order raft::ready documents (runtime/raft/node.hpp):
// persist, then send (a leader sends first: ready::send_before_persist), then apply, then
// answer reads, then advance. A durable machine's applies join the persist: the log writer
// runs them inside the same transaction (committed entries are durable on a majority
// already, so applying them before this replica's own entries are synced is safe; both
// commit atomically), and finish_ready only books them.

#include "actors/errc.hpp"
#include "actors/raft_group_state.hpp"
#include "runtime/base/assert.hpp"
#include "runtime/base/log.hpp"
#include "runtime/base/storage_health.hpp"
#include "storage/raft_log_store.hpp"

#include <algorithm>
#include <string>
#include <utility>
#include <vector>

namespace ck::actors::detail {

namespace {

// Hands the ready's messages to the transport in one raft_batch, except install_snapshot
// messages: each starts a streamed transfer and goes out after its data
// (raft_group_snapshot.cpp). Leaves `messages` empty.
void send_messages(raft_group_pointer self, std::vector<raft::message>& messages) {
  auto& st = self->state;
  raft_batch batch;
  batch.from_node = st.options.node_name;
  batch.messages.reserve(messages.size());
  for (auto& m : messages) {
    if (m.type == raft::message_type::install_snapshot) {
      start_snapshot_transfer(self, std::move(m));
      continue;
    }
    batch.messages.push_back(std::move(m));
  }
  messages.clear();
  if (!batch.messages.empty()) {
    self->send(st.transport, atoms::raft_send_atom_v, std::move(batch));
  }
}

// The core installed a snapshot (its meta is persisted by now). The data was swapped in when
// the message was stepped (install_staged_snapshot), so only the bookkeeping follows it.
void install_snapshot(raft_group_pointer self, const raft::snapshot& snap) {
  auto& st = self->state;
  st.applied = snap.meta.index;
  st.applied_term = snap.meta.term;
  st.machine_applied = std::max(st.machine_applied, snap.meta.index);
  st.snapshot_index = snap.meta.index;
  st.bytes_since_snapshot = 0;
  while (!st.proposals.empty() && st.proposals.begin()->first <= snap.meta.index) {
    // The snapshot may or may not contain our entry.
    st.proposals.begin()->second.promise.deliver(
        caf::make_error(errc::timeout, "the entry was replaced by a snapshot before it was "
                                       "applied here; it may or may not have been applied"));
    st.proposals.erase(st.proposals.begin());
  }
}

// Answers the proposals parked at or below `e.index`: the one at e.index is ours iff its term
// matches; any other was overwritten by another leader's entry.
void complete_proposals(raft_group_pointer self, const raft::entry& e, std::string& result) {
  auto& proposals = self->state.proposals;
  while (!proposals.empty() && proposals.begin()->first <= e.index) {
    auto& parked = proposals.begin()->second;
    if (proposals.begin()->first == e.index && parked.term == e.term) {
      // at_commit: the caller asked for no result (and gets none whichever path answers).
      parked.promise.deliver(
          raft_propose_reply{e.index, parked.at_commit ? std::string{} : std::move(result)});
    } else {
      parked.promise.deliver(caf::make_error(errc::no_leader, "entry overwritten"));
    }
    proposals.erase(proposals.begin());
  }
}

// Marks `e` applied and answers its proposal. `data_bytes` (e's data, which may have moved
// into an apply job) counts toward the snapshot byte bound.
void finish_entry(raft_group_pointer self, const raft::entry& e, uint64_t data_bytes,
                  std::string& result) {
  auto& st = self->state;
  CK_ASSERT_EQ(e.index, st.applied + 1);
  st.machine_applied = std::max(st.machine_applied, e.index);
  st.applied = e.index;
  st.applied_term = e.term;
  st.bytes_since_snapshot += data_bytes;
  complete_proposals(self, e, result);
}

// Hands the machine a run of consecutive commands in one call (one storage transaction for a
// durable machine), then finishes them in order.
void apply_run(raft_group_pointer self, std::vector<const raft::entry*>& run) {
  if (run.empty()) {
    return;
  }
  auto results = self->state.sm->apply_batch(run);
  CK_ASSERT_EQ(results.size(), run.size());
  for (size_t i = 0; i < run.size(); ++i) {
    self->state.sm->applied(*run[i], results[i]);
    self->state.machine_noted = run[i]->index;
    finish_entry(self, *run[i], run[i]->data.size(), results[i]);
  }
  run.clear();
}

// Conf changes take effect in the node; the membership needs no write of its own: the store
// keeps the latest snapshot's membership and the core replays the log's conf changes up to
// config::applied at a restart (log_storage.hpp). Commands the log writer applied already
// (`job`, planned by plan_applies) are finished with its results; other consecutive commands
// go to the machine as one batch; anything else (a conf change, an empty entry, one the
// machine already reflects) closes the batch first, so the machine and the node see the log's
// order.
void apply_committed(raft_group_pointer self, std::vector<raft::entry>& committed,
                     apply_job* job) {
  auto& st = self->state;
  const raft::index_t applied_before = st.applied;
  std::vector<const raft::entry*> run;
  size_t next_job_entry = 0;
  for (auto& e : committed) {
    if (e.index <= st.applied + run.size()) {
      continue;  // covered by the snapshot installed in this ready
    }
    if (job != nullptr && next_job_entry < job->entries.size() &&
        job->entries[next_job_entry].index == e.index) {
      CK_ASSERT(run.empty());  // a machine with a txn_applier gets all its commands that way
      // e's data moved into the job (plan_applies).
      st.sm->applied(job->entries[next_job_entry], job->results[next_job_entry]);
      st.machine_noted = e.index;
      finish_entry(self, e, job->entries[next_job_entry].data.size(),
                   job->results[next_job_entry]);
      ++next_job_entry;
      continue;
    }
    if (e.type == raft::entry_type::normal && !e.data.empty() && e.index > st.machine_applied) {
      run.push_back(&e);
      continue;
    }
    apply_run(self, run);
    std::string result;
    if (e.type == raft::entry_type::conf_change) {
      raft::conf_change change;
      const bool decoded = raft::decode_conf_change(e.data, change);
      CK_ASSERT(decoded);  // the core accepted only encoded conf changes into the log
      st.node->apply_conf_change(change);
      st.status_dirty = true;
    }
    // Below machine_applied the machine already reflects the entry (streamed snapshot data or
    // a restart): its result is lost, which only a proposer waiting here could notice, and a
    // replica proposes nothing before it has applied its own log.
    finish_entry(self, e, e.data.size(), result);
  }
  apply_run(self, run);
  CK_ASSERT(job == nullptr || next_job_entry == job->entries.size());
  // Entries are applied in order, so the advance is the count (those a snapshot covered skipped).
  count(self, &runtime::node_metrics::raft_commits, st.applied - applied_before);
}

// The commands of `rd` for a durable machine to apply inside the log writer's transaction
// (their data moves into the job; apply_committed finishes them from its results), or null:
// the machine applies on this actor, or there is nothing to apply. Same selection as
// apply_committed's: above what the ready's snapshot covers and what the machine reflects.
//
// The proposals parked for those commands go with the job (apply_job::answers): the writer
// answers them once they are applied, without waiting for its batch's sync, which is for
// other entries. Only a command below `rd`'s own new entries qualifies: it is committed
// (durable on a majority) and this replica persisted it in an earlier ready (start_ready
// waits for a ready's persist before it takes the next), so its answer waits on nothing. A
// command persisted in this very ready (a single voter commits as it appends; a follower may
// learn the commit with the entries) still waits for the sync, and so does a ready with a
// snapshot. A qualifying proposal made with at_commit is answered right here instead, before
// the job even reaches the writer (raft_group.hpp).
std::shared_ptr<apply_job> plan_applies(raft_group_pointer self, raft::ready& rd) {
  auto& st = self->state;
  log_txn_applier* applier = st.sm->txn_applier();
  if (applier == nullptr || rd.committed.empty()) {
    return nullptr;
  }
  const raft::index_t covered = std::max(st.applied, rd.snap ? rd.snap->meta.index : 0);
  const raft::index_t answer_below =
      rd.snap ? 0 : (rd.entries.empty() ? raft::index_t(-1) : rd.entries.front().index);
  auto job = std::make_shared<apply_job>();
  for (auto& e : rd.committed) {
    if (e.index > covered && e.type == raft::entry_type::normal && !e.data.empty() &&
        e.index > st.machine_applied) {
      if (auto parked = st.proposals.find(e.index);
          e.index < answer_below && parked != st.proposals.end() &&
          parked->second.term == e.term) {
        if (parked->second.at_commit) {
          // Committed and persisted here: all the caller asked for (raft_group.hpp).
          parked->second.promise.deliver(raft_propose_reply{e.index, std::string{}});
        } else {
          job->answers.push_back({job->entries.size(), std::move(parked->second.promise)});
        }
        st.proposals.erase(parked);
      }
      raft::entry command;
      command.index = e.index;
      command.term = e.term;
      command.type = e.type;
      command.data = std::move(e.data);
      job->entries.push_back(std::move(command));
    }
  }
  if (job->entries.empty()) {
    return nullptr;
  }
  job->owner = st.sm;
  job->applier = applier;
  return job;
}

void answer_reads(raft_group_pointer self, std::vector<raft::read_state>& reads) {
  auto& st = self->state;
  for (auto& r : reads) {
    auto waiting = st.reads_unconfirmed.find(r.context);
    if (waiting != st.reads_unconfirmed.end()) {
      st.reads_confirmed.emplace(r.index, std::move(waiting->second));
      st.reads_unconfirmed.erase(waiting);
    }
  }
  while (!st.reads_confirmed.empty() && st.reads_confirmed.begin()->first <= st.applied) {
    st.reads_confirmed.begin()->second.deliver(st.reads_confirmed.begin()->first);
    st.reads_confirmed.erase(st.reads_confirmed.begin());
  }
}

void on_storage_failure(raft_group_pointer self, const caf::error& err, const char* what) {
  // The ready contract cannot be carried out: stop rather than send or apply what may not be
  // durable. The replica restarts from what the store holds.
  CK_LOG_ERROR("raft: g={} n={} {} failed: {}", self->state.options.raft.group,
               self->state.options.raft.id, what, to_string(err));
  fail_waiting(self, "storage failure", true);
  self->quit(err);
}

void finish_ready(raft_group_pointer self) {
  auto& st = self->state;
  CK_ASSERT(st.ready_outstanding);
  CK_ASSERT(st.current.has_value());
  raft::ready rd = std::move(*st.current);
  st.current.reset();
  send_messages(self, rd.messages);
  if (rd.snap) {
    install_snapshot(self, *rd.snap);
  }
  std::shared_ptr<apply_job> job = std::move(st.job);
  st.job.reset();
  apply_committed(self, rd.committed, job.get());
  answer_reads(self, rd.reads);
  maybe_snapshot(self);
  st.node->advance();
  st.ready_outstanding = false;
  // Snapshot installs that arrived while the writer applied for this replica.
  auto deferred = std::move(st.deferred_installs);
  st.deferred_installs.clear();
  for (const raft::message& m : deferred) {
    if (install_staged_snapshot(self, m)) {
      st.node->step(m);
    }
  }
  schedule_ready(self);
}

}  // namespace

void keep_ticking(raft_group_pointer self) {
  auto& st = self->state;
  if (st.node->quiescent()) {
    return;
  }
  if (st.options.ticker) {
    if (!st.tick_subscribed) {
      st.tick_subscribed = true;
      self->send(st.options.ticker, atoms::tick_subscribe_atom_v,
                 caf::actor_cast<caf::actor>(self), true);
    }
    return;
  }
  if (st.tick_armed) {
    return;
  }
  st.tick_armed = true;
  self->delayed_send(self, st.options.tick_interval, atoms::raft_tick_atom_v, st.tick_generation);
}

// Pushes the status to options.on_status when something it reports on changed.
static void push_status(raft_group_pointer self) {
  auto& st = self->state;
  if (!st.options.on_status) {
    return;
  }
  const bool quiet = st.node->quiescent();
  if (!st.status_dirty && quiet == st.pushed_quiescent) {
    return;
  }
  raft::status_info status = st.node->status();
  st.status_dirty = false;
  st.pushed_quiescent = quiet;
  st.pushed_term = status.term;
  st.options.on_status(status);
}

void schedule_ready(raft_group_pointer self) {
  keep_ticking(self);
  push_status(self);
  auto& st = self->state;
  if (st.ready_scheduled || st.ready_outstanding || !st.node->has_ready()) {
    return;
  }
  // Queued behind what the mailbox already holds, so a burst of steps and proposals is
  // drained into one ready.
  st.ready_scheduled = true;
  self->send(self, atoms::raft_ready_atom_v);
}

void start_ready(raft_group_pointer self) {
  auto& st = self->state;
  st.ready_scheduled = false;
  if (st.ready_outstanding || !st.node->has_ready()) {
    return;
  }
  st.ready_outstanding = true;
  raft::ready rd = st.node->get_ready();
  if (rd.soft || (rd.hard && rd.hard->term != st.pushed_term)) {
    st.status_dirty = true;
  }
  if (rd.soft) {
    const bool was_leader = st.leader;
    st.leader = rd.soft->state == raft::role::leader;
    if (was_leader && !st.leader) {
      fail_waiting(self, "leadership lost", false);
      abandon_snapshot_transfers(self);
    } else if (!was_leader && st.leader) {
      count(self, &runtime::node_metrics::raft_elections_won);
    }
  }
  if (rd.send_before_persist) {
    send_messages(self, rd.messages);  // the followers' fsyncs overlap ours
  }
  persist_request request;
  request.must_sync = rd.must_sync;
  request.write.group = st.options.raft.group;
  request.apply = plan_applies(self, rd);  // before the entries move: it looks at them
  request.write.entries = std::move(rd.entries);
  request.write.hard = rd.hard;
  if (rd.snap) {
    request.write.snapshot = rd.snap->meta;
  }
  st.current = std::move(rd);
  if (request.write.entries.empty() && !request.write.hard && !request.write.snapshot &&
      !request.apply) {
    finish_ready(self);  // nothing to persist or apply: no writer round trip
    return;
  }
  st.job = request.apply;
  // No CAF timeout (it would cost the clock thread two wake-ups per ready): the writer always
  // answers, and check_persist_deadline watches for a writer stuck on a dead disk.
  st.persist_started = std::chrono::steady_clock::now();
  self->request(st.writer, caf::infinite, atoms::raft_persist_atom_v, std::move(request))
      .then([=](uint64_t) { finish_ready(self); },
            [=](caf::error& err) { on_storage_failure(self, err, "log persist"); });
}

bool check_persist_deadline(raft_group_pointer self) {
  auto& st = self->state;
  if (st.options.storage != nullptr && st.options.storage->full()) {
    st.persist_started = std::chrono::steady_clock::now();  // waiting for space, not stuck
    return false;
  }
  if (st.ready_outstanding && st.current &&
      std::chrono::steady_clock::now() - st.persist_started > st.options.persist_timeout) {
    on_storage_failure(self, caf::make_error(errc::timeout, "the log writer did not answer"),
                       "log persist");
    return true;
  }
  return false;
}

void fail_waiting(raft_group_pointer self, const std::string& why, bool stopping) {
  auto& st = self->state;
  const std::string hint = why + "; leader hint " + std::to_string(st.node->status().leader);
  for (auto& [context, promise] : st.reads_unconfirmed) {
    promise.deliver(caf::make_error(errc::no_leader, hint));  // nothing happened: retry
  }
  st.reads_unconfirmed.clear();
  if (!stopping) {
    // A parked proposal is in the log and the next leader may still commit it (after a
    // leadership transfer it almost surely does: the transferee held the whole log). Answering
    // no_leader here made the caller retry and apply it twice, with other writes in between
    // (a lost update the nemesis test caught). So it waits: complete_proposals answers it
    // definitively once this replica applies its index (its result, or "overwritten": then it
    // can never commit and a retry is safe); the caller's own deadline answers "unknown"
    // before that. A confirmed read stays linearizable: it is answered once applied.
    return;
  }
  for (auto& [index, parked] : st.proposals) {
    parked.promise.deliver(caf::make_error(
        errc::timeout, why + ": the entry may still commit elsewhere; it may or may not have "
                             "been applied"));
  }
  st.proposals.clear();
  for (auto& [index, promise] : st.reads_confirmed) {
    promise.deliver(caf::make_error(errc::no_leader, hint));
  }
  st.reads_confirmed.clear();
}

void maybe_snapshot(raft_group_pointer self) {
  auto& st = self->state;
  if (st.snapshot_recording || st.applied <= st.snapshot_index || st.machine_noted < st.applied) {
    return;  // (machine_noted: the stored data would not cover the snapshot yet)
  }
  const uint64_t every = st.options.snapshot_every_entries;
  const uint64_t every_bytes = st.options.snapshot_every_bytes;
  if ((every > 0 && st.applied - st.snapshot_index >= every) ||
      (every_bytes > 0 && st.bytes_since_snapshot >= every_bytes)) {
    take_snapshot(self);
  }
}

void take_snapshot(raft_group_pointer self) {
  auto& st = self->state;
  CK_ASSERT(st.applied > st.snapshot_index);
  CK_ASSERT(!st.snapshot_recording);
  // status().conf is the membership as of `applied`: conf changes take effect when applied.
  raft::snapshot_meta meta{st.applied, st.applied_term, st.node->status().conf};
  uint64_t keep = st.options.snapshot_keep_entries;
  if (const uint64_t keep_bytes = st.options.snapshot_keep_bytes; keep_bytes > 0) {
    // The mean entry size since the previous snapshot stands for the kept entries' sizes.
    const uint64_t mean = std::max<uint64_t>(1, st.bytes_since_snapshot /
                                                     (meta.index - st.snapshot_index));
    keep = std::min(keep, keep_bytes / mean);
  }
  st.snapshot_index = meta.index;
  st.bytes_since_snapshot = 0;
  st.snapshot_recording = true;
  const raft::index_t compact_index = meta.index + 1 > keep ? meta.index + 1 - keep : 0;
  // No timeout: the writer always answers, after a full disk got space again too (a dead
  // disk is caught by check_persist_deadline on the next persist).
  self->request(st.writer, caf::infinite, atoms::raft_snapshot_atom_v,
                st.options.raft.group, std::move(meta), compact_index)
      .then(
          [=](uint64_t) { self->state.snapshot_recording = false; },
          [=](caf::error& err) { on_storage_failure(self, err, "snapshot record"); });
}

}  // namespace ck::actors::detail
