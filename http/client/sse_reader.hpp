#pragma once

// Server-sent events (the text/event-stream format) read from a byte stream that arrives in
// arbitrary pieces: feed() returns the messages completed so far. Pure.
//
// A message is lines "field: value" ended by a blank line; "event", "data" (several lines are
// joined with "\n") and "id" are kept, comment lines (":") and other fields ignored. A message
// without data is dropped, as EventSource does.

#include <string>
#include <string_view>
#include <vector>

namespace ck::client {

struct sse_message {
  std::string event;  // "" when the message named none ("message" for EventSource)
  std::string data;
  std::string id;
};

class sse_reader {
 public:
  std::vector<sse_message> feed(std::string_view bytes);

 private:
  void line(std::string_view text, std::vector<sse_message>& out);

  std::string pending_;  // an unfinished line
  sse_message current_;
  bool has_data_ = false;
};

}  // namespace ck::client
