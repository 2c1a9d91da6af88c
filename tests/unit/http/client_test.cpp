// The blocking client against a canned server: a thread on 127.0.0.1 that accepts one
// connection, records the request bytes, answers fixed bytes (or nothing) and closes. Goal: the
// client sends the request it was asked to, reads Content-Length, chunked and until-close
// bodies, and turns refusal, silence, garbage and truncation into one-line errors within the
// timeout. Every wait in the server is bounded by poll, so a client bug fails instead of hanging.

#include "http/client.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <doctest/doctest.h>

#include <atomic>
#include <chrono>
#include <string>
#include <thread>

using namespace ck::http;
using namespace std::chrono_literals;

namespace {

// How long the canned server waits for any one event before giving up.
constexpr int canned_wait_ms = 5000;

// Serves one connection with fixed bytes. `reply` is written once the request (headers plus
// Content-Length bytes) has arrived; with `silent` nothing is written and the connection stays
// open until the client closes it or the destructor runs.
class canned_server {
 public:
  explicit canned_server(std::string reply, bool silent = false)
      : reply_(std::move(reply)), silent_(silent) {
    listener_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    REQUIRE(::bind(listener_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0);
    REQUIRE(::listen(listener_, 4) == 0);
    socklen_t length = sizeof(addr);
    REQUIRE(::getsockname(listener_, reinterpret_cast<sockaddr*>(&addr), &length) == 0);
    port_ = ntohs(addr.sin_port);
    thread_ = std::thread([this] { serve(); });
  }

  canned_server(const canned_server&) = delete;
  canned_server& operator=(const canned_server&) = delete;

  ~canned_server() {
    stop();
    ::close(listener_);
  }

  uint16_t port() const { return port_; }

  // The request bytes as received; call after the client returned (joins the server first).
  std::string request() {
    stop();
    return request_;
  }

 private:
  void stop() {
    stop_ = true;
    if (thread_.joinable()) {
      thread_.join();
    }
  }

  bool wait_readable(int fd) {
    for (int waited_ms = 0; waited_ms < canned_wait_ms && !stop_; waited_ms += 50) {
      pollfd entry{fd, POLLIN, 0};
      if (::poll(&entry, 1, 50) > 0) {
        return true;
      }
    }
    return false;
  }

  // True once the headers and as many body bytes as Content-Length says have arrived.
  bool request_complete() const {
    const auto end = request_.find("\r\n\r\n");
    if (end == std::string::npos) {
      return false;
    }
    size_t body_bytes = 0;
    const auto at = request_.find("Content-Length: ");
    if (at != std::string::npos && at < end) {
      body_bytes = std::stoul(request_.substr(at + 16));
    }
    return request_.size() >= end + 4 + body_bytes;
  }

  void serve() {
    if (!wait_readable(listener_)) {
      return;
    }
    const int fd = ::accept(listener_, nullptr, nullptr);
    char buffer[4096];
    while (!request_complete() && wait_readable(fd)) {
      const ssize_t n = ::recv(fd, buffer, sizeof(buffer), 0);
      if (n <= 0) {
        break;
      }
      request_.append(buffer, static_cast<size_t>(n));
    }
    if (silent_) {
      while (wait_readable(fd) && ::recv(fd, buffer, sizeof(buffer), 0) > 0) {
      }
    } else {
      (void)::send(fd, reply_.data(), reply_.size(), MSG_NOSIGNAL);
    }
    ::close(fd);
  }

  std::string reply_;
  bool silent_;
  int listener_ = -1;
  uint16_t port_ = 0;
  std::atomic<bool> stop_{false};
  std::string request_;
  std::thread thread_;
};

// A loopback port with nothing listening: bound, then closed.
uint16_t closed_port() {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  REQUIRE(::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0);
  socklen_t length = sizeof(addr);
  REQUIRE(::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &length) == 0);
  ::close(fd);
  return ntohs(addr.sin_port);
}

bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

}  // namespace

TEST_CASE("client: a 200 with a Content-Length body is returned whole") {
  canned_server server{"HTTP/1.1 200 OK\r\nContent-Length: 11\r\n\r\nhello world"};
  const auto result = call("127.0.0.1", server.port(), "GET", "/health", "", 2000ms);
  CHECK_MESSAGE(result.ok, result.error);
  CHECK(result.error.empty());
  CHECK(result.response.status == 200);
  CHECK(result.response.body == "hello world");
}

TEST_CASE("client: a chunked body is decoded") {
  canned_server server{
      "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
      "5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n"};
  const auto result = call("127.0.0.1", server.port(), "GET", "/x", "", 2000ms);
  CHECK_MESSAGE(result.ok, result.error);
  CHECK(result.response.body == "hello world");
}

TEST_CASE("client: a body without length ends when the server closes") {
  canned_server server{"HTTP/1.1 503 Service Unavailable\r\n\r\nnot ready"};
  const auto result = call("localhost", server.port(), "GET", "/ready", "", 2000ms);
  CHECK_MESSAGE(result.ok, result.error);
  CHECK(result.response.status == 503);
  CHECK(result.response.body == "not ready");
}

TEST_CASE("client: an interim 100 Continue is skipped for the final response") {
  canned_server server{
      "HTTP/1.1 100 Continue\r\n\r\n"
      "HTTP/1.1 404 Not Found\r\nContent-Length: 2\r\n\r\n{}"};
  const auto result = call("127.0.0.1", server.port(), "GET", "/nope", "", 2000ms);
  CHECK_MESSAGE(result.ok, result.error);
  CHECK(result.response.status == 404);
  CHECK(result.response.body == "{}");
}

TEST_CASE("client: the request line, headers and body reach the server as given") {
  canned_server server{"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"};
  const std::string body = R"({"node": {"id": "n2"}, "raft_addr": "127.0.0.1:7002"})";
  const auto result = call("127.0.0.1", server.port(), "POST", "/join?x=1", body, 2000ms,
                           {{"Content-Type", "application/json"}, {"Authorization", "Bearer t0k"}});
  CHECK_MESSAGE(result.ok, result.error);
  CHECK(result.response.status == 200);
  CHECK(result.response.body.empty());
  const auto request = server.request();
  CHECK(request.rfind("POST /join?x=1 HTTP/1.1\r\n", 0) == 0);
  CHECK(contains(request, "\r\nHost: 127.0.0.1:" + std::to_string(server.port()) + "\r\n"));
  CHECK(contains(request, "\r\nConnection: close\r\n"));
  CHECK(contains(request, "\r\nContent-Type: application/json\r\n"));
  CHECK(contains(request, "\r\nAuthorization: Bearer t0k\r\n"));
  CHECK(contains(request, "\r\nContent-Length: " + std::to_string(body.size()) + "\r\n"));
  CHECK(request.substr(request.find("\r\n\r\n") + 4) == body);
}

TEST_CASE("client: a refused connection is an error at once") {
  const auto port = closed_port();
  const auto start = std::chrono::steady_clock::now();
  const auto result = call("127.0.0.1", port, "GET", "/health", "", 2000ms);
  const auto elapsed = std::chrono::steady_clock::now() - start;
  CHECK_FALSE(result.ok);
  CHECK(result.error == "connect to 127.0.0.1:" + std::to_string(port) + " refused");
  CHECK(elapsed < 1s);
}

TEST_CASE("client: a server that never answers times out within the timeout") {
  canned_server server{"", true};
  const auto start = std::chrono::steady_clock::now();
  const auto result = call("127.0.0.1", server.port(), "GET", "/health", "", 300ms);
  const auto elapsed = std::chrono::steady_clock::now() - start;
  CHECK_FALSE(result.ok);
  CHECK_MESSAGE(contains(result.error, "timed out after 300 ms"), result.error);
  CHECK(elapsed >= 300ms);
  CHECK(elapsed < 800ms);
  CHECK(result.response.status == 0);
}

TEST_CASE("client: a garbage response is an error") {
  canned_server server{"SSH-2.0-OpenSSH_9.0\r\n\r\n"};
  const auto result = call("127.0.0.1", server.port(), "GET", "/", "", 2000ms);
  CHECK_FALSE(result.ok);
  CHECK_MESSAGE(contains(result.error, "malformed response"), result.error);
  CHECK(result.error.find('\n') == std::string::npos);
}

TEST_CASE("client: a response cut off before its body ends is an error") {
  canned_server server{"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nonly this"};
  const auto result = call("127.0.0.1", server.port(), "GET", "/", "", 2000ms);
  CHECK_FALSE(result.ok);
  CHECK_MESSAGE(contains(result.error, "closed before the response was complete"), result.error);
}

TEST_CASE("client: a declared body above 64 MiB is an error before it arrives") {
  canned_server server{"HTTP/1.1 200 OK\r\nContent-Length: 67108865\r\n\r\nxyz"};
  const auto result = call("127.0.0.1", server.port(), "GET", "/", "", 2000ms);
  CHECK_FALSE(result.ok);
  CHECK_MESSAGE(contains(result.error, "exceeds 67108864 bytes"), result.error);
}

TEST_CASE("client: a line break in a header or the target is refused without connecting") {
  const auto port = closed_port();
  auto result = call("127.0.0.1", port, "GET", "/", "", 500ms, {{"X-A", "v\r\nX-B: w"}});
  CHECK_FALSE(result.ok);
  CHECK(contains(result.error, "invalid request header"));
  result = call("127.0.0.1", port, "GET", "/a b", "", 500ms);
  CHECK_FALSE(result.ok);
  CHECK(contains(result.error, "invalid request target"));
  result = call("127.0.0.1", port, "GET", "/", "", 500ms, {{"Content-Length", "3"}});
  CHECK_FALSE(result.ok);
  CHECK(contains(result.error, "set by the client itself"));
}

TEST_CASE("client: an unresolvable host is an error naming it") {
  const auto result = call("no-such-host.invalid", 80, "GET", "/", "", 2000ms);
  CHECK_FALSE(result.ok);
  CHECK(contains(result.error, "cannot resolve no-such-host.invalid"));
}
