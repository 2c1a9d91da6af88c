#include "actors/event_bus.hpp"

#include "runtime/base/assert.hpp"
#include "runtime/base/clock.hpp"
#include "runtime/base/log.hpp"

#include <caf/actor_system.hpp>
#include <caf/stateful_actor.hpp>
#include <caf/typed_event_based_actor.hpp>
#include <caf/send.hpp>

#include <deque>

namespace ck::actors {

namespace {

struct event_bus_state {
  static inline const char* name = "event_bus";
  size_t history_max = 1024;
  uint64_t next_seq = 1;
  std::deque<cluster::cluster_event> history;  // at most history_max, oldest first
  std::vector<caf::actor> subscribers;
};

using bus_pointer = event_bus_actor::stateful_pointer<event_bus_state>;

event_bus_actor::behavior_type event_bus(bus_pointer self, size_t history_max) {
  self->state.history_max = history_max;
  self->set_down_handler([self](caf::down_msg& msg) {
    auto& subs = self->state.subscribers;
    subs.erase(std::remove_if(subs.begin(), subs.end(),
                              [&msg](const caf::actor& a) { return a.address() == msg.source; }),
               subs.end());
  });
  return {
      [self](atoms::event_publish_atom, cluster::cluster_event& event) {
        auto& st = self->state;
        event.seq = st.next_seq++;
        event.unix_ms = runtime::unix_now_ms();
        CK_LOG_DEBUG("events: #{} {} node={} partition={}", event.seq, to_string(event.kind),
                     event.node, event.partition);
        for (const auto& subscriber : st.subscribers) {
          caf::anon_send(subscriber, event);  // enqueued in order: one mailbox, one sender thread
        }
        st.history.push_back(std::move(event));
        if (st.history.size() > st.history_max) {
          st.history.pop_front();
        }
      },
      [self](atoms::event_subscribe_atom, caf::actor& subscriber) {
        if (!subscriber) {
          return;
        }
        self->monitor(subscriber);
        self->state.subscribers.push_back(std::move(subscriber));
      },
      [self](atoms::events_atom, uint64_t after) {
        std::vector<cluster::cluster_event> out;
        for (const auto& e : self->state.history) {
          if (e.seq > after) {
            out.push_back(e);
          }
        }
        return out;
      },
  };
}

}  // namespace

event_bus_actor spawn_event_bus(caf::actor_system& sys, size_t history_max) {
  CK_ASSERT_GE(history_max, 1u);
  return sys.spawn(event_bus, history_max);
}

}  // namespace ck::actors
