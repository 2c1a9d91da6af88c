#include "runtime/wire/frame.hpp"

#include "runtime/base/assert.hpp"
#include "runtime/base/big_endian.hpp"

#include <algorithm>

namespace ck::wire {

bool known_frame_type(uint8_t type) {
  switch (static_cast<frame_type>(type)) {
    case frame_type::hello:
    case frame_type::challenge:
    case frame_type::proof:
    case frame_type::batch:
    case frame_type::request:
    case frame_type::response:
      return true;
  }
  return false;
}

void put_frame_header(char* at, frame_type type, size_t body_bytes) {
  CK_ASSERT_LE(body_bytes, size_t{UINT32_MAX});
  runtime::put_u32_be(at, static_cast<uint32_t>(body_bytes));
  at[4] = static_cast<char>(type);
}

void append_frame(std::string& out, frame_type type, std::string_view body) {
  char header[frame_header_bytes];
  put_frame_header(header, type, body.size());
  out.append(header, frame_header_bytes);
  out.append(body);
}

frame_reader::frame_reader(uint32_t max_body_bytes) : max_body_bytes_(max_body_bytes) {}

void frame_reader::feed(const char* data, size_t n) {
  if (!why_.empty()) {
    return;  // the stream is broken: nothing more is read
  }
  if (large_bytes_ > 0) {
    const size_t into_body = std::min(n, size_t{large_bytes_} - large_.size());
    large_.append(data, into_body);
    data += into_body;
    n -= into_body;
    if (n == 0) {
      return;
    }
  }
  // Drop what was handed out before growing: the buffer holds at most one frame plus a read.
  if (consumed_ > 0 && (consumed_ == buffer_.size() || consumed_ >= buffer_.size() / 2)) {
    buffer_.erase(0, consumed_);
    consumed_ = 0;
  }
  buffer_.append(data, n);
}

void frame_reader::start_large(frame_type type, uint32_t body_bytes) {
  const char* body = buffer_.data() + consumed_ + frame_header_bytes;
  const size_t have = buffered() - frame_header_bytes;
  large_.reserve(body_bytes);
  large_.assign(body, have);
  large_bytes_ = body_bytes;
  large_type_ = type;
  consumed_ += frame_header_bytes + have;  // all of the buffer: the frame is incomplete
}

frame_reader::status frame_reader::next(frame& out) {
  if (!why_.empty()) {
    return status::error;
  }
  if (large_bytes_ > 0) {
    if (large_.size() < large_bytes_) {
      return status::need_more;
    }
    out.type = large_type_;
    out.body = std::move(large_);
    large_ = std::string{};
    large_bytes_ = 0;
    return status::frame;
  }
  if (buffered() < frame_header_bytes) {
    return status::need_more;
  }
  const char* header = buffer_.data() + consumed_;
  const uint32_t body_bytes = runtime::get_u32_be(header);
  const auto type = static_cast<uint8_t>(header[4]);
  if (!known_frame_type(type)) {
    why_ = "unknown frame type " + std::to_string(type);
    return status::error;
  }
  if (body_bytes > max_body_bytes_) {
    why_ = "a frame of " + std::to_string(body_bytes) + " bytes (at most " +
           std::to_string(max_body_bytes_) + " here)";
    return status::error;
  }
  if (buffered() - frame_header_bytes < body_bytes) {
    if (body_bytes >= large_body_bytes) {
      start_large(static_cast<frame_type>(type), body_bytes);
    }
    return status::need_more;
  }
  out.type = static_cast<frame_type>(type);
  out.body.assign(header + frame_header_bytes, body_bytes);
  consumed_ += frame_header_bytes + body_bytes;
  return status::frame;
}

}  // namespace ck::wire
