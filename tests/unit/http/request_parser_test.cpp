// The parser wraps http-parser: these cases pin the contract the server relies on (ordering,
// limits and the status answered for each kind of bad input).

#include "http/request_parser.hpp"

#include <doctest/doctest.h>

#include <string>

using namespace ck::http;

namespace {

parser_limits small_limits() {
  return parser_limits{/*header_bytes_max=*/1024, /*body_bytes_max=*/64};
}

}  // namespace

TEST_CASE("parser: a simple GET yields one request with method, path, query and headers") {
  request_parser parser{small_limits()};
  std::string input = "GET /kv/get?key=user%3A123&x=a+b HTTP/1.1\r\nHost: h\r\n"
                      "X-Token:  secret \r\n\r\n";
  auto result = parser.feed(input);
  CHECK_FALSE(result.error.has_value());
  CHECK(result.consumed_bytes == input.size());
  REQUIRE(result.requests.size() == 1);
  const auto& req = result.requests[0];
  CHECK(req.method == "GET");
  CHECK(req.target == "/kv/get?key=user%3A123&x=a+b");
  CHECK(req.path == "/kv/get");
  CHECK(req.query_param("key") == std::string_view{"user:123"});
  CHECK(req.query_param("x") == std::string_view{"a b"});
  CHECK_FALSE(req.query_param("missing").has_value());
  CHECK(req.header("x-token") == std::string_view{"secret"});
  CHECK(req.header("HOST") == std::string_view{"h"});
  CHECK(req.headers[1].first == "x-token");
  CHECK(req.body.empty());
  CHECK(req.keep_alive);
  CHECK(req.sequence == 0);
  CHECK_FALSE(parser.in_request());
}

TEST_CASE("parser: a POST body is read up to its Content-Length") {
  request_parser parser{small_limits()};
  auto result =
    parser.feed("POST /kv/set HTTP/1.1\r\nHost: h\r\nContent-Length: 13\r\n\r\n{\"key\":\"a\"}\r\n");
  REQUIRE(result.requests.size() == 1);
  CHECK(result.requests[0].method == "POST");
  CHECK(result.requests[0].body == "{\"key\":\"a\"}\r\n");
}

TEST_CASE("parser: three pipelined requests in one buffer come out in order") {
  request_parser parser{small_limits()};
  std::string input = "GET /a HTTP/1.1\r\nHost: h\r\n\r\n"
                      "POST /b HTTP/1.1\r\nHost: h\r\nContent-Length: 2\r\n\r\nhi"
                      "GET /c HTTP/1.1\r\nHost: h\r\n\r\n";
  auto result = parser.feed(input);
  REQUIRE(result.requests.size() == 3);
  CHECK(result.consumed_bytes == input.size());
  CHECK(result.requests[0].path == "/a");
  CHECK(result.requests[1].path == "/b");
  CHECK(result.requests[1].body == "hi");
  CHECK(result.requests[2].path == "/c");
  for (uint64_t i = 0; i < 3; ++i) {
    CHECK(result.requests[i].sequence == i);
  }
}

TEST_CASE("parser: requests_max stops after that many requests and leaves the rest unconsumed") {
  request_parser parser{small_limits()};
  std::string first = "GET /a HTTP/1.1\r\nHost: h\r\n\r\n";
  std::string input = first + "GET /b HTTP/1.1\r\nHost: h\r\n\r\nGET /c HTTP/1.1\r\nHost: h\r\n\r\n";
  auto result = parser.feed(input, 1);
  REQUIRE(result.requests.size() == 1);
  CHECK(result.consumed_bytes == first.size());
  auto rest = parser.feed(std::string_view{input}.substr(result.consumed_bytes));
  REQUIRE(rest.requests.size() == 2);
  CHECK(rest.requests[0].path == "/b");
  CHECK(rest.requests[1].sequence == 2);
}

TEST_CASE("parser: a request split byte by byte is assembled") {
  request_parser parser{small_limits()};
  std::string input = "POST /x?a=1 HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\nX-A: b\r\n\r\nhello"
                      "GET /y HTTP/1.1\r\nHost: h\r\n\r\n";
  std::vector<request> requests;
  for (char c : input) {
    auto result = parser.feed(std::string_view{&c, 1});
    CHECK(result.consumed_bytes == 1);
    CHECK_FALSE(result.error.has_value());
    for (auto& req : result.requests) {
      requests.push_back(std::move(req));
    }
  }
  REQUIRE(requests.size() == 2);
  CHECK(requests[0].path == "/x");
  CHECK(requests[0].query_param("a") == std::string_view{"1"});
  CHECK(requests[0].header("x-a") == std::string_view{"b"});
  CHECK(requests[0].body == "hello");
  CHECK(requests[1].path == "/y");
}

TEST_CASE("parser: keep-alive is the HTTP/1.1 default; Connection: close and HTTP/1.0 end it") {
  SUBCASE("HTTP/1.1 default") {
    request_parser parser{small_limits()};
    auto result = parser.feed("GET / HTTP/1.1\r\nHost: h\r\n\r\n");
    REQUIRE(result.requests.size() == 1);
    CHECK(result.requests[0].keep_alive);
    CHECK_FALSE(parser.done());
  }
  SUBCASE("Connection: close") {
    request_parser parser{small_limits()};
    auto result = parser.feed("GET / HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n"
                              "GET /ignored HTTP/1.1\r\nHost: h\r\n\r\n");
    REQUIRE(result.requests.size() == 1);
    CHECK_FALSE(result.requests[0].keep_alive);
    CHECK(parser.done());
    CHECK(parser.feed("GET / HTTP/1.1\r\nHost: h\r\n\r\n").requests.empty());
  }
  SUBCASE("HTTP/1.0 without keep-alive") {
    request_parser parser{small_limits()};
    auto result = parser.feed("GET / HTTP/1.0\r\n\r\n");
    REQUIRE(result.requests.size() == 1);
    CHECK_FALSE(result.requests[0].keep_alive);
    CHECK(parser.done());
  }
  SUBCASE("HTTP/1.0 with Connection: keep-alive") {
    request_parser parser{small_limits()};
    auto result = parser.feed("GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n");
    REQUIRE(result.requests.size() == 1);
    CHECK(result.requests[0].keep_alive);
    CHECK_FALSE(parser.done());
  }
}

TEST_CASE("parser: a chunked request body is refused with 411") {
  request_parser parser{small_limits()};
  auto result = parser.feed("POST /kv/set HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello"
                            "\r\n0\r\n\r\n");
  CHECK(result.requests.empty());
  REQUIRE(result.error.has_value());
  CHECK(result.error->status == 411);
  CHECK(result.error->code == "length_required");
  CHECK(parser.done());
}

TEST_CASE("parser: oversized headers are refused with 431") {
  request_parser parser{small_limits()};
  std::string input = "GET / HTTP/1.1\r\nHost: h\r\nX-Big: " + std::string(2000, 'a') + "\r\n\r\n";
  auto result = parser.feed(input);
  REQUIRE(result.error.has_value());
  CHECK(result.error->status == 431);
}

TEST_CASE("parser: a long target counts toward the header limit") {
  request_parser parser{small_limits()};
  auto result = parser.feed("GET /" + std::string(2000, 'a') + " HTTP/1.1\r\nHost: h\r\n\r\n");
  REQUIRE(result.error.has_value());
  CHECK(result.error->status == 431);
}

TEST_CASE("parser: a Content-Length over the limit is refused with 413 before the body arrives") {
  request_parser parser{small_limits()};
  auto result = parser.feed("POST /kv/set HTTP/1.1\r\nHost: h\r\nContent-Length: 65\r\n\r\n");
  CHECK(result.requests.empty());
  REQUIRE(result.error.has_value());
  CHECK(result.error->status == 413);
}

TEST_CASE("parser: a body of exactly the limit is accepted") {
  request_parser parser{small_limits()};
  auto result =
    parser.feed("POST /x HTTP/1.1\r\nHost: h\r\nContent-Length: 64\r\n\r\n" + std::string(64, 'b'));
  CHECK_FALSE(result.error.has_value());
  REQUIRE(result.requests.size() == 1);
  CHECK(result.requests[0].body.size() == 64);
}

TEST_CASE("parser: garbage is refused with 400") {
  for (std::string input : {"\x01\x02\x03 garbage\r\n\r\n", "GET / FOO/1.1\r\n\r\n",
                            "GET / HTTP/1.1\r\nHost: h\r\nbad header line\r\n\r\n"}) {
    request_parser parser{small_limits()};
    auto result = parser.feed(input);
    CAPTURE(input);
    CHECK(result.requests.empty());
    REQUIRE(result.error.has_value());
    CHECK(result.error->status == 400);
    CHECK(result.error->code == "bad_request");
  }
}

TEST_CASE("parser: HTTP versions other than 1.0 and 1.1 are refused with 505") {
  for (std::string line : {"GET / HTTP/2.0", "GET /"}) {
    request_parser parser{small_limits()};
    auto result = parser.feed(line + "\r\n\r\n");
    CAPTURE(line);
    CHECK(result.requests.empty());
    REQUIRE(result.error.has_value());
    CHECK(result.error->status == 505);
  }
}

TEST_CASE("parser: invalid percent-encoding in the target is refused with 400") {
  for (std::string target : {"/kv/get?key=%zz", "/a%zz"}) {
    request_parser parser{small_limits()};
    auto result = parser.feed("GET " + target + " HTTP/1.1\r\nHost: h\r\n\r\n");
    CAPTURE(target);
    REQUIRE(result.error.has_value());
    CHECK(result.error->status == 400);
  }
}

TEST_CASE("parser: a path is percent-decoded but keeps its plus signs") {
  request_parser parser{small_limits()};
  auto result = parser.feed("GET /a%20b+c HTTP/1.1\r\nHost: h\r\n\r\n");
  REQUIRE(result.requests.size() == 1);
  CHECK(result.requests[0].path == "/a b+c");
}

TEST_CASE("parser: requests before an error are still returned") {
  request_parser parser{small_limits()};
  auto result = parser.feed("GET /ok HTTP/1.1\r\nHost: h\r\n\r\nNOT HTTP\r\n\r\n");
  REQUIRE(result.requests.size() == 1);
  CHECK(result.requests[0].path == "/ok");
  REQUIRE(result.error.has_value());
  CHECK(result.error->status == 400);
}

TEST_CASE("parser: Expect: 100-continue with a body is reported once") {
  request_parser parser{small_limits()};
  auto head = parser.feed("POST /x HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\nExpect: 100-continue\r\n\r\n");
  CHECK(head.requests.empty());
  CHECK(parser.in_request());
  CHECK(parser.take_continue_expected());
  CHECK_FALSE(parser.take_continue_expected());
  auto body = parser.feed("abc");
  REQUIRE(body.requests.size() == 1);
  CHECK(body.requests[0].body == "abc");
}

// Request smuggling behind a proxy relies on a server reading header boundaries differently
// from the proxy: RFC 9112 requires 400 for each of these.
TEST_CASE("parser: whitespace before a header's colon is refused with 400") {
  for (std::string header : {"Transfer-Encoding : chunked", "Content-Length : 3",
                             "X-A\t: b", "X(A): b"}) {
    request_parser parser{small_limits()};
    auto result = parser.feed("POST /x HTTP/1.1\r\nHost: h\r\n" + header + "\r\n\r\nabc");
    CAPTURE(header);
    CHECK(result.requests.empty());
    REQUIRE(result.error.has_value());
    CHECK(result.error->status == 400);  // http-parser itself refuses the tab and the '('
  }
}

TEST_CASE("parser: an obs-fold continuation line is refused with 400, fed whole or split") {
  const std::string input = "GET / HTTP/1.1\r\nHost: h\r\nX-A: one\r\n two\r\n\r\n";
  for (size_t split = 0; split <= input.size(); ++split) {
    request_parser parser{small_limits()};
    auto first = parser.feed(input.substr(0, split));
    auto result = first.error ? first : parser.feed(input.substr(split));
    CAPTURE(split);
    CHECK(first.requests.empty());
    CHECK(result.requests.empty());
    REQUIRE(result.error.has_value());
    CHECK(result.error->status == 400);
    CHECK(result.error->message.find("folding") != std::string::npos);
  }
}

TEST_CASE("parser: a value split at a space is not mistaken for folding") {
  const std::string input = "GET / HTTP/1.1\r\nHost: h\r\nX-A: one two\r\n\r\n";
  const size_t space = input.find(" two");
  request_parser parser{small_limits()};
  CHECK_FALSE(parser.feed(input.substr(0, space)).error.has_value());
  auto result = parser.feed(input.substr(space));
  CHECK_FALSE(result.error.has_value());
  REQUIRE(result.requests.size() == 1);
  CHECK(result.requests[0].header("x-a") == std::optional<std::string_view>{"one two"});
}

TEST_CASE("parser: a target that is not a path is refused with 400") {
  for (std::string target : {"*", "***/a", "a/b"}) {
    request_parser parser{small_limits()};
    auto result = parser.feed("GET " + target + " HTTP/1.1\r\nHost: h\r\n\r\n");
    CAPTURE(target);
    CHECK(result.requests.empty());
    REQUIRE(result.error.has_value());
    CHECK(result.error->status == 400);
  }
  request_parser parser{small_limits()};
  auto absolute = parser.feed("GET http://h:1/x?a=1 HTTP/1.1\r\nHost: h\r\n\r\n");
  REQUIRE(absolute.requests.size() == 1);
  CHECK(absolute.requests[0].path == "/x");
}

TEST_CASE("parser: HTTP/1.1 needs exactly one Host; HTTP/1.0 at most one") {
  struct example {
    std::string head;
    bool accepted;
  };
  for (const auto& [head, accepted] :
       {example{"GET / HTTP/1.1\r\n", false}, example{"GET / HTTP/1.1\r\nHost: a\r\n", true},
        example{"GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n", false},
        example{"GET / HTTP/1.0\r\n", true}, example{"GET / HTTP/1.0\r\nHost: a\r\n", true},
        example{"GET / HTTP/1.0\r\nHost: a\r\nhost: a\r\n", false}}) {
    request_parser parser{small_limits()};
    auto result = parser.feed(head + "\r\n");
    CAPTURE(head);
    CHECK(result.error.has_value() != accepted);
    if (!accepted) {
      REQUIRE(result.error.has_value());
      CHECK(result.error->status == 400);
    }
  }
}
