#include "actors/local_transport.hpp"

#include "actors/errc.hpp"

#include <caf/actor_system.hpp>
#include <caf/typed_event_based_actor.hpp>

#include <map>
#include <set>
#include <utility>

namespace ck::actors {

namespace {

struct local_transport_state {
  static inline const char* name = "local_transport";
  std::map<std::pair<raft::group_id, raft::node_id>, raft_group_actor> routes;
  std::set<raft::node_id> deaf;  // messages to these are dropped
  std::set<raft::node_id> mute;  // messages from these are dropped

  bool cut(raft::node_id from, raft::node_id to) const {
    return mute.count(from) > 0 || deaf.count(to) > 0;
  }
};

void set_member(std::set<raft::node_id>& set, raft::node_id id, bool member) {
  if (member) {
    set.insert(id);
  } else {
    set.erase(id);
  }
}

using local_transport_pointer = local_transport_actor::stateful_pointer<local_transport_state>;

void deliver(local_transport_pointer self, raft_batch& batch) {
  auto& st = self->state;
  for (auto& m : batch.messages) {
    if (st.cut(m.from, m.to)) {
      continue;
    }
    auto route = st.routes.find({m.group, m.to});
    if (route == st.routes.end()) {
      continue;  // like a network message to a replica that is not there: lost
    }
    self->send(route->second, atoms::raft_step_atom_v, std::move(m));
  }
}

local_transport_actor::behavior_type local_transport(local_transport_pointer self) {
  return {
      [=](atoms::raft_send_atom, raft_batch& batch) { deliver(self, batch); },
      [=](atoms::snapshot_chunk_atom, snapshot_chunk& chunk) -> caf::result<uint64_t> {
        auto& st = self->state;
        auto route = st.routes.find({chunk.group, chunk.to});
        if (route == st.routes.end() || st.cut(chunk.from, chunk.to)) {
          return caf::make_error(errc::no_leader, "snapshot target unreachable");
        }
        return self->delegate(route->second, atoms::snapshot_chunk_atom_v, std::move(chunk));
      },
      [=](atoms::raft_register_atom, raft::group_id group, raft::node_id id,
          raft_group_actor& target) { self->state.routes[{group, id}] = std::move(target); },
      [=](atoms::raft_drop_atom, raft::node_id id, bool drop) {
        set_member(self->state.deaf, id, drop);
        set_member(self->state.mute, id, drop);
      },
      [=](atoms::raft_drop_atom, raft::node_id id, bool inbound, bool outbound) {
        set_member(self->state.deaf, id, inbound);
        set_member(self->state.mute, id, outbound);
      },
  };
}

}  // namespace

local_transport_actor spawn_local_transport(caf::actor_system& sys) {
  return sys.spawn(local_transport);
}

}  // namespace ck::actors
