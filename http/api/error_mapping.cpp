#include "http/api/error_mapping.hpp"

#include "actors/errc.hpp"

#include <caf/error.hpp>
#include <caf/sec.hpp>

namespace ck::http::api {

namespace {

int status_of(errc code) {
  switch (code) {
    case errc::invalid_argument:
      return 400;
    case errc::not_found:
      return 404;
    case errc::conflict:
      return 409;
    case errc::no_leader:
    case errc::shutting_down:
    case errc::not_ready:
      return 503;
    case errc::timeout:
      return 504;
    case errc::storage_full:
      return 507;  // RFC 4918 Insufficient Storage
    case errc::none:
    case errc::storage_failure:
    case errc::internal:
      return 500;
  }
  return 500;
}

}  // namespace

response error_response(const caf::error& error) {
  const errc code = errc_of(error);
  // The context of our own errors is the message written where they were raised; CAF's own
  // errors (a timeout, a dead actor) are rendered by name.
  std::string message = message_of(error);
  if (message.empty() && code == errc::timeout) {
    message = "request timed out";
  } else if (message.empty() && code == errc::no_leader) {
    message = "no actor available to serve the request";
  } else if (message.empty()) {
    message = to_string(code);
  }
  // response::error adds Retry-After to every 503 (no leader / not ready: usually brief).
  return response::error(status_of(code), to_string(code), message);
}

}  // namespace ck::http::api
