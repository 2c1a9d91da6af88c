#pragma once

// The node's event bus: every cluster event this node observes (runtime/cluster/events.hpp) is
// published here, numbered (seq 1, 2, ...) and stamped, kept in a bounded history and sent to
// every subscriber as a message holding one cluster::cluster_event. One bus per node, one
// sender per subscriber, so each subscriber receives the node's events in order, without gaps,
// from the moment it subscribed; a subscriber that stops is dropped (monitored).
//
//   sources (meta replica, member, partition host) --publish--> bus --event--> subscribers

#include "actors/type_ids.hpp"

#include <caf/fwd.hpp>
#include <caf/replies_to.hpp>
#include <caf/typed_actor.hpp>

#include <cstddef>
#include <cstdint>
#include <vector>

namespace ck::actors {

/// event_publish: a source hands over an event (seq and unix_ms are set by the bus).
/// event_subscribe: the actor receives every later event (an actor subscribed twice, twice).
/// events: the retained events with seq > the given one, oldest first (at most history_max).
using event_bus_actor = caf::typed_actor<
    caf::reacts_to<atoms::event_publish_atom, cluster::cluster_event>,
    caf::reacts_to<atoms::event_subscribe_atom, caf::actor>,
    caf::replies_to<atoms::events_atom, uint64_t>::with<std::vector<cluster::cluster_event>>>;

/// Spawns the bus, retaining the last `history_max` events (>= 1).
event_bus_actor spawn_event_bus(caf::actor_system& sys, size_t history_max = 1024);

}  // namespace ck::actors
