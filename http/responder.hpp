#pragma once

// The reply channel of one request. CAF-free: the server builds responders around its
// connection brokers; tests build them around a plain function.

#include "http/response.hpp"

#include <atomic>
#include <functional>
#include <memory>
#include <string>

namespace ck::http {

// The body of a streamed response (e.g. server-sent events), pushed after its head. A copyable
// handle; any thread. Chunks are written in push order. The stream ends when close() is called
// (the connection is closed after what was pushed), when the client goes away, or when the
// client reads so slowly that server_options::unsent_bytes_max of it pile up (the connection
// is closed: a watcher that cannot keep up is cut off, not buffered without bound).
class stream_sink {
public:
  struct channel {
    std::function<void(std::string&&)> push;
    std::function<void()> close;
    // Set once the connection is gone; read from any thread.
    std::shared_ptr<const std::atomic<bool>> gone;
  };

  stream_sink() = default;  // an inert sink: open() is false, pushes do nothing
  explicit stream_sink(channel c);

  // Queues `chunk` for the client; false when the stream is known to be gone (the chunk is
  // dropped). A true answer does not promise delivery: the client may leave meanwhile.
  bool push(std::string chunk) const;
  void close() const;
  // False once the connection is gone (the producer should stop and let go of the sink).
  bool open() const;

private:
  std::shared_ptr<channel> channel_;
};

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
  // Delivers a streamed head and returns the sink of its body (the server's connections).
  using streamer = std::function<stream_sink(response&&)>;

  responder() = default;

  explicit responder(sink deliver, streamer start_stream = {});

  void send(response res) const;

  // Answers with `head` as the head of a streamed response (head.streamed is set here; its
  // body must be empty) and returns the sink for the body. Counts as the one send. Without a
  // streamer (a test's responder) or after an earlier send, the head is sent as a plain
  // response (or not at all) and the sink is inert. The connection reads no further requests:
  // requests pipelined behind this one are dropped.
  stream_sink stream(response head) const;

  // True once a response was sent through any copy.
  bool sent() const;

private:
  struct core;
  std::shared_ptr<core> core_;
};

}  // namespace ck::http
