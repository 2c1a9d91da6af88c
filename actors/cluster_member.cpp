#include "actors/cluster_member.hpp"

#include "actors/join_service.hpp"
#include "actors/membership_controller.hpp"
#include "actors/rebalancer.hpp"

#include "runtime/cluster/events.hpp"

#include "actors/cluster_member_state.hpp"
#include "actors/errc.hpp"
#include "runtime/base/assert.hpp"
#include "runtime/base/host_port.hpp"
#include "runtime/base/clock.hpp"
#include "runtime/cluster/membership_step.hpp"
#include "runtime/cluster/meta_membership.hpp"
#include "runtime/cluster/placement.hpp"
#include "runtime/base/log.hpp"
#include "storage/raft_log_store.hpp"

#include <fmt/ranges.h>

#include <caf/actor_system.hpp>
#include <caf/send.hpp>

#include <algorithm>
#include <chrono>


namespace ck::actors {

namespace {

using detail::member_pointer;
using runtime::steady_now_ms;
using runtime::unix_now_ms;

// How long the member waits for its own group or transport; past it the tick is skipped.
constexpr auto local_request_timeout = std::chrono::seconds(2);
// How long the transport keeps the route to a node the meta state removed (sync_peers).
constexpr auto removed_peer_grace = std::chrono::milliseconds(2'000);
// How long a proposal may take before its caller hears a timeout.
constexpr auto proposal_timeout = std::chrono::seconds(5);
// A rejoin that publishes this node's services: one meta proposal, maybe relayed to the leader.
constexpr auto record_refresh_timeout = std::chrono::seconds(10);

// Tells the transport about one peer when its raft id or address changed.
void sync_peer(member_pointer self, const std::string& id, raft::node_id raft_id,
               const std::string& raft_addr) {
  auto& synced = self->state.synced_peers[id];
  if (synced == std::make_pair(raft_id, raft_addr)) {
    return;
  }
  auto address = runtime::parse_host_port(raft_addr);
  if (!address || address->host.empty()) {
    CK_LOG_WARN("node: {} has an unusable raft address \"{}\"", id, raft_addr);
    return;
  }
  synced = {raft_id, raft_addr};
  self->send(self->state.transport, atoms::transport_peer_atom_v, id,
             std::vector<raft::node_id>{raft_id}, std::move(address->host), address->port);
}

// Makes the transport's peers the meta state's members (other than this node).
void sync_peers(member_pointer self) {
  auto& st = self->state;
  const cluster::meta_state meta = st.sm->current();
  if (!meta.bootstrapped()) {
    for (const auto& m : st.options.seed_members) {
      if (m.id != st.options.self.id) {
        sync_peer(self, m.id, m.raft_id, m.raft_addr);
      }
    }
    return;
  }
  for (const auto& [id, node] : meta.nodes) {
    if (id != st.options.self.id) {
      sync_peer(self, id, node.raft_id, node.raft_addr);
    }
  }
  // A removed node stops when its meta replica applies its own removal, so it must still hear
  // the commit index: the transport keeps the route for removed_peer_grace (longer than the
  // meta leader's removed_replica_grace before it takes the replica out of the group). Forgot
  // at once, a removed node sometimes never learnt and kept running (walkthrough step 10).
  const int64_t now = runtime::steady_now_ms();
  for (auto it = st.synced_peers.begin(); it != st.synced_peers.end();) {
    if (meta.nodes.count(it->first) != 0) {
      st.removed_seen_ms.erase(it->first);
      ++it;
      continue;
    }
    const auto [seen, first] = st.removed_seen_ms.emplace(it->first, now);
    if (first) {
      self->delayed_send(self, removed_peer_grace, atoms::meta_applied_atom_v);  // sync again
    }
    if (now - seen->second < removed_peer_grace.count()) {
      ++it;
      continue;
    }
    self->send(st.transport, atoms::transport_forget_atom_v, it->first);
    CK_LOG_INFO("node: {} is no longer a member; connection dropped", it->first);
    st.removed_seen_ms.erase(seen);
    it = st.synced_peers.erase(it);
  }
}

// meta_leader_changed, once the leader's node id is known here (a restarting node knows only
// its raft id until the meta state is replayed), and again at each change.
void publish_meta_leader(member_pointer self) {
  auto& st = self->state;
  const auto& s = *st.status;
  // A raft id always names the same node: nothing to resolve while the leader is unchanged
  // (this runs every tick; resolving copies the meta state).
  if (!st.options.events || st.published_meta_leader == s.leader) {
    return;
  }
  std::string leader;
  if (s.leader != raft::no_node) {
    const auto meta = st.sm->current();
    const auto* node = cluster::find_by_raft_id(meta, s.leader);
    if (node == nullptr) {
      return;  // not replayed here yet: again at the next tick
    }
    leader = node->id;
  }
  st.published_meta_leader = s.leader;
  cluster::cluster_event e;
  e.kind = cluster::event_kind::meta_leader_changed;
  e.node = std::move(leader);
  e.term = s.term;
  self->send(st.options.events, atoms::event_publish_atom_v, std::move(e));
}

void log_role_change(member_pointer self) {
  auto& st = self->state;
  publish_meta_leader(self);
  const auto& s = *st.status;
  if (s.state == st.logged_role && s.leader == st.logged_leader) {
    return;
  }
  const auto meta = st.sm->current();
  auto name_of = [&meta](raft::node_id id) -> std::string {
    const auto* node = cluster::find_by_raft_id(meta, id);
    return node != nullptr ? node->id : "raft id " + std::to_string(id);
  };
  if (s.state == raft::role::leader) {
    CK_LOG_INFO("raft: meta group: this node won the election, leader at term {}", s.term);
  } else if (st.logged_role == raft::role::leader) {
    CK_LOG_INFO("raft: meta group: this node lost leadership at term {}", s.term);
  }
  if (s.leader != st.logged_leader && s.state != raft::role::leader) {
    if (s.leader == raft::no_node) {
      CK_LOG_INFO("raft: meta group: no leader at term {}", s.term);
    } else {
      CK_LOG_INFO("raft: meta group: leader is {} at term {}", name_of(s.leader), s.term);
    }
  }
  st.logged_role = s.state;
  st.logged_leader = s.leader;
}

// A leaving node is removed from the cluster once it hosts no replica at all: not when the
// placement stops naming it, which happens before the moves run. (Removed with replicas
// still in Raft groups, and stopped, it took voters, often leaders, out of groups mid-move;
// one such group was left with no leader in test_partitions.) The node itself knows when
// its last replica left, so it proposes its removal, through the join service, which
// forwards to the meta leader. A meta leader leaves only after it handed that role on.
void remove_self_when_drained(member_pointer self) {
  auto& st = self->state;
  if (st.self_removal_in_flight || !st.status || st.status->state == raft::role::leader) {
    return;
  }
  const auto meta = st.sm->current();
  const auto me = meta.nodes.find(st.options.self.id);
  if (me == meta.nodes.end() || me->second.status != cluster::node_status::leaving) {
    return;
  }
  if (cluster::placement_names(meta, st.options.self.id)) {
    return;  // moves away from this node are still planned
  }
  st.self_removal_in_flight = true;
  auto done = [self] { self->state.self_removal_in_flight = false; };
  self->request(st.host, local_request_timeout, atoms::storage_figures_atom_v)
      .then(
          [self, done](storage_figures& figures) {
            if (figures.partitions_hosted > 0) {
              done();
              return;
            }
            CK_LOG_INFO("node: drained (no replica left here); proposing this node's removal");
            const cluster::command cmd = cluster::remove_node_command{self->state.options.self.id};
            self->request(self->state.joins, local_request_timeout, atoms::meta_command_atom_v,
                          cluster::encode_command(cmd))
                .then([done](raft_propose_reply&) { done(); },
                      [done](caf::error& error) {
                        CK_LOG_DEBUG("node: own removal not applied yet: {}", to_string(error));
                        done();
                      });
          },
          [done](caf::error&) { done(); });
}

void finish_tick(member_pointer self) {
  remove_self_when_drained(self);
  self->state.tick_running = false;
  self->delayed_send(self, self->state.options.tick_interval, atoms::member_tick_atom_v);
}

// A node restarted with other services than its meta record lists (its binary changed) joins
// again (outcome rejoined: same id, address and raft id) to publish them in the cluster view.
void refresh_own_record(member_pointer self) {
  auto& st = self->state;
  if (st.record_refresh_in_flight) {
    return;
  }
  const auto meta = st.sm->current();
  const auto it = meta.nodes.find(st.options.self.id);
  if (it == meta.nodes.end() || it->second.services == st.options.self.services ||
      it->second.raft_addr != st.options.self.raft_addr) {
    return;
  }
  st.record_refresh_in_flight = true;
  self->request(st.joins, record_refresh_timeout, atoms::join_atom_v, st.options.self)
      .then(
          [self](join_reply&) {
            self->state.record_refresh_in_flight = false;
            CK_LOG_INFO("node: this node's services published in the cluster state");
          },
          [self](caf::error&) { self->state.record_refresh_in_flight = false; });
}

void on_tick(member_pointer self) {
  if (self->state.tick_running) {
    return;
  }
  self->state.tick_running = true;
  self->request(self->state.group, local_request_timeout, atoms::raft_status_atom_v)
      .then(
          [self](raft::status_info& status) {
            self->state.status = std::move(status);
            log_role_change(self);
            self->request(self->state.transport, local_request_timeout,
                          atoms::transport_stats_atom_v)
                .then(
                    [self](transport_stats& stats) {
                      auto& st = self->state;
                      st.peers = std::move(stats);
                      refresh_own_record(self);
                      finish_tick(self);
                    },
                    [self](caf::error&) { finish_tick(self); });
          },
          [self](caf::error& error) {
            CK_LOG_WARN("raft: meta group replica does not answer: {}", to_string(error));
            finish_tick(self);
          });
}

// ---- joins -------------------------------------------------------------------------------

cluster_member_actor::behavior_type cluster_member(
    member_pointer self, cluster_member_options options,
    std::shared_ptr<storage::raft_log_store> store, raft_log_writer_actor writer,
    net_transport_actor transport, std::shared_ptr<meta_state_machine> sm,
    partition_host_actor host, std::shared_ptr<std::atomic<uint64_t>> moves_done) {
  auto& st = self->state;
  st.moves_done = std::move(moves_done);
  st.options = std::move(options);
  st.transport = std::move(transport);
  st.sm = std::move(sm);
  st.host = std::move(host);
  auto group_options = st.options.meta_group;
  CK_ASSERT_EQ(group_options.raft.group, 0u);
  st.group = spawn_raft_group(self->system(), group_options, std::move(store), std::move(writer),
                              caf::actor_cast<raft_transport_actor>(st.transport), st.sm);
  self->link_to(st.group);
  self->link_to(st.host);
  rebalancer_options rebalance;
  rebalance.node_id = st.options.self.id;
  rebalance.tick_interval = st.options.tick_interval;
  rebalance.placement_changes_per_tick = st.options.placement_changes_per_tick;
  st.rebalancer = spawn_rebalancer(self->system(), rebalance, st.group, st.sm);
  self->link_to(st.rebalancer);
  st.joins = spawn_join_service(self->system(), st.options.self.id, st.group, st.sm, st.transport);
  self->link_to(st.joins);
  membership_controller_options controller;
  controller.self = st.options.self;
  controller.founder = st.options.founder;
  controller.cluster_id = st.options.cluster_id;
  controller.cluster_name = st.options.cluster_name;
  controller.partition_count = st.options.partition_count;
  controller.replication_factor = st.options.replication_factor;
  controller.liveness = st.options.liveness;
  controller.meta_voters_max = st.options.meta_voters_max;
  controller.promote_lag_max = st.options.promote_lag_max;
  controller.tick_interval = st.options.tick_interval;
  st.controller =
      spawn_membership_controller(self->system(), controller, st.group, st.sm, st.transport);
  self->link_to(st.controller);
  self->send(st.transport, atoms::raft_register_atom_v, raft::group_id{0},
             group_options.raft.id, st.group);
  for (const char* name : {join_service_name, meta_service_name}) {
    self->send(st.transport, atoms::service_attach_atom_v, std::string{name},
               service_handler_actor{st.joins});
  }
  sync_peers(self);
  self->send(self, atoms::member_tick_atom_v);
  return {
      [self](atoms::join_atom, join_request& request) {
        return self->delegate(self->state.joins, atoms::join_atom_v, std::move(request));
      },
      [self](atoms::meta_command_atom, std::string& command) {
        return self->delegate(self->state.joins, atoms::meta_command_atom_v, std::move(command));
      },
      [self](atoms::view_atom) {
        auto promise = self->make_response_promise<cluster_view>();
        self->request(self->state.host, local_request_timeout, atoms::partitions_atom_v)
            .then(
                [self, promise](std::vector<partition_view>& partitions) mutable {
                  promise.deliver(detail::build_view(self->state, std::move(partitions)));
                },
                [self, promise](caf::error&) mutable {
                  promise.deliver(detail::build_view(self->state, {}));
                });
        return promise;
      },
      [self](atoms::member_tick_atom) { on_tick(self); },
      [self](atoms::meta_applied_atom) { sync_peers(self); },
  };
}

// The meta state machine tells these actors about every apply (weak: they may be gone). Filled
// once, before the meta replica exists (the member is spawned lazily and starts it only after
// this is set), then only read, on the replica's thread: no lock needed.
struct meta_listeners {
  std::vector<caf::weak_actor_ptr> actors;
};

// The events an applied meta command means, and a rebalance starting or finishing. The last
// entry replayed at start (command == nullptr) only sets the rebalance flag: events are news.
// `rebalancing` is unset when that entry was no command (a no-op or conf change, which the
// machine never sees): the first news entry then only sets it (a rebalance that entry starts or
// finishes goes unreported).
void publish_meta_events(const event_bus_actor& events, const cluster::command* command,
                         const cluster::apply_result& result, const cluster::meta_state& after,
                         const std::vector<std::string>& placement_before,
                         std::optional<bool>& rebalancing) {
  const bool pending = cluster::rebalance_pending(after);
  const bool known = rebalancing.has_value();
  const bool changed = known && *rebalancing != pending;
  rebalancing = pending;
  if (command == nullptr || !events) {
    return;
  }
  for (auto& event : cluster::meta_events(*command, result, placement_before)) {
    caf::anon_send(events, atoms::event_publish_atom_v, std::move(event));
  }
  if (changed) {
    cluster::cluster_event e;
    e.kind = pending ? cluster::event_kind::rebalance_started
                     : cluster::event_kind::rebalance_finished;
    caf::anon_send(events, atoms::event_publish_atom_v, std::move(e));
  }
}

bool is_own_removal(const cluster::command& command, const cluster::apply_result& result,
                    const std::string& self_id, raft::node_id self_raft_id) {
  const auto* remove = std::get_if<cluster::remove_node_command>(&command);
  return remove != nullptr && remove->id == self_id &&
         result.outcome == cluster::apply_outcome::ok && result.raft_id == self_raft_id;
}

}  // namespace

cluster_member_handles spawn_cluster_member(caf::actor_system& sys, cluster_member_options options,
                                            std::shared_ptr<storage::environment> env,
                                            std::shared_ptr<storage::raft_log_store> store,
                                            raft_log_writer_actor writer,
                                            net_transport_actor transport) {
  CK_ASSERT(!options.self.id.empty());
  CK_ASSERT_GT(options.meta_group.raft.id, 0u);
  // Entries committed before this start were logged when they happened: replaying them must
  // not log them again.
  const raft::index_t replayed_up_to = store->group(0).initial_hard_state().commit;
  auto listeners = std::make_shared<meta_listeners>();
  auto moves_done = std::make_shared<std::atomic<uint64_t>>(0);
  const std::string self_id = options.self.id;
  const raft::node_id self_raft_id = options.meta_group.raft.id;
  // Whether a rebalance is pending, as of the last entry seen (only the meta replica's thread
  // uses it); known from the start on a node with nothing to replay.
  auto rebalancing = std::make_shared<std::optional<bool>>();
  if (replayed_up_to == 0) {
    *rebalancing = false;
  }
  auto events = options.events;
  auto on_removed = options.on_removed;
  auto sm = std::make_shared<meta_state_machine>(
      [listeners, replayed_up_to, moves_done, self_id, self_raft_id, rebalancing, events,
       on_removed](
          raft::index_t index, const cluster::command* command,
          const cluster::apply_result& result, const cluster::meta_state& after,
          const std::vector<std::string>& placement_before) {
        // History replayed at start is not news: only its last entry sets the rebalance flag
        // (planning the placement for every replayed entry would slow every start).
        if (index >= replayed_up_to) {
          publish_meta_events(events, index > replayed_up_to ? command : nullptr, result, after,
                              placement_before, *rebalancing);
        }
        if (command != nullptr && is_own_removal(*command, result, self_id, self_raft_id)) {
          // Drained and removed (POST /leave): nothing is left for this node to serve. It
          // stops as on SIGTERM (also when a restart replays its removal): to come back it
          // must join again with an empty DATA_DIR. The raft id check keeps an earlier
          // incarnation's removal (same id, older raft id) from stopping a rejoined node.
          CK_LOG_WARN("node: this node was removed from the cluster (POST /leave); stopping");
          if (on_removed) {
            on_removed();
          }
        }
        if (command != nullptr && index > replayed_up_to) {
          detail::log_meta_event(*command, result);
          if (std::holds_alternative<cluster::set_placement_command>(*command) &&
              result.outcome == cluster::apply_outcome::ok) {
            moves_done->fetch_add(1);
          }
        }
        for (const auto& weak : listeners->actors) {
          if (auto strong = weak.lock()) {
            caf::anon_send(caf::actor_cast<caf::actor>(strong), atoms::meta_applied_atom_v);
          }
        }
      });
  partition_host_options host_options = options.partitions;
  host_options.node_id = options.self.id;
  host_options.raft_id = options.meta_group.raft.id;
  host_options.events = options.events;
  cluster_member_handles out;
  out.host = spawn_partition_host(sys, host_options, std::move(env), store, writer, transport, sm);
  // Lazily: the member spawns the meta replica (whose applies read `listeners`) only when it
  // runs, which is after the listeners are set and the first message below arrives.
  out.member = sys.spawn<caf::lazy_init>(cluster_member, std::move(options), std::move(store),
                                         std::move(writer), std::move(transport), sm, out.host,
                                         moves_done);
  listeners->actors.push_back(caf::actor_cast<caf::weak_actor_ptr>(out.member));
  listeners->actors.push_back(caf::actor_cast<caf::weak_actor_ptr>(out.host));
  caf::anon_send(out.member, atoms::member_tick_atom_v);
  return out;
}

}  // namespace ck::actors
