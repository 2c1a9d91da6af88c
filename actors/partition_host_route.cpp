// The partition host's routing: run a request on the local replica when it leads (or when a
// stale read may use it), otherwise send it to the node believed to lead, and act on each
// answer as cluster::decide_route says, until the request's deadline.

#include "actors/errc.hpp"
#include "actors/partition_host_state.hpp"
#include "runtime/cluster/machine_command.hpp"
#include "runtime/cluster/route_policy.hpp"
#include "runtime/base/log.hpp"

#include <algorithm>
#include <functional>
#include <vector>

namespace ck::actors::detail {

namespace {

using namespace std::chrono_literals;

// Each relay or local step gets at most this long; the deadline bounds the whole request.
constexpr auto attempt_timeout = 2s;
// A relayed proposal waits for the remote's own proposal timeout plus the hop: it is never
// retried after a timeout, so it must not give up before the remote does.
constexpr auto relayed_proposal_timeout = attempt_timeout + 1s;
// How often attempt deadlines are checked: an attempt fails at most this late.
constexpr auto attempt_sweep_period = 100ms;

// Proposals and entity requests may change state: after a timeout their outcome is unknown,
// so they are never retried (cluster::decide_route).
bool changes_state(partition_op op) {
  return op == partition_op::propose || op == partition_op::entity;
}

partition_reply not_leader(const hosted_replica& r) {
  partition_reply reply;
  reply.status = route_status::not_leader;
  reply.leader_hint = r.status ? r.status->leader : 0;
  return reply;
}

// The answer when this node cannot run a request for `partition` (any more): "not leader" with
// its replica's leader hint while it hosts one, else "not hosted".
partition_reply redirect_from(host_pointer self, uint32_t partition) {
  auto found = self->state.replicas.find(partition);
  if (found != self->state.replicas.end()) {
    return not_leader(found->second);
  }
  partition_reply reply;
  reply.status = route_status::not_hosted;
  return reply;
}

// Runs the machine's query on this node's replica (it applied everything the caller needs).
partition_reply query_local(hosted_replica& replica, const partition_request& request) {
  partition_reply reply;
  auto answer = replica.sm->query(request.machine, request.payload);
  reply.status = answer.ok ? route_status::ok : route_status::failed;
  reply.payload = std::move(answer.value);
  return reply;
}

std::string node_of_raft_id(host_pointer self, raft::node_id id) {
  if (id == raft::no_node) {
    return "";
  }
  return cluster::node_id_of(*self->state.meta->view(), id);
}

// The node the origin tries next for `partition`.
std::string target_for(host_pointer self, uint32_t partition) {
  auto& st = self->state;
  if (auto it = st.replicas.find(partition); it != st.replicas.end() && it->second.status) {
    const auto& status = *it->second.status;
    if (status.state == raft::role::leader) {
      return st.options.node_id;
    }
    if (auto node = node_of_raft_id(self, status.leader); !node.empty()) {
      return node;
    }
  }
  if (auto it = st.leader_guess.find(partition);
      it != st.leader_guess.end() && !it->second.empty()) {
    return it->second;
  }
  const auto meta_view = st.meta->view();
  const auto& meta = *meta_view;
  if (partition < meta.placement.size() && !meta.placement[partition].replicas.empty()) {
    return meta.placement[partition].replicas.front();
  }
  return "";
}

void schedule_retry(host_pointer self, uint64_t id, std::chrono::milliseconds delay) {
  self->delayed_send(self, delay, atoms::partition_retry_atom_v, id);
}

caf::error unknown_outcome(uint32_t partition) {
  return caf::make_error(errc::timeout, "the write to partition-" + std::to_string(partition) +
                                            " timed out; it may or may not have been applied");
}

// Carries out the policy's decision for one attempt of pending request `id`.
void on_attempt(host_pointer self, uint64_t id, cluster::attempt_outcome outcome,
                partition_reply* reply) {
  auto& st = self->state;
  auto it = st.pending.find(id);
  if (it == st.pending.end()) {
    return;
  }
  const uint32_t partition = it->second.request.partition;
  std::string hinted;
  if (reply != nullptr && outcome == cluster::attempt_outcome::not_leader) {
    hinted = node_of_raft_id(self, reply->leader_hint);
    st.leader_guess[partition] = hinted;
  } else if (outcome == cluster::attempt_outcome::unreachable) {
    st.leader_guess.erase(partition);
  }
  const bool proposal = changes_state(it->second.request.op);
  const auto decision = cluster::decide_route(outcome, proposal, !hinted.empty());
  switch (decision.action) {
    case cluster::route_action::done:
      it->second.promise.deliver(std::move(reply->payload));
      st.pending.erase(it);
      return;
    case cluster::route_action::answer_unknown:
      it->second.promise.deliver(unknown_outcome(partition));
      st.pending.erase(it);
      return;
    case cluster::route_action::answer_failed:
      it->second.promise.deliver(caf::make_error(
          errc::internal, reply != nullptr ? reply->payload : std::string{"request failed"}));
      st.pending.erase(it);
      return;
    case cluster::route_action::answer_storage_full:
      it->second.promise.deliver(caf::make_error(
          errc::storage_full, reply != nullptr ? reply->payload : std::string{"storage full"}));
      st.pending.erase(it);
      return;
    case cluster::route_action::retry:
      schedule_retry(self, id, std::chrono::milliseconds(decision.retry_delay_ms));
      return;
  }
}

// A relay that ended in an error instead of a reply. no_leader (the transport had no
// connection: nothing was sent) and not_ready (the remote serves no partitions yet) are
// refusals before the request ran; anything else, a broken connection above all, may have
// come after the remote ran it.
cluster::attempt_outcome relay_failure(const caf::error& error) {
  switch (errc_of(error)) {
    case errc::timeout:
      return cluster::attempt_outcome::timed_out;
    case errc::no_leader:
    case errc::not_ready:
      return cluster::attempt_outcome::unreachable;
    default:
      return cluster::attempt_outcome::lost;
  }
}

cluster::attempt_outcome outcome_of(const partition_reply& reply) {
  switch (reply.status) {
    case route_status::ok:
      return cluster::attempt_outcome::ok;
    case route_status::unknown:
      return cluster::attempt_outcome::timed_out;
    case route_status::failed:
      return cluster::attempt_outcome::failed;
    case route_status::storage_full:
      return cluster::attempt_outcome::storage_full;
    case route_status::not_leader:
    case route_status::not_hosted:
      return cluster::attempt_outcome::not_leader;
  }
  return cluster::attempt_outcome::not_leader;
}

// An entity request runs on the leader's node: its entity host activates the entity (or has
// it active) and answers with the entity's reply.
void run_entity(host_pointer self, hosted_replica& replica, partition_request request,
                std::function<void(partition_reply&)> done) {
  auto& st = self->state;
  if (!replica.status || replica.status->state != raft::role::leader) {
    auto reply = not_leader(replica);
    done(reply);
    return;
  }
  if (!st.entities) {
    partition_reply reply;
    reply.status = route_status::failed;
    reply.payload = "this node runs no entity types";
    done(reply);
    return;
  }
  const uint32_t partition = request.partition;
  self->request(st.entities, attempt_timeout, atoms::entity_deliver_atom_v, std::move(request))
      .then(
          [done](std::string& answer) mutable {
            partition_reply reply;
            reply.payload = std::move(answer);
            done(reply);
          },
          [self, partition, done](caf::error& error) mutable {
            partition_reply reply;
            const auto code = errc_of(error);
            if (code == errc::timeout) {
              reply.status = route_status::unknown;  // the entity may have handled it
            } else if (code == errc::no_leader) {
              reply = redirect_from(self, partition);
            } else {
              reply.status = route_status::failed;
              reply.payload = message_of(error);
              if (reply.payload.empty()) {
                reply.payload = to_string(error);
              }
            }
            done(reply);
          });
}

}  // namespace

void run_routed(host_pointer self, partition_request request, std::string_view origin,
                std::function<void(partition_reply&)> done) {
  auto& st = self->state;
  auto it = st.replicas.find(request.partition);
  if (it == st.replicas.end()) {
    partition_reply reply;
    reply.status = route_status::not_hosted;
    if (auto guess = st.leader_guess.find(request.partition); guess != st.leader_guess.end()) {
      reply.leader_hint = cluster::raft_id_of(*st.meta->view(), guess->second);
    }
    done(reply);
    return;
  }
  const uint32_t partition = request.partition;
  auto& replica = it->second;
  if (request.op == partition_op::stale_read) {
    auto reply = query_local(replica, request);
    done(reply);
    return;
  }
  if (st.options.load_follow.enabled && replica.status &&
      replica.status->state == raft::role::leader) {
    replica.origins.record(origin);
  }
  if (request.op == partition_op::entity) {
    run_entity(self, replica, std::move(request), std::move(done));
    return;
  }
  const bool proposal = request.op == partition_op::propose;
  auto fail_here = [self, partition, done, proposal](const caf::error& error) mutable {
    partition_reply reply;
    const errc code = errc_of(error);
    if (code == errc::storage_full) {
      reply.status = route_status::storage_full;
      reply.payload = message_of(error);
    } else if (proposal && code != errc::no_leader) {
      // The group answers no_leader only for "not proposed" or "overwritten" (raft_group.hpp);
      // anything else may still commit later (raft_group.hpp), so a retry could apply it twice.
      reply.status = route_status::unknown;
    } else {
      reply = redirect_from(self, partition);
    }
    done(reply);
  };
  if (!proposal) {
    const uint64_t key = open_attempt(self, attempt_timeout, [fail_here]() mutable {
      fail_here(caf::make_error(errc::timeout, "read not confirmed in time"));
    });
    self->request(replica.group, caf::infinite, atoms::raft_read_atom_v)
        .then(
            [self, request, done, partition, key](raft::index_t) mutable {
              if (!close_attempt(self, key)) {
                return;  // answered as timed out already
              }
              auto found = self->state.replicas.find(partition);
              partition_reply reply;
              if (found == self->state.replicas.end()) {
                reply.status = route_status::not_hosted;  // left while the read was confirmed
              } else {
                reply = query_local(found->second, request);
              }
              done(reply);
            },
            [self, key, fail_here](caf::error& error) mutable {
              if (close_attempt(self, key)) {
                fail_here(error);
              }
            });
    return;
  }
  const auto slot = cluster::machine_slot(*st.options.machines, request.machine);
  if (!slot) {
    partition_reply reply;
    reply.status = route_status::failed;
    reply.payload = "no state machine named \"" + request.machine + "\" on this node";
    done(reply);
    return;
  }
  std::string command = cluster::encode_log_command(*slot, request.machine, request.payload);
  const uint64_t key = open_attempt(self, attempt_timeout, [fail_here]() mutable {
    fail_here(caf::make_error(errc::timeout, "proposal not applied in time"));
  });
  // Answered at commit only for a request another node relayed here: the origin then knows
  // the write is durable, and this node's own clients keep seeing their writes here, stale
  // reads and /kv/list included, as soon as they are acknowledged (the apply came first).
  const bool at_commit = request.answer_at_commit && origin != st.options.node_id;
  self->request(replica.group, caf::infinite, atoms::raft_propose_atom_v, std::move(command),
                at_commit)
      .then(
          [self, key, done](raft_propose_reply& applied) mutable {
            if (!close_attempt(self, key)) {
              return;  // answered as unknown already
            }
            partition_reply reply;
            reply.payload = std::move(applied.result);
            done(reply);
          },
          [self, key, fail_here](caf::error& error) mutable {
            if (close_attempt(self, key)) {
              fail_here(error);
            }
          });
}

member_probe_reply answer_probe(host_pointer self, const member_probe& probe) {
  member_probe_reply reply;
  auto it = self->state.replicas.find(probe.partition);
  if (it == self->state.replicas.end()) {
    reply.status = route_status::not_hosted;
    return reply;
  }
  const auto& status = it->second.status;
  if (!status || status->state != raft::role::leader) {
    reply.status = route_status::not_leader;
    reply.leader_hint = status ? status->leader : 0;
    return reply;
  }
  reply.member = is_member(status->conf, probe.raft_id);
  return reply;
}

void retry_request(host_pointer self, uint64_t id) {
  auto& st = self->state;
  auto it = st.pending.find(id);
  if (it == st.pending.end()) {
    return;
  }
  auto& op = it->second;
  const uint32_t partition = op.request.partition;
  if (std::chrono::steady_clock::now() >= op.deadline) {
    op.promise.deliver(caf::make_error(
        errc::no_leader,
        "no leader for partition-" + std::to_string(partition) + " answered in time; retry"));
    st.pending.erase(it);
    return;
  }
  ++op.attempts;
  const bool stale_here =
      op.request.op == partition_op::stale_read && st.replicas.count(partition) > 0;
  const auto target = stale_here ? st.options.node_id : target_for(self, partition);
  if (target.empty()) {
    schedule_retry(self, id, std::chrono::milliseconds(cluster::route_retry_election_ms));
    return;
  }
  if (target == st.options.node_id) {
    if (st.replicas.count(partition) == 0) {
      st.leader_guess.erase(partition);
      schedule_retry(self, id, std::chrono::milliseconds(cluster::route_retry_election_ms));
      return;  // placed here, replica starting
    }
    run_routed(self, op.request, st.options.node_id, [self, id](partition_reply& reply) {
      on_attempt(self, id, outcome_of(reply), &reply);
    });
    return;
  }
  const bool proposal = changes_state(op.request.op);
  const uint64_t key = open_attempt(
      self, proposal ? relayed_proposal_timeout : attempt_timeout, [self, id, target] {
        CK_LOG_DEBUG("partition: relay to {} timed out", target);
        on_attempt(self, id, cluster::attempt_outcome::timed_out, nullptr);
      });
  self->request(st.transport, caf::infinite, atoms::transport_partition_relay_atom_v, target,
                op.request)
      .then(
          [self, id, key](partition_reply& reply) {
            if (close_attempt(self, key)) {
              on_attempt(self, id, outcome_of(reply), &reply);
            }
          },
          [self, id, key, target](caf::error& error) {
            if (!close_attempt(self, key)) {
              return;
            }
            CK_LOG_DEBUG("partition: relay to {} failed: {}", target, to_string(error));
            on_attempt(self, id, relay_failure(error), nullptr);
          });
}

namespace {

// One sweep timer on its way while any attempt is open.
void arm_attempt_sweep(host_pointer self) {
  auto& st = self->state;
  if (!st.attempts.empty() && !st.sweep_armed) {
    st.sweep_armed = true;
    self->delayed_send(self, attempt_sweep_period, atoms::attempt_sweep_atom_v);
  }
}

}  // namespace

uint64_t open_attempt(host_pointer self, std::chrono::milliseconds timeout,
                      std::function<void()> on_timeout) {
  auto& st = self->state;
  const uint64_t key = st.next_attempt++;
  st.attempts.emplace(key, attempt_timer{std::chrono::steady_clock::now() + timeout,
                                         std::move(on_timeout)});
  arm_attempt_sweep(self);
  return key;
}

bool close_attempt(host_pointer self, uint64_t key) { return self->state.attempts.erase(key) > 0; }

void sweep_attempts(host_pointer self) {
  auto& st = self->state;
  st.sweep_armed = false;
  const auto now = std::chrono::steady_clock::now();
  std::vector<std::function<void()>> expired;
  for (auto it = st.attempts.begin(); it != st.attempts.end();) {
    if (it->second.deadline <= now) {
      expired.push_back(std::move(it->second.on_timeout));
      it = st.attempts.erase(it);
    } else {
      ++it;
    }
  }
  for (auto& fire : expired) {
    fire();  // may open new attempts (a retry), which arm the sweep themselves
  }
  arm_attempt_sweep(self);
}

void fail_all_requests(host_pointer self, const std::string& why) {
  auto& st = self->state;
  auto attempts = std::move(st.attempts);
  st.attempts.clear();
  for (auto& [key, attempt] : attempts) {
    attempt.on_timeout();  // answers a relayed request's origin, or books an origin's attempt
  }
  auto pending = std::move(st.pending);
  st.pending.clear();
  for (auto& [id, op] : pending) {
    op.promise.deliver(caf::make_error(errc::shutting_down, why));
  }
}

void start_request(host_pointer self, partition_request request,
                   caf::typed_response_promise<std::string> promise) {
  auto& st = self->state;
  if (st.pending.size() >= st.options.pending_max) {
    promise.deliver(caf::make_error(errc::no_leader,
                                    "too many requests waiting at this node; "
                                    "retry"));
    return;
  }
  const uint64_t id = st.next_pending++;
  pending_request op;
  op.request = std::move(request);
  op.deadline = std::chrono::steady_clock::now() + st.options.request_deadline;
  op.promise = std::move(promise);
  st.pending.emplace(id, std::move(op));
  retry_request(self, id);
}

}  // namespace ck::actors::detail
