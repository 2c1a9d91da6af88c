#include "actors/raft_group.hpp"

#include "actors/errc.hpp"
#include "actors/raft_group_state.hpp"
#include "runtime/base/assert.hpp"
#include "runtime/base/log.hpp"
#include "runtime/base/storage_health.hpp"
#include "storage/raft_log_store.hpp"

#include <caf/actor_system.hpp>

#include <algorithm>
#include <random>
#include <string>
#include <utility>

namespace ck::actors {

namespace {

using detail::raft_group_pointer;

caf::error no_leader_error(const raft::node& node, const char* what) {
  return caf::make_error(errc::no_leader,
                         std::string(what) + "; leader hint " + std::to_string(node.status().leader));
}


// Builds the node and restores what a restart needs: the applied index. A durable state
// machine may reflect more than the persisted commit index (streamed snapshot data is swapped
// in before the core persists the snapshot); the core resumes at the commit index and the
// entries up to what the machine reflects are not handed to it again.
void start_node(raft_group_pointer self) {
  auto& st = self->state;
  raft::config cfg = st.options.raft;
  // Drawn per process: replicas of a group started together must not time out in lockstep.
  cfg.seed = (uint64_t{std::random_device{}()} << 32) ^ std::random_device{}() ^ cfg.group;
  const raft::log_storage& log = st.store->group(cfg.group);
  const raft::snapshot_meta stored = log.current_snapshot().meta;
  // The store keeps no snapshot data: the state machine must already cover the snapshot (a
  // node refuses to start on a store where a partition's does not:
  // storage/snapshot_coverage.hpp).
  CK_ASSERT_GE(st.options.applied, stored.index);
  cfg.applied = std::min(st.options.applied, log.initial_hard_state().commit);
  cfg.applied = std::max(cfg.applied, stored.index);
  cfg.logger = [](std::string_view line) { CK_LOG_DEBUG("raft: {}", line); };
  st.node = std::make_unique<raft::node>(cfg, log);
  st.applied = st.node->status().applied;
  st.machine_applied = st.options.applied;
  st.machine_noted = st.options.applied;
  raft::term_t term = 0;
  const raft::log_error found = log.term(st.applied, term);
  CK_ASSERT(found == raft::log_error::none);  // applied is in [first_index() - 1, commit]
  st.applied_term = term;
  st.snapshot_index = stored.index;
}

// Parks `promise` for the entry a successful propose just appended, or answers it now.
void park_or_answer(raft_group_pointer self, raft::propose_result result,
                    caf::typed_response_promise<raft_propose_reply>& promise,
                    bool at_commit = false) {
  auto& st = self->state;
  switch (result) {
    case raft::propose_result::ok: {
      detail::count(self, &runtime::node_metrics::raft_proposals);
      // The leader appended the entry at its last index in its current term; it is ours iff
      // the entry applied at that index later carries the same term.
      const raft::status_info s = st.node->status();
      if (auto older = st.proposals.find(s.last_index); older != st.proposals.end()) {
        // Parked in an earlier term at an index our log has since replaced (and we lead
        // again). Another replica may still hold that entry and commit it: unknown, not retry.
        older->second.promise.deliver(caf::make_error(
            errc::timeout, "the entry was replaced before it committed here; it may or may not "
                           "have been applied"));
      }
      st.proposals[s.last_index] = {s.term, promise, at_commit};
      break;
    }
    case raft::propose_result::not_leader:
      promise.deliver(no_leader_error(*st.node, "not the leader"));
      break;
    case raft::propose_result::dropped:
      promise.deliver(no_leader_error(*st.node, "dropped (transfer, pending change or backlog)"));
      break;
    case raft::propose_result::invalid:
      promise.deliver(caf::make_error(errc::invalid_argument, "proposal rejected by raft"));
      break;
  }
  detail::schedule_ready(self);  // also after a refusal: asking may have woken the core
}

caf::typed_response_promise<raft_propose_reply> on_propose(raft_group_pointer self,
                                                           std::string& data, bool at_commit) {
  auto promise = self->make_response_promise<raft_propose_reply>();
  if (data.empty()) {
    // Empty data is the leader's no-op in the log: it never reaches the state machine.
    promise.deliver(caf::make_error(errc::invalid_argument, "empty command"));
    return promise;
  }
  if (const auto& storage = self->state.options.storage; storage != nullptr && storage->full()) {
    promise.deliver(caf::make_error(
        errc::storage_full, "storage full on " + self->state.options.node_name +
                                ", nothing was written (writes resume when space is freed): " +
                                storage->reason()));
    return promise;
  }
  park_or_answer(self, self->state.node->propose(std::move(data)), promise, at_commit);
  return promise;
}

caf::typed_response_promise<raft_propose_reply> on_conf_change(raft_group_pointer self,
                                                               const raft::conf_change& change) {
  auto promise = self->make_response_promise<raft_propose_reply>();
  park_or_answer(self, self->state.node->propose_conf_change(change), promise);
  return promise;
}

caf::result<raft::node_id> on_transfer(raft_group_pointer self, raft::node_id to) {
  auto& node = *self->state.node;
  const raft::propose_result result = node.transfer_leadership(to);
  detail::schedule_ready(self);  // asking may have woken the core, whatever it answered
  switch (result) {
    case raft::propose_result::ok:
      return to;
    case raft::propose_result::invalid:
      return caf::make_error(errc::invalid_argument, "transfer target is not a voter");
    case raft::propose_result::not_leader:
    case raft::propose_result::dropped:
      break;
  }
  return no_leader_error(node, "not the leader");
}

caf::typed_response_promise<raft::index_t> on_read(raft_group_pointer self) {
  auto& st = self->state;
  auto promise = self->make_response_promise<raft::index_t>();
  std::string context = "r" + std::to_string(++st.read_sequence);
  switch (st.node->read_index(context)) {
    case raft::propose_result::ok:
      st.reads_unconfirmed.emplace(std::move(context), promise);
      break;
    case raft::propose_result::not_leader:
      promise.deliver(no_leader_error(*st.node, "not the leader"));
      break;
    case raft::propose_result::dropped:
    case raft::propose_result::invalid:
      promise.deliver(no_leader_error(*st.node, "read dropped, retry"));
      break;
  }
  detail::schedule_ready(self);  // also after a refusal: asking may have woken the core
  return promise;
}

raft_group_actor::behavior_type raft_group(raft_group_pointer self, raft_group_options options,
                                           std::shared_ptr<storage::raft_log_store> store,
                                           raft_log_writer_actor writer,
                                           raft_transport_actor transport,
                                           std::shared_ptr<replicated_state_machine> sm) {
  CK_ASSERT(store != nullptr);
  CK_ASSERT(sm != nullptr);
  auto& st = self->state;
  st.options = std::move(options);
  st.store = std::move(store);
  st.writer = std::move(writer);
  st.transport = std::move(transport);
  st.sm = std::move(sm);
  start_node(self);
  detail::keep_ticking(self);
  // Waiting clients get an answer when the replica stops, instead of only their timeout.
  self->set_exit_handler([=](caf::exit_msg& msg) {
    detail::fail_waiting(self, "replica stopping", true);
    self->quit(msg.reason);
  });
  return {
      [=](atoms::raft_step_atom, const raft::message& m) {
        if (m.type == raft::message_type::timeout_now && detail::receiving_snapshots(self)) {
          CK_LOG_DEBUG("raft: g={} ignores a leadership transfer: this node is receiving "
                       "snapshots",
                       self->state.options.raft.group);
          return;
        }
        if (m.type == raft::message_type::install_snapshot) {
          if (self->state.job) {
            self->state.deferred_installs.push_back(m);  // finish_ready steps it
            return;
          }
          if (!detail::install_staged_snapshot(self, m)) {
            return;
          }
        }
        self->state.node->step(m);
        detail::schedule_ready(self);
      },
      [=](atoms::snapshot_chunk_atom, snapshot_chunk& chunk) {
        return detail::receive_snapshot_chunk(self, chunk);
      },
      [=](atoms::raft_propose_atom, std::string& data) { return on_propose(self, data, false); },
      [=](atoms::raft_propose_atom, std::string& data, bool at_commit) {
        return on_propose(self, data, at_commit);
      },
      [=](atoms::raft_conf_atom, const raft::conf_change& change) {
        return on_conf_change(self, change);
      },
      [=](atoms::raft_transfer_atom, raft::node_id to) { return on_transfer(self, to); },
      [=](atoms::raft_read_atom) { return on_read(self); },
      [=](atoms::raft_status_atom) { return self->state.node->status(); },
      [=](atoms::raft_tick_atom, uint64_t generation) {
        auto& gs = self->state;
        if (generation != gs.tick_generation) {
          return;
        }
        gs.tick_armed = false;
        if (gs.options.ticker && gs.node->quiescent()) {
          // Quiet since the last tick: stop the shared timer's ticks until there is work.
          gs.tick_subscribed = false;
          self->send(gs.options.ticker, atoms::tick_subscribe_atom_v,
                     caf::actor_cast<caf::actor>(self), false);
          return;
        }
        if (detail::check_persist_deadline(self)) {
          return;
        }
        self->state.node->tick();
        detail::schedule_ready(self);  // re-arms the tick unless the group went quiet
      },
      [=](atoms::raft_forget_leader_atom, const std::vector<raft::node_id>& suspects) {
        auto& node = *self->state.node;
        const raft::node_id leader = node.status().leader;
        if (std::find(suspects.begin(), suspects.end(), leader) != suspects.end()) {
          node.forget_leader();
          detail::schedule_ready(self);
        }
      },
      [=](atoms::raft_ready_atom) { detail::start_ready(self); },
  };
}

}  // namespace

raft_group_actor spawn_raft_group(caf::actor_system& sys, raft_group_options options,
                                  std::shared_ptr<storage::raft_log_store> store,
                                  raft_log_writer_actor writer, raft_transport_actor transport,
                                  std::shared_ptr<replicated_state_machine> sm) {
  return sys.spawn(raft_group, std::move(options), std::move(store), std::move(writer),
                   std::move(transport), std::move(sm));
}

}  // namespace ck::actors
