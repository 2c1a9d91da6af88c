#pragma once

// Proposing a cluster command on this node's meta group replica and decoding its apply result:
// shared by the actors that change the meta state (cluster member, rebalancer).

#include "actors/errc.hpp"
#include "actors/meta_state_machine.hpp"
#include "actors/raft_group.hpp"
#include "runtime/cluster/meta_state.hpp"

#include <chrono>

namespace ck::actors {

/// How long a meta proposal may take before its caller hears a timeout.
inline constexpr auto meta_proposal_timeout = std::chrono::seconds(5);

/// Proposes `command` on `group` from actor `self`; then(result) with the decoded apply result,
/// or failed(error) with why it did not apply (no_leader when this replica does not lead).
template <class Self, class Then, class Failed>
void propose_meta(Self* self, const raft_group_actor& group, const cluster::command& command,
                  Then then, Failed failed) {
  self->request(group, meta_proposal_timeout, atoms::raft_propose_atom_v,
                cluster::encode_command(command))
      .then(
          [then, failed](raft_propose_reply& reply) mutable {
            cluster::apply_result result;
            std::string error;
            if (!decode_meta_apply_result(reply.result, result, error)) {
              failed(caf::make_error(errc::internal, "undecodable meta result: " + error));
              return;
            }
            then(result);
          },
          [failed](caf::error& error) mutable { failed(error); });
}

}  // namespace ck::actors
