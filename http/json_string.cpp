#include "http/json_string.hpp"

#include <nlohmann/json.hpp>

#include <algorithm>

namespace ck::http {

namespace {

bool copies_verbatim(unsigned char c) { return c >= 0x20 && c < 0x7f && c != '"' && c != '\\'; }

}  // namespace

void append_json_string(std::string& out, std::string_view text) {
  if (std::all_of(text.begin(), text.end(),
                  [](char c) { return copies_verbatim(static_cast<unsigned char>(c)); })) {
    out.reserve(out.size() + text.size() + 2);
    out.push_back('"');
    out.append(text);
    out.push_back('"');
    return;
  }
  out += nlohmann::json(text).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

}  // namespace ck::http
