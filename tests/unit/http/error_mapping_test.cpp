// How actor errors become HTTP answers (http/api/error_mapping.hpp): the status of each error
// code, the {error, code} body, and exactly one Retry-After on a 503.

#include "http/api/error_mapping.hpp"

#include "actors/errc.hpp"

#include <caf/error.hpp>
#include <caf/make_message.hpp>
#include <doctest/doctest.h>

#include <string>

using namespace ck;

namespace {

int count_headers(const http::response& res, const std::string& name) {
  int n = 0;
  for (const auto& [key, value] : res.headers) {
    n += key == name ? 1 : 0;
  }
  return n;
}

}  // namespace

TEST_CASE("error mapping: no leader is a 503 with one Retry-After and the error's message") {
  const auto res = http::api::error_response(
      caf::make_error(errc::no_leader, std::string("partition 3 has no leader")));
  CHECK(res.status == 503);
  CHECK(count_headers(res, "Retry-After") == 1);
  CHECK(res.body.find("partition 3 has no leader") != std::string::npos);
  CHECK(res.body.find("\"code\"") != std::string::npos);
}

TEST_CASE("error mapping: a client error carries no Retry-After") {
  const auto res = http::api::error_response(
      caf::make_error(errc::invalid_argument, std::string("bad key")));
  CHECK(res.status == 400);
  CHECK(count_headers(res, "Retry-After") == 0);
}
