#include "http/api/params.hpp"

#include <charconv>

namespace ck::http::api {

std::variant<std::string, response> required_param(const request& req, std::string_view name) {
  auto value = req.query_param(name);
  if (!value) {
    return response::error(400, "missing_parameter",
                           "query parameter \"" + std::string{name} + "\" is required");
  }
  return std::string{*value};
}

std::variant<uint32_t, response> uint_param(const request& req, std::string_view name,
                                            uint32_t fallback, uint32_t min, uint32_t max) {
  auto text = req.query_param(name);
  if (!text) {
    return fallback;
  }
  uint32_t value = 0;
  const char* end = text->data() + text->size();
  auto [ptr, ec] = std::from_chars(text->data(), end, value);
  if (text->empty() || ec != std::errc{} || ptr != end || value < min || value > max) {
    return response::error(400, "invalid_parameter",
                           "query parameter \"" + std::string{name} + "\" must be an integer in " +
                               std::to_string(min) + ".." + std::to_string(max));
  }
  return value;
}

}  // namespace ck::http::api
