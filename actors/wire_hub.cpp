#include "actors/wire_hub.hpp"

#include "runtime/base/log.hpp"
#include "runtime/base/metrics.hpp"
#include "runtime/io/eager_socket.hpp"
#include "runtime/wire/frame.hpp"
#include "runtime/wire/handshake.hpp"
#include "runtime/wire/tls_session.hpp"

#include <caf/actor_system.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/io/broker.hpp>
#include <caf/io/middleman.hpp>
#include <caf/send.hpp>
#include <caf/stateful_actor.hpp>

#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <future>
#include <map>
#include <memory>
#include <optional>
#include <utility>

namespace ck::actors {

namespace {

using namespace std::chrono_literals;

// An authenticated connection checks its idle deadline this many times per idle_timeout (so
// it closes between 1 and 1.25 idle timeouts of silence); a connection in its handshake checks
// once, at the handshake deadline. Few timers: each is a wake-up of an idle node.
constexpr int idle_checks_per_timeout = 4;
constexpr auto bind_wait = 10s;

// The options a connection is forked with: the hub's, at that moment (the cluster id changes
// once when a node joins).
using shared_options = std::shared_ptr<const wire_options>;

// --- one connection ------------------------------------------------------------------------

struct connection_state {
  static inline const char* name = "wire_connection";
  shared_options options;
  caf::actor transport;
  caf::actor_addr hub;  // weak: see fork_connection
  caf::io::connection_handle hdl;
  bool dialed = false;
  uint64_t generation = 0;
  std::string expected;  // the dialed peer's name
  std::optional<wire::handshake> handshake;
  std::unique_ptr<wire::tls_session> tls;  // null: plain TCP
  wire::frame_reader reader{wire::handshake_body_bytes_max};
  bool up = false;
  bool closed = false;
  std::chrono::steady_clock::time_point started;
  std::chrono::steady_clock::time_point last_read;
};

using connection_actor = caf::stateful_actor<connection_state, caf::io::broker>;

void close_connection(connection_actor* self, const std::string& why);

// Writes bytes as they go on the socket.
void write_raw(connection_actor* self, const std::string& bytes) {
  if (bytes.empty()) {
    return;
  }
  self->write(self->state.hdl, bytes.size(), bytes.data());
  self->flush(self->state.hdl);
}

// Writes frames: through the TLS session when there is one.
void write_bytes(connection_actor* self, const std::string& bytes) {
  auto& st = self->state;
  if (!st.tls) {
    write_raw(self, bytes);
    return;
  }
  std::string out;
  const bool ok = st.tls->write(bytes, out);
  write_raw(self, out);
  if (!ok) {
    close_connection(self, st.tls->why());
  }
}

// Ends the connection; a dial that did not authenticate is reported to the transport.
void close_connection(connection_actor* self, const std::string& why) {
  auto& st = self->state;
  if (st.closed) {
    return;
  }
  st.closed = true;
  if (st.dialed && !st.up) {
    CK_LOG_WARN("transport: connection to {} failed: {}", st.expected, why);
    caf::anon_send(st.transport, wire_failed_atom::value, st.expected, st.generation, why);
  } else if (!st.up) {
    CK_LOG_DEBUG("transport: refused a connection from {}: {}", self->remote_addr(st.hdl), why);
    if (auto hub = caf::actor_cast<caf::actor>(st.hub)) {
      caf::anon_send(hub, wire_failed_atom::value, std::string{}, uint64_t{0}, why);
    }
  } else {
    CK_LOG_INFO("transport: closing the connection with {}: {}", st.handshake->peer(), why);
  }
  self->close(st.hdl);
  self->quit();
}

void on_handshake_frame(connection_actor* self, const wire::frame& f) {
  auto& st = self->state;
  std::string out;
  const auto result = st.handshake->on_frame(f, out);
  write_bytes(self, out);
  if (result == wire::handshake::state::failed) {
    close_connection(self, st.handshake->why());
    return;
  }
  if (result == wire::handshake::state::done) {
    st.up = true;
    st.reader.set_max_body_bytes(st.options->frame_bytes_max);
    auto me = caf::actor_cast<caf::actor>(self);
    if (auto hub = caf::actor_cast<caf::actor>(st.hub)) {
      self->send(hub, wire_up_atom::value);  // with a sender: the hub counts per connection
    }
    caf::anon_send(st.transport, wire_up_atom::value, st.handshake->peer(),
                   st.handshake->peer_cluster(), me, st.dialed, st.generation);
  }
}

void on_data(connection_actor* self, const std::vector<char>& buf) {
  auto& st = self->state;
  if (st.closed) {
    return;
  }
  st.last_read = std::chrono::steady_clock::now();
  if (st.tls) {
    std::string plain;
    std::string out;
    const bool ok = st.tls->on_ciphertext(buf.data(), buf.size(), plain, out);
    write_raw(self, out);
    if (!ok) {
      close_connection(self, st.tls->why());
      return;
    }
    st.reader.feed(plain.data(), plain.size());
  } else {
    st.reader.feed(buf.data(), buf.size());
  }
  // The frames of one read go to the transport as one message (a flush of the peer's
  // transport sends its batch and its calls' frames in one write): types[k] is the type of
  // bodies[k]. From this broker (not anonymous): the transport answers calls on this
  // connection.
  std::string types;
  std::vector<std::string> bodies;
  auto deliver = [&] {
    if (!bodies.empty()) {
      self->send(st.transport, wire_frame_atom::value, st.handshake->peer(), std::move(types),
                 std::move(bodies));
    }
  };
  wire::frame f;
  for (;;) {
    const auto status = st.reader.next(f);
    if (status == wire::frame_reader::status::need_more) {
      deliver();
      return;
    }
    if (status == wire::frame_reader::status::error) {
      deliver();
      close_connection(self, st.reader.why());
      return;
    }
    if (!st.up) {
      on_handshake_frame(self, f);
      if (st.closed) {
        return;
      }
      continue;
    }
    if (f.type == wire::frame_type::hello || f.type == wire::frame_type::challenge ||
        f.type == wire::frame_type::proof) {
      deliver();
      close_connection(self, "a handshake frame after the handshake");
      return;
    }
    types.push_back(static_cast<char>(f.type));
    bodies.push_back(std::move(f.body));
    f.body = std::string{};
  }
}

// Anonymous: a tick that names its broker as sender, pending when the broker closed itself,
// kept the broker (and through it the hub) alive past shutdown (LeakSanitizer at exit).
template <class Duration>
void schedule_tick(connection_actor* self, Duration delay) {
  caf::delayed_anon_send(caf::actor_cast<caf::actor>(self), delay, wire_tick_atom::value);
}

void check_deadlines(connection_actor* self) {
  auto& st = self->state;
  const auto now = std::chrono::steady_clock::now();
  if (!st.up && now - st.started >= st.options->handshake_timeout) {
    close_connection(self, "no handshake within " +
                               std::to_string(st.options->handshake_timeout.count()) + " ms");
    return;
  }
  if (st.up && now - st.last_read >= st.options->idle_timeout) {
    close_connection(self, "nothing heard for " +
                               std::to_string(st.options->idle_timeout.count()) + " ms");
    return;
  }
  schedule_tick(self, st.options->idle_timeout / idle_checks_per_timeout);
}

caf::behavior connection_main(connection_actor* self, caf::io::connection_handle hdl,
                              shared_options options, caf::actor transport, caf::actor_addr hub,
                              bool dialed, std::string expected, uint64_t generation) {
  auto& st = self->state;
  st.options = std::move(options);
  st.transport = std::move(transport);
  st.hub = std::move(hub);
  st.hdl = hdl;
  st.dialed = dialed;
  st.expected = std::move(expected);
  st.generation = generation;
  st.started = st.last_read = std::chrono::steady_clock::now();
  wire::handshake_options hs{st.options->node_name, st.options->cluster_id, st.options->token,
                             st.options->previous_token};
  st.handshake = dialed ? wire::handshake::dialer(hs, st.expected, wire::random_nonce())
                        : wire::handshake::acceptor(hs, wire::random_nonce());
  self->configure_read(hdl, caf::io::receive_policy::at_most(64 * 1024));
  self->set_default_handler(caf::drop);
  // The hub sends the exit message when it stops. Connections do not monitor it: two brokers
  // monitoring each other can end holding each other's down message in mailboxes CAF never
  // clears after a broker quits, and neither is freed (LeakSanitizer at exit).
  self->set_exit_handler([self](caf::exit_msg&) { close_connection(self, "the node is stopping"); });
  if (st.options->tls) {
    st.tls = std::make_unique<wire::tls_session>(st.options->tls, !dialed);
    std::string hello;
    if (!st.tls->start(hello)) {
      write_raw(self, hello);
      close_connection(self, st.tls->why());
      return {};
    }
    write_raw(self, hello);
  }
  write_bytes(self, st.handshake->opening());  // held back by TLS until its handshake is done
  schedule_tick(self, st.options->handshake_timeout);
  return {
      [self](const caf::io::new_data_msg& msg) { on_data(self, msg.buf); },
      [self](const caf::io::connection_closed_msg&) {
        close_connection(self, "the peer closed the connection");
      },
      [self](wire_write_atom, const std::string& bytes) {
        if (self->state.up && !self->state.closed) {
          write_bytes(self, bytes);
        }
      },
      [self](wire_tick_atom) {
        if (!self->state.closed) {
          check_deadlines(self);
        }
      },
  };
}

// --- the hub -------------------------------------------------------------------------------

struct hub_state {
  static inline const char* name = "wire_hub";
  std::shared_ptr<wire_options> options;
  caf::actor transport;
  std::map<caf::actor_addr, bool> connections;  // -> still in its handshake
  size_t handshaking = 0;
  uint64_t refused = 0;
  std::chrono::steady_clock::time_point refusal_logged{};
};

using hub_actor = caf::stateful_actor<hub_state, caf::io::broker>;
using bind_result = caf::expected<uint16_t>;

void fork_connection(hub_actor* self, caf::io::connection_handle hdl, bool dialed,
                     std::string expected, uint64_t generation) {
  auto& st = self->state;
  auto options = std::make_shared<const wire_options>(*st.options);
  // The hub is passed weakly: the connection must not keep it alive (see connection_main).
  auto conn = self->fork(connection_main, hdl, std::move(options), st.transport,
                         caf::actor_cast<caf::actor_addr>(self), dialed, std::move(expected),
                         generation);
  self->monitor(conn);
  st.connections.emplace(conn.address(), true);
  ++st.handshaking;
}

// Connections do not monitor the hub (see connection_main): it tells them to close.
void stop_hub(hub_actor* self, caf::error reason) {
  for (auto& entry : self->state.connections) {
    if (auto conn = caf::actor_cast<caf::actor>(entry.first)) {
      caf::anon_send_exit(conn, caf::exit_reason::user_shutdown);
    }
  }
  self->quit(std::move(reason));
}

void on_new_connection(hub_actor* self, const caf::io::new_connection_msg& msg) {
  auto& st = self->state;
  if (st.connections.size() >= st.options->connections_max ||
      st.handshaking >= st.options->handshakes_max) {
    ++st.refused;
    if (st.options->counters.connections_refused != nullptr) {
      st.options->counters.connections_refused->add();
    }
    const auto now = std::chrono::steady_clock::now();
    if (now - st.refusal_logged >= 10s) {  // an attack must not flood the log
      st.refusal_logged = now;
      CK_LOG_WARN("transport: refusing connections from {} and others: {} connections, {} in "
                  "their handshake (at most {} and {}); {} refused so far",
                  self->remote_addr(msg.handle), st.connections.size(), st.handshaking,
                  st.options->connections_max, st.options->handshakes_max, st.refused);
    }
    self->close(msg.handle);
    return;
  }
  fork_connection(self, msg.handle, false, "", 0);
}

caf::behavior hub_main(hub_actor* self, std::shared_ptr<wire_options> options,
                       caf::actor transport, std::shared_ptr<std::promise<bind_result>> bound) {
  errno = 0;
  auto opened = io::add_eager_tcp_doorman(self, options->port,
                                          options->host.empty() ? nullptr : options->host.c_str(),
                                          /*reuse_addr=*/true);
  const int os_error = errno;
  if (!opened) {
    bound->set_value(caf::make_error(
        caf::sec::cannot_open_port,
        "cannot listen on " + (options->host.empty() ? std::string{"*"} : options->host) + ":" +
            std::to_string(options->port) + ": " +
            (os_error != 0 ? std::strerror(os_error) : self->system().render(opened.error()))));
    self->quit();
    return {};
  }
  auto& st = self->state;
  st.options = std::move(options);
  st.transport = std::move(transport);
  bound->set_value(opened->second);
  self->set_default_handler(caf::drop);
  self->monitor(st.transport);  // the hub, and with it every connection, stops with it
  self->set_down_handler([self](caf::down_msg& msg) {
    auto& hub = self->state;
    if (msg.source == hub.transport) {
      stop_hub(self, std::move(msg.reason));
      return;
    }
    auto it = hub.connections.find(msg.source);
    if (it != hub.connections.end()) {
      if (it->second) {
        --hub.handshaking;
      }
      hub.connections.erase(it);
    }
  });
  self->set_exit_handler([self](caf::exit_msg& msg) { stop_hub(self, std::move(msg.reason)); });
  return {
      [self](const caf::io::new_connection_msg& msg) { on_new_connection(self, msg); },
      [self](wire_adopt_atom, int fd, std::string& expected, uint64_t generation) {
        auto hdl = io::add_eager_scribe(self, static_cast<caf::io::network::native_socket>(fd));
        fork_connection(self, hdl, true, std::move(expected), generation);
      },
      [self](wire_up_atom) {
        auto& hub = self->state;
        auto it = hub.connections.find(caf::actor_cast<caf::actor_addr>(self->current_sender()));
        if (it != hub.connections.end() && it->second) {
          it->second = false;
          --hub.handshaking;
        }
      },
      [self](wire_failed_atom, const std::string&, uint64_t, const std::string&) {
        if (auto* failed = self->state.options->counters.handshakes_failed; failed != nullptr) {
          failed->add();
        }
      },
      [self](wire_cluster_atom, const std::string& cluster_id) {
        self->state.options->cluster_id = cluster_id;
      },
      [](const caf::io::acceptor_closed_msg&) {},
      [](const caf::io::connection_closed_msg&) {},
  };
}

// --- dialing -------------------------------------------------------------------------------

struct dial_result {
  int fd = -1;
  std::string why;
};

// Tries one address with a non-blocking connect bounded by `timeout`.
dial_result dial_address(const addrinfo& ai, std::chrono::milliseconds timeout) {
  int fd = ::socket(ai.ai_family, ai.ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, ai.ai_protocol);
  if (fd < 0) {
    return {-1, std::string{"socket: "} + std::strerror(errno)};
  }
  if (::connect(fd, ai.ai_addr, ai.ai_addrlen) != 0 && errno != EINPROGRESS) {
    dial_result r{-1, std::strerror(errno)};
    ::close(fd);
    return r;
  }
  pollfd pfd{fd, POLLOUT, 0};
  const int ready = ::poll(&pfd, 1, static_cast<int>(timeout.count()));
  int error = 0;
  socklen_t len = sizeof error;
  if (ready <= 0) {
    ::close(fd);
    return {-1, ready == 0 ? "timed out after " + std::to_string(timeout.count()) + " ms"
                           : std::string{"poll: "} + std::strerror(errno)};
  }
  if (::getsockopt(fd, SOL_SOCKET, SO_ERROR, &error, &len) != 0 || error != 0) {
    ::close(fd);
    return {-1, std::strerror(error != 0 ? error : errno)};
  }
  int one = 1;
  ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  return {fd, ""};
}

dial_result dial(const std::string& host, uint16_t port, std::chrono::milliseconds timeout) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* found = nullptr;
  const std::string service = std::to_string(port);
  if (int rc = ::getaddrinfo(host.empty() ? "127.0.0.1" : host.c_str(), service.c_str(), &hints,
                             &found);
      rc != 0) {
    return {-1, std::string{"cannot resolve "} + host + ": " + ::gai_strerror(rc)};
  }
  dial_result last{-1, "no address for " + host};
  for (addrinfo* ai = found; ai != nullptr; ai = ai->ai_next) {
    last = dial_address(*ai, timeout);
    if (last.fd >= 0) {
      break;
    }
  }
  ::freeaddrinfo(found);
  return last;
}

}  // namespace

caf::expected<wire_hub> spawn_wire_hub(caf::actor_system& sys, wire_options options,
                                       caf::actor transport) {
  auto shared = std::make_shared<wire_options>(std::move(options));
  auto bound = std::make_shared<std::promise<bind_result>>();
  auto port = bound->get_future();
  auto hub = sys.middleman().spawn_broker(hub_main, shared, std::move(transport), bound);
  if (port.wait_for(bind_wait) != std::future_status::ready) {
    caf::anon_send_exit(hub, caf::exit_reason::kill);
    return caf::make_error(caf::sec::cannot_open_port, "binding the Raft address timed out");
  }
  auto result = port.get();
  if (!result) {
    return std::move(result.error());
  }
  return wire_hub{hub, *result};
}

void wire_dial(caf::actor_system& sys, const caf::actor& hub, const caf::actor& transport,
               std::string host, uint16_t port, std::string expected, uint64_t generation,
               std::chrono::milliseconds timeout) {
  // Weak handles: the function stays with the finished actor, and strong ones there kept the
  // hub (and through it its connections) from being freed at shutdown (LeakSanitizer).
  sys.spawn<caf::detached>([hub = hub.address(), transport = transport.address(),
                            host = std::move(host), port, expected = std::move(expected),
                            generation, timeout] {
    auto result = dial(host, port, timeout);
    if (result.fd < 0) {
      if (auto to = caf::actor_cast<caf::actor>(transport)) {
        caf::anon_send(to, wire_failed_atom::value, expected, generation,
                       "connect to " + host + ":" + std::to_string(port) + ": " + result.why);
      }
      return;
    }
    if (auto to = caf::actor_cast<caf::actor>(hub)) {
      caf::anon_send(to, wire_adopt_atom::value, result.fd, expected, generation);
    } else {
      ::close(result.fd);  // the node is stopping
    }
  });
}

}  // namespace ck::actors
