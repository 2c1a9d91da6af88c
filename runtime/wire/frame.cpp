#include "runtime/wire/frame.hpp"

#include "runtime/base/assert.hpp"
#include "runtime/base/big_endian.hpp"

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

void append_frame(std::string& out, frame_type type, std::string_view body) {
  CK_ASSERT_LE(body.size(), size_t{UINT32_MAX});
  char header[frame_header_bytes];
  runtime::put_u32_be(header, static_cast<uint32_t>(body.size()));
  header[4] = static_cast<char>(type);
  out.append(header, frame_header_bytes);
  out.append(body);
}

frame_reader::frame_reader(uint32_t max_body_bytes) : max_body_bytes_(max_body_bytes) {}

void frame_reader::feed(const char* data, size_t n) {
  if (!why_.empty()) {
    return;  // the stream is broken: nothing more is read
  }
  // Drop what was handed out before growing: the buffer holds at most one frame plus a read.
  if (consumed_ > 0 && (consumed_ == buffer_.size() || consumed_ >= buffer_.size() / 2)) {
    buffer_.erase(0, consumed_);
    consumed_ = 0;
  }
  buffer_.append(data, n);
}

frame_reader::status frame_reader::next(frame& out) {
  if (!why_.empty()) {
    return status::error;
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
    return status::need_more;
  }
  out.type = static_cast<frame_type>(type);
  out.body.assign(header + frame_header_bytes, body_bytes);
  consumed_ += frame_header_bytes + body_bytes;
  return status::frame;
}

}  // namespace ck::wire
