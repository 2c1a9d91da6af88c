// Streamed snapshot transfer between a group's leader and one follower (the protocol is
// described in actors/raft_group.hpp): the leader's side sends chunks one at a time, each
// after the previous was acknowledged; the follower's side stages them and swaps the data in
// when the install_snapshot message that follows them arrives.

#include "actors/errc.hpp"
#include "actors/raft_group_state.hpp"
#include "runtime/base/clock.hpp"
#include "runtime/base/log.hpp"

#include <string>
#include <utility>

namespace ck::actors::detail {

namespace {

void send_next_chunk(raft_group_pointer self, raft::node_id to, uint64_t session);

void finish_transfer(raft_group_pointer self, raft::node_id to, uint64_t session, bool ok,
                     const std::string& why) {
  auto& st = self->state;
  auto it = st.sending.find(to);
  if (it == st.sending.end() || it->second.session != session) {
    return;  // abandoned meanwhile (leadership lost)
  }
  outgoing_snapshot out = std::move(it->second);
  st.sending.erase(it);
  if (ok) {
    CK_LOG_INFO("raft: g={} sent snapshot {} (data at {}, {} chunks) to replica {}",
                st.options.raft.group, out.message.snap.meta.index, out.source->applied(),
                out.seq, to);
    count(self, &runtime::node_metrics::raft_snapshots_sent);
    raft_batch batch;
    batch.from_node = st.options.node_name;
    batch.messages.push_back(std::move(out.message));
    self->send(st.transport, atoms::raft_send_atom_v, std::move(batch));
  } else {
    CK_LOG_WARN("raft: g={} snapshot {} to replica {} abandoned after {} chunks: {}",
                st.options.raft.group, out.message.snap.meta.index, to, out.seq, why);
  }
  // Sent is not installed: a follower that drops the message answers the next probe with a
  // rejection and the core starts over.
  st.node->report_snapshot(to, ok);
  schedule_ready(self);
}

void send_next_chunk(raft_group_pointer self, raft::node_id to, uint64_t session) {
  auto& st = self->state;
  auto it = st.sending.find(to);
  if (it == st.sending.end() || it->second.session != session) {
    return;
  }
  auto& out = it->second;
  snapshot_chunk chunk;
  chunk.group = st.options.raft.group;
  chunk.from = st.options.raft.id;
  chunk.to = to;
  chunk.session = session;
  chunk.seq = out.seq++;
  chunk.meta = out.message.snap.meta;
  chunk.data_applied = out.source->applied();
  chunk.data = out.source->next_chunk(st.options.snapshot_chunk_bytes);
  chunk.last = out.source->done();
  const bool last = chunk.last;
  self->request(st.transport, st.options.snapshot_chunk_timeout, atoms::snapshot_chunk_atom_v,
                std::move(chunk))
      .then(
          [=](uint64_t) {
            if (last) {
              finish_transfer(self, to, session, true, "");
            } else {
              send_next_chunk(self, to, session);
            }
          },
          [=](caf::error& err) { finish_transfer(self, to, session, false, to_string(err)); });
}

}  // namespace

void start_snapshot_transfer(raft_group_pointer self, raft::message&& message) {
  auto& st = self->state;
  const raft::node_id to = message.to;
  if (st.sending.count(to) > 0) {
    return;  // the core waits for the running transfer's report before asking again
  }
  outgoing_snapshot out;
  out.session = st.next_session++;
  out.message = std::move(message);
  out.message.snap.data.clear();  // the data travels in the chunks
  // Consistent as of machine_applied >= the snapshot's index: newer data is fine, the
  // follower skips the entries it already reflects.
  out.source = st.sm->read_snapshot();
  if (out.source->applied() < out.message.snap.meta.index) {
    // The stored data lags the snapshot (in journal mode LMDB holds the applies only once the
    // writer flushes its overlay, up to a second later, though a snapshot record flushes it
    // first): sent now, the follower would skip the entries in between. Reported as failed;
    // the core asks again later.
    CK_LOG_DEBUG("raft: g={} snapshot {} to replica {} postponed: the stored data is at {}",
                 st.options.raft.group, out.message.snap.meta.index, to, out.source->applied());
    st.node->report_snapshot(to, false);
    schedule_ready(self);
    return;
  }
  CK_LOG_INFO("raft: g={} sending snapshot {} (data at {}) to replica {}",
              st.options.raft.group, out.message.snap.meta.index, out.source->applied(), to);
  const uint64_t session = out.session;
  st.sending.emplace(to, std::move(out));
  send_next_chunk(self, to, session);
}

void abandon_snapshot_transfers(raft_group_pointer self) { self->state.sending.clear(); }

bool receiving_snapshots(raft_group_pointer self) {
  const auto& options = self->state.options;
  if (options.last_chunk_received_ms == nullptr) {
    return false;
  }
  const int64_t last = options.last_chunk_received_ms->load(std::memory_order_relaxed);
  return last != 0 && runtime::steady_now_ms() - last < options.busy_after_chunk.count();
}

caf::result<uint64_t> receive_snapshot_chunk(raft_group_pointer self, snapshot_chunk& chunk) {
  auto& st = self->state;
  if (st.options.last_chunk_received_ms != nullptr) {
    st.options.last_chunk_received_ms->store(runtime::steady_now_ms(), std::memory_order_relaxed);
  }
  if (st.leader) {
    return caf::make_error(errc::invalid_argument, "a leader takes no snapshot");
  }
  if (chunk.seq == 0) {
    // A new transfer replaces any other, finished or not: the leader only starts one after
    // the previous failed or was superseded, so an older staged one is stale.
    st.receiving.reset();
    st.staged.reset();
    incoming_snapshot in;
    in.from = chunk.from;
    in.session = chunk.session;
    in.meta = chunk.meta;
    in.data_applied = chunk.data_applied;
    in.sink = st.sm->begin_restore();
    st.receiving = std::move(in);
    CK_LOG_INFO("raft: g={} n={} receiving snapshot {} (data at {}) from replica {}",
                st.options.raft.group, st.options.raft.id, chunk.meta.index, chunk.data_applied,
                chunk.from);
  }
  auto& in = st.receiving;
  if (!in || in->from != chunk.from || in->session != chunk.session ||
      in->next_seq != chunk.seq) {
    return caf::make_error(errc::invalid_argument, "snapshot chunk out of order");
  }
  if (!in->sink->write(chunk.data)) {
    st.receiving.reset();
    return caf::make_error(errc::invalid_argument, "snapshot chunk rejected by the state machine");
  }
  ++in->next_seq;
  if (chunk.last) {
    in->sink.reset();
    st.staged = std::move(st.receiving);
    st.receiving.reset();
  }
  return chunk.seq;
}

bool install_staged_snapshot(raft_group_pointer self, const raft::message& message) {
  auto& st = self->state;
  const raft::snapshot_meta& meta = message.snap.meta;
  if (!st.staged || st.staged->from != message.from || st.staged->meta.index != meta.index ||
      st.staged->meta.term != meta.term) {
    CK_LOG_DEBUG("raft: g={} n={} dropped install_snapshot {} from {}: no transfer staged",
                 st.options.raft.group, st.options.raft.id, meta.index, message.from);
    return false;
  }
  incoming_snapshot staged = std::move(*st.staged);
  st.staged.reset();
  // Data older than what the machine reflects would move it backwards (the core then ignores
  // the stale message anyway); otherwise the data is committed state and safe to swap in even
  // before the core persists the snapshot (a restart resumes from what the machine reflects).
  // Data at an index the machine reflects only through entries it never saw (empty ones,
  // conf changes: machine_noted < data_applied <= machine_applied) holds the same commands;
  // swapped in, it moves the stored applied index up to the snapshot that follows it.
  if (staged.data_applied > st.machine_noted) {
    if (!st.sm->install_restored(staged.data_applied)) {
      return false;  // nothing changed (logged); the message goes as if nothing was staged
    }
    st.machine_applied = std::max(st.machine_applied, staged.data_applied);
    st.machine_noted = staged.data_applied;
    count(self, &runtime::node_metrics::raft_snapshots_installed);
    CK_LOG_INFO("raft: g={} n={} installed snapshot {} (data at {})", st.options.raft.group,
                st.options.raft.id, meta.index, staged.data_applied);
  }
  return true;
}

}  // namespace ck::actors::detail
