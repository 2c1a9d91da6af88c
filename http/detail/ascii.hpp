#pragma once

// Locale-independent ASCII helpers for header names and values (HTTP field names are ASCII and
// compare case-insensitively; std::tolower alone depends on the global locale and on signedness).

#include <string>
#include <string_view>

namespace ck::http::detail {

constexpr char to_lower_ascii(char c) {
  return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
}

constexpr bool equals_ignoring_case(std::string_view lhs, std::string_view rhs) {
  if (lhs.size() != rhs.size()) {
    return false;
  }
  for (size_t i = 0; i < lhs.size(); ++i) {
    if (to_lower_ascii(lhs[i]) != to_lower_ascii(rhs[i])) {
      return false;
    }
  }
  return true;
}

inline void lower_in_place(std::string& text) {
  for (auto& c : text) {
    c = to_lower_ascii(c);
  }
}

// Strips spaces and horizontal tabs (the only whitespace HTTP allows around field values).
inline std::string_view trim_spaces(std::string_view text) {
  while (!text.empty() && (text.front() == ' ' || text.front() == '\t')) {
    text.remove_prefix(1);
  }
  while (!text.empty() && (text.back() == ' ' || text.back() == '\t')) {
    text.remove_suffix(1);
  }
  return text;
}

}  // namespace ck::http::detail
