#pragma once

// One parsed HTTP/1.1 request, as handed to a route handler. CAF-free on purpose: the parser, the
// router and their tests build without the actor runtime.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace ck::http {

struct request {
  std::string method;  // as sent, e.g. "GET"
  std::string target;  // raw request target, e.g. "/kv/get?key=a%20b"
  std::string path;    // percent-decoded path of the target, e.g. "/kv/get"
  // Decoded query pairs in the order sent (`+` is a space); a name may repeat.
  std::vector<std::pair<std::string, std::string>> query;
  // Header fields in the order sent; names lower-cased, values trimmed; a name may repeat.
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
  // False when the connection closes after this request's response (Connection: close, or
  // HTTP/1.0 without keep-alive).
  bool keep_alive = true;
  // Position of this request on its connection, from 0; responses are written in this order.
  uint64_t sequence = 0;

  // Returns the value of the first query pair named `name`, or nullopt. The view points into
  // this request and lives as long as it is not modified.
  std::optional<std::string_view> query_param(std::string_view name) const;

  // Returns the value of the first header field named `name` (compared case-insensitively),
  // or nullopt. The view points into this request.
  std::optional<std::string_view> header(std::string_view name) const;
};

}  // namespace ck::http
