#pragma once

// The node-to-node wire format: a byte stream of frames.
//
//   frame = u32_be body_bytes | u8 type | body (body_bytes bytes)
//
// This is what replaces CAF's BASP between nodes (docs/architecture.md, "Node-to-node
// transport"): every length read off the wire is checked against a bound before a byte is
// allocated for it, and the bound is small until the connection has authenticated
// (handshake.hpp), so an unauthenticated peer can make a node hold at most a few KiB.
// frame_reader is fed whatever the socket returned (one read may hold many frames, or part of
// one) and hands out complete frames: one read call per socket wake-up, not two per message.
// Pure: no I/O, no CAF.

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace ck::wire {

enum class frame_type : uint8_t {
  hello = 1,       // dialer -> acceptor: who I am, my nonce (handshake.hpp)
  challenge = 2,   // acceptor -> dialer: who I am, my nonce, my proof
  proof = 3,       // dialer -> acceptor: my proof
  batch = 16,      // a Raft batch (actors/raft_wire.hpp), either way
  request = 17,    // u64_be id | a routed request; answered by a response with the same id
  response = 18,   // u64_be id | the reply or an error
};

/// Whether `type` is one of the frame types above.
bool known_frame_type(uint8_t type);

inline constexpr size_t frame_header_bytes = 5;
/// The body bound while a connection is in its handshake.
inline constexpr uint32_t handshake_body_bytes_max = 1024;

/// Appends one frame to `out`. Requires: body.size() fits in 32 bits.
void append_frame(std::string& out, frame_type type, std::string_view body);
/// Writes the header of a frame of `type` whose body has `body_bytes` at `at` (which has
/// frame_header_bytes), for a body serialized in place after it. Requires: body_bytes fits in
/// 32 bits.
void put_frame_header(char* at, frame_type type, size_t body_bytes);

struct frame {
  frame_type type = frame_type::batch;
  std::string body;
};

class frame_reader {
 public:
  /// Frames whose body is longer than `max_body_bytes` are an error.
  explicit frame_reader(uint32_t max_body_bytes);

  /// Changes the body bound (raised once the peer authenticated).
  void set_max_body_bytes(uint32_t max_body_bytes) { max_body_bytes_ = max_body_bytes; }

  /// Takes bytes as they came off the socket.
  void feed(const char* data, size_t n);

  enum class status { frame, need_more, error };
  /// The next complete frame into `out` (status::frame), need_more until one is complete, or
  /// error (sticky: the stream cannot be resynchronised) for a header that declares more than
  /// the bound or an unknown type; why() says which.
  status next(frame& out);

  const std::string& why() const { return why_; }
  /// Bytes received and not yet handed out.
  size_t buffered() const { return buffer_.size() - consumed_ + large_.size(); }

  /// A frame body at least this long that is not complete yet is received straight into a
  /// string of its own, sized once, and handed out without a copy: a learner catching up gets
  /// frames of megabytes in 64-KiB reads, and gathering them in the buffer and then copying
  /// the body out cost a fifth of the receiving node's I/O thread.
  static constexpr uint32_t large_body_bytes = 64 * 1024;

 private:
  // Moves the buffered part of the body `header` declares into large_ (requires: incomplete).
  void start_large(frame_type type, uint32_t body_bytes);

  uint32_t max_body_bytes_;
  std::string buffer_;
  size_t consumed_ = 0;  // bytes of buffer_ handed out already
  // The large body being received (large_bytes_ > 0): what came so far, and its type.
  std::string large_;
  uint32_t large_bytes_ = 0;
  frame_type large_type_ = frame_type::batch;
  std::string why_;
};

}  // namespace ck::wire
