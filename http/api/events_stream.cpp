#include "http/api/events_stream.hpp"

#include "http/api/params.hpp"

#include <caf/actor_system.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/io/broker.hpp>
#include <caf/stateful_actor.hpp>

#include <charconv>
#include <vector>

namespace ck::http::api {

using json = nlohmann::json;

namespace {

using keep_alive_atom = caf::atom_constant<caf::atom("ev_alive")>;

struct streamer_state {
  static inline const char* name = "events_streamer";
  stream_sink sink;
  uint64_t last_sent = 0;     // seq of the last event sent (or the resume point)
  bool replaying = true;      // the history is not sent yet: live events wait in `early`
  std::vector<cluster::cluster_event> early;
};

using streamer_actor = caf::stateful_actor<streamer_state>;

// Sends `e` unless an event with its seq was sent already; false when the client is gone.
bool send_event(streamer_actor* self, const cluster::cluster_event& e) {
  auto& st = self->state;
  if (e.seq <= st.last_sent) {
    return true;
  }
  st.last_sent = e.seq;
  return st.sink.push(event_message(e));
}

caf::behavior events_streamer(streamer_actor* self, stream_sink sink,
                              actors::event_bus_actor bus, uint64_t after) {
  self->state.sink = std::move(sink);
  self->state.last_sent = after;
  self->send(bus, atoms::event_subscribe_atom_v, caf::actor_cast<caf::actor>(self));
  self->request(bus, std::chrono::seconds(10), atoms::events_atom_v, after)
      .then(
          [self, after](std::vector<cluster::cluster_event>& history) {
            auto& st = self->state;
            if (after > 0 && !history.empty() && history.front().seq > after + 1) {
              json gap = {{"after", after}, {"oldest", history.front().seq}};
              st.sink.push("event: gap\ndata: " + gap.dump() + "\n\n");
            }
            bool open = true;
            for (const auto& e : history) {
              open = open && send_event(self, e);
            }
            for (const auto& e : st.early) {
              open = open && send_event(self, e);
            }
            st.early.clear();
            st.replaying = false;
            if (!open) {
              self->quit();
            }
          },
          [self](caf::error&) {
            self->state.sink.close();
            self->quit();
          });
  self->delayed_send(self, events_keep_alive_interval, keep_alive_atom::value);
  return {
      [self](const cluster::cluster_event& e) {
        auto& st = self->state;
        if (st.replaying) {
          st.early.push_back(e);
          return;
        }
        if (!send_event(self, e)) {
          self->quit();  // the bus drops a subscriber that stopped
        }
      },
      [self](keep_alive_atom) {
        if (!self->state.sink.push(": keep-alive\n\n")) {
          self->quit();
          return;
        }
        self->delayed_send(self, events_keep_alive_interval, keep_alive_atom::value);
      },
  };
}

// The seq to resume after: Last-Event-ID, else ?after=, else 0 (from now on). nullopt when
// either is present but not a number.
std::optional<uint64_t> resume_point(const request& req) {
  std::string_view text;
  if (auto header = req.header("last-event-id")) {
    text = *header;
  } else if (auto param = req.query_param("after")) {
    text = *param;
  } else {
    return 0;
  }
  uint64_t value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc{} || end != text.data() + text.size()) {
    return std::nullopt;
  }
  return value;
}

}  // namespace

json event_json(const cluster::cluster_event& e) {
  return {{"seq", e.seq},   {"kind", std::string{cluster::to_string(e.kind)}},
          {"unix_ms", e.unix_ms}, {"node", e.node},
          {"partition", e.partition}, {"from", e.from},
          {"to", e.to},     {"term", e.term}};
}

std::string event_message(const cluster::cluster_event& e) {
  return "id: " + std::to_string(e.seq) + "\nevent: " + std::string{cluster::to_string(e.kind)} +
         "\ndata: " + event_json(e).dump() + "\n\n";
}

void handle_events(const context_ptr& context, caf::io::broker* self, request& req,
                   responder reply) {
  auto after = resume_point(req);
  if (!after) {
    reply.send(response::error(400, "invalid_parameter",
                               "Last-Event-ID / after must be an event sequence number"));
    return;
  }
  response head;
  head.headers.emplace_back("Content-Type", "text/event-stream");
  head.headers.emplace_back("Cache-Control", "no-cache");
  stream_sink sink = reply.stream(std::move(head));
  // Without an event bus (a node still starting) there is nothing to stream from now on
  // "after 0": the first comment tells the client the stream is live.
  sink.push(": clusterkit events of node " + context->node_id + "\n\n");
  if (!context->events) {
    sink.close();
    return;
  }
  self->system().spawn(events_streamer, std::move(sink), context->events, *after);
}

}  // namespace ck::http::api
