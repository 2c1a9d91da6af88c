#pragma once

// PUBLIC API: cluster events (the kinds, and when each fires: runtime/cluster/events.hpp).
//
// Subscribe any actor through the node's context; it then receives every event this node
// observes from then on, one message holding a ck::node::cluster_event each, in the node's
// order (seq 1, 2, ... without gaps while subscribed):
//
//   caf::behavior watcher(caf::event_based_actor* self) {
//     return {[](const ck::node::cluster_event& e) { /* e.kind, e.node, e.partition ... */ }};
//   }
//   node.subscribe(system.spawn(watcher));
//
// A typed actor subscribes the same way when its interface has
// caf::reacts_to<ck::node::cluster_event>. The node keeps the last 1,024 events; ask for them
// with (atoms::events_atom, after_seq) on context::events() (answers std::vector of events).

#include "actors/event_bus.hpp"
#include "runtime/cluster/events.hpp"

namespace ck::node {

using cluster::cluster_event;
using cluster::event_kind;
using cluster::to_string;

}  // namespace ck::node
