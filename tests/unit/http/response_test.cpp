// Wire form and error shape of responses (the API contract's error body and headers).

#include "http/json_string.hpp"
#include "http/responder.hpp"
#include "http/response.hpp"

#include <doctest/doctest.h>
#include <nlohmann/json.hpp>

#include <string>
#include <vector>

using namespace ck::http;

TEST_CASE("response: serialisation writes status line, headers, length, connection and body") {
  auto res = response::json(200, nlohmann::json{{"ok", true}});
  CHECK(serialize(res, true)
        == "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 11\r\n"
           "Connection: keep-alive\r\n\r\n{\"ok\":true}");
  CHECK(serialize(res, false).find("Connection: close\r\n") != std::string::npos);
}

TEST_CASE("response: a missing Content-Type defaults to JSON and computed headers win") {
  response res;
  res.status = 404;
  res.headers = {{"Content-Length", "999"}, {"Connection", "upgrade"}, {"X-A", "b"}};
  res.body = "{}";
  CHECK(serialize(res, true)
        == "HTTP/1.1 404 Not Found\r\nX-A: b\r\nContent-Type: application/json\r\n"
           "Content-Length: 2\r\nConnection: keep-alive\r\n\r\n{}");
  res.headers = {{"content-type", "text/plain"}};
  auto text = serialize(res, true);
  CHECK(text.find("application/json") == std::string::npos);
  CHECK(text.find("content-type: text/plain\r\n") != std::string::npos);
}

TEST_CASE("response: 204 carries neither Content-Length nor a body") {
  response res;
  res.status = 204;
  res.body = "ignored";
  CHECK(serialize(res, true)
        == "HTTP/1.1 204 No Content\r\nContent-Type: application/json\r\n"
           "Connection: keep-alive\r\n\r\n");
}

TEST_CASE("response: error bodies are {error, code} and 503 adds Retry-After") {
  auto res = response::error(400, "bad_request", "no \"key\"");
  CHECK(res.status == 400);
  auto body = nlohmann::json::parse(res.body);
  CHECK(body == nlohmann::json{{"error", "no \"key\""}, {"code", "bad_request"}});
  CHECK_FALSE(res.header("Retry-After").has_value());
  auto busy = response::error(503, "no_leader", "no leader");
  CHECK(busy.header("retry-after") == std::string_view{"1"});
}

TEST_CASE("response: 405 lists the allowed methods in Allow") {
  auto res = response::method_not_allowed({"GET", "POST"});
  CHECK(res.status == 405);
  CHECK(res.header("Allow") == std::string_view{"GET, POST"});
  CHECK(nlohmann::json::parse(res.body)["code"] == "method_not_allowed");
}

TEST_CASE("response: invalid UTF-8 in a JSON body is replaced instead of throwing") {
  std::string bad = "not found: /\xff\xfe";
  auto res = response::error(404, "not_found", bad);
  CHECK(nlohmann::json::parse(res.body)["code"] == "not_found");
}

TEST_CASE("response: json_text keeps the body as given") {
  auto res = response::json_text(201, "[1,2]");
  CHECK(res.status == 201);
  CHECK(res.body == "[1,2]");
  CHECK(res.header("content-type") == std::string_view{"application/json"});
}

TEST_CASE("response: reason phrases cover the statuses the API uses") {
  CHECK(reason_phrase(411) == "Length Required");
  CHECK(reason_phrase(413) == "Payload Too Large");
  CHECK(reason_phrase(431) == "Request Header Fields Too Large");
  CHECK(reason_phrase(504) == "Gateway Timeout");
  CHECK(reason_phrase(299) == "Unknown");
}

TEST_CASE("responder: the first send wins and later sends are ignored") {
  int calls = 0;
  int status = 0;
  {
    responder reply{[&](response&& res) {
      ++calls;
      status = res.status;
    }};
    auto copy = reply;
    copy.send(response::error(409, "conflict", "first"));
    reply.send(response::error(200, "x", "second"));
    CHECK(reply.sent());
  }
  CHECK(calls == 1);
  CHECK(status == 409);
}

TEST_CASE("responder: dropping the last copy without a send delivers 500 internal") {
  int calls = 0;
  response got;
  {
    responder reply{[&](response&& res) {
      ++calls;
      got = std::move(res);
    }};
    auto copy = reply;
    CHECK_FALSE(copy.sent());
  }
  CHECK(calls == 1);
  CHECK(got.status == 500);
  CHECK(nlohmann::json::parse(got.body)
        == nlohmann::json{{"error", "handler dropped the request"}, {"code", "internal"}});
}

TEST_CASE("responder: a default-constructed responder ignores sends") {
  responder none;
  none.send(response::error(500, "x", "y"));
  CHECK_FALSE(none.sent());
}

TEST_CASE("append_json_string writes what nlohmann's dump writes, verbatim or escaped") {
  const std::string long_ascii(70'000, 'v');
  const std::vector<std::string> samples = {
      "",
      "plain value 123",
      long_ascii,
      "quote \" and backslash \\",
      std::string("control \x01\n\t\x1f end"),
      "del \x7f",
      "utf-8 \xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80",
      "invalid \xff\xfe utf-8 \xc3",
      std::string("nul \0 inside", 12),
  };
  for (const std::string& text : samples) {
    CAPTURE(text.size());
    std::string out = "prefix:";
    ck::http::append_json_string(out, text);
    const std::string expected =
        "prefix:" +
        nlohmann::json(text).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
    CHECK(out == expected);
  }
}
