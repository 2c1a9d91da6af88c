#pragma once

// The reply channel of one request. CAF-free: the server builds responders around its
// connection brokers; tests build them around a plain function.

#include "http/response.hpp"

#include <functional>
#include <memory>

namespace ck::http {

// A copyable handle to one request's response slot. Contract:
// - The first send() delivers; later sends (from any copy) are ignored.
// - If the last copy is destroyed without a send(), the slot gets a 500
//   `{"error":"handler dropped the request","code":"internal"}`, so a request never hangs.
// - send() after the connection closed is a harmless no-op (the server's sink ignores it).
// - Copies may be sent and destroyed on any thread: the server's sink hands deliveries made
//   off the I/O thread to the connection broker as a message.
// A default-constructed responder has no slot: send() does nothing.
class responder {
public:
  // Receives the one response of the slot. Called at most once, on the thread of the send()
  // (or of the destruction of the last copy).
  using sink = std::function<void(response&&)>;

  responder() = default;

  explicit responder(sink deliver);

  void send(response res) const;

  // True once a response was sent through any copy.
  bool sent() const;

private:
  struct core;
  std::shared_ptr<core> core_;
};

}  // namespace ck::http
