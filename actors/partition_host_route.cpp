// The partition host's KV routing: run an operation on the local replica when it leads,
// otherwise send it to the node believed to lead, and retry on the answers that say where the
// leader is, until the operation's deadline.

#include "actors/errc.hpp"
#include "actors/partition_host_state.hpp"
#include "runtime/log.hpp"
#include "storage/environment.hpp"
#include "storage/kv_table.hpp"

#include <algorithm>
#include <cstdlib>

namespace ck::actors::detail {

namespace {

using namespace std::chrono_literals;

// Each relay or local step gets at most this long; the deadline bounds the whole operation.
constexpr auto attempt_timeout = 2s;

kv_routed_reply not_leader(const hosted_replica& r, uint8_t status = kv_route_not_leader) {
  kv_routed_reply reply;
  reply.status = status;
  reply.leader_hint = r.status ? r.status->leader : 0;
  return reply;
}

// Reads the key from this node's LMDB (the replica applied everything the caller needs).
kv_routed_reply read_local(host_pointer self, const kv_routed_request& request) {
  kv_routed_reply reply;
  auto txn = self->state.env->begin_read();
  if (!txn.ok()) {
    reply.status = kv_route_not_hosted;  // let the origin retry elsewhere
    return reply;
  }
  auto value = storage::kv_get(txn.value(), request.partition, request.key);
  if (!value.ok()) {
    reply.status = kv_route_not_hosted;
    return reply;
  }
  reply.flag = value.value().has_value();
  if (reply.flag) {
    reply.value = std::move(*value.value());
  }
  return reply;
}

std::string node_of_raft_id(host_pointer self, raft::node_id id) {
  if (id == raft::no_node) {
    return "";
  }
  const auto meta = self->state.meta->current();
  const auto* node = cluster::find_by_raft_id(meta, id);
  return node != nullptr ? node->id : "";
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
  if (auto it = st.leader_guess.find(partition); it != st.leader_guess.end() && !it->second.empty()) {
    return it->second;
  }
  const auto meta = st.meta->current();
  if (partition < meta.placement.size() && !meta.placement[partition].replicas.empty()) {
    return meta.placement[partition].replicas.front();
  }
  return "";
}

void schedule_retry(host_pointer self, uint64_t id, std::chrono::milliseconds delay) {
  self->delayed_send(self, delay, atoms::kv_retry_atom_v, id);
}

// A write whose attempt may have been proposed: answering "timed out" (outcome unknown) is
// honest; retrying could apply the write twice with other writes in between.
void fail_unknown(host_pointer self, std::map<uint64_t, pending_kv>::iterator it) {
  auto fail = std::move(it->second.fail);
  const auto partition = it->second.request.partition;
  self->state.pending.erase(it);
  fail(caf::make_error(errc::timeout, "the write to partition-" + std::to_string(partition) +
                                          " timed out; it may or may not have been applied"));
}

// The answer of one attempt: done, or learn where to go and try again.
void on_attempt(host_pointer self, uint64_t id, kv_routed_reply& reply) {
  auto& st = self->state;
  auto it = st.pending.find(id);
  if (it == st.pending.end()) {
    return;
  }
  if (reply.status == kv_route_ok) {
    auto done = std::move(it->second.done);
    st.pending.erase(it);
    done(reply);
    return;
  }
  if (reply.status == kv_route_unknown) {
    fail_unknown(self, it);
    return;
  }
  const uint32_t partition = it->second.request.partition;
  const auto hinted = node_of_raft_id(self, reply.leader_hint);
  st.leader_guess[partition] = hinted;
  // A fresh hint is worth trying at once; without one, give the election a moment.
  schedule_retry(self, id, hinted.empty() ? 50ms : 5ms);
}

}  // namespace

void run_routed(host_pointer self, kv_routed_request request,
                std::function<void(kv_routed_reply&)> done) {
  auto& st = self->state;
  auto it = st.replicas.find(request.partition);
  if (it == st.replicas.end()) {
    kv_routed_reply reply;
    reply.status = kv_route_not_hosted;
    if (auto guess = st.leader_guess.find(request.partition); guess != st.leader_guess.end()) {
      const auto meta = st.meta->current();
      if (auto n = meta.nodes.find(guess->second); n != meta.nodes.end()) {
        reply.leader_hint = n->second.raft_id;
      }
    }
    done(reply);
    return;
  }
  const uint32_t partition = request.partition;
  auto& replica = it->second;
  if (request.op == kv_op_member) {
    kv_routed_reply reply;
    const auto& status = replica.status;
    if (!status || status->state != raft::role::leader) {
      reply = not_leader(replica);
    } else {
      reply.flag = is_member(status->conf, std::strtoull(request.key.c_str(), nullptr, 10));
    }
    done(reply);
    return;
  }
  if (request.op == kv_op_get && request.stale) {
    auto reply = read_local(self, request);
    done(reply);
    return;
  }
  const bool write = request.op != kv_op_get;
  auto fail_here = [self, partition, done, write](const caf::error& error) mutable {
    auto found = self->state.replicas.find(partition);
    kv_routed_reply reply;
    if (write && errc_of(error) == errc::timeout) {
      reply.status = kv_route_unknown;  // the proposal may still be queued and commit later
    } else if (found != self->state.replicas.end()) {
      reply = not_leader(found->second);
    } else {
      reply.status = kv_route_not_hosted;
    }
    done(reply);
  };
  if (request.op == kv_op_get) {
    self->request(replica.group, attempt_timeout, atoms::raft_read_atom_v)
        .then(
            [self, request, done](raft::index_t) mutable {
              auto reply = read_local(self, request);
              done(reply);
            },
            fail_here);
    return;
  }
  std::string command = request.op == kv_op_set ? encode_kv_set(request.key, request.value)
                                                : encode_kv_delete(request.key);
  self->request(replica.group, attempt_timeout, atoms::raft_propose_atom_v, std::move(command))
      .then(
          [done](raft_propose_reply& applied) mutable {
            kv_routed_reply reply;
            const auto existed = decode_kv_result(applied.result);
            reply.flag = existed.value_or(false);
            done(reply);
          },
          fail_here);
}

void retry_kv(host_pointer self, uint64_t id) {
  auto& st = self->state;
  auto it = st.pending.find(id);
  if (it == st.pending.end()) {
    return;
  }
  auto& op = it->second;
  if (std::chrono::steady_clock::now() >= op.deadline) {
    auto fail = std::move(op.fail);
    const auto partition = op.request.partition;
    st.pending.erase(it);
    fail(caf::make_error(errc::no_leader, "no leader for partition-" + std::to_string(partition) +
                                              " answered in time; retry"));
    return;
  }
  ++op.attempts;
  const bool stale_here = op.request.op == kv_op_get && op.request.stale &&
                          st.replicas.count(op.request.partition) > 0;
  const auto target = stale_here ? st.options.node_id : target_for(self, op.request.partition);
  if (target.empty()) {
    schedule_retry(self, id, 50ms);
    return;
  }
  if (target == st.options.node_id) {
    if (st.replicas.count(op.request.partition) == 0) {
      st.leader_guess.erase(op.request.partition);
      schedule_retry(self, id, 50ms);  // placed here, replica starting
      return;
    }
    run_routed(self, op.request, [self, id](kv_routed_reply& reply) { on_attempt(self, id, reply); });
    return;
  }
  // A relayed write waits as long as the remote may take (its own proposal timeout plus the
  // hop) and is not retried after a timeout; a read may be retried at once.
  const bool write = op.request.op != kv_op_get;
  self->request(st.transport, write ? attempt_timeout + 1s : attempt_timeout,
                atoms::transport_kv_relay_atom_v, target, op.request)
      .then([self, id](kv_routed_reply& reply) { on_attempt(self, id, reply); },
            [self, id, target, write](caf::error& error) {
              auto found = self->state.pending.find(id);
              if (found == self->state.pending.end()) {
                return;
              }
              if (write && errc_of(error) == errc::timeout) {
                fail_unknown(self, found);
                return;
              }
              CK_LOG_DEBUG("kv: relay to {} failed: {}", target, to_string(error));
              self->state.leader_guess.erase(found->second.request.partition);
              schedule_retry(self, id, 100ms);
            });
}

void start_kv(host_pointer self, kv_routed_request request,
              std::function<void(kv_routed_reply&)> done,
              std::function<void(const caf::error&)> fail) {
  auto& st = self->state;
  const uint64_t id = st.next_pending++;
  pending_kv op;
  op.request = std::move(request);
  op.deadline = std::chrono::steady_clock::now() + st.options.request_deadline;
  op.done = std::move(done);
  op.fail = std::move(fail);
  st.pending.emplace(id, std::move(op));
  retry_kv(self, id);
}

}  // namespace ck::actors::detail
