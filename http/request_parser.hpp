#pragma once

// Incremental HTTP/1.1 request parser for one connection, wrapping Debian's http-parser (no
// hand-written HTTP parsing). CAF-free: the server feeds it the bytes a broker receives.
//
// Contract: bytes go in as they arrive, split anywhere; complete requests come out in order
// (pipelining), each numbered by `request::sequence` from 0. After an error, or after a request
// whose connection must close (`keep_alive == false`), the parser is `done()`: further input is
// ignored. Not thread-safe; one parser per connection.

#include "http/request.hpp"

#include <cstddef>
#include <cstdint>
#include <limits>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace ck::http {

struct parser_limits {
  // Request line plus header fields (names, values and their separators), in bytes.
  size_t header_bytes_max = 16 << 10;
  // Largest accepted Content-Length; decided when the headers are complete, before the body.
  size_t body_bytes_max = 2 << 20;
};

// What to answer before closing the connection: 400 malformed (or invalid percent-encoding),
// 411 a body without Content-Length (Transfer-Encoding), 413 Content-Length over the limit,
// 431 header section over the limit, 505 a version other than HTTP/1.0 or 1.1.
struct parse_error {
  int status = 400;
  std::string code;     // the JSON error slug, e.g. "bad_request"
  std::string message;  // for the JSON error body
};

struct parse_result {
  std::vector<request> requests;     // complete requests, in arrival order
  size_t consumed_bytes = 0;         // prefix of the input used; pass the rest again later
  std::optional<parse_error> error;  // set: answer it after `requests`, then close
};

class request_parser {
public:
  explicit request_parser(parser_limits limits);
  ~request_parser();
  request_parser(const request_parser&) = delete;
  request_parser& operator=(const request_parser&) = delete;

  // Parses `bytes` and returns the requests completed by them. Stops after `requests_max`
  // complete requests (Requires: requests_max > 0); the bytes after the last one are then not
  // consumed and must be fed again (the server uses this to bound outstanding requests). Bytes
  // of an incomplete request are consumed and kept inside the parser. When done(), returns an
  // empty result that consumes everything.
  parse_result feed(std::string_view bytes,
                    size_t requests_max = std::numeric_limits<size_t>::max());

  // True once per request that asked for `Expect: 100-continue` with a non-empty body that was
  // accepted (within limits); the server may then write `100 Continue` so such clients (curl
  // for bodies over 1 KiB) do not stall waiting for it.
  bool take_continue_expected();

  // True after an error or after a request that closes the connection.
  bool done() const;

  // True while part of a request has been consumed but the request is not complete yet.
  bool in_request() const;

private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

}  // namespace ck::http
