// libFuzzer target: the JSON of POST /join (http/api/join_json), which any client of the
// cluster API may send, and of its reply, which a joining node reads from whoever it was
// pointed at. Besides the sanitizers: a body that parses writes back (join_body) to a body
// that parses to the same request.

#include "http/api/join_json.hpp"

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view body{reinterpret_cast<const char*>(data), size};
  ck::actors::join_request request;
  if (ck::http::api::parse_join_body(body, request).empty()) {
    ck::actors::join_request again;
    if (!ck::http::api::parse_join_body(ck::http::api::join_body(request), again).empty() ||
        ck::http::api::join_body(again) != ck::http::api::join_body(request)) {
      std::abort();
    }
  }
  ck::actors::join_reply reply;
  (void)ck::http::api::parse_join_reply(body, reply);
  return 0;
}
