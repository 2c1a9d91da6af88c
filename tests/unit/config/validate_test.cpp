// validate(): each rule rejects its bad value and names exactly the setting at fault.
// Method: start from a valid config, break one field, check the message names that setting's
// environment variable and YAML key and quotes the bad value.

#include <doctest/doctest.h>

#include "config/node_config.hpp"
#include "tests/unit/config/config_test_support.hpp"

namespace ck::config {
namespace {

using test::valid_config;

// The message validate() gives `c`, which must name `setting` ("ENV (key)").
std::string rejected(const node_config& c, std::string_view setting) {
  const std::string message = validate(c);
  INFO(message);
  CHECK(message.rfind("invalid setting " + std::string(setting) + ": ", 0) == 0);
  CHECK(message.find('\n') == std::string::npos);
  return message;
}

TEST_CASE("validate: the defaults with the derived settings filled pass") {
  CHECK(validate(valid_config()) == "");
}

TEST_CASE("validate: node.id is required and must match [A-Za-z0-9._-]{1,64}") {
  node_config c = valid_config();
  c.node_id = "";
  rejected(c, "NODE_ID (node.id)");
  c.node_id = "bad id!";
  CHECK(rejected(c, "NODE_ID (node.id)") ==
        "invalid setting NODE_ID (node.id): \"bad id!\" must match [A-Za-z0-9._-]{1,64}");
  c.node_id = std::string(65, 'a');
  rejected(c, "NODE_ID (node.id)");
  c.node_id = std::string(64, 'a');
  CHECK(validate(c) == "");
  c.node_id = "Node_1.a-b";
  CHECK(validate(c) == "");
}

TEST_CASE("validate: node.name must be 1..128 bytes") {
  node_config c = valid_config();
  c.node_name = std::string(129, 'n');
  rejected(c, "NODE_NAME (node.name)");
  c.node_name = std::string(128, 'n');
  CHECK(validate(c) == "");
}

TEST_CASE("validate: advertise_host must be a host name or IP address") {
  node_config c = valid_config();
  c.advertise_host = "bad host";
  rejected(c, "ADVERTISE_HOST (node.advertise_host)");
  c.advertise_host = "";
  rejected(c, "ADVERTISE_HOST (node.advertise_host)");
}

TEST_CASE("validate: a listen address needs a port in 1..65535 and a valid host") {
  node_config c = valid_config();
  c.kv_addr.port = 0;
  rejected(c, "KV_ADDR (kv.addr)");
  c = valid_config();
  c.raft_addr.host = "bad/host";
  rejected(c, "RAFT_ADDR (raft.addr)");
}

TEST_CASE("validate: listen addresses may not share a port on the same or a wildcard host") {
  node_config c = valid_config();
  c.kv_addr = {"", 8080};
  CHECK(rejected(c, "KV_ADDR (kv.addr)") ==
        "invalid setting KV_ADDR (kv.addr): \":8080\" must not use the same port as HTTP_ADDR "
        "(http.addr) \":8080\"");
  c.kv_addr = {"127.0.0.1", 8080};
  rejected(c, "KV_ADDR (kv.addr)");
  c.http_addr = {"10.0.0.1", 8080};
  CHECK(validate(c) == "");  // different hosts, neither a wildcard
  c = valid_config();
  c.raft_addr = {"0.0.0.0", 9080};
  rejected(c, "RAFT_ADDR (raft.addr)");
}

TEST_CASE("validate: partitions must be in 1..4096") {
  node_config c = valid_config();
  c.partitions = 0;
  CHECK(rejected(c, "PARTITIONS (cluster.partitions)") ==
        "invalid setting PARTITIONS (cluster.partitions): \"0\" must be in 1..4096");
  c.partitions = 4097;
  rejected(c, "PARTITIONS (cluster.partitions)");
  c.partitions = 4096;
  CHECK(validate(c) == "");
}

TEST_CASE("validate: replication_factor must be in 1..7") {
  node_config c = valid_config();
  c.replication_factor = 0;
  rejected(c, "REPLICATION_FACTOR (cluster.replication_factor)");
  c.replication_factor = 8;
  rejected(c, "REPLICATION_FACTOR (cluster.replication_factor)");
  c.replication_factor = 7;
  CHECK(validate(c) == "");
}

TEST_CASE("validate: meta_voters_max must be in 1..7") {
  node_config c = valid_config();
  c.membership.meta_voters_max = 0;
  CHECK(rejected(c, "META_VOTERS_MAX (cluster.meta_voters_max)") ==
        "invalid setting META_VOTERS_MAX (cluster.meta_voters_max): \"0\" must be in 1..7");
  c.membership.meta_voters_max = 8;
  rejected(c, "META_VOTERS_MAX (cluster.meta_voters_max)");
  c.membership.meta_voters_max = 1;
  CHECK(validate(c) == "");
  c.membership.meta_voters_max = 7;
  CHECK(validate(c) == "");
}

TEST_CASE("validate: suspect_after_ms and dead_after_ms must each be at least 100") {
  node_config c = valid_config();
  c.membership.suspect_after_ms = 99;
  CHECK(rejected(c, "FAILURE_SUSPECT_AFTER_MS (failure.suspect_after_ms)") ==
        "invalid setting FAILURE_SUSPECT_AFTER_MS (failure.suspect_after_ms): \"99\" must be at "
        "least 100");
  c.membership.suspect_after_ms = 100;
  CHECK(validate(c) == "");
  c.membership.dead_after_ms = 99;
  rejected(c, "FAILURE_DEAD_AFTER_MS (failure.dead_after_ms)");
}

TEST_CASE("validate: dead_after_ms must be greater than suspect_after_ms") {
  node_config c = valid_config();
  c.membership.suspect_after_ms = 5000;
  c.membership.dead_after_ms = 5000;
  CHECK(rejected(c, "FAILURE_DEAD_AFTER_MS (failure.dead_after_ms)") ==
        "invalid setting FAILURE_DEAD_AFTER_MS (failure.dead_after_ms): \"5000\" must be greater "
        "than FAILURE_SUSPECT_AFTER_MS (failure.suspect_after_ms) \"5000\"");
  c.membership.suspect_after_ms = 40000;
  rejected(c, "FAILURE_DEAD_AFTER_MS (failure.dead_after_ms)");
  c.membership.suspect_after_ms = 4999;
  CHECK(validate(c) == "");
}

TEST_CASE("validate: raft.tick_ms must be in 10..10000") {
  node_config c = valid_config();
  c.raft_timing.tick_ms = 9;
  CHECK(rejected(c, "RAFT_TICK_MS (raft.tick_ms)") ==
        "invalid setting RAFT_TICK_MS (raft.tick_ms): \"9\" must be in 10..10000");
  c.raft_timing.tick_ms = 10001;
  rejected(c, "RAFT_TICK_MS (raft.tick_ms)");
  c.raft_timing.tick_ms = 10;
  CHECK(validate(c) == "");
  c.raft_timing.tick_ms = 10000;
  CHECK(validate(c) == "");
}

TEST_CASE("validate: raft.heartbeat_ticks must be at least 1") {
  node_config c = valid_config();
  c.raft_timing.heartbeat_ticks = 0;
  rejected(c, "RAFT_HEARTBEAT_TICKS (raft.heartbeat_ticks)");
}

TEST_CASE("validate: raft.election_ticks must be greater than raft.heartbeat_ticks") {
  node_config c = valid_config();
  c.raft_timing.heartbeat_ticks = 10;
  c.raft_timing.election_ticks = 10;
  CHECK(rejected(c, "RAFT_ELECTION_TICKS (raft.election_ticks)") ==
        "invalid setting RAFT_ELECTION_TICKS (raft.election_ticks): \"10\" must be greater than "
        "RAFT_HEARTBEAT_TICKS (raft.heartbeat_ticks) \"10\"");
  c.raft_timing.election_ticks = 11;
  CHECK(validate(c) == "");
  c.raft_timing.heartbeat_ticks = 12;
  rejected(c, "RAFT_ELECTION_TICKS (raft.election_ticks)");
}

TEST_CASE("validate: bootstrap together with join is rejected") {
  node_config c = valid_config();
  c.bootstrap = true;
  c.join_addrs = {{"node1", 8080}};
  CHECK(rejected(c, "JOIN_ADDR (cluster.join)").find("BOOTSTRAP (cluster.bootstrap)") !=
        std::string::npos);
  c.join_addrs.clear();
  CHECK(validate(c) == "");
}

TEST_CASE("validate: a join entry must name a host and a port") {
  node_config c = valid_config();
  c.join_addrs = {{"node1", 8080}, {"", 8080}};
  CHECK(rejected(c, "JOIN_ADDR (cluster.join)").find("\":8080\" is not one") != std::string::npos);
  c.join_addrs = {{"node1", 0}};
  rejected(c, "JOIN_ADDR (cluster.join)");
  c.join_addrs = std::vector<host_port>(65, host_port{"node1", 8080});
  rejected(c, "JOIN_ADDR (cluster.join)");
}

TEST_CASE("validate: the log level must be one of trace|debug|info|warn|error|off") {
  node_config c = valid_config();
  for (const char* level : {"trace", "debug", "info", "warn", "error", "off"}) {
    c.log_level = level;
    CHECK(validate(c) == "");
  }
  c.log_level = "verbose";
  CHECK(rejected(c, "LOG_LEVEL (log.level)") ==
        "invalid setting LOG_LEVEL (log.level): \"verbose\" must be one of "
        "trace|debug|info|warn|error|off");
}

TEST_CASE("validate: threads above 1024 is rejected") {
  node_config c = valid_config();
  c.threads = 1025;
  rejected(c, "THREADS (runtime.threads)");
}

TEST_CASE("validate: a token with spaces is rejected without echoing it") {
  node_config c = valid_config();
  c.token = "open sesame";
  const std::string message = rejected(c, "CLUSTERKIT_TOKEN (security.token)");
  CHECK(message.find("sesame") == std::string::npos);
  CHECK(message.find("(11 bytes, not shown)") != std::string::npos);
}

TEST_CASE("validate: a previous token needs a new token, another one, never echoed") {
  node_config c = valid_config();
  c.previous_token = "old-t0ken";
  rejected(c, "CLUSTERKIT_PREVIOUS_TOKEN (security.previous_token)");  // no token
  c.token = "old-t0ken";
  const std::string message = rejected(c, "CLUSTERKIT_PREVIOUS_TOKEN (security.previous_token)");
  CHECK(message.find("old-t0ken") == std::string::npos);
  c.token = "new-t0ken";
  CHECK(validate(c).empty());
}

TEST_CASE("validate: every limit must be greater than 0, naming its own setting") {
  struct limit_case {
    uint32_t limits_config::*field;
    const char* name;
  };
  for (const limit_case& l : {
           limit_case{&limits_config::key_bytes_max, "LIMITS_KEY_BYTES_MAX (limits.key_bytes_max)"},
           {&limits_config::value_bytes_max, "LIMITS_VALUE_BYTES_MAX (limits.value_bytes_max)"},
           {&limits_config::body_bytes_max, "LIMITS_BODY_BYTES_MAX (limits.body_bytes_max)"},
           {&limits_config::header_bytes_max, "LIMITS_HEADER_BYTES_MAX (limits.header_bytes_max)"},
           {&limits_config::idle_timeout_ms, "LIMITS_IDLE_TIMEOUT_MS (limits.idle_timeout_ms)"},
           {&limits_config::connections_max, "LIMITS_CONNECTIONS_MAX (limits.connections_max)"},
           {&limits_config::request_timeout_ms,
            "LIMITS_REQUEST_TIMEOUT_MS (limits.request_timeout_ms)"},
           {&limits_config::pipeline_depth_max,
            "LIMITS_PIPELINE_DEPTH_MAX (limits.pipeline_depth_max)"},
       }) {
    node_config c = valid_config();
    c.limits.*l.field = 0;
    CHECK(rejected(c, l.name).find("must be greater than 0") != std::string::npos);
  }
}

TEST_CASE("validate: body_bytes_max below value_bytes_max + key_bytes_max is rejected") {
  node_config c = valid_config();
  c.limits.body_bytes_max = c.limits.value_bytes_max + c.limits.key_bytes_max - 1;
  CHECK(rejected(c, "LIMITS_BODY_BYTES_MAX (limits.body_bytes_max)").find("(1049600 bytes)") !=
        std::string::npos);
  c.limits.body_bytes_max += 1;
  CHECK(validate(c) == "");
}

TEST_CASE("validate: keys over 64KiB and values over 64MiB exceed what storage keeps") {
  node_config c = valid_config();
  c.limits.key_bytes_max = (64u << 10) + 1;
  rejected(c, "LIMITS_KEY_BYTES_MAX (limits.key_bytes_max)");
  c.limits.key_bytes_max = 64u << 10;
  c.limits.value_bytes_max = (64u << 20) + 1;
  c.limits.body_bytes_max = UINT32_MAX;
  rejected(c, "LIMITS_VALUE_BYTES_MAX (limits.value_bytes_max)");
  c.limits.value_bytes_max = 64u << 20;
  CHECK(validate(c) == "");
}

TEST_CASE("validate: map_size must be between 1MiB and map_size_max") {
  node_config c = valid_config();
  c.storage.map_size_bytes = (1u << 20) - 1;
  rejected(c, "STORAGE_MAP_SIZE (storage.map_size)");
  c.storage.map_size_bytes = 1u << 20;
  CHECK(validate(c) == "");
  c.storage.map_size_bytes = c.storage.map_size_max_bytes + 1;
  rejected(c, "STORAGE_MAP_SIZE (storage.map_size)");
  c = valid_config();
  c.storage.map_size_max_bytes = 1024;
  rejected(c, "STORAGE_MAP_SIZE_MAX (storage.map_size_max)");
}

TEST_CASE("validate: the data dir must be set") {
  node_config c = valid_config();
  c.storage.dir.clear();
  rejected(c, "DATA_DIR (storage.dir)");
}

TEST_CASE("effective_threads: 0 means the hardware's thread count, at least 1") {
  node_config c = valid_config();
  CHECK(effective_threads(c) >= 1);
  c.threads = 3;
  CHECK(effective_threads(c) == 3);
}

}  // namespace
}  // namespace ck::config
