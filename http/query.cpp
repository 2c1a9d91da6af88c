#include "http/query.hpp"

namespace ck::http {
namespace {

// Returns the value of a hex digit, or -1.
int hex_value(char c) {
  if (c >= '0' && c <= '9') {
    return c - '0';
  }
  if (c >= 'a' && c <= 'f') {
    return c - 'a' + 10;
  }
  if (c >= 'A' && c <= 'F') {
    return c - 'A' + 10;
  }
  return -1;
}

}  // namespace

std::optional<std::string> percent_decode(std::string_view text, plus_is plus) {
  std::string out;
  out.reserve(text.size());
  for (size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    if (c == '+' && plus == plus_is::space) {
      out += ' ';
    } else if (c != '%') {
      out += c;
    } else {
      if (text.size() - i < 3) {
        return std::nullopt;
      }
      int high = hex_value(text[i + 1]);
      int low = hex_value(text[i + 2]);
      if (high < 0 || low < 0) {
        return std::nullopt;
      }
      out += static_cast<char>(high * 16 + low);
      i += 2;
    }
  }
  return out;
}

std::optional<query_pairs> parse_query(std::string_view query) {
  query_pairs pairs;
  while (!query.empty()) {
    auto amp = query.find('&');
    auto piece = query.substr(0, amp);
    query = amp == std::string_view::npos ? std::string_view{} : query.substr(amp + 1);
    if (piece.empty()) {
      continue;
    }
    auto eq = piece.find('=');
    auto name = percent_decode(piece.substr(0, eq), plus_is::space);
    auto value = percent_decode(
      eq == std::string_view::npos ? std::string_view{} : piece.substr(eq + 1), plus_is::space);
    if (!name || !value) {
      return std::nullopt;
    }
    pairs.emplace_back(std::move(*name), std::move(*value));
  }
  return pairs;
}

}  // namespace ck::http
