#pragma once

// A blocking HTTP/1.1 test client on plain POSIX sockets. Every wait is bounded by poll(), so a
// server bug fails a check instead of hanging the test.

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cctype>
#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <map>
#include <optional>
#include <string>
#include <string_view>

namespace ck::http::test {

using namespace std::chrono_literals;

struct http_reply {
  int status = 0;
  std::map<std::string, std::string> headers;  // names lower-cased
  std::string body;

  std::string header(const std::string& name) const {
    auto i = headers.find(name);
    return i == headers.end() ? std::string{} : i->second;
  }
};

class client {
public:
  explicit client(uint16_t port) {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(port);
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
      ::close(fd_);
      fd_ = -1;
    }
    int one = 1;
    if (fd_ >= 0) {
      ::setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    }
  }

  client(const client&) = delete;
  client& operator=(const client&) = delete;

  ~client() { close(); }

  bool connected() const { return fd_ >= 0; }

  void close() {
    if (fd_ >= 0) {
      ::close(fd_);
      fd_ = -1;
    }
  }

  bool send(std::string_view bytes) {
    while (!bytes.empty()) {
      auto n = ::send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL);
      if (n <= 0) {
        return false;
      }
      bytes.remove_prefix(static_cast<size_t>(n));
    }
    return true;
  }

  // Reads one complete response (Content-Length framed), or nullopt on timeout or close.
  std::optional<http_reply> read_reply(std::chrono::milliseconds timeout = 5s) {
    auto deadline = std::chrono::steady_clock::now() + timeout;
    size_t header_end;
    while ((header_end = buffer_.find("\r\n\r\n")) == std::string::npos) {
      if (!fill(deadline)) {
        return std::nullopt;
      }
    }
    http_reply reply;
    parse_head(std::string_view{buffer_}.substr(0, header_end), reply);
    size_t length = reply.headers.count("content-length") > 0
                      ? std::strtoull(reply.headers["content-length"].c_str(), nullptr, 10)
                      : 0;
    size_t total = header_end + 4 + length;
    while (buffer_.size() < total) {
      if (!fill(deadline)) {
        return std::nullopt;
      }
    }
    reply.body = buffer_.substr(header_end + 4, length);
    buffer_.erase(0, total);
    return reply;
  }

  // True when the server closed the connection (EOF or reset) within `timeout` and sent
  // nothing more before that.
  bool wait_closed(std::chrono::milliseconds timeout = 5s) {
    auto deadline = std::chrono::steady_clock::now() + timeout;
    while (true) {
      auto before = buffer_.size();
      if (!fill(deadline)) {
        return eof_ && buffer_.empty();
      }
      if (buffer_.size() != before) {
        return false;
      }
    }
  }

  // Everything the server sends until it closes the connection (what read_reply left
  // included), or nullopt when it is still open after `timeout`.
  std::optional<std::string> read_until_closed(std::chrono::milliseconds timeout = 5s) {
    auto deadline = std::chrono::steady_clock::now() + timeout;
    while (!eof_) {
      if (!fill(deadline) && !eof_) {
        return std::nullopt;
      }
    }
    std::string all = std::move(buffer_);
    buffer_.clear();
    return all;
  }

  // Reads until `text` arrived and consumes everything up to its end; false on timeout or
  // close.
  bool wait_for_text(std::string_view text, std::chrono::milliseconds timeout = 5s) {
    auto deadline = std::chrono::steady_clock::now() + timeout;
    size_t at;
    while ((at = buffer_.find(text)) == std::string::npos) {
      if (!fill(deadline)) {
        return false;
      }
    }
    buffer_.erase(0, at + text.size());
    return true;
  }

  // True when nothing arrives and the connection stays open for `duration`.
  bool stays_silent(std::chrono::milliseconds duration) {
    auto deadline = std::chrono::steady_clock::now() + duration;
    return !fill(deadline) && !eof_ && buffer_.empty();
  }

private:
  // Appends received bytes; false on timeout, EOF or error.
  bool fill(std::chrono::steady_clock::time_point deadline) {
    if (fd_ < 0 || eof_) {
      return false;
    }
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
      deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) {
      return false;
    }
    pollfd pfd{fd_, POLLIN, 0};
    if (::poll(&pfd, 1, static_cast<int>(left.count())) <= 0) {
      return false;
    }
    char chunk[4096];
    auto n = ::recv(fd_, chunk, sizeof(chunk), 0);
    if (n <= 0) {
      eof_ = true;
      return false;
    }
    buffer_.append(chunk, static_cast<size_t>(n));
    return true;
  }

  static void parse_head(std::string_view head, http_reply& reply) {
    auto line_end = head.find("\r\n");
    auto status_line = head.substr(0, line_end);
    reply.status = std::atoi(std::string{status_line.substr(9, 3)}.c_str());
    while (line_end != std::string_view::npos) {
      head.remove_prefix(line_end + 2);
      line_end = head.find("\r\n");
      auto line = head.substr(0, line_end);
      auto colon = line.find(':');
      if (colon == std::string_view::npos) {
        continue;
      }
      std::string name{line.substr(0, colon)};
      for (auto& c : name) {
        c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      }
      auto value = line.substr(colon + 1);
      while (!value.empty() && value.front() == ' ') {
        value.remove_prefix(1);
      }
      reply.headers[name] = std::string{value};
    }
  }

  int fd_ = -1;
  bool eof_ = false;
  std::string buffer_;
};

inline std::string get(std::string_view target, std::string_view extra_headers = "") {
  return "GET " + std::string{target} + " HTTP/1.1\r\nHost: test\r\n" + std::string{extra_headers}
         + "\r\n";
}

}  // namespace ck::http::test
