#pragma once

// Eager writes for CAF 0.17 brokers: a connection whose flush() hands the bytes to the socket at
// once, in the broker's own turn on the multiplexer thread, instead of asking the poller for
// write readiness and writing when it comes back.
//
// Why: CAF's stream registers EPOLLOUT on every flush of an idle connection, waits a poll round
// for the event, writes, and deregisters when its buffer empties: two epoll_ctl calls and an extra
// loop turn per message. A write's path here carries many small messages (HTTP answers, Raft
// appends and acknowledgements, relayed requests), and on a loaded node those epoll_ctl calls were
// the most frequent syscall (3.8 per write, ahead of sends). A socket's send buffer almost always
// has room, so eager writing succeeds in one send(); when it does not (a slow peer, a snapshot
// stream), the rest goes the usual way and later flushes wait behind it.
//
// Order is kept: the eager path runs only while CAF's stream has nothing in flight (its `writing`
// flag is clear, so its own buffer is empty); otherwise the bytes queue behind the ones in flight.
// Connections that asked for write acknowledgements (ack_writes, the HTTP server's back pressure)
// use CAF's path unchanged, so their data_transferred messages still come.
//
// Header-only: the HTTP server (http/server.cpp) and the node transport (actors/wire_hub.cpp)
// each include it; it needs only CAF's I/O headers.

#include <caf/expected.hpp>
#include <caf/io/abstract_broker.hpp>
#include <caf/io/network/default_multiplexer.hpp>
#include <caf/io/network/doorman_impl.hpp>
#include <caf/io/network/event_handler.hpp>
#include <caf/io/network/scribe_impl.hpp>
#include <caf/make_counted.hpp>

#include <sys/socket.h>

#include <cerrno>
#include <cstdint>
#include <utility>

namespace ck::io {

namespace detail {

// Reads event_handler's protected state of another object: a pointer to the member, formed in a
// derived class, applies to any event_handler.
struct handler_state_peek : caf::io::network::event_handler {
  static bool writing(const caf::io::network::event_handler& h) {
    return (h.*(&handler_state_peek::state_)).writing;
  }
};

}  // namespace detail

class eager_scribe final : public caf::io::network::scribe_impl {
 public:
  using scribe_impl::scribe_impl;

  void flush() override {
    if (!send_now()) {
      scribe_impl::flush();
    }
  }

 private:
  // Sends the pending bytes directly. True when nothing is left for CAF's stream to do.
  bool send_now() {
    auto& pending = stream_.wr_buf();  // what broker writes appended since the last flush
    if (pending.empty()) {
      return true;
    }
    if (detail::handler_state_peek::writing(stream_) || stream_.ack_writes()) {
      return false;
    }
    size_t sent = 0;
    while (sent < pending.size()) {
      const ssize_t n =
          ::send(stream_.fd(), pending.data() + sent, pending.size() - sent, MSG_NOSIGNAL);
      if (n > 0) {
        sent += static_cast<size_t>(n);
      } else if (n < 0 && errno == EINTR) {
        continue;
      } else {
        break;  // full (EAGAIN) or failed: the stream writes the rest, or reports the failure
      }
    }
    pending.erase(pending.begin(), pending.begin() + static_cast<std::ptrdiff_t>(sent));
    return pending.empty();
  }
};

inline caf::io::network::default_multiplexer& multiplexer_of(caf::io::abstract_broker* self) {
  return static_cast<caf::io::network::default_multiplexer&>(self->backend());
}

/// abstract_broker::add_scribe(fd), eager.
inline caf::io::connection_handle add_eager_scribe(caf::io::abstract_broker* self,
                                                   caf::io::network::native_socket fd) {
  caf::io::scribe_ptr conn = caf::make_counted<eager_scribe>(multiplexer_of(self), fd);
  const auto hdl = conn->hdl();
  self->add_scribe(std::move(conn));
  return hdl;
}

// Accepts like CAF's doorman, handing each connection an eager_scribe.
class eager_doorman final : public caf::io::network::doorman_impl {
 public:
  using doorman_impl::doorman_impl;

  bool new_connection() override {
    if (detached()) {
      return false;  // the broker let go of us while the poller still reported the socket
    }
    const auto hdl = add_eager_scribe(parent(), acceptor_.accepted_socket());
    return doorman::new_connection(&acceptor_.backend(), hdl);
  }
};

/// abstract_broker::add_tcp_doorman, with eager connections.
inline caf::expected<std::pair<caf::io::accept_handle, uint16_t>> add_eager_tcp_doorman(
    caf::io::abstract_broker* self, uint16_t port, const char* host, bool reuse_addr) {
  auto fd = caf::io::network::new_tcp_acceptor_impl(port, host, reuse_addr);
  if (!fd) {
    return std::move(fd.error());
  }
  caf::io::doorman_ptr door = caf::make_counted<eager_doorman>(multiplexer_of(self), *fd);
  const auto hdl = door->hdl();
  const uint16_t bound = door->port();
  self->add_doorman(std::move(door));
  return std::make_pair(hdl, bound);
}

}  // namespace ck::io
