// Routing by method and exact path, and the 404/405 answers the API contract requires.

#include "http/router.hpp"

#include <doctest/doctest.h>
#include <nlohmann/json.hpp>

#include <string>

using namespace ck::http;

namespace {

handler tagged(std::string tag, std::string& last) {
  return [tag, &last](caf::io::broker*, request&, responder reply) {
    last = tag;
    reply.send(response::json(200, nlohmann::json{{"tag", tag}}));
  };
}

}  // namespace

TEST_CASE("router: a registered method and exact path find their handler") {
  std::string last;
  router routes;
  routes.add("GET", "/kv/get", tagged("get", last)).add("POST", "/kv/set", tagged("set", last));
  routes.add("DELETE", "/kv/delete", tagged("delete", last));
  routes.add("POST", "/kv/delete", tagged("post-delete", last));
  auto found = routes.route("POST", "/kv/delete");
  REQUIRE(found.target != nullptr);
  CHECK_FALSE(found.rejection.has_value());
  request req;
  (*found.target)(nullptr, req, responder{});
  CHECK(last == "post-delete");
}

TEST_CASE("router: an unknown path is 404 with the path in the message") {
  router routes;
  auto found = routes.route("GET", "/x");
  CHECK(found.target == nullptr);
  REQUIRE(found.rejection.has_value());
  CHECK(found.rejection->status == 404);
  CHECK(nlohmann::json::parse(found.rejection->body)
        == nlohmann::json{{"error", "not found: /x"}, {"code", "not_found"}});
}

TEST_CASE("router: paths match exactly, without prefix or trailing-slash matching") {
  std::string last;
  router routes;
  routes.add("GET", "/kv", tagged("kv", last));
  CHECK(routes.route("GET", "/kv/").rejection->status == 404);
  CHECK(routes.route("GET", "/kv/get").rejection->status == 404);
  CHECK(routes.route("GET", "/KV").rejection->status == 404);
}

TEST_CASE("router: a known path with another method is 405 with Allow in registration order") {
  std::string last;
  router routes;
  routes.add("POST", "/kv/delete", tagged("post", last));
  routes.add("DELETE", "/kv/delete", tagged("delete", last));
  auto found = routes.route("GET", "/kv/delete");
  CHECK(found.target == nullptr);
  REQUIRE(found.rejection.has_value());
  CHECK(found.rejection->status == 405);
  CHECK(found.rejection->header("Allow") == std::string_view{"POST, DELETE"});
  CHECK(routes.allowed_methods("/kv/delete") == std::vector<std::string>{"POST", "DELETE"});
  CHECK(routes.allowed_methods("/nope").empty());
}

TEST_CASE("router: HEAD is not implied by GET") {
  std::string last;
  router routes;
  routes.add("GET", "/health", tagged("health", last));
  auto found = routes.route("HEAD", "/health");
  REQUIRE(found.rejection.has_value());
  CHECK(found.rejection->status == 405);
  CHECK(found.rejection->header("Allow") == std::string_view{"GET"});
}
