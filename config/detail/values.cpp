#include "config/detail/values.hpp"

#include <array>
#include <charconv>

namespace ck::config::detail {
namespace {

constexpr std::size_t node_id_bytes_max = 64;

bool is_blank(char ch) { return ch == ' ' || ch == '\t' || ch == '\r' || ch == '\n'; }
bool is_digit(char ch) { return ch >= '0' && ch <= '9'; }

char lower(char ch) { return (ch >= 'A' && ch <= 'Z') ? static_cast<char>(ch - 'A' + 'a') : ch; }

bool equals_ignoring_case(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) {
    return false;
  }
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (lower(a[i]) != lower(b[i])) {
      return false;
    }
  }
  return true;
}

// The multiplier of a size suffix, 0 when the suffix is unknown.
uint64_t size_unit(std::string_view suffix) {
  struct unit {
    std::string_view name;
    uint64_t bytes;
  };
  static constexpr std::array<unit, 10> units{{{"", 1},
                                               {"b", 1},
                                               {"k", kib},
                                               {"kib", kib},
                                               {"m", mib},
                                               {"mib", mib},
                                               {"g", gib},
                                               {"gib", gib},
                                               {"t", tib},
                                               {"tib", tib}}};
  for (const unit& u : units) {
    if (equals_ignoring_case(suffix, u.name)) {
      return u.bytes;
    }
  }
  return 0;
}

}  // namespace

std::string_view trim(std::string_view text) {
  while (!text.empty() && is_blank(text.front())) {
    text.remove_prefix(1);
  }
  while (!text.empty() && is_blank(text.back())) {
    text.remove_suffix(1);
  }
  return text;
}

std::optional<bool> parse_bool(std::string_view text) {
  text = trim(text);
  for (std::string_view yes : {"true", "1", "yes"}) {
    if (equals_ignoring_case(text, yes)) {
      return true;
    }
  }
  for (std::string_view no : {"false", "0", "no"}) {
    if (equals_ignoring_case(text, no)) {
      return false;
    }
  }
  return std::nullopt;
}

std::optional<uint64_t> parse_uint(std::string_view text, uint64_t max) {
  text = trim(text);
  if (text.empty() || !is_digit(text.front())) {
    return std::nullopt;  // from_chars would accept nothing else, but say why: no sign, no blank
  }
  uint64_t value = 0;
  const char* end = text.data() + text.size();
  auto [stop, error] = std::from_chars(text.data(), end, value);
  if (error != std::errc() || stop != end || value > max) {
    return std::nullopt;
  }
  return value;
}

std::optional<uint64_t> parse_size(std::string_view text, uint64_t max) {
  text = trim(text);
  std::size_t digits = 0;
  while (digits < text.size() && is_digit(text[digits])) {
    ++digits;
  }
  const uint64_t unit = size_unit(trim(text.substr(digits)));
  std::optional<uint64_t> count = parse_uint(text.substr(0, digits), UINT64_MAX);
  if (unit == 0 || !count || *count > max / unit) {
    return std::nullopt;
  }
  return *count * unit;
}

std::string format_size(uint64_t bytes) {
  struct unit {
    const char* name;
    uint64_t bytes;
  };
  static constexpr std::array<unit, 4> units{
      {{"TiB", tib}, {"GiB", gib}, {"MiB", mib}, {"KiB", kib}}};
  for (const unit& u : units) {
    if (bytes != 0 && bytes % u.bytes == 0) {
      return std::to_string(bytes / u.bytes) + u.name;
    }
  }
  return std::to_string(bytes);
}

bool is_wildcard_host(std::string_view host) {
  return host.empty() || host == "0.0.0.0" || host == "::";
}

std::optional<std::vector<host_port>> parse_host_port_list(std::string_view text,
                                                           std::string& bad_entry) {
  std::vector<host_port> list;
  while (!text.empty()) {
    const std::size_t comma = text.find(',');
    const std::string_view entry = trim(text.substr(0, comma));
    text = comma == std::string_view::npos ? std::string_view() : text.substr(comma + 1);
    if (entry.empty()) {
      continue;  // "a:1," and "a:1, ,b:2" come from hand-edited compose files; harmless
    }
    std::optional<host_port> address = parse_host_port(entry);
    if (!address) {
      bad_entry = std::string(entry);
      return std::nullopt;
    }
    list.push_back(std::move(*address));
  }
  return list;
}

std::string format_host_port_list(const std::vector<host_port>& list) {
  std::string text;
  for (const host_port& address : list) {
    text += (text.empty() ? "" : ",") + address.to_string();
  }
  return text;
}

std::string quote(std::string_view text) {
  static constexpr char hex_digits[] = "0123456789abcdef";
  std::string out = "\"";
  for (std::size_t i = 0; i < text.size() && i < quote_bytes_max; ++i) {
    const auto byte = static_cast<unsigned char>(text[i]);
    if (byte == '"' || byte == '\\') {
      out += '\\';
      out += static_cast<char>(byte);
    } else if (byte < 0x20 || byte == 0x7f) {
      out += "\\x";
      out += hex_digits[byte >> 4];
      out += hex_digits[byte & 0xf];
    } else {
      out += static_cast<char>(byte);
    }
  }
  out += text.size() > quote_bytes_max ? "...\"" : "\"";
  return out;
}

bool valid_node_id(std::string_view id) {
  if (id.empty() || id.size() > node_id_bytes_max) {
    return false;
  }
  for (char ch : id) {
    if (!runtime::is_name_char(ch)) {
      return false;
    }
  }
  return true;
}

}  // namespace ck::config::detail

