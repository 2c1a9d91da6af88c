#pragma once

// One timer for all partition groups of a node. Each group armed its own delayed message
// per tick: with 64 busy groups that is 640 timers a second, and every one wakes CAF's clock
// thread (a context switch each, on a machine where they are the main cost). The ticker
// arms one timer per tick interval and, when it fires, sends a tick to every subscribed
// group in one burst.
//
// A group subscribes when it starts needing ticks and unsubscribes on the first tick that
// finds it quiescent, so a node whose groups are all quiet arms no timer at all. Messages of
// one group arrive in order, so a subscribe after an unsubscribe wins. A subscriber that
// exits is dropped (the ticker monitors it).
//
// The first tick after a subscription comes within one interval (not exactly one): election
// timeouts are counted in ticks and randomized over a whole election timeout, so a phase
// error under one tick changes nothing.

#include "actors/type_ids.hpp"

#include <caf/fwd.hpp>
#include <caf/replies_to.hpp>
#include <caf/typed_actor.hpp>

#include <chrono>
#include <cstdint>

namespace ck::actors {

using group_ticker_actor = caf::typed_actor<
    /// (subscriber, true) starts its ticks, (subscriber, false) stops them. A tick is
    /// (raft_tick_atom, 0) sent to the subscriber.
    caf::reacts_to<atoms::tick_subscribe_atom, caf::actor, bool>,
    /// The ticker's own timer.
    caf::reacts_to<atoms::raft_tick_atom, uint64_t>>;

group_ticker_actor spawn_group_ticker(caf::actor_system& sys, std::chrono::milliseconds interval);

}  // namespace ck::actors
