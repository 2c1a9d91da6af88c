#include "http/api/api_context.hpp"

namespace ck::http::api {

bool bearer_token_matches(const request& req, std::string_view token) {
  constexpr std::string_view scheme = "Bearer ";
  auto header = req.header("authorization");
  if (!header || header->size() != scheme.size() + token.size() ||
      header->substr(0, scheme.size()) != scheme) {
    return false;
  }
  // Constant time over the token's length, so timing does not reveal a matching prefix.
  unsigned char difference = 0;
  const auto presented = header->substr(scheme.size());
  for (size_t i = 0; i < token.size(); ++i) {
    difference |= static_cast<unsigned char>(presented[i] ^ token[i]);
  }
  return difference == 0;
}

response unauthorized_response() {
  auto rsp = response::error(401, "unauthorized",
                             "this endpoint needs an \"Authorization: Bearer <token>\" header "
                             "with the cluster's token");
  rsp.headers.emplace_back("WWW-Authenticate", "Bearer");
  return rsp;
}

}  // namespace ck::http::api
