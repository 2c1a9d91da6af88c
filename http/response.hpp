#pragma once

// One HTTP response and its wire form. CAF-free. Every body the API sends is JSON: the factories
// set `Content-Type: application/json`, and errors use the project-wide shape
// `{"error": "<message>", "code": "<slug>"}` (see /work/shared/API.md).

#include <nlohmann/json_fwd.hpp>

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace ck::http {

struct response {
  int status = 200;
  // Extra header fields in the order to write them. Content-Length and Connection are always
  // computed by `serialize` (fields with those names here are ignored); Content-Type defaults to
  // application/json when absent.
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
  // The head of a streamed response (responder::stream): written without Content-Length and
  // with `Connection: close`; the body follows as the handler pushes it, until either side
  // closes. `body` must be empty.
  bool streamed = false;

  // A JSON body. Invalid UTF-8 in strings is replaced by U+FFFD rather than throwing.
  static response json(int status, const nlohmann::json& body);

  // A body that already is JSON text; written as is.
  static response json_text(int status, std::string body);

  // `{"error": message, "code": code}`; a 503 also carries `Retry-After: 1` so clients back off.
  static response error(int status, std::string_view code, std::string_view message);

  // 405 with `Allow: <methods joined by ", ">` and code "method_not_allowed".
  static response method_not_allowed(const std::vector<std::string>& allowed_methods);

  // Returns the value of the first header named `name` (case-insensitive), or nullopt.
  std::optional<std::string_view> header(std::string_view name) const;
};

// The standard reason phrase for `status` ("OK", "Not Found", ...), or "Unknown".
std::string_view reason_phrase(int status);

// The full wire form: status line with reason phrase, the response's headers, Content-Type
// (application/json unless set), Content-Length, `Connection: keep-alive` or `close`, a blank
// line and the body. 1xx and 204 responses carry neither Content-Length nor a body; a streamed
// head carries neither (its body follows) and always `Connection: close`.
std::string serialize(const response& res, bool keep_alive);

}  // namespace ck::http
