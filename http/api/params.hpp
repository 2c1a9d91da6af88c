#pragma once

// Query-parameter helpers shared by the API handlers: each returns the value or the error
// response to send.

#include "http/request.hpp"
#include "http/response.hpp"

#include <cstdint>
#include <string>
#include <string_view>
#include <variant>

namespace ck::http::api {

/// The parameter's decoded value; 400 missing_parameter when absent.
std::variant<std::string, response> required_param(const request& req, std::string_view name);

/// An unsigned integer parameter in [min, max], `fallback` when absent; 400 otherwise.
std::variant<uint32_t, response> uint_param(const request& req, std::string_view name,
                                            uint32_t fallback, uint32_t min, uint32_t max);

}  // namespace ck::http::api
