#include "http/client.hpp"

#include "http/detail/ascii.hpp"

#include <http_parser.h>

#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <climits>
#include <cstring>
#include <exception>
#include <memory>

namespace ck::http {
namespace {

using clock_type = std::chrono::steady_clock;

// Bytes read per recv; the response grows in steps of at most this much.
constexpr size_t client_read_bytes = 64 * 1024;

// Closes the socket on every path out of `call`.
class socket_guard {
 public:
  explicit socket_guard(int fd) : fd_(fd) {}
  socket_guard(const socket_guard&) = delete;
  socket_guard& operator=(const socket_guard&) = delete;
  ~socket_guard() {
    if (fd_ >= 0) {
      ::close(fd_);
    }
  }
  int get() const { return fd_; }
  int release() {
    const int fd = fd_;
    fd_ = -1;
    return fd;
  }

 private:
  int fd_;
};

struct addrinfo_deleter {
  void operator()(addrinfo* list) const { ::freeaddrinfo(list); }
};
using addrinfo_list = std::unique_ptr<addrinfo, addrinfo_deleter>;

// Everything one call needs to word its errors and bound its waits.
struct call_context {
  std::string peer;  // "host:port" as the caller named it
  clock_type::time_point deadline;
  std::chrono::milliseconds timeout;

  std::string timed_out(const char* stage) const {
    return "timed out after " + std::to_string(timeout.count()) + " ms (" + stage + " " + peer +
           ")";
  }
};

std::string errno_text(int error) { return std::strerror(error); }

// Waits until `fd` has one of `events` or the deadline passes. Returns 1 when ready, 0 on
// timeout, -1 with errno set on a poll error.
int call_wait(int fd, short events, clock_type::time_point deadline) {
  for (;;) {
    const auto now = clock_type::now();
    if (now >= deadline) {
      return 0;
    }
    const auto left = std::chrono::ceil<std::chrono::milliseconds>(deadline - now).count();
    pollfd entry{fd, events, 0};
    const int rc = ::poll(&entry, 1, static_cast<int>(std::min<int64_t>(left, INT_MAX)));
    if (rc < 0 && errno == EINTR) {
      continue;
    }
    return rc > 0 ? 1 : rc;
  }
}

bool has_line_break(const std::string& text) {
  return text.find_first_of("\r\n") != std::string::npos;
}

// Returns "" when the request can be written as given, else why not.
std::string call_check_request(const std::string& method, const std::string& target,
                               const std::vector<std::pair<std::string, std::string>>& headers) {
  if (method.empty() || method.find_first_of(" \t\r\n") != std::string::npos) {
    return "invalid method '" + method + "'";
  }
  if (target.empty() || target.find_first_of(" \t\r\n") != std::string::npos) {
    return "invalid request target";
  }
  for (const auto& [name, value] : headers) {
    if (name.empty() || name.find_first_of(" \t:\r\n") != std::string::npos ||
        has_line_break(value)) {
      return "invalid request header '" + name + "'";
    }
    if (detail::equals_ignoring_case(name, "content-length") ||
        detail::equals_ignoring_case(name, "transfer-encoding") ||
        detail::equals_ignoring_case(name, "connection")) {
      return "request header '" + name + "' is set by the client itself";
    }
  }
  return "";
}

std::string call_format_request(const std::string& host, uint16_t port, const std::string& method,
                                const std::string& target, const std::string& body,
                                const std::vector<std::pair<std::string, std::string>>& headers) {
  std::string out;
  out.reserve(256 + body.size());
  out += method + " " + target + " HTTP/1.1\r\n";
  const bool host_given = std::any_of(headers.begin(), headers.end(), [](const auto& header) {
    return detail::equals_ignoring_case(header.first, "host");
  });
  if (!host_given) {
    const bool ipv6 = host.find(':') != std::string::npos;
    out += "Host: " + (ipv6 ? "[" + host + "]" : host) + ":" + std::to_string(port) + "\r\n";
  }
  for (const auto& [name, value] : headers) {
    out += name + ": " + value + "\r\n";
  }
  out += "Connection: close\r\n";
  if (!body.empty() || method == "POST" || method == "PUT" || method == "PATCH") {
    out += "Content-Length: " + std::to_string(body.size()) + "\r\n";
  }
  out += "\r\n";
  out += body;
  return out;
}

std::string call_connect_error(const call_context& context, int code) {
  return "connect to " + context.peer +
         (code == ECONNREFUSED ? std::string{" refused"} : ": " + errno_text(code));
}

// Connects a non-blocking socket to one address. Returns the socket, or -1 with `error` set.
int call_connect_one(const addrinfo& address, const call_context& context, std::string& error) {
  const int fd = ::socket(address.ai_family, address.ai_socktype | SOCK_CLOEXEC | SOCK_NONBLOCK,
                          address.ai_protocol);
  if (fd < 0) {
    error = "socket: " + errno_text(errno);
    return -1;
  }
  socket_guard guard{fd};
  if (::connect(fd, address.ai_addr, address.ai_addrlen) != 0) {
    if (errno != EINPROGRESS) {
      error = call_connect_error(context, errno);
      return -1;
    }
    const int ready = call_wait(fd, POLLOUT, context.deadline);
    if (ready <= 0) {
      error = ready == 0 ? context.timed_out("connecting to") : "poll: " + errno_text(errno);
      return -1;
    }
    int code = 0;
    socklen_t length = sizeof(code);
    if (::getsockopt(fd, SOL_SOCKET, SO_ERROR, &code, &length) != 0) {
      code = errno;
    }
    if (code != 0) {
      error = call_connect_error(context, code);
      return -1;
    }
  }
  return guard.release();
}

// Resolves the host and connects to the first address that answers. Returns the socket, or -1
// with `error` set to the last address's failure.
int call_connect(const std::string& host, uint16_t port, const call_context& context,
                 std::string& error) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_NUMERICSERV;
  addrinfo* raw = nullptr;
  const int rc = ::getaddrinfo(host.c_str(), std::to_string(port).c_str(), &hints, &raw);
  if (rc != 0) {
    error = "cannot resolve " + host + ": " + ::gai_strerror(rc);
    return -1;
  }
  const addrinfo_list list{raw};
  error = "no address for " + host;
  for (const addrinfo* address = list.get(); address != nullptr; address = address->ai_next) {
    const int fd = call_connect_one(*address, context, error);
    if (fd >= 0) {
      return fd;
    }
    if (clock_type::now() >= context.deadline) {
      break;
    }
  }
  return -1;
}

// Writes all of `data`. Returns "" or the error.
std::string call_send(int fd, const std::string& data, const call_context& context) {
  size_t sent = 0;
  while (sent < data.size()) {
    const ssize_t n = ::send(fd, data.data() + sent, data.size() - sent, MSG_NOSIGNAL);
    if (n > 0) {
      sent += static_cast<size_t>(n);
      continue;
    }
    if (n < 0 && errno == EINTR) {
      continue;
    }
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      const int ready = call_wait(fd, POLLOUT, context.deadline);
      if (ready == 0) {
        return context.timed_out("sending to");
      }
      if (ready < 0) {
        return "poll: " + errno_text(errno);
      }
      continue;
    }
    return "send to " + context.peer + ": " + errno_text(n < 0 ? errno : EPIPE);
  }
  return "";
}

// Collects one response from http-parser callbacks (HTTP_RESPONSE mode).
struct response_reader {
  explicit response_reader(bool head_request) : head(head_request) {
    http_parser_init(&parser, HTTP_RESPONSE);
    parser.data = this;
    http_parser_settings_init(&settings);
    settings.on_headers_complete = &on_headers_complete;
    settings.on_body = &on_body;
    settings.on_message_complete = &on_message_complete;
  }

  http_parser parser{};
  http_parser_settings settings{};
  bool head;          // a response to HEAD has no body whatever its headers say
  bool done = false;  // a final response is complete
  bool too_large = false;
  client_response response;

  static response_reader& self(http_parser* p) { return *static_cast<response_reader*>(p->data); }

  static int on_headers_complete(http_parser* p) {
    auto& s = self(p);
    // A declared length above the cap fails now instead of after 64 MiB arrive. http-parser
    // sets F_CONTENTLENGTH only for a Content-Length header (and refuses it beside chunked).
    const bool declared = (p->flags & F_CONTENTLENGTH) != 0;
    if (!s.head && declared && p->content_length > client_body_bytes_max) {
      s.too_large = true;
      return -1;
    }
    // Returning 1 tells http-parser the message has no body.
    return s.head ? 1 : 0;
  }

  static int on_body(http_parser* p, const char* at, size_t n) {
    auto& s = self(p);
    if (n > client_body_bytes_max - s.response.body.size()) {
      s.too_large = true;
      return -1;
    }
    s.response.body.append(at, n);
    return 0;
  }

  static int on_message_complete(http_parser* p) {
    auto& s = self(p);
    const auto status = static_cast<int>(p->status_code);
    if (status >= 100 && status < 200 && status != 101) {
      s.response.body.clear();  // an interim response (100 Continue): the real one follows
      return 0;
    }
    s.response.status = status;
    s.done = true;
    http_parser_pause(p, 1);
    return 0;
  }

  // Feeds received bytes (n == 0 means the peer closed). Returns "" or the error.
  std::string feed(const char* data, size_t n, const std::string& peer) {
    const size_t used = http_parser_execute(&parser, &settings, data, n);
    const auto code = static_cast<http_errno>(parser.http_errno);
    if (done) {
      return "";
    }
    if (too_large) {
      return "response body from " + peer + " exceeds " + std::to_string(client_body_bytes_max) +
             " bytes";
    }
    if (n == 0) {  // http-parser reports an early close as HPE_INVALID_EOF_STATE
      return "connection to " + peer + " closed before the response was complete";
    }
    if (code != HPE_OK || used != n) {
      return "malformed response from " + peer + ": " + http_errno_description(code);
    }
    return "";
  }
};

// Reads until one complete response. Returns "" with `reader.done`, or the error.
std::string call_receive(int fd, response_reader& reader, const call_context& context) {
  std::array<char, client_read_bytes> buffer{};
  while (!reader.done) {
    const int ready = call_wait(fd, POLLIN, context.deadline);
    if (ready == 0) {
      return context.timed_out("waiting for the response from");
    }
    if (ready < 0) {
      return "poll: " + errno_text(errno);
    }
    const ssize_t n = ::recv(fd, buffer.data(), buffer.size(), 0);
    if (n < 0) {
      if (errno == EINTR || errno == EAGAIN || errno == EWOULDBLOCK) {
        continue;
      }
      return "receive from " + context.peer + ": " + errno_text(errno);
    }
    auto error = reader.feed(buffer.data(), static_cast<size_t>(n), context.peer);
    if (!error.empty()) {
      return error;
    }
  }
  return "";
}

client_result call_failed(std::string error) {
  client_result result;
  result.error = std::move(error);
  return result;
}

client_result call_unchecked(const std::string& host, uint16_t port, const std::string& method,
                             const std::string& target, const std::string& body,
                             std::chrono::milliseconds timeout,
                             const std::vector<std::pair<std::string, std::string>>& headers) {
  auto error = call_check_request(method, target, headers);
  if (!error.empty() || has_line_break(host)) {
    return call_failed(error.empty() ? "invalid host" : error);
  }
  call_context context;
  const bool ipv6 = host.find(':') != std::string::npos;
  context.peer = (ipv6 ? "[" + host + "]" : host) + ":" + std::to_string(port);
  context.timeout = std::max(timeout, std::chrono::milliseconds{0});
  context.deadline = clock_type::now() + context.timeout;

  const int fd = call_connect(host, port, context, error);
  if (fd < 0) {
    return call_failed(std::move(error));
  }
  const socket_guard guard{fd};
  error = call_send(fd, call_format_request(host, port, method, target, body, headers), context);
  if (!error.empty()) {
    return call_failed(std::move(error));
  }
  response_reader reader{method == "HEAD"};
  error = call_receive(fd, reader, context);
  if (!error.empty()) {
    return call_failed(std::move(error));
  }
  client_result result;
  result.ok = true;
  result.response = std::move(reader.response);
  return result;
}

}  // namespace

client_result call(const std::string& host, uint16_t port, const std::string& method,
                   const std::string& target, const std::string& body,
                   std::chrono::milliseconds timeout,
                   const std::vector<std::pair<std::string, std::string>>& headers) {
  try {
    return call_unchecked(host, port, method, target, body, timeout, headers);
  } catch (const std::exception& e) {
    return call_failed(std::string{"request to "} + host + " failed: " + e.what());
  } catch (...) {
    return call_failed("request to " + host + " failed");
  }
}

}  // namespace ck::http
