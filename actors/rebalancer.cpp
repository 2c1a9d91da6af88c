#include "actors/rebalancer.hpp"

#include "actors/meta_propose.hpp"
#include "runtime/base/assert.hpp"
#include "runtime/base/log.hpp"
#include "runtime/cluster/placement.hpp"

#include <caf/actor_system.hpp>
#include <caf/stateful_actor.hpp>
#include <caf/typed_event_based_actor.hpp>
#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <set>

namespace ck::actors {

namespace {

// How long the rebalancer waits for its meta replica's status; past it the tick is skipped.
constexpr auto status_timeout = std::chrono::seconds(2);

struct rebalancer_state {
  static inline const char* name = "rebalancer";
  rebalancer_options options;
  raft_group_actor group;
  std::shared_ptr<const meta_state_machine> meta;
  size_t placement_in_flight = 0;
};

using pointer = rebalancer_actor::stateful_pointer<rebalancer_state>;

void propose_placement(pointer self, const cluster::meta_state& meta) {
  auto& st = self->state;
  if (st.placement_in_flight > 0) {
    return;
  }
  const auto target = cluster::plan_placement(meta);
  for (auto& cmd :
       cluster::placement_changes(meta, target, st.options.placement_changes_per_tick)) {
    ++st.placement_in_flight;
    const uint32_t index = cmd.index;
    const std::vector<std::string> before =
        index < meta.placement.size() ? meta.placement[index].replicas : std::vector<std::string>{};
    std::string change =
        fmt::format("[{}] -> [{}]", fmt::join(before, ","), fmt::join(cmd.replicas, ","));
    propose_meta(
        self, st.group, cmd,
        [self, index, change](const cluster::apply_result& result) {
          --self->state.placement_in_flight;
          if (result.outcome == cluster::apply_outcome::ok) {
            CK_LOG_INFO("rebalance: partition-{} replicas {}", index, change);
          }
        },
        [self](const caf::error&) { --self->state.placement_in_flight; });
  }
}

void on_tick(pointer self) {
  auto& st = self->state;
  self->request(st.group, status_timeout, atoms::raft_status_atom_v)
      .then(
          [self](raft::status_info& status) {
            const auto meta = self->state.meta->current();
            if (status.state == raft::role::leader && meta.bootstrapped()) {
              propose_placement(self, meta);
            }
            self->delayed_send(self, self->state.options.tick_interval,
                               atoms::rebalance_tick_atom_v);
          },
          [self](caf::error&) {
            self->delayed_send(self, self->state.options.tick_interval,
                               atoms::rebalance_tick_atom_v);
          });
}

rebalancer_actor::behavior_type rebalancer(pointer self, rebalancer_options options,
                                           raft_group_actor group,
                                           std::shared_ptr<const meta_state_machine> meta) {
  auto& st = self->state;
  st.options = std::move(options);
  st.group = std::move(group);
  st.meta = std::move(meta);
  self->send(self, atoms::rebalance_tick_atom_v);
  return {
      [self](atoms::rebalance_tick_atom) { on_tick(self); },
  };
}

}  // namespace

rebalancer_actor spawn_rebalancer(caf::actor_system& sys, rebalancer_options options,
                                  raft_group_actor group,
                                  std::shared_ptr<const meta_state_machine> meta) {
  CK_ASSERT(meta != nullptr);
  return sys.spawn(rebalancer, std::move(options), std::move(group), std::move(meta));
}

}  // namespace ck::actors
