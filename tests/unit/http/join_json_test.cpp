// The POST /join wire format both ways. Goal: what a joiner writes the server reads back
// unchanged, every bad body is a 400 sentence naming the offending field, and the joiner accepts
// exactly the replies that can carry it into the meta group. Method: round trips plus one body per
// refusal, each a valid body with one thing broken.

#include "http/api/join_json.hpp"

#include "runtime/cluster/meta_state.hpp"

#include <doctest/doctest.h>
#include <nlohmann/json.hpp>

#include <string>

using namespace ck;
using namespace ck::http::api;
using nlohmann::json;

namespace {

actors::join_request sample_request() {
  actors::join_request req;
  req.id = "node-2";
  req.name = "second node";
  req.raft_addr = "10.0.0.2:7000";
  req.http_addr = "10.0.0.2:8080";
  req.kv_addr = "10.0.0.2:9090";
  req.services = {{"kv", "10.0.0.2:9090"}, {"metrics", "10.0.0.2:9100"}};
  return req;
}

json sample_body() { return json::parse(join_body(sample_request())); }

// Parses `body` and returns the error sentence ("" when accepted).
std::string parse_error(const json& body) {
  actors::join_request out;
  return parse_join_body(body.dump(), out);
}

bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

actors::join_reply sample_reply() {
  actors::join_reply reply;
  reply.outcome = "joined";
  reply.raft_id = 2;
  reply.cluster_id = "c-1f2e";
  reply.cluster_name = "prod";
  reply.partition_count = 64;
  reply.replication_factor = 3;
  reply.members = {{"node-1", 1, "10.0.0.1:7000"}, {"node-2", 2, "10.0.0.2:7000"}};
  return reply;
}

}  // namespace

TEST_CASE("join body: a valid request survives join_body then parse_join_body") {
  const auto req = sample_request();
  actors::join_request out;
  REQUIRE(parse_join_body(join_body(req), out) == "");
  CHECK(out.id == req.id);
  CHECK(out.name == req.name);
  CHECK(out.raft_addr == req.raft_addr);
  CHECK(out.http_addr == req.http_addr);
  CHECK(out.kv_addr == req.kv_addr);
  CHECK(out.services == req.services);
}

TEST_CASE("join body: the wire shape is the one API.md names") {
  const auto body = sample_body();
  CHECK(body.size() == 2);
  CHECK(body.at("raft_addr") == "10.0.0.2:7000");
  CHECK(body.at("node").at("id") == "node-2");
  CHECK(body.at("node").at("services").at("metrics") == "10.0.0.2:9100");
}

TEST_CASE("join body: name defaults to the id and kv_addr is added as service kv") {
  auto body = sample_body();
  body["node"].erase("name");
  body["node"].erase("services");
  actors::join_request out;
  REQUIRE(parse_join_body(body.dump(), out) == "");
  CHECK(out.name == "node-2");
  CHECK(out.services == std::map<std::string, std::string>{{"kv", "10.0.0.2:9090"}});

  body["node"]["services"] = {{"metrics", "10.0.0.2:9100"}};
  REQUIRE(parse_join_body(body.dump(), out) == "");
  CHECK(out.services.size() == 2);
  CHECK(out.services.at("kv") == "10.0.0.2:9090");
}

TEST_CASE("join body: a body that is not a JSON object is refused") {
  actors::join_request out;
  CHECK(contains(parse_join_body("{\"node\": ", out), "not valid JSON"));
  CHECK(contains(parse_join_body("", out), "not valid JSON"));
  CHECK(contains(parse_join_body("[1, 2]", out), "must be a JSON object"));
  CHECK(contains(parse_join_body("\"node\"", out), "must be a JSON object"));
}

TEST_CASE("join body: a missing node, raft_addr, id, http_addr or kv_addr is named") {
  auto body = sample_body();
  body.erase("node");
  CHECK(parse_error(body) == "missing field \"node\"");
  body = sample_body();
  body.erase("raft_addr");
  CHECK(parse_error(body) == "missing field \"raft_addr\"");
  for (const char* field : {"id", "http_addr", "kv_addr"}) {
    body = sample_body();
    body["node"].erase(field);
    CHECK(parse_error(body) == std::string{"missing field \"node."} + field + "\"");
  }
}

TEST_CASE("join body: unknown fields are refused by name, at top level and inside node") {
  auto body = sample_body();
  body["raft_address"] = "10.0.0.2:7000";
  CHECK(parse_error(body) == "unknown field \"raft_address\"");
  body = sample_body();
  body["node"]["zone"] = "eu-1";
  CHECK(parse_error(body) == "unknown field \"node.zone\"");
  body = sample_body();
  body["node"][std::string(200, 'x')] = 1;
  const auto error = parse_error(body);
  CHECK(contains(error, "unknown field \"node.xxx"));
  CHECK(error.size() < 100);
}

TEST_CASE("join body: wrong types are named") {
  auto body = sample_body();
  body["node"] = "node-2";
  CHECK(contains(parse_error(body), "\"node\" must be an object"));
  body = sample_body();
  body["raft_addr"] = 7000;
  CHECK(contains(parse_error(body), "\"raft_addr\" must be a string"));
  body = sample_body();
  body["node"]["id"] = 2;
  CHECK(contains(parse_error(body), "\"node.id\" must be a string"));
  body = sample_body();
  body["node"]["name"] = nullptr;
  CHECK(contains(parse_error(body), "\"node.name\" must be a string"));
  body = sample_body();
  body["node"]["services"] = json::array({"kv"});
  CHECK(contains(parse_error(body), "\"node.services\" must be an object"));
  body = sample_body();
  body["node"]["services"]["metrics"] = 9100;
  CHECK(parse_error(body) == "node.services.\"metrics\" must be a string");
}

TEST_CASE("join body: a node id outside [A-Za-z0-9._-]{1,64} is refused") {
  auto body = sample_body();
  body["node"]["id"] = "node 2";
  CHECK(contains(parse_error(body), "node.id has illegal characters"));
  body["node"]["id"] = "node/2";
  CHECK(contains(parse_error(body), "node.id has illegal characters"));
  body["node"]["id"] = "";
  CHECK(contains(parse_error(body), "node.id must not be empty"));
  body["node"]["id"] = std::string(65, 'a');
  CHECK(contains(parse_error(body), "node.id must be at most 64 bytes"));
  body["node"]["id"] = std::string(64, 'a');
  CHECK(parse_error(body) == "");
}

TEST_CASE("join body: addresses must be host:port with a port in 1..65535") {
  const char* bad[] = {"10.0.0.2", "10.0.0.2:0", "10.0.0.2:65536", ":7000", "10.0.0.2:x", ""};
  for (const char* address : bad) {
    CAPTURE(address);
    auto body = sample_body();
    body["raft_addr"] = address;
    CHECK(contains(parse_error(body), "raft_addr must be host:port"));
    body = sample_body();
    body["node"]["http_addr"] = address;
    CHECK(contains(parse_error(body), "node.http_addr must be host:port"));
    body = sample_body();
    body["node"]["kv_addr"] = address;
    CHECK(contains(parse_error(body), "node.kv_addr must be host:port"));
    body = sample_body();
    body["node"]["services"]["metrics"] = address;
    CHECK(contains(parse_error(body), "node.services.\"metrics\" must be host:port"));
  }
}

TEST_CASE("join body: a name too long or too many services is refused") {
  auto body = sample_body();
  body["node"]["name"] = std::string(cluster::node_name_bytes_max, 'n');
  CHECK(parse_error(body) == "");
  body["node"]["name"] = std::string(cluster::node_name_bytes_max + 1, 'n');
  CHECK(contains(parse_error(body), "node.name must be at most 128 bytes"));

  body = sample_body();
  json services = json::object();
  for (size_t i = 0; i < cluster::services_max; ++i) {
    services["s" + std::to_string(i)] = "10.0.0.2:9000";
  }
  body["node"]["services"] = services;  // 64 without kv: kv would make 65
  CHECK(contains(parse_error(body), "node.services must have at most 64 entries"));
  services["s" + std::to_string(cluster::services_max)] = "10.0.0.2:9000";
  body["node"]["services"] = services;
  CHECK(contains(parse_error(body), "node.services must have at most 64 entries"));
  body["node"]["services"] = {{"", "10.0.0.2:9000"}};
  CHECK(contains(parse_error(body), "node.services names must be 1..64 bytes"));
}

TEST_CASE("join reply: join_reply_json then parse_join_reply gives the reply back") {
  const auto reply = sample_reply();
  const auto body = join_reply_json("node-2", reply);
  CHECK(body.at("success") == true);
  CHECK(body.at("node_id") == "node-2");
  CHECK(body.at("name") == "prod");
  CHECK(body.at("members").size() == 2);
  actors::join_reply out;
  REQUIRE(parse_join_reply(body.dump(), out) == "");
  CHECK(out.outcome == reply.outcome);
  CHECK(out.raft_id == reply.raft_id);
  CHECK(out.cluster_id == reply.cluster_id);
  CHECK(out.cluster_name == reply.cluster_name);
  CHECK(out.partition_count == reply.partition_count);
  CHECK(out.replication_factor == reply.replication_factor);
  REQUIRE(out.members.size() == 2);
  CHECK(out.members[1].id == "node-2");
  CHECK(out.members[1].raft_id == 2);
  CHECK(out.members[1].raft_addr == "10.0.0.2:7000");
}

TEST_CASE("join reply: unknown fields are ignored") {
  auto body = join_reply_json("node-2", sample_reply());
  body["leader_id"] = "node-1";
  actors::join_reply out;
  CHECK(parse_join_reply(body.dump(), out) == "");
}

TEST_CASE("join reply: a reply that cannot carry the joiner in is refused with the reason") {
  const auto good = join_reply_json("node-2", sample_reply());
  auto check_bad = [](const json& body, const std::string& expected) {
    actors::join_reply out;
    const auto error = parse_join_reply(body.dump(), out);
    CHECK_MESSAGE(contains(error, expected), error);
  };
  actors::join_reply out;
  CHECK(contains(parse_join_reply("<html>", out), "not valid JSON"));
  CHECK(contains(parse_join_reply("[]", out), "must be a JSON object"));
  for (const char* field : {"outcome", "raft_id", "cluster_id", "name", "partition_count",
                            "replication_factor", "members"}) {
    auto body = good;
    body.erase(field);
    check_bad(body, std::string{"missing field \""} + field + "\"");
  }
  auto body = good;
  body["success"] = false;
  check_bad(body, "\"success\": true");
  body = good;
  body["raft_id"] = 0;
  check_bad(body, "\"raft_id\" is 0");
  body = good;
  body["raft_id"] = -3;
  check_bad(body, "\"raft_id\" must be a non-negative integer");
  body = good;
  body["cluster_id"] = "";
  check_bad(body, "\"cluster_id\" is empty");
  body = good;
  body["partition_count"] = "64";
  check_bad(body, "\"partition_count\" must be a non-negative integer");
  body = good;
  body["replication_factor"] = uint64_t{1} << 32;
  check_bad(body, "\"replication_factor\" is too large");
  body = good;
  body["members"] = json::object();
  check_bad(body, "\"members\" must be an array");
  body = good;
  body["members"][0].erase("raft_addr");
  check_bad(body, "member: missing field \"members[].raft_addr\"");
  body = good;
  body["members"][0]["raft_id"] = 0;
  check_bad(body, "raft_id 0");
}
