#include "http/detail/connection.hpp"

#include "http/request_parser.hpp"
#include "http/responder.hpp"

#include <caf/actor_cast.hpp>
#include <caf/actor_control_block.hpp>
#include <caf/io/broker.hpp>
#include <caf/io/receive_policy.hpp>
#include <caf/io/system_messages.hpp>
#include <caf/meta/type_name.hpp>
#include <caf/send.hpp>
#include <caf/stateful_actor.hpp>
#include <caf/system_messages.hpp>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <deque>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

namespace ck::http {

// Lets a response travel in a local CAF message, for deliveries made off the I/O thread.
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, response& x) {
  return f(caf::meta::type_name("ck.http.response"), x.status, x.headers, x.body, x.streamed);
}

namespace detail {
namespace {

using reply_atom = caf::atom_constant<caf::atom("http_reply")>;
using idle_tick_atom = caf::atom_constant<caf::atom("http_idle")>;
using read_deadline_atom = caf::atom_constant<caf::atom("http_rddl")>;
using stream_data_atom = caf::atom_constant<caf::atom("http_sdat")>;
using stream_end_atom = caf::atom_constant<caf::atom("http_send")>;
using steady = std::chrono::steady_clock;

constexpr size_t read_chunk_bytes = 16 << 10;
constexpr std::string_view continue_response = "HTTP/1.1 100 Continue\r\n\r\n";
// Lower bound for re-arming the idle tick, so a clock edge never spins the timer.
constexpr std::chrono::milliseconds idle_tick_min{5};

struct connection_state;

// Shared by a connection's state and the responders of its requests; touched only on the I/O
// thread, where the broker runs, so no lock is needed.
struct connection_link {
  connection_state* state = nullptr;  // null once the broker's state is gone
  std::thread::id io_thread;
  // Set once the connection closed; streamed responses' sinks read it from any thread.
  std::shared_ptr<std::atomic<bool>> gone = std::make_shared<std::atomic<bool>>(false);
};

// One request between its parse and the write of its response.
struct slot {
  uint64_t sequence = 0;
  request req;
  bool dispatched = false;  // its handler ran (or it was answered without one)
  std::optional<response> res;
  bool keep_alive = true;  // false: the connection closes after this response
  steady::time_point started;
};

using connection_actor = caf::stateful_actor<connection_state, caf::io::broker>;

// Invariants: slots hold consecutive sequences in request order; only slots.front() may be
// written; slots.size() <= pipeline_depth_max + 1 (one error slot past the cap); nothing is
// read while !accepting.
struct connection_state {
  connection_state() = default;
  connection_state(const connection_state&) = delete;
  connection_state& operator=(const connection_state&) = delete;

  ~connection_state() {
    // Responders that outlive the broker must see it gone before any member is destroyed.
    if (link) {
      link->state = nullptr;
      link->gone->store(true);
    }
  }

  connection_actor* self = nullptr;
  caf::io::connection_handle hdl;
  std::shared_ptr<const server_context> context;
  std::unique_ptr<request_parser> parser;
  std::shared_ptr<connection_link> link;
  std::string unparsed;  // received bytes not fed yet (pipeline full)
  std::deque<slot> slots;
  uint64_t next_sequence = 0;
  steady::time_point last_activity;
  // Set when the output CAF holds for the socket reached options().unsent_bytes_max: no more
  // writes or dispatches until CAF's write acknowledgements (switched on only meanwhile, they
  // cost a message per socket write) say the client took most of it.
  bool output_paused = false;
  // Since when the parser holds part of a request (header or body still arriving): bounded
  // by options().request_read_timeout. Unset between requests and while unread bytes wait
  // for room in the pipeline (then the server, not the client, is the slow side).
  std::optional<steady::time_point> partial_since;
  bool read_deadline_armed = false;
  bool accepting = true;    // false once no further request will be read
  bool reading = true;      // socket reads enabled (halt/trigger)
  bool dispatching = false;  // inside a handler: deliveries are stored, written afterwards
  bool pumping = false;
  bool closed = false;
  // A streamed response's head was written: its body follows as pushed (stream_push), no
  // further request is read (incoming bytes are discarded; reading stays on to notice the
  // client leaving), and the idle timeout no longer applies.
  bool streaming = false;
  std::string stream_early;  // body pushed before its head was written
  bool stream_end_early = false;  // closed by the producer before its head was written

  const server_options& options() const { return context->options; }

  void start(connection_actor* self_in, caf::io::connection_handle hdl_in,
             std::shared_ptr<const server_context> context_in);
  void on_data(const std::vector<char>& buf);
  void pump();
  void feed_once();
  void enqueue(request&& req);
  void dispatch_ready();
  void dispatch(slot& entry);
  void push_error(const parse_error& error);
  void deliver(uint64_t sequence, response&& res);
  void write_ready();
  void report(const slot& done);
  void on_transferred(uint64_t remaining);
  void drain();
  void idle_tick();
  void arm_read_deadline();
  void read_deadline();
  // A timer message to this broker, sent anonymously: one naming the broker as sender,
  // pending when the broker closed itself, kept the broker alive past shutdown (LeakSanitizer).
  template <class Duration, class Atom>
  void tick_later(Duration delay, Atom atom) {
    caf::delayed_anon_send(caf::actor_cast<caf::actor>(self), delay, atom);
  }
  void update_reading();
  void start_streaming();
  void stream_push(std::string&& chunk);
  void stream_close();
  void close(caf::error reason);
  responder make_responder(uint64_t sequence);
};

void connection_state::start(connection_actor* self_in, caf::io::connection_handle hdl_in,
                             std::shared_ptr<const server_context> context_in) {
  self = self_in;
  hdl = hdl_in;
  context = std::move(context_in);
  parser = std::make_unique<request_parser>(
    parser_limits{options().header_bytes_max, options().body_bytes_max});
  link = std::make_shared<connection_link>();
  link->state = this;
  // Brokers only ever run on the middleman's I/O thread; this is it.
  link->io_thread = std::this_thread::get_id();
  last_activity = steady::now();
  self->configure_read(hdl, caf::io::receive_policy::at_most(read_chunk_bytes));
  tick_later(options().idle_timeout, idle_tick_atom::value);
}

void connection_state::on_data(const std::vector<char>& buf) {
  if (closed || !accepting) {
    return;
  }
  last_activity = steady::now();
  unparsed.append(buf.data(), buf.size());
  pump();
}

// Writes finished responses and feeds buffered bytes while the pipeline has room, until
// neither makes progress. Never re-entered: handlers that reply synchronously only fill their
// slot, so responses and dispatches keep request order.
void connection_state::pump() {
  if (pumping || closed) {
    return;
  }
  pumping = true;
  while (!closed) {
    dispatch_ready();
    write_ready();
    if (closed || !accepting || unparsed.empty()
        || slots.size() >= options().pipeline_depth_max) {
      break;
    }
    auto before = unparsed.size();
    feed_once();
    if (unparsed.size() == before) {
      break;  // an incomplete request waits for more bytes
    }
  }
  pumping = false;
  update_reading();
}

void connection_state::feed_once() {
  auto room = options().pipeline_depth_max - slots.size();
  auto result = parser->feed(unparsed, room);
  unparsed.erase(0, result.consumed_bytes);
  for (auto& req : result.requests) {
    enqueue(std::move(req));
  }
  if (!parser->in_request()) {
    partial_since.reset();
  } else if (!result.requests.empty() || !partial_since) {
    partial_since = steady::now();  // a new request began
    arm_read_deadline();
  }
  if (parser->take_continue_expected() && slots.empty() && !closed) {
    self->write(hdl, continue_response.size(), continue_response.data());
    self->flush(hdl);
  }
  if (result.error) {
    push_error(*result.error);
  }
  if (parser->done()) {
    accepting = false;
    unparsed.clear();
  }
}

void connection_state::enqueue(request&& req) {
  auto& entry = slots.emplace_back();
  entry.sequence = next_sequence++;
  entry.keep_alive = req.keep_alive;
  entry.req = std::move(req);
  entry.req.sequence = entry.sequence;
}

namespace {

// GET and HEAD change nothing, so they may run side by side.
bool is_safe_method(std::string_view method) {
  return method == "GET" || method == "HEAD";
}

}  // namespace

// Pipelined requests run in request order as the client sent them: a request starts only when
// every earlier request of the connection is answered, except that reads may overlap other
// reads. So a GET pipelined behind a POST sees the POST's effect, and a POST never overtakes
// an earlier read. Responses are written in order regardless (write_ready).
void connection_state::dispatch_ready() {
  if (output_paused) {
    return;  // answers would only pile up: wait until the client read (on_transferred)
  }
  bool earlier_pending = false;
  bool earlier_pending_unsafe = false;
  for (auto& entry : slots) {
    const bool safe = is_safe_method(entry.req.method);
    if (!entry.dispatched) {
      if (earlier_pending_unsafe || (earlier_pending && !safe)) {
        return;
      }
      dispatch(entry);
    }
    if (!entry.res) {
      earlier_pending = true;
      earlier_pending_unsafe = earlier_pending_unsafe || !safe;
    }
  }
}

void connection_state::dispatch(slot& entry) {
  entry.dispatched = true;
  entry.started = steady::now();
  auto match = context->routes->route(entry.req.method, entry.req.path);
  if (match.target == nullptr) {
    entry.res = std::move(match.rejection);
    return;
  }
  // `entry` stays valid during the call: nothing pops slots while dispatching.
  dispatching = true;
  try {
    (*match.target)(self, entry.req, make_responder(entry.sequence));
  } catch (const std::exception& e) {
    deliver(entry.sequence,
            response::error(500, "internal", std::string{"handler failed: "} + e.what()));
  } catch (...) {
    deliver(entry.sequence, response::error(500, "internal", "handler failed"));
  }
  dispatching = false;
}

void connection_state::push_error(const parse_error& error) {
  auto& entry = slots.emplace_back();
  entry.sequence = next_sequence++;
  entry.keep_alive = false;
  entry.dispatched = true;
  entry.started = steady::now();
  entry.res = response::error(error.status, error.code, error.message);
}

void connection_state::deliver(uint64_t sequence, response&& res) {
  if (closed || slots.empty() || sequence < slots.front().sequence) {
    return;  // the connection is gone or the slot was answered and written already
  }
  auto index = sequence - slots.front().sequence;
  if (index >= slots.size() || slots[index].res) {
    return;
  }
  slots[index].res = std::move(res);
  if (dispatching) {
    return;  // the pump loop writes it once the handler returned
  }
  pump();  // writes, and answered requests make room in the pipeline
}

void connection_state::write_ready() {
  if (closed || dispatching) {
    return;
  }
  bool wrote = false;
  while (!slots.empty() && slots.front().res && !output_paused) {
    auto& front = slots.front();
    auto bytes = serialize(*front.res, front.keep_alive);
    self->write(hdl, bytes.size(), bytes.data());
    if (front.res->streamed) {
      report(front);
      start_streaming();
      return;
    }
    // What CAF has not handed to the socket yet (the chunk being written aside, which was
    // itself such a buffer): a client that does not read makes it grow.
    if (self->wr_buf(hdl).size() >= options().unsent_bytes_max) {
      output_paused = true;
      self->ack_writes(hdl, true);
    }
    wrote = true;
    report(front);
    bool keep_alive = front.keep_alive;
    slots.pop_front();
    if (!keep_alive) {
      self->flush(hdl);
      close(caf::none);
      return;
    }
  }
  if (wrote) {
    self->flush(hdl);
    last_activity = steady::now();
  }
  if (!accepting && slots.empty() && !streaming) {
    close(caf::none);  // drained: every request read so far is answered
  }
}

// The head is written: requests pipelined behind it are dropped, the body flows from here.
void connection_state::start_streaming() {
  streaming = true;
  accepting = false;
  slots.clear();
  unparsed.clear();
  partial_since.reset();
  if (!stream_early.empty()) {
    std::string early = std::move(stream_early);
    stream_early.clear();
    stream_push(std::move(early));
  }
  self->flush(hdl);
  last_activity = steady::now();
  if (stream_end_early && !closed) {
    close(caf::none);
    return;
  }
  update_reading();
}

void connection_state::stream_push(std::string&& chunk) {
  if (closed) {
    return;
  }
  if (!streaming) {
    stream_early += chunk;
    if (stream_early.size() >= options().unsent_bytes_max) {
      close(caf::none);
    }
    return;
  }
  self->write(hdl, chunk.size(), chunk.data());
  self->flush(hdl);
  last_activity = steady::now();
  // A client that does not read would make the output grow without bound: cut it off.
  if (self->wr_buf(hdl).size() >= options().unsent_bytes_max) {
    close(caf::none);
  }
}

void connection_state::stream_close() {
  if (closed) {
    return;
  }
  if (!streaming) {
    stream_end_early = true;
    return;
  }
  self->flush(hdl);
  close(caf::none);
}

// The socket took output: below half the budget, answers flow again (and so, as slots free
// up, does reading).
void connection_state::on_transferred(uint64_t remaining) {
  if (closed || !output_paused || remaining >= options().unsent_bytes_max / 2) {
    return;
  }
  output_paused = false;
  self->ack_writes(hdl, false);
  pump();
}

void connection_state::report(const slot& done) {
  const auto& hook = options().on_response;
  if (!hook) {
    return;
  }
  try {
    hook(done.req, done.res->status, steady::now() - done.started);
  } catch (...) {
    // A metrics hook must not take a connection down.
  }
}

void connection_state::drain() {
  if (closed) {
    return;
  }
  if (streaming) {
    close(caf::none);  // a stream never ends by itself: stopping the server ends it
    return;
  }
  accepting = false;
  unparsed.clear();
  if (slots.empty()) {
    close(caf::none);
    return;
  }
  slots.back().keep_alive = false;
  update_reading();
}

// One tick in flight per connection: each tick re-arms the next, so no cancel is needed.
void connection_state::idle_tick() {
  if (closed || streaming) {
    return;  // a stream's liveness is its producer's business (e.g. SSE keep-alive comments)
  }
  auto now = steady::now();
  auto timeout = std::chrono::duration_cast<steady::duration>(options().idle_timeout);
  if (slots.empty() && now - last_activity >= timeout) {
    close(caf::none);
    return;
  }
  auto wait = slots.empty() ? last_activity + timeout - now : timeout;
  auto wait_ms = std::max(std::chrono::duration_cast<std::chrono::milliseconds>(wait),
                          idle_tick_min);
  tick_later(wait_ms, idle_tick_atom::value);
}

// At most one deadline message in flight; each re-arms for the request then in progress.
void connection_state::arm_read_deadline() {
  if (read_deadline_armed || !partial_since) {
    return;
  }
  read_deadline_armed = true;
  auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
      *partial_since + options().request_read_timeout - steady::now());
  tick_later(std::max(left, idle_tick_min), read_deadline_atom::value);
}

void connection_state::read_deadline() {
  read_deadline_armed = false;
  if (closed || !accepting || !partial_since) {
    return;
  }
  if (steady::now() - *partial_since < options().request_read_timeout) {
    arm_read_deadline();  // another request began since this deadline was armed
    return;
  }
  // A client that trickles a request in holds a connection slot: answer 408 and close.
  partial_since.reset();
  push_error(parse_error{408, "request_timeout",
                         "the request did not arrive within " +
                             std::to_string(options().request_read_timeout.count()) + " ms"});
  accepting = false;
  unparsed.clear();
  pump();
}

// Reads only while requests are accepted and the pipeline has room (backpressure on the peer).
void connection_state::update_reading() {
  if (closed) {
    return;
  }
  bool wanted = streaming || (accepting && slots.size() < options().pipeline_depth_max);
  if (wanted == reading) {
    return;
  }
  reading = wanted;
  if (wanted) {
    self->trigger(hdl);
  } else {
    self->halt(hdl);
  }
}

void connection_state::close(caf::error reason) {
  if (closed) {
    return;
  }
  closed = true;
  accepting = false;
  link->gone->store(true);
  // Graceful: CAF still sends what was written, then FIN.
  self->close(hdl);
  self->quit(std::move(reason));
}

responder connection_state::make_responder(uint64_t sequence) {
  auto weak = caf::actor_cast<caf::weak_actor_ptr>(self->ctrl());
  // On the I/O thread `run` touches the state directly; elsewhere the state must not be
  // touched, so `message` goes to the broker (messages of one thread keep their order).
  auto on_connection = [target = link, weak](auto run, auto message) {
    if (std::this_thread::get_id() == target->io_thread) {
      if (target->state != nullptr) {
        run(*target->state);
      }
      return;
    }
    if (auto strong = caf::actor_cast<caf::strong_actor_ptr>(weak)) {
      message(caf::actor_cast<caf::actor>(strong));
    }
  };
  auto deliver = [on_connection, sequence](response&& res) {
    // Exactly one of the two runs: both may take `res`.
    on_connection([&](connection_state& st) { st.deliver(sequence, std::move(res)); },
                  [&](const caf::actor& broker) {
                    caf::anon_send(broker, reply_atom::value, sequence, std::move(res));
                  });
  };
  auto start_stream = [deliver, on_connection, gone = link->gone](response&& head) {
    deliver(std::move(head));
    stream_sink::channel channel;
    channel.gone = gone;
    channel.push = [on_connection](std::string&& chunk) {
      on_connection([&](connection_state& st) { st.stream_push(std::move(chunk)); },
                    [&](const caf::actor& broker) {
                      caf::anon_send(broker, stream_data_atom::value, std::move(chunk));
                    });
    };
    channel.close = [on_connection] {
      on_connection([](connection_state& st) { st.stream_close(); },
                    [](const caf::actor& broker) {
                      caf::anon_send(broker, stream_end_atom::value);
                    });
    };
    return stream_sink{std::move(channel)};
  };
  return responder{std::move(deliver), std::move(start_stream)};
}

caf::behavior connection_main(connection_actor* self, caf::io::connection_handle hdl,
                              std::shared_ptr<const server_context> context) {
  self->state.start(self, hdl, std::move(context));
  self->set_default_handler(caf::drop);
  // The connection does not monitor its acceptor: the acceptor sends it an exit message when it
  // stops. Two brokers monitoring each other can end holding each other's down message in
  // mailboxes CAF never clears after a broker quits, and neither is freed (LeakSanitizer).
  // Down messages of actors a handler chose to monitor are ignored here.
  self->set_down_handler([](caf::down_msg&) {});
  // Errors of requests a handler made without an error continuation must not kill the
  // connection; the handler's dropped responder answers 500 instead.
  self->set_error_handler([](caf::error&) {});
  self->set_exit_handler([self](caf::exit_msg& msg) { self->state.close(msg.reason); });
  return {
    [self](const caf::io::new_data_msg& msg) { self->state.on_data(msg.buf); },
    [self](const caf::io::connection_closed_msg&) {
      // The peer is gone; late responders find no state and do nothing.
      self->state.closed = true;
      self->state.link->gone->store(true);
      self->quit();
    },
    [](const caf::io::connection_passivated_msg&) {},
    [self](reply_atom, uint64_t sequence, response& res) {
      self->state.deliver(sequence, std::move(res));
    },
    [self](const caf::io::data_transferred_msg& msg) {
      self->state.on_transferred(msg.remaining);
    },
    [self](stream_data_atom, std::string& chunk) { self->state.stream_push(std::move(chunk)); },
    [self](stream_end_atom) { self->state.stream_close(); },
    [self](idle_tick_atom) { self->state.idle_tick(); },
    [self](read_deadline_atom) { self->state.read_deadline(); },
    [self](connection_drain_atom) { self->state.drain(); },
  };
}

}  // namespace

caf::actor fork_connection(caf::io::broker* acceptor, caf::io::connection_handle hdl,
                           std::shared_ptr<const server_context> context) {
  return acceptor->fork(connection_main, hdl, std::move(context));
}

void reject_connection(caf::io::broker* acceptor, caf::io::connection_handle hdl,
                       const server_context& context, const std::string& why) {
  auto res = response::error(503, "unavailable", why);
  auto bytes = serialize(res, false);
  acceptor->write(hdl, bytes.size(), bytes.data());
  acceptor->flush(hdl);
  acceptor->close(hdl);
  if (context.options.on_response) {
    try {
      context.options.on_response(request{}, res.status, std::chrono::nanoseconds{0});
    } catch (...) {
      // A metrics hook must not take the acceptor down.
    }
  }
}

}  // namespace detail
}  // namespace ck::http
