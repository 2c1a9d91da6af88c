#include "http/request.hpp"

#include "http/detail/ascii.hpp"

namespace ck::http {

std::optional<std::string_view> request::query_param(std::string_view name) const {
  for (const auto& [key, value] : query) {
    if (key == name) {
      return std::string_view{value};
    }
  }
  return std::nullopt;
}

std::optional<std::string_view> request::header(std::string_view name) const {
  for (const auto& [key, value] : headers) {
    if (detail::equals_ignoring_case(key, name)) {
      return std::string_view{value};
    }
  }
  return std::nullopt;
}

}  // namespace ck::http
