#include "actors/partition_host.hpp"

#include "actors/errc.hpp"
#include "actors/partition_host_state.hpp"
#include "actors/wire_codec.hpp"
#include "runtime/base/assert.hpp"
#include "runtime/base/clock.hpp"
#include "runtime/cluster/membership_step.hpp"
#include "runtime/cluster/partition_hash.hpp"
#include "runtime/cluster/partition_status.hpp"
#include "runtime/cluster/placement.hpp"
#include "runtime/base/log.hpp"
#include "storage/environment.hpp"
#include "storage/table.hpp"
#include "storage/raft_log_store.hpp"

#include <caf/actor_system.hpp>
#include <fmt/ranges.h>

#include <algorithm>
#include <optional>
#include <set>

namespace ck::actors {

namespace {

using detail::group_of;
using detail::host_pointer;
using namespace std::chrono_literals;

// Named waits (STYLE rule 12): each bounds one request to another actor or node.
constexpr auto drop_log_timeout = 30s;      // the log writer drops a left replica's log
constexpr auto probe_timeout = 2s;          // a membership probe to a placed node
constexpr auto transfer_timeout = 2s;       // a leadership transfer request (answered at once)
constexpr auto conf_change_timeout = 5s;    // a membership change, answered once applied
constexpr auto status_timeout = 1s;         // a replica's status for the tick
constexpr auto probe_interval_ms = 2'000;   // between two probes of one dropped replica

bool contains(const std::vector<std::string>& ids, const std::string& id) {
  return std::find(ids.begin(), ids.end(), id) != ids.end();
}

// Whether `meta`'s placement wants a replica of `partition` on this node.
bool placed_here(const detail::partition_host_state& st, const cluster::meta_state& meta,
                 uint32_t partition) {
  return partition < meta.placement.size() &&
         contains(meta.placement[partition].replicas, st.options.node_id);
}

// ---- hosting -----------------------------------------------------------------------------

void start_replica(host_pointer self, uint32_t partition) {
  auto& st = self->state;
  const raft::group_id group = group_of(partition);
  auto sm = std::make_shared<partition_machines>(st.env, st.options.machines, partition,
                                                 static_cast<uint32_t>(group));
  sm->set_metrics(st.options.metrics);
  if (st.options.overlay) {
    sm->set_overlay(st.options.overlay);
  }
  raft_group_options options = st.options.group;
  options.raft.id = st.options.raft_id;
  options.raft.group = group;
  options.applied = sm->stored_applied();
  sm->announce_reset(options.applied);
  options.on_status = [host = caf::actor_cast<caf::actor>(self), partition](
                          const raft::status_info& status) {
    caf::anon_send(host, atoms::replica_status_atom_v, partition, status);
  };
  auto actor = spawn_raft_group(self->system(), options, st.store, st.writer,
                                caf::actor_cast<raft_transport_actor>(st.transport), sm);
  self->link_to(actor);
  self->send(st.transport, atoms::raft_register_atom_v, group, st.options.raft_id, actor);
  detail::hosted_replica replica;
  replica.group = std::move(actor);
  if (st.options.local) {
    st.options.local->publish(partition, sm);
  }
  replica.sm = std::move(sm);
  st.replicas.emplace(partition, std::move(replica));
  CK_LOG_DEBUG("partition: replica of partition-{} started (applied {})", partition,
               options.applied);
}

void reconcile(host_pointer self);

// A replica whose group removed it leaves in three steps, so that nothing of it is written
// after it is gone: stop the group actor; once it is down, have the log writer drop the
// group's log (in mailbox order, after the group's last persist); then erase its data.
void stop_replica(host_pointer self, uint32_t partition) {
  auto& st = self->state;
  auto it = st.replicas.find(partition);
  if (it == st.replicas.end()) {
    return;
  }
  auto group = it->second.group;
  self->unlink_from(group);
  self->monitor(group);
  self->send_exit(group, caf::exit_reason::user_shutdown);
  st.stopping.emplace(group.address(), partition);
  if (st.options.local) {
    st.options.local->withdraw(partition);  // before its data goes (local_replicas.hpp)
  }
  st.dropping.emplace(partition, std::move(it->second.sm));
  st.replicas.erase(it);
  st.leader_guess.erase(partition);
}

void on_replica_down(host_pointer self, const caf::down_msg& msg) {
  auto& st = self->state;
  auto it = st.stopping.find(msg.source);
  if (it == st.stopping.end()) {
    return;
  }
  const uint32_t partition = it->second;
  st.stopping.erase(it);
  self->request(st.writer, drop_log_timeout, atoms::raft_drop_atom_v, group_of(partition))
      .then(
          [self, partition](uint64_t) {
            auto& dropping = self->state.dropping;
            auto leaving = dropping.find(partition);
            if (leaving != dropping.end()) {
              leaving->second->erase_all();
              dropping.erase(leaving);
            }
            CK_LOG_INFO("partition: replica of partition-{} left this node (log and data removed)",
                        partition);
            reconcile(self);  // the placement may want it back by now
          },
          [partition](caf::error& error) {
            // The replica stays in `dropping`: never restarted over a log that may be stale.
            CK_LOG_ERROR("partition: dropping the log of partition-{} failed: {}", partition,
                         to_string(error));
          });
}

// A replica's data without a log is left over from a removal interrupted by a crash (the log
// is dropped first): erase it unless the placement wants the replica here.
void erase_leftover_data(host_pointer self, uint32_t partition) {
  partition_machines leftover(self->state.env, self->state.options.machines, partition,
                              group_of(partition));
  if (self->state.options.overlay) {
    leftover.set_overlay(self->state.options.overlay);  // its erase discards pending changes
  }
  if (leftover.stored_applied() > 0) {
    leftover.erase_all();
    CK_LOG_INFO("partition: removed leftover data of partition-{}", partition);
  }
}

// Starts the replicas the placement names here; stops those the placement dropped once their
// group removed them. At the first run also starts replicas that still have a log (a restart
// in the middle of a move: they serve until their group removes them).
void reconcile(host_pointer self) {
  auto& st = self->state;
  const auto meta_view = st.meta->view();
  const auto& meta = *meta_view;
  if (!meta.bootstrapped()) {
    return;
  }
  for (const auto& placement : meta.placement) {
    const uint32_t p = placement.index;
    const bool wanted = contains(placement.replicas, st.options.node_id);
    if (st.dropping.count(p) > 0) {
      continue;  // still leaving; reconciled again once gone
    }
    auto it = st.replicas.find(p);
    if (it == st.replicas.end()) {
      const bool has_log = st.store->group(group_of(p)).last_index() > 0;
      if (wanted || (!st.started && has_log)) {
        start_replica(self, p);
      } else if (!st.started) {
        erase_leftover_data(self, p);
      }
      continue;
    }
    const auto& status = it->second.status;
    if (!wanted && status && !status->conf.voters.empty() &&
        !detail::is_member(status->conf, st.options.raft_id)) {
      stop_replica(self, p);
    }
  }
  st.started = true;
}

// A replica the placement dropped normally learns of its removal from the conf change itself.
// One that was away (stopped, cut off) when its group removed it never does: the leader stops
// talking to it, and it would sit there, leaderless, forever. So while the placement does not
// want it, it asks the group's leader (every 2 s, each placed node in turn) whether it is
// still a member, and leaves once the leader says no.
void probe_dropped_replicas(host_pointer self, const cluster::meta_state& meta) {
  auto& st = self->state;
  const int64_t now = runtime::steady_now_ms();
  for (auto& [p, replica] : st.replicas) {
    if (p >= meta.placement.size() || !replica.status || placed_here(st, meta, p) ||
        meta.placement[p].replicas.empty() || now - replica.last_probe_ms < probe_interval_ms) {
      continue;
    }
    replica.last_probe_ms = now;
    const auto& placed = meta.placement[p].replicas;
    const std::string ask = placed[replica.probe_turn++ % placed.size()];
    const member_probe probe{p, st.options.raft_id};
    const uint32_t partition = p;
    self->request(st.transport, probe_timeout, atoms::service_relay_atom_v, ask,
                  service_call{probe_service_name, encode_wire(probe), false})
        .then(
            [self, partition, ask](std::string& bytes) {
              auto reply = decode_wire<member_probe_reply>(bytes);
              if (!reply || reply->status != route_status::ok || reply->member) {
                return;  // not the leader, still a member (the move is under way), or garbled
              }
              // The placement may want the replica back by now (the group re-adds it): keep
              // it then, its log saves the group a transfer.
              if (placed_here(self->state, *self->state.meta->view(), partition)) {
                return;
              }
              CK_LOG_INFO("partition: partition-{}'s leader on {} says this replica is no longer "
                          "in the group",
                          partition, ask);
              stop_replica(self, partition);
            },
            [](caf::error&) {});
  }
}

// ---- leader duties -----------------------------------------------------------------------

// The voter a leader's balancing hands leadership to: the node most of the partition's
// requests come from (cluster/load_follow.hpp), else the placement's first replica; no_node
// (hold) while a new leadership has not seen a window of its load yet.
raft::node_id balance_preferred(host_pointer self, const cluster::meta_state& meta,
                                const std::string& placed, detail::hosted_replica& replica,
                                int64_t now_ms) {
  const raft::node_id placed_id = cluster::raft_id_of(meta, placed);
  const auto& options = self->state.options.load_follow;
  if (!options.enabled) {
    return placed_id;
  }
  const auto& verdict = replica.origins.verdict(now_ms, options);
  const raft::node_id followed = verdict.what == cluster::load_verdict::kind::follow
                                     ? cluster::raft_id_of(meta, verdict.node)
                                     : raft::no_node;
  return cluster::balance_target(verdict, followed, placed_id, replica.status->conf);
}

void lead_partition(host_pointer self, const cluster::meta_state& meta, uint32_t partition,
                    detail::hosted_replica& replica);
void on_replica_status(host_pointer self, uint32_t partition, raft::status_info& status);

// A membership change of a led partition was applied: its next step (promote the new learner,
// remove the old replica, hand leadership to the placement's first) is taken now, from a fresh
// status, rather than at the next tick. A move is a chain of four or five such steps, so the
// ticks between them were most of a join's move time (docs/performance.md, session 25).
void next_step_now(host_pointer self, uint32_t partition, const raft_group_actor& group) {
  self->request(group, status_timeout, atoms::raft_status_atom_v)
      .then(
          [self, partition](raft::status_info& status) {
            on_replica_status(self, partition, status);
            auto it = self->state.replicas.find(partition);
            const auto meta_view = self->state.meta->view();
            if (it != self->state.replicas.end() && meta_view->bootstrapped()) {
              lead_partition(self, *meta_view, partition, it->second);
            }
          },
          [](caf::error&) {});
}

// The duties of a replica that leads (a no-op for one that does not, as far as its last
// status says): the partition's next membership step, or a leadership transfer.
void lead_partition(host_pointer self, const cluster::meta_state& meta, uint32_t partition,
                    detail::hosted_replica& replica) {
  auto& st = self->state;
  if (!replica.status || replica.status->state != raft::role::leader) {
    return;
  }
  const auto& status = *replica.status;
  if (partition >= meta.placement.size() || meta.placement[partition].replicas.empty() ||
      replica.conf_in_flight) {
    return;
  }
  const auto& target = meta.placement[partition];
  const auto plan = cluster::partition_voter_plan(meta, target);
  const auto step = cluster::next_membership_step(status, plan, st.options.promote_lag_max);
  const int64_t now = runtime::steady_now_ms();
  raft::node_id transfer = step.transfer_to;
  if (!step.change && transfer == raft::no_node) {
    transfer = cluster::leader_balance_transfer(
        status, balance_preferred(self, meta, target.replicas.front(), replica, now));
  }
  if (transfer != raft::no_node) {
    if (now - replica.last_transfer_ms >= st.options.transfer_spacing.count()) {
      replica.last_transfer_ms = now;
      const bool follows = replica.origins.last().what == cluster::load_verdict::kind::follow;
      const char* why = step.transfer_to != raft::no_node ? "leaving the group"
                        : follows                         ? "following its load"
                                                          : "balancing";
      CK_LOG_INFO("partition: partition-{} hands leadership to raft id {} ({})", partition,
                  transfer, why);
      self->request(replica.group, transfer_timeout, atoms::raft_transfer_atom_v, transfer)
          .then([](raft::node_id) {}, [](caf::error&) {});
    }
    return;
  }
  if (!step.change) {
    return;
  }
  replica.conf_in_flight = true;
  const auto what = cluster::describe(*step.change);
  self->request(replica.group, conf_change_timeout, atoms::raft_conf_atom_v, *step.change)
      .then(
          [self, partition, what](raft_propose_reply&) {
            auto it = self->state.replicas.find(partition);
            if (it == self->state.replicas.end()) {
              return;
            }
            it->second.conf_in_flight = false;
            CK_LOG_INFO("partition: partition-{} membership: {}", partition, what);
            next_step_now(self, partition, it->second.group);
          },
          [self, partition](caf::error&) {
            if (auto it = self->state.replicas.find(partition); it != self->state.replicas.end()) {
              it->second.conf_in_flight = false;
            }
          });
}

// A replica without a leader for longer than any election takes is a liveness bug (seen once,
// in session 10, not reproduced): say so once per stretch, with what the replica's core says,
// so the next occurrence explains itself.
void note_leaderless(detail::hosted_replica& replica, uint32_t partition,
                     const raft::status_info& s) {
  constexpr int64_t report_after_ms = 15'000;
  if (s.leader != raft::no_node) {
    replica.leaderless_since_ms = 0;
    replica.leaderless_reported = false;
    return;
  }
  const int64_t now = runtime::steady_now_ms();
  if (replica.leaderless_since_ms == 0) {
    replica.leaderless_since_ms = now;
  } else if (!replica.leaderless_reported && now - replica.leaderless_since_ms > report_after_ms) {
    replica.leaderless_reported = true;
    CK_LOG_WARN("partition: partition-{} has had no leader for {} s: replica {} is {} at term {} "
                "(vote {}, commit {}, applied {}, last {}, voters {}, learners {}, quiescent {})",
                partition, (now - replica.leaderless_since_ms) / 1000, s.id,
                raft::to_string(s.state), s.term, s.vote, s.commit, s.applied, s.last_index,
                fmt::join(s.conf.voters, ","), fmt::join(s.conf.learners, ","), s.quiescent);
  }
}

void finish_tick(host_pointer self) {
  auto& st = self->state;
  st.tick_running = false;
  reconcile(self);
  for (auto& [p, replica] : st.replicas) {
    if (replica.status) {
      note_leaderless(replica, p, *replica.status);
    }
  }
  const auto meta_view = st.meta->view();
  const auto& meta = *meta_view;
  if (meta.bootstrapped()) {
    probe_dropped_replicas(self, meta);
    for (auto& [p, replica] : st.replicas) {
      lead_partition(self, meta, p, replica);
    }
  }
  self->delayed_send(self, st.options.tick_interval, atoms::partition_tick_atom_v);
}

// A hosted replica saw a new leader (or lost it): a partition_leader_changed event.
void publish_leader_change(host_pointer self, uint32_t partition,
                           const raft::status_info& status) {
  auto& st = self->state;
  if (!st.options.events) {
    return;
  }
  cluster::cluster_event e;
  e.kind = cluster::event_kind::partition_leader_changed;
  e.partition = partition;
  e.term = status.term;
  if (status.leader != raft::no_node) {
    e.node = cluster::node_id_of(*st.meta->view(), status.leader);
  }
  self->send(st.options.events, atoms::event_publish_atom_v, std::move(e));
}

// Records a replica's status (polled at a tick, or pushed by the group on a change): logs and
// publishes leadership changes.
void on_replica_status(host_pointer self, uint32_t partition, raft::status_info& status) {
  auto it = self->state.replicas.find(partition);
  if (it == self->state.replicas.end()) {
    return;
  }
  const auto& before = it->second.status;
  const bool was_leader = before && before->state == raft::role::leader;
  const bool leads = status.state == raft::role::leader;
  const bool begins = leads && (!was_leader || before->term != status.term);
  const bool ends = was_leader && !leads;
  if (begins || ends) {
    it->second.origins.reset();  // each leadership judges its own load
  }
  if (begins) {
    CK_LOG_INFO("partition: partition-{} led by this node at term {} (commit {})", partition,
                status.term, status.commit);
  } else if (ends) {
    CK_LOG_INFO("partition: partition-{} no longer led by this node (term {})", partition,
                status.term);
  }
  if (!before || before->leader != status.leader) {
    publish_leader_change(self, partition, status);
  }
  if (status.leader != raft::no_node || (before && before->leader != raft::no_node)) {
    it->second.leader_seen_ms = runtime::steady_now_ms();  // led now, or until this change
  }
  it->second.status = std::move(status);
}

// Refreshes the status of every replica that is not quiet, then runs the duties once all
// answered (or timed out). A quiescent group's status cannot change until it wakes, and it
// pushes its status when it does (on_status), so idle groups cost no message here.
void on_tick(host_pointer self) {
  auto& st = self->state;
  if (st.tick_running) {
    return;
  }
  st.tick_running = true;
  std::vector<std::pair<uint32_t, raft_group_actor>> polled;
  for (auto& [p, replica] : st.replicas) {
    if (!replica.status || !replica.status->quiescent) {
      polled.emplace_back(p, replica.group);
    }
  }
  if (polled.empty()) {
    finish_tick(self);
    return;
  }
  auto remaining = std::make_shared<size_t>(polled.size());
  auto one_done = [self, remaining] {
    if (--*remaining == 0) {
      finish_tick(self);
    }
  };
  for (auto& [partition, group] : polled) {
    self->request(group, status_timeout, atoms::raft_status_atom_v)
        .then(
            [self, partition = partition, one_done](raft::status_info& status) {
              on_replica_status(self, partition, status);
              one_done();
            },
            [one_done](caf::error&) { one_done(); });
  }
}

// ---- views -------------------------------------------------------------------------------

// How long a hosted replica that had a leader may be without one before readiness counts it:
// a handover for balance leaves its followers leaderless for a few milliseconds (the new
// leader's first append names it), which a poll of /ready would see at random; an election
// after a leader died ends well within it (the kill -9 bound is 3 s).
constexpr int64_t leader_change_grace_ms = 3'000;

// The partitions as this node sees them (cluster::summarize_partition decides).
std::vector<partition_view> partitions_view(host_pointer self) {
  auto& st = self->state;
  const auto meta_view = st.meta->view();
  const auto& meta = *meta_view;
  std::vector<partition_view> out;
  out.reserve(meta.placement.size());
  auto node_of = [&meta](raft::node_id id) { return cluster::node_id_of(meta, id); };
  const int64_t now = runtime::steady_now_ms();
  for (const auto& placement : meta.placement) {
    std::optional<cluster::replica_view> hosted;
    bool leader_changing = false;
    if (auto it = st.replicas.find(placement.index);
        it != st.replicas.end() && it->second.status) {
      const auto& s = *it->second.status;
      leader_changing = s.leader == raft::no_node && it->second.leader_seen_ms != 0 &&
                        now - it->second.leader_seen_ms <= leader_change_grace_ms;
      cluster::replica_view r;
      r.leader = node_of(s.leader);
      r.term = s.term;
      r.commit_index = s.commit;
      for (auto id : s.conf.voters) {
        r.voters.push_back(node_of(id));
      }
      for (auto id : s.conf.learners) {
        r.learners.push_back(node_of(id));
      }
      hosted = std::move(r);
    }
    const auto guess = st.leader_guess.find(placement.index);
    auto summary = cluster::summarize_partition(
        placement, hosted, guess != st.leader_guess.end() ? guess->second : std::string{},
        st.options.node_id, meta.replication_factor);
    partition_view view;
    view.index = summary.index;
    view.leader = std::move(summary.leader);
    view.replicas = std::move(summary.replicas);
    view.learners = std::move(summary.learners);
    view.term = summary.term;
    view.commit_index = summary.commit_index;
    view.status = std::string{cluster::to_string(summary.health)};
    view.leader_changing = leader_changing;
    out.push_back(std::move(view));
  }
  return out;
}

// ---- leaders of the partitions hosted elsewhere -------------------------------------------
//
// A node learns the leader of a partition it does not host only from the requests it routes
// there (leader_guess); one that routes none keeps an old guess forever. So a view of all
// partitions (GET /partitions, /partitions/stats, /cluster) first asks each node hosting such
// partitions which ones it leads, at most once per leaders_refresh_ms. It waits for the answers
// (at most leaders_timeout) only when the last round is older than leaders_wait_after_ms: a
// view asked for now and then is fresh, while views polled often (dashboards, scripts waiting
// for a move to end) never wait on a busy peer and are at most one refresh behind. A node
// that hosts every partition asks nobody.

constexpr auto leaders_timeout = 500ms;
constexpr int64_t leaders_refresh_ms = 1'000;
constexpr int64_t leaders_wait_after_ms = 10'000;

// The (partition, term) pairs of the replicas here that lead, flattened: what "ck.leaders"
// answers.
std::vector<uint64_t> led_here(const detail::partition_host_state& st) {
  std::vector<uint64_t> led;
  for (const auto& [partition, replica] : st.replicas) {
    if (replica.status && replica.status->state == raft::role::leader) {
      led.push_back(partition);
      led.push_back(replica.status->term);
    }
  }
  return led;
}

// One round of asking: the answers so far and how many are still out.
struct leaders_round {
  std::vector<uint32_t> wanted;  // the partitions not hosted here
  std::vector<cluster::leader_claims> answers;
  size_t outstanding = 0;
  // The view waiting for this round, if one does.
  std::optional<caf::typed_response_promise<std::vector<partition_view>>> promise;
};

void finish_round(host_pointer self, leaders_round& round) {
  auto& st = self->state;
  const auto meta = st.meta->view();
  for (auto& [partition, leader] :
       cluster::leaders_from_claims(round.answers, meta->placement, round.wanted)) {
    if (st.replicas.count(partition) > 0) {
      continue;  // hosted meanwhile: its replica knows better
    }
    if (leader.empty()) {
      st.leader_guess.erase(partition);
    } else {
      st.leader_guess[partition] = std::move(leader);
    }
  }
  if (round.promise) {
    round.promise->deliver(partitions_view(self));
  }
}

caf::result<std::vector<partition_view>> view_partitions(host_pointer self) {
  auto& st = self->state;
  const int64_t now = runtime::steady_now_ms();
  if (st.leaders_asked_ms >= 0 && now - st.leaders_asked_ms < leaders_refresh_ms) {
    return partitions_view(self);
  }
  const auto meta_view = st.meta->view();
  const auto& meta = *meta_view;
  auto round = std::make_shared<leaders_round>();
  std::set<std::string> ask;
  for (const auto& placement : meta.placement) {
    if (st.replicas.count(placement.index) > 0) {
      continue;
    }
    round->wanted.push_back(placement.index);
    for (const auto& node : placement.replicas) {
      auto known = meta.nodes.find(node);
      if (node != st.options.node_id && known != meta.nodes.end() &&
          known->second.status != cluster::node_status::dead) {
        ask.insert(node);
      }
    }
  }
  if (ask.empty()) {
    return partitions_view(self);
  }
  const bool wait = st.leaders_asked_ms < 0 || now - st.leaders_asked_ms >= leaders_wait_after_ms;
  st.leaders_asked_ms = now;
  round->outstanding = ask.size();
  if (wait) {
    round->promise = self->make_response_promise<std::vector<partition_view>>();
  }
  for (const auto& node : ask) {
    auto answered = [self, round, node](const std::vector<uint64_t>& led) {
      cluster::leader_claims claims;
      claims.node = node;
      for (size_t k = 0; k + 1 < led.size(); k += 2) {
        claims.led.emplace_back(static_cast<uint32_t>(led[k]), led[k + 1]);
      }
      round->answers.push_back(std::move(claims));
    };
    auto done = [self, round] {
      if (--round->outstanding == 0) {
        finish_round(self, *round);
      }
    };
    self->request(st.transport, leaders_timeout, atoms::service_relay_atom_v, node,
                  service_call{leaders_service_name, std::string{}, false})
        .then(
            [answered, done](std::string& bytes) {
              if (auto led = decode_wire<std::vector<uint64_t>>(bytes)) {
                answered(*led);
              }
              done();
            },
            [done](caf::error&) { done(); });  // unknown: the old guesses stay
  }
  if (round->promise) {
    return *round->promise;
  }
  return partitions_view(self);
}

caf::result<storage_figures> figures(host_pointer self) {
  auto& st = self->state;
  storage_figures out;
  auto txn = st.env->begin_read();
  if (!txn.ok()) {
    return caf::make_error(errc::storage_failure, txn.status().to_string());
  }
  auto count = storage::table_count(txn.value());
  if (!count.ok()) {
    return caf::make_error(errc::storage_failure, count.status().to_string());
  }
  out.local_entries = count.value();
  out.partitions_hosted = static_cast<uint32_t>(st.replicas.size());
  for (const auto& [p, r] : st.replicas) {
    out.partitions_led += r.status && r.status->state == raft::role::leader ? 1u : 0u;
  }
  const auto env_figures = st.env->stats();
  out.data_dir = st.env->options().dir;
  out.used_bytes = env_figures.used_bytes;
  out.map_size_bytes = env_figures.map_size_bytes;
  out.commits = env_figures.commit_count;
  out.fsyncs = env_figures.fsync_count;
  out.bytes_written = env_figures.written_bytes;
  return out;
}

partition_host_actor::behavior_type partition_host(
    host_pointer self, partition_host_options options, std::shared_ptr<storage::environment> env,
    std::shared_ptr<storage::raft_log_store> store, raft_log_writer_actor writer,
    net_transport_actor transport, std::shared_ptr<const meta_state_machine> meta) {
  auto& st = self->state;
  st.options = std::move(options);
  st.env = std::move(env);
  st.store = std::move(store);
  st.writer = std::move(writer);
  st.transport = std::move(transport);
  st.meta = std::move(meta);
  // One timer for all hosted groups (group_ticker.hpp); it goes when the host goes.
  st.options.group.ticker = spawn_group_ticker(self->system(), st.options.group.tick_interval);
  self->link_to(st.options.group.ticker);
  self->send(st.transport, atoms::partition_attach_atom_v,
             caf::actor_cast<partition_route_handler_actor>(self));
  for (const char* name : {probe_service_name, leaders_service_name}) {
    self->send(st.transport, atoms::service_attach_atom_v, std::string{name},
               caf::actor_cast<service_handler_actor>(self));
  }
  self->send(self, atoms::partition_tick_atom_v);
  self->set_down_handler([self](caf::down_msg& msg) { on_replica_down(self, msg); });
  // Callers wait without a CAF timeout of their own (the host answers every request by its
  // deadline): a stopping host answers them all before it goes.
  self->set_exit_handler([self](caf::exit_msg& msg) {
    if (self->state.options.local) {
      self->state.options.local->clear();  // storage closes after the host
    }
    detail::fail_all_requests(self, "this node is stopping");
    self->quit(msg.reason);
  });
  return {
      [self](atoms::partition_route_atom, partition_request& request, std::string& origin) {
        auto promise = self->make_response_promise<partition_reply>();
        detail::run_routed(self, std::move(request), origin,
                           [promise](partition_reply& reply) mutable { promise.deliver(reply); });
        return promise;
      },
      [self](atoms::service_call_atom, service_call& call) -> caf::result<std::string> {
        if (call.service == leaders_service_name) {  // another node's view_partitions
          return encode_wire(led_here(self->state));
        }
        // "ck.probe" from another node's partition host (probe_dropped_replicas).
        auto probe = decode_wire<member_probe>(call.payload);
        if (call.service != probe_service_name || !probe) {
          return caf::make_error(errc::invalid_argument, "not a member probe: " + call.service);
        }
        return encode_wire(detail::answer_probe(self, *probe));
      },
      [self](atoms::partition_call_atom, partition_request& request) {
        auto promise = self->make_response_promise<std::string>();
        detail::start_request(self, std::move(request), promise);
        return promise;
      },
      [self](atoms::storage_figures_atom) { return figures(self); },
      [self](atoms::entity_attach_atom, entity_host_actor& entities) {
        self->state.entities = std::move(entities);
      },
      [self](atoms::partitions_atom) { return view_partitions(self); },
      [self](atoms::meta_applied_atom) { reconcile(self); },
      [self](atoms::partition_tick_atom) { on_tick(self); },
      [self](atoms::partition_retry_atom, uint64_t id) { detail::retry_request(self, id); },
      [self](atoms::attempt_sweep_atom) { detail::sweep_attempts(self); },
      [self](atoms::replica_status_atom, uint32_t partition, raft::status_info& status) {
        on_replica_status(self, partition, status);
      },
  };
}

}  // namespace

partition_host_actor spawn_partition_host(caf::actor_system& sys, partition_host_options options,
                                          std::shared_ptr<storage::environment> env,
                                          std::shared_ptr<storage::raft_log_store> store,
                                          raft_log_writer_actor writer,
                                          net_transport_actor transport,
                                          std::shared_ptr<const meta_state_machine> meta) {
  CK_ASSERT_GT(options.raft_id, 0u);
  CK_ASSERT(options.machines != nullptr);
  return sys.spawn(partition_host, std::move(options), std::move(env), std::move(store),
                   std::move(writer), std::move(transport), std::move(meta));
}

}  // namespace ck::actors
