// The replica's last shell phase: send, apply, answer reads, snapshot, advance.

#include "tests/sim/replica.hpp"

#include "runtime/base/assert.hpp"

#include <string>

namespace ck::sim {

namespace {

std::string n(uint64_t value) { return std::to_string(value); }

}  // namespace

void replica::complete(shell_context& ctx) {
  raft::ready rd = std::move(*pending_);
  pending_.reset();
  send_all(ctx, rd.messages);
  if (rd.snap && !rd.snap->empty()) {
    apply_snapshot(ctx, *rd.snap);
  }
  // The node's term bounds the term in which the leader committed what it applies.
  const raft::term_t term_now = rd.committed.empty() ? 0 : core_->status().term;
  for (const raft::entry& e : rd.committed) {
    apply_entry(ctx, e, term_now);
  }
  for (const raft::read_state& read : rd.reads) {
    ctx.check.on_read_state(id_, read);
    waiting_reads_.push_back(read);
  }
  release_reads(ctx);
  maybe_take_snapshot(ctx);
  core_->advance();
  phase_ = shell_phase::idle;
}

void replica::send_all(shell_context& ctx, std::vector<raft::message>& messages) {
  for (raft::message& m : messages) {
    ctx.events.record("send " + describe(m));
    ctx.net.send(std::move(m), ctx.now, incarnation_, ctx.random, ctx.events);
  }
  messages.clear();
}

void replica::apply_snapshot(shell_context& ctx, const raft::snapshot& snap) {
  if (snap.meta.index < machine_.applied_index) {
    throw violation("apply order", "node " + n(id_) + " was handed snapshot " + n(snap.meta.index) +
                                       " behind its applied index " + n(machine_.applied_index));
  }
  CK_ASSERT(state_machine::restore(snap.data, machine_));
  conf_ = snap.meta.conf;
  ctx.check.on_restore(id_, machine_.applied_index, machine_.chain);
  ctx.events.record("apply snapshot n=" + n(id_) + " at=" + n(snap.meta.index));
}

void replica::apply_entry(shell_context& ctx, const raft::entry& e, raft::term_t term_now) {
  if (e.index != machine_.applied_index + 1) {
    throw violation("apply order", "node " + n(id_) + " was handed entry " + n(e.index) +
                                       " to apply after " + n(machine_.applied_index));
  }
  machine_.apply(e);
  ctx.check.on_apply(id_, e, machine_.chain, term_now);
  if (e.type == raft::entry_type::conf_change) {
    raft::conf_change change;
    if (!raft::decode_conf_change(e.data, change)) {
      throw violation("conf change", "node " + n(id_) + " cannot decode entry " + n(e.index));
    }
    conf_ = core_->apply_conf_change(change);
    ctx.events.record("apply conf n=" + n(id_) + " at=" + n(e.index) +
                      " type=" + n(static_cast<uint64_t>(change.type)) + " node=" + n(change.node) +
                      " voters=" + n(conf_.voters.size()) +
                      " learners=" + n(conf_.learners.size()));
  } else if (e.data.rfind("probe-", 0) == 0) {
    probes_applied_.emplace(e.data, e.index);
  }
}

void replica::release_reads(shell_context& ctx) {
  size_t kept = 0;
  for (raft::read_state& read : waiting_reads_) {
    if (read.index <= machine_.applied_index) {
      ctx.events.record("read served n=" + n(id_) + " ctx=" + read.context +
                        " index=" + n(read.index) + " applied=" + n(machine_.applied_index));
    } else {
      waiting_reads_[kept++] = std::move(read);
    }
  }
  waiting_reads_.resize(kept);
}

void replica::maybe_take_snapshot(shell_context& ctx) {
  const raft::index_t applied = machine_.applied_index;
  const raft::snapshot last = disk_.snapshot();
  // Also snapshot as soon as the membership changed: the core sends the storage's snapshot
  // to a follower that needs one, and a node refuses a snapshot whose membership lacks it,
  // so a node added after the last snapshot could never catch up once the log before it is
  // compacted (etcd's server avoids this by sending a freshly merged snapshot).
  const bool membership_changed = applied > last.meta.index && !(last.meta.conf == conf_);
  if (applied < last.meta.index + settings_.snapshot_every_entries && !membership_changed) {
    return;
  }
  const raft::index_t keep = settings_.snapshot_keep_entries;
  const raft::index_t compact_index = applied > keep ? applied - keep : 0;
  if (disk_.take_snapshot(applied, conf_, machine_.image(), compact_index)) {
    ctx.events.record("snapshot n=" + n(id_) + " at=" + n(applied) +
                      " compact=" + n(compact_index));
  }
}

}  // namespace ck::sim
