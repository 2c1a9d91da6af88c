#include "actors/join_service.hpp"

#include "actors/errc.hpp"
#include "actors/meta_propose.hpp"
#include "actors/wire_codec.hpp"
#include "runtime/base/assert.hpp"
#include "runtime/base/clock.hpp"
#include "runtime/base/log.hpp"

#include <caf/actor_system.hpp>
#include <caf/stateful_actor.hpp>
#include <caf/typed_event_based_actor.hpp>

namespace ck::actors {

namespace {

// How long the service waits for its meta replica's status (leader or not, and who leads).
constexpr auto status_timeout = std::chrono::seconds(2);
// How long a request handed to the meta leader's node may take there (a join commits on the
// meta group first); the HTTP caller's own deadline is usually shorter.
constexpr auto relay_timeout = std::chrono::seconds(30);

struct join_service_state {
  static inline const char* name = "join_service";
  std::string node_id;
  raft_group_actor group;
  std::shared_ptr<const meta_state_machine> meta;
  net_transport_actor transport;
};

using pointer = join_service_actor::stateful_pointer<join_service_state>;

join_reply reply_for(const cluster::meta_state& meta, const cluster::apply_result& result) {
  join_reply reply;
  reply.outcome = std::string{to_string(result.outcome)};
  reply.raft_id = result.raft_id;
  reply.cluster_id = meta.cluster_id;
  reply.cluster_name = meta.cluster_name;
  reply.partition_count = meta.partition_count;
  reply.replication_factor = meta.replication_factor;
  for (const auto& [id, node] : meta.nodes) {
    reply.members.push_back(join_member{id, node.raft_id, node.raft_addr});
  }
  return reply;
}

// Where a request for the meta leader goes when this node is not it: the leader's node id, or
// the no_leader error to answer (no other leader is known yet).
caf::expected<std::string> remote_meta_leader(pointer self, const raft::status_info& status) {
  const auto meta = self->state.meta->current();
  const auto* leader = cluster::find_by_raft_id(meta, status.leader);
  if (leader == nullptr || leader->id == self->state.node_id) {
    return caf::make_error(errc::no_leader, "no meta leader known yet");
  }
  return leader->id;
}

caf::error error_of(const cluster::apply_result& result) {
  using cluster::apply_outcome;
  switch (result.outcome) {
    case apply_outcome::conflict:
      return caf::make_error(errc::conflict, result.message);
    case apply_outcome::invalid:
      return caf::make_error(errc::invalid_argument, result.message);
    default:
      return caf::make_error(errc::no_leader, result.message);
  }
}

// Hands a request to the meta leader's node as the named service `service` and delivers its
// decoded reply (or the error) to `promise`.
template <class Reply>
void relay_to_leader(pointer self, const std::string& leader, const char* service,
                     std::string payload, caf::typed_response_promise<Reply> promise) {
  self->request(self->state.transport, relay_timeout, atoms::service_relay_atom_v, leader,
                service_call{service, std::move(payload), false})
      .then(
          [promise](std::string& bytes) mutable {
            auto reply = decode_wire<Reply>(bytes);
            if (reply) {
              promise.deliver(std::move(*reply));
            } else {
              promise.deliver(std::move(reply.error()));
            }
          },
          [promise](caf::error& error) mutable { promise.deliver(std::move(error)); });
}

void propose_join(pointer self, join_request& request,
                  caf::typed_response_promise<join_reply> promise) {
  if (!self->state.meta->current().bootstrapped()) {
    promise.deliver(caf::make_error(errc::no_leader, "the cluster is being created"));
    return;
  }
  cluster::join_command cmd;
  cmd.node = node_record_of(request);
  cmd.at_unix_ms = runtime::unix_now_ms();
  propose_meta(
      self, self->state.group, cmd,
      [self, promise](const cluster::apply_result& result) mutable {
        using cluster::apply_outcome;
        switch (result.outcome) {
          case apply_outcome::joined:
          case apply_outcome::rejoined:
          case apply_outcome::replaced:
          case apply_outcome::unchanged:
          case apply_outcome::ok:
            promise.deliver(reply_for(self->state.meta->current(), result));
            return;
          default:
            promise.deliver(error_of(result));
            return;
        }
      },
      [promise](const caf::error& error) mutable { promise.deliver(error); });
}

caf::typed_response_promise<join_reply> on_join(pointer self, join_request& request) {
  auto promise = self->make_response_promise<join_reply>();
  self->request(self->state.group, status_timeout, atoms::raft_status_atom_v)
      .then(
          [self, request, promise](raft::status_info& status) mutable {
            if (status.state == raft::role::leader) {
              propose_join(self, request, promise);
              return;
            }
            auto leader = remote_meta_leader(self, status);
            if (!leader) {
              promise.deliver(leader.error());
              return;
            }
            CK_LOG_DEBUG("join: forwarding {} to the meta leader {}", request.id, *leader);
            relay_to_leader(self, *leader, join_service_name, encode_wire(std::move(request)),
                            promise);
          },
          [promise](caf::error& error) mutable {
            promise.deliver(caf::make_error(
                errc::no_leader, "the meta group replica does not answer: " + to_string(error)));
          });
  return promise;
}

caf::typed_response_promise<raft_propose_reply> on_meta_command(pointer self,
                                                                std::string& command) {
  auto promise = self->make_response_promise<raft_propose_reply>();
  self->request(self->state.group, status_timeout, atoms::raft_status_atom_v)
      .then(
          [self, command, promise](raft::status_info& status) mutable {
            if (status.state == raft::role::leader) {
              promise.delegate(self->state.group, atoms::raft_propose_atom_v, std::move(command));
              return;
            }
            auto leader = remote_meta_leader(self, status);
            if (!leader) {
              promise.deliver(leader.error());
              return;
            }
            relay_to_leader(self, *leader, meta_service_name, std::move(command), promise);
          },
          [promise](caf::error& error) mutable {
            promise.deliver(caf::make_error(
                errc::no_leader, "the meta group replica does not answer: " + to_string(error)));
          });
  return promise;
}

// A join or meta command from another node's join service ("ck.join" / "ck.meta" on the
// transport): asked of this actor itself as the local request (so both take the same path),
// the reply encoded for the way back.
caf::typed_response_promise<std::string> on_remote_call(pointer self, service_call& call) {
  auto promise = self->make_response_promise<std::string>();
  auto encode = [promise](auto& reply) mutable { promise.deliver(encode_wire(std::move(reply))); };
  auto fail = [promise](caf::error& error) mutable { promise.deliver(std::move(error)); };
  auto local = caf::actor_cast<join_handler_actor>(self);
  if (call.service == join_service_name) {
    auto request = decode_wire<join_request>(call.payload);
    if (!request) {
      promise.deliver(std::move(request.error()));
      return promise;
    }
    self->request(local, relay_timeout, atoms::join_atom_v, std::move(*request))
        .then([encode](join_reply& reply) mutable { encode(reply); }, fail);
  } else if (call.service == meta_service_name) {
    self->request(local, relay_timeout, atoms::meta_command_atom_v, std::move(call.payload))
        .then([encode](raft_propose_reply& reply) mutable { encode(reply); }, fail);
  } else {
    promise.deliver(caf::make_error(errc::not_found, "no service named \"" + call.service +
                                                         "\" in the join service"));
  }
  return promise;
}

join_service_actor::behavior_type join_service(pointer self, std::string node_id,
                                               raft_group_actor group,
                                               std::shared_ptr<const meta_state_machine> meta,
                                               net_transport_actor transport) {
  auto& st = self->state;
  st.node_id = std::move(node_id);
  st.group = std::move(group);
  st.meta = std::move(meta);
  st.transport = std::move(transport);
  return {
      [self](atoms::join_atom, join_request& request) { return on_join(self, request); },
      [self](atoms::meta_command_atom, std::string& command) {
        return on_meta_command(self, command);
      },
      [self](atoms::service_call_atom, service_call& call) { return on_remote_call(self, call); },
  };
}

}  // namespace

join_service_actor spawn_join_service(caf::actor_system& sys, std::string node_id,
                                      raft_group_actor group,
                                      std::shared_ptr<const meta_state_machine> meta,
                                      net_transport_actor transport) {
  CK_ASSERT(meta != nullptr);
  return sys.spawn(join_service, std::move(node_id), std::move(group), std::move(meta),
                   std::move(transport));
}

}  // namespace ck::actors
