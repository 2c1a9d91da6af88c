#include "http/request_parser.hpp"

#include "http/detail/ascii.hpp"
#include "http/query.hpp"

#include <http_parser.h>

#include <utility>

namespace ck::http {
namespace {

// Bytes counted per header line beyond its name and value (": " and CRLF), so the header limit
// approximates the bytes on the wire.
constexpr size_t header_line_overhead_bytes = 4;

// RFC 9110 5.6.2: a field name is a token. http-parser lets other bytes through (a space
// before the colon among them), and "Transfer-Encoding : chunked" must not slip past the
// checks below as an unknown header while http-parser de-chunks it (request smuggling).
bool is_token_char(char c) {
  if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) {
    return true;
  }
  switch (c) {
    case '!': case '#': case '$': case '%': case '&': case '\'': case '*': case '+': case '-':
    case '.': case '^': case '_': case '`': case '|': case '~':
      return true;
    default:
      return false;
  }
}

bool is_token(std::string_view name) {
  if (name.empty()) {
    return false;
  }
  for (char c : name) {
    if (!is_token_char(c)) {
      return false;
    }
  }
  return true;
}

parse_error make_error(int status, std::string code, std::string message) {
  return parse_error{status, std::move(code), std::move(message)};
}

}  // namespace

struct request_parser::impl {
  explicit impl(parser_limits limits_in) : limits(limits_in) {
    http_parser_init(&parser, HTTP_REQUEST);
    parser.data = this;
    http_parser_settings_init(&settings);
    settings.on_message_begin = &on_message_begin;
    settings.on_url = &on_url;
    settings.on_header_field = &on_header_field;
    settings.on_header_value = &on_header_value;
    settings.on_headers_complete = &on_headers_complete;
    settings.on_body = &on_body;
    settings.on_message_complete = &on_message_complete;
  }

  parser_limits limits;
  http_parser parser{};
  http_parser_settings settings{};
  request current;
  bool in_request = false;
  bool header_value_last = false;  // the previous callback was a header value
  size_t header_bytes = 0;
  uint64_t next_sequence = 0;
  bool continue_expected = false;
  bool done = false;
  std::optional<parse_error> error;  // set by a callback that rejected the request
  // For telling an obs-fold continuation line from a value split across reads: the buffer
  // being parsed and the last byte of the one before.
  const char* buffer_begin = nullptr;
  char previous_buffer_last = 0;
  std::vector<request>* output = nullptr;

  static impl& self(http_parser* p) { return *static_cast<impl*>(p->data); }

  // Returns false (and records 431) once the header section grows past the limit.
  bool count_header_bytes(size_t n) {
    header_bytes += n;
    if (header_bytes > limits.header_bytes_max) {
      error = make_error(431, "headers_too_large",
                         "header section exceeds " + std::to_string(limits.header_bytes_max)
                           + " bytes");
      return false;
    }
    return true;
  }

  static int on_message_begin(http_parser* p) {
    auto& s = self(p);
    s.current = request{};
    s.in_request = true;
    s.header_value_last = false;
    s.header_bytes = 0;
    return 0;
  }

  static int on_url(http_parser* p, const char* at, size_t n) {
    auto& s = self(p);
    s.current.target.append(at, n);
    return s.count_header_bytes(n) ? 0 : -1;
  }

  static int on_header_field(http_parser* p, const char* at, size_t n) {
    auto& s = self(p);
    if (s.header_value_last || s.current.headers.empty()) {
      s.current.headers.emplace_back();
      s.header_value_last = false;
      if (!s.count_header_bytes(header_line_overhead_bytes)) {
        return -1;
      }
    }
    s.current.headers.back().first.append(at, n);
    return s.count_header_bytes(n) ? 0 : -1;
  }

  static int on_header_value(http_parser* p, const char* at, size_t n) {
    auto& s = self(p);
    // http-parser joins an obs-fold line ("X: a\r\n b") to the value; RFC 9112 5.2 lets a
    // server reject it with 400, which we do: folded values hide header boundaries.
    if (n > 0 && (at[0] == ' ' || at[0] == '\t')) {
      const char before = at > s.buffer_begin ? at[-1] : s.previous_buffer_last;
      if (before == '\n') {
        s.error = make_error(400, "bad_request", "obsolete line folding in a header");
        return -1;
      }
    }
    s.header_value_last = true;
    s.current.headers.back().second.append(at, n);
    return s.count_header_bytes(n) ? 0 : -1;
  }

  static int on_headers_complete(http_parser* p) {
    auto& s = self(p);
    s.finish_headers();
    if (auto rejected = s.check_headers()) {
      s.error = std::move(rejected);
      return -1;
    }
    return 0;
  }

  static int on_body(http_parser* p, const char* at, size_t n) {
    auto& s = self(p);
    s.current.body.append(at, n);
    return 0;
  }

  static int on_message_complete(http_parser* p) {
    auto& s = self(p);
    s.current.keep_alive = s.current.keep_alive && http_should_keep_alive(p) != 0;
    s.current.sequence = s.next_sequence++;
    s.in_request = false;
    s.output->push_back(std::move(s.current));
    s.current = request{};
    // Pausing makes http_parser_execute return right after this request, so the caller knows
    // exactly which bytes belong to it and can stop at `requests_max`.
    http_parser_pause(p, 1);
    return 0;
  }

  void finish_headers() {
    for (auto& [name, value] : current.headers) {
      detail::lower_in_place(name);
      auto trimmed = detail::trim_spaces(value);
      if (trimmed.size() != value.size()) {
        value = std::string{trimmed};
      }
    }
    current.method = http_method_str(static_cast<http_method>(parser.method));
    current.keep_alive = http_should_keep_alive(&parser) != 0;
  }

  std::optional<parse_error> check_headers();
  std::optional<parse_error> split_target();
};

std::optional<parse_error> request_parser::impl::check_headers() {
  // http-parser also accepts HTTP/0.9 request lines and any major version.
  if (parser.http_major != 1 || parser.http_minor > 1) {
    return make_error(505, "http_version_not_supported", "only HTTP/1.0 and HTTP/1.1 are served");
  }
  size_t hosts = 0;
  for (const auto& [name, value] : current.headers) {
    if (!is_token(name)) {
      return make_error(400, "bad_request", "invalid header name (RFC 9110 allows no spaces "
                                            "or separators in it)");
    }
    hosts += name == "host" ? 1 : 0;
  }
  // RFC 9112 3.2: an HTTP/1.1 request has exactly one Host, an HTTP/1.0 one at most one.
  if (hosts > 1 || (hosts == 0 && parser.http_minor == 1)) {
    return make_error(400, "bad_request", "an HTTP/1.1 request needs exactly one Host header");
  }
  if (current.header("transfer-encoding")) {
    return make_error(411, "length_required",
                      "request bodies need Content-Length; Transfer-Encoding is not supported");
  }
  bool has_length = (parser.flags & F_CONTENTLENGTH) != 0;
  if (has_length && parser.content_length > limits.body_bytes_max) {
    return make_error(413, "body_too_large",
                      "request body of " + std::to_string(parser.content_length)
                        + " bytes exceeds " + std::to_string(limits.body_bytes_max));
  }
  if (auto bad_target = split_target()) {
    return bad_target;
  }
  if (has_length && parser.content_length > 0) {
    auto expect = current.header("expect");
    continue_expected = expect && detail::equals_ignoring_case(*expect, "100-continue");
    current.body.reserve(static_cast<size_t>(parser.content_length));
  }
  return std::nullopt;
}

std::optional<parse_error> request_parser::impl::split_target() {
  http_parser_url url;
  http_parser_url_init(&url);
  const auto& target = current.target;
  if (http_parser_parse_url(target.data(), target.size(), 0, &url) != 0) {
    return make_error(400, "bad_request", "malformed request target");
  }
  auto field = [&](int which) {
    if ((url.field_set & (1u << which)) == 0) {
      return std::string_view{};
    }
    return std::string_view{target}.substr(url.field_data[which].off, url.field_data[which].len);
  };
  auto path = percent_decode(field(UF_PATH), plus_is::literal);
  auto query = parse_query(field(UF_QUERY));
  if (!path || !query) {
    return make_error(400, "bad_request", "invalid percent-encoding in request target");
  }
  if (!path->empty() && path->front() != '/') {
    // Only origin-form ("/p?q") and absolute-form ("http://h/p") name a resource here; the
    // asterisk-form of OPTIONS and the like are not served (found by fuzz_http_request).
    return make_error(400, "bad_request", "the request target must be a path starting with /");
  }
  current.path = path->empty() ? std::string{"/"} : std::move(*path);
  current.query = std::move(*query);
  return std::nullopt;
}

request_parser::request_parser(parser_limits limits) : impl_(std::make_unique<impl>(limits)) {
}

request_parser::~request_parser() = default;

namespace {

parse_error error_for(http_errno code) {
  if (code == HPE_HEADER_OVERFLOW) {
    return make_error(431, "headers_too_large", "header section too large");
  }
  if (code == HPE_INVALID_TRANSFER_ENCODING) {
    return make_error(411, "length_required", "unsupported Transfer-Encoding");
  }
  return make_error(400, "bad_request",
                    std::string{"malformed request: "} + http_errno_description(code));
}

}  // namespace

parse_result request_parser::feed(std::string_view bytes, size_t requests_max) {
  parse_result result;
  if (impl_->done) {
    result.consumed_bytes = bytes.size();
    return result;
  }
  impl_->output = &result.requests;
  while (result.consumed_bytes < bytes.size() && result.requests.size() < requests_max) {
    auto rest = bytes.substr(result.consumed_bytes);
    impl_->buffer_begin = rest.data();
    auto used = http_parser_execute(&impl_->parser, &impl_->settings, rest.data(), rest.size());
    if (used > 0) {
      impl_->previous_buffer_last = rest[used - 1];
    }
    result.consumed_bytes += used;
    auto code = static_cast<http_errno>(impl_->parser.http_errno);
    if (code == HPE_PAUSED) {
      http_parser_pause(&impl_->parser, 0);
      if (!result.requests.back().keep_alive || impl_->parser.upgrade != 0) {
        // Nothing after a closing request (or a protocol switch we do not support) is HTTP
        // we will answer.
        result.requests.back().keep_alive = false;
        impl_->done = true;
        result.consumed_bytes = bytes.size();
        break;
      }
      continue;
    }
    if (code != HPE_OK) {
      result.error = impl_->error ? std::move(*impl_->error) : error_for(code);
      impl_->done = true;
      result.consumed_bytes = bytes.size();
      break;
    }
    if (used < rest.size()) {
      // http-parser stops early without an error only for an upgrade; treat it like above.
      impl_->done = true;
      result.consumed_bytes = bytes.size();
      break;
    }
  }
  impl_->output = nullptr;
  return result;
}

bool request_parser::take_continue_expected() {
  return std::exchange(impl_->continue_expected, false);
}

bool request_parser::done() const {
  return impl_->done;
}

bool request_parser::in_request() const {
  return impl_->in_request;
}

}  // namespace ck::http
