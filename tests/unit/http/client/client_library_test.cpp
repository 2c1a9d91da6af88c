// The client library's pure parts: the topology a /cluster answer gives, routing by key, the
// retry decisions (the server's outcome-unknown rules seen from outside), URL encoding.

#include "http/client/kv_client.hpp"
#include "http/client/retry_policy.hpp"
#include "http/client/topology.hpp"

#include <doctest/doctest.h>

using namespace ck::client;

namespace {

// A /cluster answer as the server writes it (docs/api.md), trimmed to 2 of 4 partitions'
// fields that routing reads; node-3 is dead.
const char* cluster_body = R"({
  "cluster": {"partition_map": {"partitions": {
    "partition-0": {"id": "partition-0", "primary_node": "node-2", "replica_nodes": ["node-1", "node-3"]},
    "partition-1": {"id": "partition-1", "primary_node": "", "replica_nodes": ["node-1", "node-2", "node-3"]},
    "partition-2": {"id": "partition-2", "primary_node": "node-3", "replica_nodes": ["node-1", "node-2"]},
    "partition-3": {"id": "partition-3", "primary_node": "node-1", "replica_nodes": ["node-2", "node-3"]}}}},
  "cluster_id": "abc", "leader_id": "node-1", "partition_count": 4, "replication_factor": 3,
  "hash_config": {"algorithm": "md5", "encoding": "big_endian_uint32", "format": "partition-%d", "modulo": 4},
  "nodes": [
    {"id": "node-1", "name": "node-1", "status": "alive", "http_addr": "h1:8080", "kv_addr": "h1:9080", "is_leader": true, "meta_role": "voter", "partitions_hosted": 4, "partitions_led": 1},
    {"id": "node-2", "name": "node-2", "status": "alive", "http_addr": "h2:8080", "kv_addr": "h2:9080", "is_leader": false, "meta_role": "voter"},
    {"id": "node-3", "name": "node-3", "status": "dead", "http_addr": "h3:8080", "kv_addr": "h3:9080", "is_leader": false, "meta_role": "voter"}]
})";

topology parsed(const std::string& body) {
  std::string error;
  auto t = topology::parse(body, error);
  REQUIRE_MESSAGE(t.has_value(), error);
  return *t;
}

}  // namespace

TEST_CASE("topology: a /cluster answer gives nodes, partitions and the leaders' KV addresses") {
  topology t = parsed(cluster_body);
  CHECK(t.cluster_id() == "abc");
  CHECK(t.meta_leader() == "node-1");
  CHECK(t.partition_count() == 4);
  CHECK(t.replication_factor() == 3);
  REQUIRE(t.nodes().size() == 3);
  CHECK(t.nodes()[0].meta_leader);
  CHECK(t.nodes()[0].partitions_hosted == 4);
  REQUIRE(t.partitions().size() == 4);
  CHECK(t.partitions()[0].leader == "node-2");
  CHECK(t.leader_kv_addr(0) == "h2:9080");
  CHECK(t.leader_kv_addr(1).empty());  // no leader
  CHECK(t.leader_kv_addr(2).empty());  // its leader is dead
  CHECK(t.leader_kv_addr(3) == "h1:9080");
  CHECK(t.leader_kv_addr(9).empty());  // no such partition
  CHECK(t.alive_kv_addrs() == std::vector<std::string>{"h1:9080", "h2:9080"});
  CHECK(t.node("node-2") != nullptr);
  CHECK(t.node("node-9") == nullptr);
}

TEST_CASE("topology: keys map to the partitions the server computes (MD5, docs/api.md)") {
  std::string body = cluster_body;
  body.replace(body.find("\"modulo\": 4"), 11, "\"modulo\": 64");
  std::string error;
  // The partition map lists indexes < 64, so the same answer with modulo 64 parses.
  auto t = topology::parse(body, error);
  REQUIRE_MESSAGE(t.has_value(), error);
  CHECK(t->partition_of("user:123") == 48);  // the user guide's example key
}

TEST_CASE("topology: answers routing cannot use are refused with the reason") {
  std::string error;
  CHECK_FALSE(topology::parse("not json", error).has_value());
  CHECK(error.find("not a JSON object") != std::string::npos);
  std::string other_hash = cluster_body;
  other_hash.replace(other_hash.find("\"md5\""), 5, "\"fnv1a\"");
  CHECK_FALSE(topology::parse(other_hash, error).has_value());
  CHECK(error.find("md5") != std::string::npos);
  std::string zero = cluster_body;
  zero.replace(zero.find("\"modulo\": 4"), 11, "\"modulo\": 0");
  CHECK_FALSE(topology::parse(zero, error).has_value());
  CHECK(error.find("modulo") != std::string::npos);
  std::string beyond = cluster_body;
  beyond.replace(beyond.find("\"partition-3\": {"), 16, "\"partition-7\": {");
  CHECK_FALSE(topology::parse(beyond, error).has_value());
  CHECK(error.find("partition-7") != std::string::npos);
  std::string no_kv = cluster_body;
  no_kv.replace(no_kv.find("\"kv_addr\": \"h2:9080\""), 20, "\"kv\": \"h2:9080\"");
  CHECK_FALSE(topology::parse(no_kv, error).has_value());
  CHECK(error.find("kv_addr") != std::string::npos);
}

TEST_CASE("retry policy: what did not happen is retried, a write that may have is not") {
  using R = request_kind;
  // Final answers.
  for (int status : {200, 400, 401, 404, 409, 413, 507}) {
    CHECK(decide(R::write, {status, false}) == next_step::done);
    CHECK(decide(R::read, {status, false}) == next_step::done);
  }
  // 503: no leader / not ready: nothing happened.
  CHECK(decide(R::write, {503, false}) == next_step::retry);
  CHECK(decide(R::read, {503, false}) == next_step::retry);
  // No connection: the request never left.
  CHECK(decide(R::write, {0, false}) == next_step::retry);
  // Sent, no answer; or 500/502/504: a read is repeated, a write is reported unknown.
  CHECK(decide(R::read, {0, true}) == next_step::retry);
  CHECK(decide(R::write, {0, true}) == next_step::unknown);
  for (int status : {500, 502, 504}) {
    CHECK(decide(R::read, {status, false}) == next_step::retry);
    CHECK(decide(R::write, {status, false}) == next_step::unknown);
  }
}

TEST_CASE("parse_endpoints: a comma list as people write it") {
  CHECK(parse_endpoints("a:1,http://b:2/,,c:3") == std::vector<std::string>{"a:1", "b:2", "c:3"});
  CHECK(parse_endpoints("").empty());
}

TEST_CASE("url_encode keeps unreserved characters and escapes the rest") {
  CHECK(url_encode("user-1_a.b~") == "user-1_a.b~");
  CHECK(url_encode("a b&c=d/é") == "a%20b%26c%3Dd%2F%C3%A9");
  CHECK(url_encode("") == "");
}

TEST_CASE("api_error carries the server's code and message, its kind from the status") {
  auto e = api_error({404, R"({"error": "no node ghost", "code": "not_found"})"});
  CHECK(e.kind == error_kind::not_found);
  CHECK(e.code == "not_found");
  CHECK(e.message == "no node ghost");
  CHECK(api_error({409, "{}"}).kind == error_kind::conflict);
  CHECK(api_error({503, "not json"}).kind == error_kind::unavailable);
  CHECK(api_error({503, "not json"}).message == "HTTP 503");
  CHECK(api_error({507, "{}"}).kind == error_kind::storage_full);
  CHECK(api_error({418, "{}"}).kind == error_kind::server);
}
