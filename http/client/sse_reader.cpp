#include "http/client/sse_reader.hpp"

namespace ck::client {

std::vector<sse_message> sse_reader::feed(std::string_view bytes) {
  std::vector<sse_message> out;
  pending_.append(bytes);
  size_t start = 0;
  for (size_t end; (end = pending_.find('\n', start)) != std::string::npos; start = end + 1) {
    std::string_view text(pending_.data() + start, end - start);
    if (!text.empty() && text.back() == '\r') {
      text.remove_suffix(1);
    }
    line(text, out);
  }
  pending_.erase(0, start);
  return out;
}

void sse_reader::line(std::string_view text, std::vector<sse_message>& out) {
  if (text.empty()) {
    if (has_data_) {
      out.push_back(std::move(current_));
    }
    current_ = sse_message{};
    has_data_ = false;
    return;
  }
  if (text.front() == ':') {
    return;  // a comment (keep-alive)
  }
  const size_t colon = text.find(':');
  std::string_view field = text.substr(0, colon);
  std::string_view value = colon == std::string_view::npos ? std::string_view{} : text.substr(colon + 1);
  if (!value.empty() && value.front() == ' ') {
    value.remove_prefix(1);
  }
  if (field == "event") {
    current_.event = std::string{value};
  } else if (field == "id") {
    current_.id = std::string{value};
  } else if (field == "data") {
    if (has_data_) {
      current_.data += '\n';
    }
    current_.data.append(value);
    has_data_ = true;
  }
}

}  // namespace ck::client
