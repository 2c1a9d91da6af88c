#pragma once

// Appending one string as a JSON string literal, fast for the common case. nlohmann::json's
// dump() validates UTF-8 and decides escaping byte by byte; for a 64 KiB value that was a
// quarter of a node's CPU under a GET load. Printable ASCII without '"' or '\' (most keys and
// values) is copied as it is; anything else goes through nlohmann::json, so the output is
// always exactly what dump() with error_handler_t::replace would give.

#include <string>
#include <string_view>

namespace ck::http {

/// Appends `text` to `out` as a quoted JSON string (invalid UTF-8 replaced by U+FFFD).
void append_json_string(std::string& out, std::string_view text);

}  // namespace ck::http
