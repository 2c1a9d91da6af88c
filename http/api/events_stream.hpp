#pragma once

// GET /events: the node's cluster events (runtime/cluster/events.hpp) as server-sent events:
// the retained history (the node keeps the last 1,024) then every new event, or resumed after
// the sequence number of the last event a client saw (`Last-Event-ID` header, as EventSource
// sends it on a reconnect, or `?after=SEQ`).
//
//   id: 42
//   event: partition_leader_changed
//   data: {"seq":42,"kind":"partition_leader_changed","unix_ms":..,"node":"node-2",...}
//
// One streamer actor per client: it subscribes to the node's event bus first, then reads the
// bus's history after the requested seq and sends it, then what arrived meanwhile and every
// later event, each exactly once and in seq order. A resume from before the oldest retained
// event first sends `event: gap` with {"after": asked, "oldest": first retained seq}. A
// comment line every keep_alive_interval tells a dead client from a quiet cluster: the
// streamer stops when its client is gone.

#include "http/api/api_context.hpp"
#include "runtime/cluster/events.hpp"

#include <nlohmann/json.hpp>

#include <chrono>
#include <string>

namespace ck::http::api {

inline constexpr std::chrono::seconds events_keep_alive_interval{15};

/// The JSON of one event (also the `data:` of its SSE message).
nlohmann::json event_json(const cluster::cluster_event& e);

/// One SSE message for `e` (id, event, data lines and the blank line).
std::string event_message(const cluster::cluster_event& e);

void handle_events(const context_ptr& context, caf::io::broker* self, request& req,
                   responder reply);

}  // namespace ck::http::api
