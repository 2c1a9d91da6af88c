#pragma once

// A small blocking HTTP/1.1 client for threads that are not actors: a node joining a cluster at
// start-up calls a member's POST /join before its own actors serve. One request per connection
// ("Connection: close"), every wait bounded by one overall deadline. CAF-free.

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace ck::http {

/// The largest response body `call` accepts; a longer one is an error, not a truncated body.
inline constexpr size_t client_body_bytes_max = size_t{64} * 1024 * 1024;

struct client_response {
  int status = 0;    // the final (non-1xx) status code
  std::string body;  // decoded (chunked framing removed)
};

/// Invariant: ok == error.empty(); when !ok, `response` is empty.
struct client_result {
  bool ok = false;
  client_response response;
  std::string error;  // one line, e.g. "connect to 127.0.0.1:9 refused", "timed out after 2000 ms"
};

/// Sends one request on a fresh connection ("Connection: close") and reads the whole response.
/// `host` is a name or an IPv4/IPv6 literal, resolved with getaddrinfo; each address is tried
/// in turn. `timeout` bounds connect + send + receive in total (name resolution is the system
/// resolver's and is not bounded by it). `target` is the request target ("/join?x=1"). The
/// request carries Host (unless `headers` has one), Connection: close and, when `body` is not
/// empty or the method is POST/PUT/PATCH, Content-Length; `headers` must not set Content-Length,
/// Transfer-Encoding or Connection (refused as an error).
/// Returns ok with the status and body of any complete response (a 4xx/5xx is ok too: `ok`
/// means HTTP worked); otherwise an error: resolve/connect failure, timeout, a malformed or
/// truncated response, a body above client_body_bytes_max, or a CR/LF in the method, target or
/// headers. Never throws; never waits past `timeout` (plus scheduling slack).
/// Thread safety: any thread; calls share nothing. Do not call from an actor (it blocks).
client_result call(const std::string& host, uint16_t port, const std::string& method,
                   const std::string& target, const std::string& body,
                   std::chrono::milliseconds timeout,
                   const std::vector<std::pair<std::string, std::string>>& headers = {});

}  // namespace ck::http
