#include "actors/membership_controller.hpp"
#include "runtime/cluster/placement.hpp"

#include "actors/meta_propose.hpp"
#include "runtime/base/assert.hpp"
#include "runtime/base/clock.hpp"
#include "runtime/base/log.hpp"
#include "runtime/cluster/membership_step.hpp"
#include "runtime/cluster/meta_membership.hpp"

#include <caf/actor_system.hpp>
#include <caf/stateful_actor.hpp>
#include <caf/typed_event_based_actor.hpp>

#include <map>
#include <optional>
#include <set>

namespace ck::actors {

namespace {

using runtime::steady_now_ms;
using runtime::unix_now_ms;

// How long the controller waits for its replica or the transport; past it the tick is skipped.
constexpr auto local_request_timeout = std::chrono::seconds(2);
// How long a replica whose node left the meta state stays in the meta group (see
// removal_may_proceed): several heartbeats.
constexpr auto removed_replica_grace = std::chrono::milliseconds(1'000);
// A leadership transfer request is answered at once (the transfer completes on its own).
constexpr auto transfer_timeout = std::chrono::seconds(2);

struct membership_controller_state {
  static inline const char* name = "membership_controller";
  membership_controller_options options;
  raft_group_actor group;
  std::shared_ptr<const meta_state_machine> sm;
  net_transport_actor transport;

  // Refreshed every tick.
  std::optional<raft::status_info> status;
  transport_stats peers;

  // Leader duties; reset whenever this node starts (or stops) leading.
  raft::term_t leading_term = 0;  // 0: not leading
  int64_t leading_since_ms = 0;
  std::optional<cluster::liveness_detector> detector;
  std::set<std::string> heard_since_leading;
  std::set<std::string> status_in_flight;
  bool conf_in_flight = false;
  bool bootstrap_in_flight = false;
  // When this node, leading, first saw a meta replica whose node the meta state removed.
  std::map<raft::node_id, int64_t> removed_seen_ms;
  // Connection losses already fed to the detector, per peer.
  std::map<std::string, uint64_t> disconnects_seen;
};

using pointer = membership_controller_actor::stateful_pointer<membership_controller_state>;

void propose_bootstrap(pointer self) {
  auto& st = self->state;
  if (!st.options.founder || st.bootstrap_in_flight || st.sm->current().bootstrapped()) {
    return;
  }
  cluster::bootstrap_command cmd;
  cmd.cluster_id = st.options.cluster_id;
  cmd.cluster_name = st.options.cluster_name;
  cmd.partition_count = st.options.partition_count;
  cmd.replication_factor = st.options.replication_factor;
  cmd.first = node_record_of(st.options.self);
  cmd.at_unix_ms = unix_now_ms();
  st.bootstrap_in_flight = true;
  propose_meta(
      self, st.group, cmd,
      [self](const cluster::apply_result& result) {
        self->state.bootstrap_in_flight = false;
        if (result.outcome != cluster::apply_outcome::ok) {
          CK_LOG_ERROR("node: bootstrap command refused: {} ({})", to_string(result.outcome),
                       result.message);
        }
      },
      [self](const caf::error& error) {
        self->state.bootstrap_in_flight = false;
        CK_LOG_DEBUG("node: bootstrap proposal not applied yet: {}", to_string(error));
      });
}

// Feeds the detector what the transport saw since the last tick (only while leading: a
// follower hears only from the leader, so its figures say nothing about the others).
void observe_peers(pointer self, int64_t now) {
  auto& st = self->state;
  for (const auto& peer : st.peers.peers) {
    auto& seen = st.disconnects_seen[peer.name];
    const bool lost = peer.disconnects > seen;
    seen = peer.disconnects;
    if (!st.detector) {
      continue;
    }
    if (peer.last_heard_ms_ago >= 0) {
      const int64_t heard = now - peer.last_heard_ms_ago;
      if (heard >= st.leading_since_ms) {
        st.detector->record_heartbeat(peer.name, heard);
        st.heard_since_leading.insert(peer.name);
      }
    }
    if (lost && !peer.connected) {
      st.detector->record_disconnect(peer.name, now);
    }
  }
}

void replicate_statuses(pointer self, const cluster::meta_state& meta, int64_t now) {
  auto& st = self->state;
  for (const auto& [id, node] : meta.nodes) {
    std::optional<cluster::node_status> change;
    if (id == st.options.self.id) {
      // The leader is alive by definition (a restarted leader may find itself marked dead).
      if (node.status != cluster::node_status::alive &&
          node.status != cluster::node_status::leaving) {
        change = cluster::node_status::alive;
      }
    } else {
      st.detector->track(id, st.leading_since_ms);
      change = cluster::replicated_status_change(node.status, st.detector->status_of(id),
                                                 st.heard_since_leading.count(id) > 0);
      if (node.status == cluster::node_status::leaving &&
          st.detector->status_of(id) == cluster::node_status::dead &&
          !cluster::placement_names(meta, id) && st.status_in_flight.count(id) == 0) {
        // Died while leaving, after its replicas were placed elsewhere: it cannot remove
        // itself (a live one does, once drained: cluster_member), so the leader does.
        st.status_in_flight.insert(id);
        propose_meta(
            self, st.group, cluster::remove_node_command{id},
            [self, id](const cluster::apply_result&) { self->state.status_in_flight.erase(id); },
            [self, id](const caf::error&) { self->state.status_in_flight.erase(id); });
        continue;
      }
    }
    if (!change || st.status_in_flight.count(id) > 0) {
      continue;
    }
    st.status_in_flight.insert(id);
    cluster::set_status_command cmd{id, *change, unix_now_ms()};
    propose_meta(
        self, st.group, cmd,
        [self, id](const cluster::apply_result&) { self->state.status_in_flight.erase(id); },
        [self, id](const caf::error& error) {
          self->state.status_in_flight.erase(id);
          CK_LOG_DEBUG("node: status proposal for {} failed: {}", id, to_string(error));
        });
  }
  (void)now;
}

// One membership change of the meta group toward plan_meta_voters, when none is pending.
// A node the meta state removed must hear that its removal committed before the leader takes it
// out of the meta group (after that nobody tells it anything): it stops itself when its replica
// applies the removal. So a replica whose node left the meta state is taken out of the group
// only removed_replica_grace after this leader first saw it gone, which lets heartbeats carry
// the commit index to it first.
bool removal_may_proceed(pointer self, const cluster::meta_state& meta,
                         const raft::conf_change& change) {
  auto& st = self->state;
  if (change.type != raft::conf_change_type::remove_node ||
      cluster::find_by_raft_id(meta, change.node) != nullptr) {
    return true;
  }
  const int64_t now = steady_now_ms();
  const auto seen = st.removed_seen_ms.emplace(change.node, now).first->second;
  return now - seen >= removed_replica_grace.count();
}

void manage_voters(pointer self, const cluster::meta_state& meta) {
  auto& st = self->state;
  if (st.conf_in_flight || !st.status) {
    return;
  }
  const auto plan = cluster::plan_meta_voters(meta, st.status->conf, st.options.meta_voters_max);
  const auto step = cluster::next_membership_step(*st.status, plan, st.options.promote_lag_max);
  if (step.transfer_to != raft::no_node) {
    CK_LOG_INFO("raft: meta leader steps aside for raft id {} before it leaves the voters",
                step.transfer_to);
    self->request(st.group, transfer_timeout, atoms::raft_transfer_atom_v, step.transfer_to)
        .then([](raft::node_id) {}, [](caf::error&) {});
    return;
  }
  if (!step.change || !removal_may_proceed(self, meta, *step.change)) {
    return;
  }
  st.conf_in_flight = true;
  const auto what = cluster::describe(*step.change);
  self->request(st.group, meta_proposal_timeout, atoms::raft_conf_atom_v, *step.change)
      .then(
          [self, what](raft_propose_reply&) {
            self->state.conf_in_flight = false;
            CK_LOG_INFO("raft: meta group membership change applied: {}", what);
          },
          [self, what](caf::error& error) {
            self->state.conf_in_flight = false;
            CK_LOG_DEBUG("raft: meta group membership change {} not applied: {}", what,
                         to_string(error));
          });
}

void lead(pointer self) {
  auto& st = self->state;
  const int64_t now = steady_now_ms();
  if (st.leading_term != st.status->term) {
    st.leading_term = st.status->term;
    st.leading_since_ms = now;
    st.detector.emplace(st.options.self.id, st.options.liveness);
    st.heard_since_leading.clear();
    st.removed_seen_ms.clear();
  }
  observe_peers(self, now);
  const cluster::meta_state meta = st.sm->current();
  if (!meta.bootstrapped()) {
    propose_bootstrap(self);
    return;
  }
  st.detector->evaluate(now);
  replicate_statuses(self, meta, now);
  manage_voters(self, meta);
}

void next_tick(pointer self) {
  self->delayed_send(self, self->state.options.tick_interval, atoms::membership_tick_atom_v);
}

void on_tick(pointer self) {
  self->request(self->state.group, local_request_timeout, atoms::raft_status_atom_v)
      .then(
          [self](raft::status_info& status) {
            self->state.status = std::move(status);
            self->request(self->state.transport, local_request_timeout,
                          atoms::transport_stats_atom_v)
                .then(
                    [self](transport_stats& stats) {
                      auto& st = self->state;
                      st.peers = std::move(stats);
                      if (st.status->state == raft::role::leader) {
                        lead(self);
                      } else {
                        st.leading_term = 0;
                        st.detector.reset();
                        observe_peers(self, steady_now_ms());
                      }
                      next_tick(self);
                    },
                    [self](caf::error&) { next_tick(self); });
          },
          [self](caf::error&) { next_tick(self); });
}

membership_controller_actor::behavior_type membership_controller(
    pointer self, membership_controller_options options, raft_group_actor group,
    std::shared_ptr<const meta_state_machine> meta, net_transport_actor transport) {
  auto& st = self->state;
  st.options = std::move(options);
  st.group = std::move(group);
  st.sm = std::move(meta);
  st.transport = std::move(transport);
  self->send(self, atoms::membership_tick_atom_v);
  return {
      [self](atoms::membership_tick_atom) { on_tick(self); },
  };
}

}  // namespace

membership_controller_actor spawn_membership_controller(
    caf::actor_system& sys, membership_controller_options options, raft_group_actor group,
    std::shared_ptr<const meta_state_machine> meta, net_transport_actor transport) {
  CK_ASSERT(meta != nullptr);
  return sys.spawn(membership_controller, std::move(options), std::move(group), std::move(meta),
                   std::move(transport));
}

}  // namespace ck::actors
