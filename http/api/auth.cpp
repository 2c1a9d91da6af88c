#include "http/api/api_context.hpp"
#include "http/detail/ascii.hpp"

#include <algorithm>

namespace ck::http::api {

bool bearer_token_matches(const request& req, std::string_view token) {
  // RFC 9110 11.1: the scheme is case-insensitive ("bearer", "BEARER") and is separated from
  // the credentials by one or more spaces.
  constexpr std::string_view scheme = "Bearer";
  auto header = req.header("authorization");
  if (!header || header->size() <= scheme.size() ||
      !detail::equals_ignoring_case(header->substr(0, scheme.size()), scheme) ||
      (*header)[scheme.size()] != ' ') {
    return false;
  }
  auto presented = header->substr(scheme.size());
  presented.remove_prefix(std::min(presented.find_first_not_of(' '), presented.size()));
  if (presented.size() != token.size()) {
    return false;
  }
  // Constant time over the token's length, so timing does not reveal a matching prefix.
  unsigned char difference = 0;
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

bool refused_without_token(const request& req, accepted_tokens tokens, responder& reply) {
  if (tokens.current.empty() || bearer_token_matches(req, tokens.current) ||
      (!tokens.previous.empty() && bearer_token_matches(req, tokens.previous))) {
    return false;
  }
  reply.send(unauthorized_response());
  return true;
}

}  // namespace ck::http::api
