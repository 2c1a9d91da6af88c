#include "actors/group_ticker.hpp"

#include <caf/actor_system.hpp>
#include <caf/send.hpp>
#include <caf/typed_event_based_actor.hpp>

#include <unordered_map>

namespace ck::actors {

namespace {

struct ticker_state {
  static inline const char* name = "group_ticker";
  std::chrono::milliseconds interval{100};
  /// Every group seen (monitored once), and whether it wants ticks now.
  struct subscriber {
    caf::actor handle;
    bool active = false;
  };
  std::unordered_map<caf::actor_addr, subscriber> groups;
  size_t active = 0;
  bool armed = false;
};

using ticker_pointer = group_ticker_actor::stateful_pointer<ticker_state>;

void arm(ticker_pointer self) {
  auto& st = self->state;
  if (st.armed || st.active == 0) {
    return;  // nothing to tick: no timer, no wake-up
  }
  st.armed = true;
  self->delayed_send(self, st.interval, atoms::raft_tick_atom_v, uint64_t{0});
}

void set_active(ticker_state& st, ticker_state::subscriber& s, bool active) {
  if (s.active != active) {
    s.active = active;
    if (active) {
      ++st.active;
    } else {
      --st.active;
    }
  }
}

group_ticker_actor::behavior_type ticker(ticker_pointer self, std::chrono::milliseconds interval) {
  self->state.interval = interval;
  self->set_down_handler([=](caf::down_msg& msg) {
    auto& st = self->state;
    auto it = st.groups.find(msg.source);
    if (it != st.groups.end()) {
      set_active(st, it->second, false);
      st.groups.erase(it);
    }
  });
  return {
      [=](atoms::tick_subscribe_atom, caf::actor& group, bool want) {
        auto& st = self->state;
        if (!group) {
          return;
        }
        auto [it, fresh] = st.groups.try_emplace(group.address());
        if (fresh) {
          it->second.handle = group;
          self->monitor(group);
        }
        set_active(st, it->second, want);
        arm(self);
      },
      [=](atoms::raft_tick_atom, uint64_t) {
        auto& st = self->state;
        st.armed = false;
        for (auto& [addr, s] : st.groups) {
          if (s.active) {
            caf::anon_send(s.handle, atoms::raft_tick_atom_v, uint64_t{0});
          }
        }
        arm(self);
      },
  };
}

}  // namespace

group_ticker_actor spawn_group_ticker(caf::actor_system& sys, std::chrono::milliseconds interval) {
  return sys.spawn(ticker, interval);
}

}  // namespace ck::actors
