#pragma once

// host:port, the one parser of node addresses: the settings (HTTP_ADDR, RAFT_ADDR, JOIN_ADDR,
// ...) and the raft addresses members publish in the meta state, which the node dials.
//
// The meta state's own check of addresses in commands (cluster::is_valid_address) is kept
// apart on purpose: it is part of what replicated log entries mean, so it must never change
// with this parser. A unit test holds that it accepts every address this parser produces.
//
// Header-only: the config layer (no runtime library) and the actors use it alike.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace ck::runtime {

// A listen or dial address. An empty host means all interfaces (":8080"); an IPv6 host is
// stored without brackets ("::1") and printed with them ("[::1]:8080").
// Invariant (when produced by parse_host_port): 1 <= port <= 65535 and host is empty or
// valid_host(host).
struct host_port {
  std::string host;
  uint16_t port = 0;

  // "host:port", ":port" for all interfaces, "[v6]:port" for an IPv6 host. parse_host_port()
  // of the result gives back an equal value.
  std::string to_string() const {
    const bool ipv6 = host.find(':') != std::string::npos;
    return (ipv6 ? "[" + host + "]" : host) + ":" + std::to_string(port);
  }

  friend bool operator==(const host_port& a, const host_port& b) {
    return a.host == b.host && a.port == b.port;
  }
  friend bool operator!=(const host_port& a, const host_port& b) { return !(a == b); }
};

namespace detail {

constexpr std::size_t host_name_bytes_max = 253;  // DNS limit for a full name
constexpr std::size_t ipv6_text_bytes_max = 45;   // "ffff:...:255.255.255.255"

inline bool is_digit(char ch) { return ch >= '0' && ch <= '9'; }
inline bool is_hex(char ch) {
  return is_digit(ch) || (ch >= 'a' && ch <= 'f') || (ch >= 'A' && ch <= 'F');
}

}  // namespace detail

// The node id alphabet is also the host name alphabet: both end up in URLs and file names.
inline bool is_name_char(char ch) {
  return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || detail::is_digit(ch) ||
         ch == '.' || ch == '_' || ch == '-';
}

// A host name or IPv4 literal ([A-Za-z0-9._-], 1..253 bytes), or an IPv6 literal without
// brackets (hex digits, ':' and '.', containing ':', 2..45 bytes).
inline bool valid_host(std::string_view host) {
  if (host.find(':') != std::string_view::npos) {
    if (host.size() < 2 || host.size() > detail::ipv6_text_bytes_max) {
      return false;
    }
    for (char ch : host) {
      if (!detail::is_hex(ch) && ch != ':' && ch != '.') {
        return false;
      }
    }
    return true;
  }
  if (host.empty() || host.size() > detail::host_name_bytes_max) {
    return false;
  }
  for (char ch : host) {
    if (!is_name_char(ch)) {
      return false;
    }
  }
  return true;
}

// 1..65535 written as 1..5 decimal digits; nullopt otherwise.
inline std::optional<uint16_t> parse_port(std::string_view text) {
  if (text.empty() || text.size() > 5) {
    return std::nullopt;
  }
  uint32_t value = 0;
  for (char ch : text) {
    if (!detail::is_digit(ch)) {
      return std::nullopt;
    }
    value = value * 10 + static_cast<uint32_t>(ch - '0');
  }
  if (value == 0 || value > 65535) {
    return std::nullopt;
  }
  return static_cast<uint16_t>(value);
}

// Parses ":8080", "node4:9001", "10.0.0.1:80", "[::1]:8080". Returns nullopt for an empty text,
// a missing port ("host"), a port outside 1..65535 ("host:0", "host:99999"), an unbracketed
// IPv6 address ("::1:80"), or a host with characters outside [A-Za-z0-9._-].
inline std::optional<host_port> parse_host_port(std::string_view text) {
  std::string_view host;
  std::string_view port;
  if (!text.empty() && text.front() == '[') {
    // "[v6]:port": brackets are the only unambiguous way to put a port after an IPv6 address.
    const std::size_t close = text.find(']');
    if (close == std::string_view::npos || close + 1 >= text.size() || text[close + 1] != ':') {
      return std::nullopt;
    }
    host = text.substr(1, close - 1);
    port = text.substr(close + 2);
    if (host.find(':') == std::string_view::npos) {
      return std::nullopt;  // brackets are for IPv6 only
    }
  } else {
    const std::size_t colon = text.rfind(':');
    if (colon == std::string_view::npos) {
      return std::nullopt;
    }
    host = text.substr(0, colon);
    port = text.substr(colon + 1);
    if (host.find(':') != std::string_view::npos) {
      return std::nullopt;  // "::1:80" is ambiguous without brackets
    }
  }
  if (!host.empty() && !valid_host(host)) {
    return std::nullopt;
  }
  std::optional<uint16_t> port_number = parse_port(port);
  if (!port_number) {
    return std::nullopt;
  }
  return host_port{std::string(host), *port_number};
}

}  // namespace ck::runtime
