#include "http/response.hpp"

#include "http/detail/ascii.hpp"

#include <nlohmann/json.hpp>

namespace ck::http {
namespace {

// Bodies may echo client input (a path, a key): never let bad UTF-8 throw on the I/O thread.
std::string dump_json(const nlohmann::json& value) {
  return value.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

bool has_no_body(int status) {
  return (status >= 100 && status < 200) || status == 204;
}

}  // namespace

response response::json(int status, const nlohmann::json& body) {
  return json_text(status, dump_json(body));
}

response response::json_text(int status, std::string body) {
  response res;
  res.status = status;
  res.headers.emplace_back("Content-Type", "application/json");
  res.body = std::move(body);
  return res;
}

response response::error(int status, std::string_view code, std::string_view message) {
  nlohmann::json body = {{"error", message}, {"code", code}};
  auto res = json(status, body);
  if (status == 503) {
    res.headers.emplace_back("Retry-After", "1");
  }
  return res;
}

response response::method_not_allowed(const std::vector<std::string>& allowed_methods) {
  std::string allow;
  for (const auto& method : allowed_methods) {
    if (!allow.empty()) {
      allow += ", ";
    }
    allow += method;
  }
  auto res = error(405, "method_not_allowed", "method not allowed; allowed: " + allow);
  res.headers.emplace_back("Allow", std::move(allow));
  return res;
}

std::optional<std::string_view> response::header(std::string_view name) const {
  for (const auto& [key, value] : headers) {
    if (detail::equals_ignoring_case(key, name)) {
      return std::string_view{value};
    }
  }
  return std::nullopt;
}

std::string_view reason_phrase(int status) {
  switch (status) {
    case 100: return "Continue";
    case 200: return "OK";
    case 201: return "Created";
    case 202: return "Accepted";
    case 204: return "No Content";
    case 301: return "Moved Permanently";
    case 302: return "Found";
    case 304: return "Not Modified";
    case 307: return "Temporary Redirect";
    case 308: return "Permanent Redirect";
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 408: return "Request Timeout";
    case 409: return "Conflict";
    case 410: return "Gone";
    case 411: return "Length Required";
    case 412: return "Precondition Failed";
    case 413: return "Payload Too Large";
    case 414: return "URI Too Long";
    case 415: return "Unsupported Media Type";
    case 422: return "Unprocessable Entity";
    case 429: return "Too Many Requests";
    case 431: return "Request Header Fields Too Large";
    case 500: return "Internal Server Error";
    case 501: return "Not Implemented";
    case 502: return "Bad Gateway";
    case 503: return "Service Unavailable";
    case 504: return "Gateway Timeout";
    case 505: return "HTTP Version Not Supported";
    case 507: return "Insufficient Storage";
    default: return "Unknown";
  }
}

std::string serialize(const response& res, bool keep_alive) {
  std::string out;
  out.reserve(128 + res.body.size());
  out += "HTTP/1.1 ";
  out += std::to_string(res.status);
  out += ' ';
  out += reason_phrase(res.status);
  out += "\r\n";
  bool has_content_type = false;
  for (const auto& [name, value] : res.headers) {
    if (detail::equals_ignoring_case(name, "content-length")
        || detail::equals_ignoring_case(name, "connection")) {
      continue;
    }
    has_content_type = has_content_type || detail::equals_ignoring_case(name, "content-type");
    out += name;
    out += ": ";
    out += value;
    out += "\r\n";
  }
  if (!has_content_type) {
    out += "Content-Type: application/json\r\n";
  }
  bool bodyless = has_no_body(res.status) || res.streamed;
  if (!bodyless) {
    out += "Content-Length: ";
    out += std::to_string(res.body.size());
    out += "\r\n";
  }
  out += keep_alive && !res.streamed ? "Connection: keep-alive\r\n\r\n"
                                     : "Connection: close\r\n\r\n";
  if (!bodyless) {
    out += res.body;
  }
  return out;
}

}  // namespace ck::http
