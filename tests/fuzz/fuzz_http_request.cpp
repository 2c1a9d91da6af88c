// libFuzzer target: the HTTP/1.1 request parser (http/request_parser), which reads bytes
// straight off client sockets. The first input byte picks where the rest is split in two
// feeds (requests arrive in arbitrary TCP segments). Checks, besides the sanitizers: the
// parser never reports more bytes consumed than it was given, never more requests than
// allowed, and a request it returns respects the limits it was built with.

#include "http/request_parser.hpp"

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

namespace {

void check(bool ok) {
  if (!ok) {
    std::abort();
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) {
    return 0;
  }
  const ck::http::parser_limits limits{/*header_bytes_max=*/1024, /*body_bytes_max=*/4096};
  const size_t requests_max = 1 + data[0] % 8;
  std::string_view input{reinterpret_cast<const char*>(data) + 1, size - 1};
  const size_t split = input.empty() ? 0 : data[0] % (input.size() + 1);
  ck::http::request_parser parser{limits};
  for (std::string_view part : {input.substr(0, split), input.substr(split)}) {
    while (!part.empty()) {
      auto result = parser.feed(part, requests_max);
      check(result.consumed_bytes <= part.size());
      check(result.requests.size() <= requests_max);
      for (const auto& req : result.requests) {
        check(req.body.size() <= limits.body_bytes_max);
        check(!req.method.empty());
        check(!req.path.empty() && req.path.front() == '/');
      }
      if (result.error) {
        check(result.error->status >= 400 && result.error->status < 600);
        check(parser.done());
      }
      if (result.consumed_bytes == 0) {
        break;  // waits for more input than there is, or done
      }
      part.remove_prefix(result.consumed_bytes);
    }
  }
  return 0;
}
