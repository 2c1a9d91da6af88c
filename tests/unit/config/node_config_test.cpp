// load(): defaults, each source, precedence, the sample file, source errors and help.
// Method: every test builds argv, a map-backed environment and temp YAML files, calls load()
// and checks the result; no test reads or changes the process environment.

#include "config/node_config.hpp"

#include <doctest/doctest.h>

#include <sstream>

#include "config/detail/settings.hpp"
#include "tests/unit/config/config_test_support.hpp"

namespace ck::config {
namespace {

using test::env_map;
using test::load_with;
using test::temp_yaml;

// One non-default value per setting, as text and as the setting's show() prints it back. Each is
// valid on its own next to NODE_ID=n1 (bootstrap and join are valid apart, not together).
struct sample {
  std::string_view key;
  std::string_view text;
  std::string_view shown;
};
constexpr sample samples[] = {
    {"node.id", "node-7", "node-7"},
    {"node.name", "Server 7", "Server 7"},
    {"node.advertise_host", "node7.example", "node7.example"},
    {"http.addr", "127.0.0.1:18080", "127.0.0.1:18080"},
    {"kv.addr", "[::1]:19080", "[::1]:19080"},
    {"raft.addr", "node7:19001", "node7:19001"},
    {"raft.tick_ms", "50", "50"},
    {"raft.heartbeat_ticks", "2", "2"},
    {"raft.election_ticks", "20", "20"},
    {"cluster.bootstrap", "yes", "true"},
    {"cluster.join", "n2:8080, n3:8080", "n2:8080,n3:8080"},
    {"raft.snapshot_entries", "0", "0"},
    {"raft.snapshot_bytes", "0", "0"},
    {"raft.snapshot_keep_entries", "50", "50"},
    {"raft.snapshot_keep_bytes", "65536", "65536"},
    {"cluster.partitions", "128", "128"},
    {"cluster.replication_factor", "5", "5"},
    {"cluster.meta_voters_max", "3", "3"},
    {"cluster.leader_follows_load", "no", "false"},
    {"failure.suspect_after_ms", "1000", "1000"},
    {"failure.dead_after_ms", "60000", "60000"},
    {"storage.dir", "/var/lib/ck", "/var/lib/ck"},
    {"storage.sync", "false", "false"},
    {"storage.journal", "false", "false"},
    {"storage.map_size", "512MiB", "512MiB"},
    {"storage.map_size_max", "2T", "2TiB"},
    {"security.token", "s3cret", "s3cret"},
    {"security.previous_token", "old-s3cret", "old-s3cret"},
    {"auth.protect_reads", "yes", "true"},
    {"auth.rotate_token", "true", "true"},
    {"tls.ca", "/etc/ck/ca.pem", "/etc/ck/ca.pem"},
    {"tls.cert", "/etc/ck/node-7.pem", "/etc/ck/node-7.pem"},
    {"tls.key", "/etc/ck/node-7.key", "/etc/ck/node-7.key"},
    {"log.level", "DEBUG", "debug"},
    {"runtime.threads", "8", "8"},
    {"limits.key_bytes_max", "512", "512"},
    {"limits.value_bytes_max", "2KiB", "2KiB"},
    {"limits.body_bytes_max", "4M", "4MiB"},
    {"limits.header_bytes_max", "32768", "32KiB"},
    {"limits.idle_timeout_ms", "1000", "1000"},
    {"limits.connections_max", "10", "10"},
    {"limits.per_client_max", "4", "4"},
    {"limits.read_timeout_ms", "2000", "2000"},
    {"limits.request_timeout_ms", "250", "250"},
    {"limits.pipeline_depth_max", "1", "1"},
};

const detail::setting& setting_for(std::string_view key) {
  const detail::setting* s = detail::find_setting(key);
  REQUIRE(s != nullptr);
  return *s;
}

// NODE_ID=n1 unless the sample is node.id itself; the TLS paths go together, so a sample of
// one gets the other two.
env_map base_env(std::string_view key) {
  if (key == "auth.protect_reads" || key == "security.previous_token") {
    return {{"NODE_ID", "n1"}, {"CLUSTERKIT_TOKEN", "t"}};  // it needs a token
  }
  if (key.substr(0, 4) == "tls.") {
    env_map env{{"NODE_ID", "n1"}, {"TLS_CA", "/x/ca"}, {"TLS_CERT", "/x/c"}, {"TLS_KEY", "/x/k"}};
    env.erase(std::string(detail::find_setting(key)->env));  // the sample's own source sets it
    return env;
  }
  return key == "node.id" ? env_map{} : env_map{{"NODE_ID", "n1"}};
}

void check_ok(const load_result& r) {
  INFO("message: " << r.message);
  REQUIRE(r.status == load_status::ok);
  CHECK(r.message.empty());
}

TEST_CASE("load: the samples cover every setting") {
  CHECK(std::size(samples) == detail::all_settings().count);
  for (const sample& s : samples) {
    CHECK(detail::find_setting(s.key) != nullptr);
  }
}

TEST_CASE("load: with only NODE_ID set every setting has its documented default") {
  const load_result r = load_with({}, {{"NODE_ID", "node-1"}});
  check_ok(r);
  const node_config& c = r.config;
  CHECK(c.node_id == "node-1");
  CHECK(c.node_name == "node-1");
  CHECK(c.http_addr == host_port{"", 8080});
  CHECK(c.kv_addr == host_port{"", 9080});
  CHECK(c.raft_addr == host_port{"", 9001});
  CHECK(c.advertise_host == test::test_hostname());
  CHECK_FALSE(c.bootstrap);
  CHECK(c.join_addrs.empty());
  CHECK(c.partitions == 64);
  CHECK(c.replication_factor == 3);
  CHECK(c.membership.suspect_after_ms == 3000);
  CHECK(c.membership.dead_after_ms == 30000);
  CHECK(c.membership.meta_voters_max == 5);
  CHECK(c.raft_timing.tick_ms == 100);
  CHECK(c.raft_timing.heartbeat_ticks == 1);
  CHECK(c.raft_timing.election_ticks == 10);
  CHECK(c.storage.dir == "./data/node-1");
  CHECK(c.storage.map_size_bytes == 256ull << 20);
  CHECK(c.storage.map_size_max_bytes == 1ull << 40);
  CHECK(c.storage.sync);
  CHECK(c.storage.journal);
  CHECK(c.token.empty());
  CHECK_FALSE(c.protect_reads);
  CHECK_FALSE(c.rotate_token);
  CHECK(c.log_level == "info");
  CHECK(c.threads == 0);
  CHECK(c.limits.key_bytes_max == 1024);
  CHECK(c.limits.value_bytes_max == 1u << 20);
  CHECK(c.limits.body_bytes_max == 2u << 20);
  CHECK(c.limits.header_bytes_max == 16u << 10);
  CHECK(c.limits.idle_timeout_ms == 60000);
  CHECK(c.limits.connections_max == 1024);
  CHECK(c.limits.per_client_max == 256);
  CHECK(c.limits.read_timeout_ms == 15000);
  CHECK(c.limits.request_timeout_ms == 5000);
  CHECK(c.limits.pipeline_depth_max == 64);
  CHECK(c.config_file.empty());
}

TEST_CASE("load: advertise_host defaults to the raft host unless that is a wildcard") {
  CHECK(load_with({"--raft.addr=node4:9001"}, {{"NODE_ID", "n"}}).config.advertise_host == "node4");
  CHECK(load_with({"--raft.addr=0.0.0.0:9001"}, {{"NODE_ID", "n"}}).config.advertise_host ==
        test::test_hostname());
  CHECK(
      load_with({"--raft.addr=node4:9001", "--node.advertise_host=pub.example"}, {{"NODE_ID", "n"}})
          .config.advertise_host == "pub.example");
}

TEST_CASE("load: name and data dir follow node.id from whichever source set it") {
  const load_result r = load_with({"--node.id=cli-node"}, {{"NODE_ID", "env-node"}});
  check_ok(r);
  CHECK(r.config.node_name == "cli-node");
  CHECK(r.config.storage.dir == "./data/cli-node");
}

TEST_CASE("load: every environment variable sets its setting") {
  for (const sample& s : samples) {
    const detail::setting& setting = setting_for(s.key);
    env_map env = base_env(s.key);
    env[std::string(setting.env)] = std::string(s.text);
    INFO(setting.env << "=" << s.text);
    const load_result r = load_with({}, env);
    check_ok(r);
    CHECK(setting.show(r.config) == s.shown);
  }
}

TEST_CASE("load: every setting is read from its nested YAML key") {
  for (const sample& s : samples) {
    const std::size_t dot = s.key.find('.');
    std::ostringstream yaml;
    yaml << s.key.substr(0, dot) << ":\n  " << s.key.substr(dot + 1) << ": \"" << s.text << "\"\n";
    temp_yaml file(yaml.str());
    INFO(yaml.str());
    const load_result r = load_with({"--config", file.path()}, base_env(s.key));
    check_ok(r);
    CHECK(setting_for(s.key).show(r.config) == s.shown);
    CHECK(r.config.config_file == file.path());
  }
}

TEST_CASE("load: every setting is read from its dotted and its dashed flag") {
  for (const sample& s : samples) {
    const detail::setting& setting = setting_for(s.key);
    const std::string dotted = "--" + std::string(s.key);
    const std::string dashed = detail::dashed_flag(s.key);
    for (const std::vector<std::string>& args :
         {std::vector<std::string>{dotted + "=" + std::string(s.text)},
          std::vector<std::string>{dotted, std::string(s.text)},
          std::vector<std::string>{dashed + "=" + std::string(s.text)},
          std::vector<std::string>{dashed, std::string(s.text)}}) {
      INFO(args.front());
      const load_result r = load_with(args, base_env(s.key));
      check_ok(r);
      CHECK(setting.show(r.config) == s.shown);
    }
  }
}

TEST_CASE("load: the TLS paths are all set or none") {
  CHECK_FALSE(load_with({}, {{"NODE_ID", "n1"}}).config.tls.enabled());
  const load_result all =
      load_with({}, {{"NODE_ID", "n1"}, {"TLS_CA", "a"}, {"TLS_CERT", "b"}, {"TLS_KEY", "c"}});
  check_ok(all);
  CHECK(all.config.tls.enabled());
  const load_result partial = load_with({}, {{"NODE_ID", "n1"}, {"TLS_CA", "a"}, {"TLS_KEY", "c"}});
  CHECK(partial.status == load_status::invalid);
  CHECK(partial.message.find("TLS_CERT") != std::string::npos);
  CHECK(partial.message.find("go together") != std::string::npos);
}

TEST_CASE("load: dashed flags dash dots and underscores") {
  CHECK(detail::dashed_flag("cluster.replication_factor") == "--cluster-replication-factor");
  CHECK(detail::dashed_flag("limits.key_bytes_max") == "--limits-key-bytes-max");
}

TEST_CASE("load: command line beats environment beats YAML beats default") {
  temp_yaml file("node:\n  id: n1\ncluster:\n  partitions: 10\n");
  const std::vector<std::string> with_file{"--config", file.path()};
  std::vector<std::string> with_flag = with_file;
  with_flag.emplace_back("--cluster.partitions=30");

  CHECK(load_with({}, {{"NODE_ID", "n1"}}).config.partitions == 64);
  CHECK(load_with(with_file).config.partitions == 10);
  CHECK(load_with(with_file, {{"PARTITIONS", "20"}}).config.partitions == 20);
  CHECK(load_with(with_flag, {{"PARTITIONS", "20"}}).config.partitions == 30);
  CHECK(load_with({"--node.id=n1", "--cluster.partitions=30"}, {{"PARTITIONS", "20"}})
            .config.partitions == 30);
}

TEST_CASE("load: a flag given twice takes its last value") {
  const load_result r = load_with({"--node.id=a", "--node-id", "b"});
  check_ok(r);
  CHECK(r.config.node_id == "b");
}

TEST_CASE("load: CONFIG names the YAML file and --config overrides it") {
  temp_yaml from_env("node:\n  id: from-env\n");
  temp_yaml from_flag("node:\n  id: from-flag\n");
  const load_result by_env = load_with({}, {{"CONFIG", from_env.path()}});
  check_ok(by_env);
  CHECK(by_env.config.node_id == "from-env");
  CHECK(by_env.config.config_file == from_env.path());
  const load_result by_flag =
      load_with({"--config=" + from_flag.path()}, {{"CONFIG", from_env.path()}});
  check_ok(by_flag);
  CHECK(by_flag.config.node_id == "from-flag");
}

TEST_CASE("load: the sample node.example.yaml validates and yields the defaults") {
  const load_result r = load_with({"--config", CK_CONFIG_EXAMPLE_YAML});
  check_ok(r);
  node_config expected;
  expected.node_id = "node-1";
  expected.node_name = "node-1";
  expected.advertise_host = test::test_hostname();
  expected.storage.dir = "./data/node-1";
  for (const detail::setting& s : detail::all_settings()) {
    INFO(s.key);
    CHECK(s.show(r.config) == s.show(expected));
  }
  CHECK(validate(r.config).empty());
}

TEST_CASE("load: the join list is read from a YAML string, a YAML list and a comma list") {
  temp_yaml as_list("node.id: n1\ncluster:\n  join: [\"n2:8080\", \"[::1]:8081\"]\n");
  temp_yaml as_string("node.id: n1\ncluster:\n  join: \"n2:8080, [::1]:8081\"\n");
  const std::vector<host_port> expected{{"n2", 8080}, {"::1", 8081}};
  CHECK(load_with({"--config", as_list.path()}).config.join_addrs == expected);
  CHECK(load_with({"--config", as_string.path()}).config.join_addrs == expected);
  CHECK(
      load_with({}, {{"NODE_ID", "n1"}, {"JOIN_ADDR", "n2:8080,[::1]:8081,"}}).config.join_addrs ==
      expected);
}

TEST_CASE("load: boolean settings take true/false, 1/0, yes/no in any case") {
  for (const auto& [text, value] : std::map<std::string, bool>{{"true", true},
                                                               {"TRUE", true},
                                                               {"1", true},
                                                               {"Yes", true},
                                                               {"false", false},
                                                               {"False", false},
                                                               {"0", false},
                                                               {"NO", false}}) {
    INFO(text);
    const load_result r = load_with({}, {{"NODE_ID", "n1"}, {"STORAGE_SYNC", text}});
    check_ok(r);
    CHECK(r.config.storage.sync == value);
  }
  const load_result bad = load_with({}, {{"NODE_ID", "n1"}, {"BOOTSTRAP", "maybe"}});
  CHECK(bad.status == load_status::invalid);
  CHECK(bad.message ==
        "invalid setting BOOTSTRAP (cluster.bootstrap): \"maybe\" must be true/false, 1/0 or "
        "yes/no (from the environment)");
}

TEST_CASE("load: a boolean flag without a value means true") {
  CHECK(load_with({"--node.id=n1", "--cluster.bootstrap"}).config.bootstrap);
  CHECK(load_with({"--cluster-bootstrap", "--node.id=n1"}).config.bootstrap);
  CHECK_FALSE(load_with({"--node.id=n1", "--cluster.bootstrap", "false"}).config.bootstrap);
}

TEST_CASE("load: an empty environment variable counts as unset") {
  temp_yaml file("node:\n  id: n1\ncluster:\n  join: n2:8080\n");
  const load_result r = load_with({"--config", file.path()}, {{"JOIN_ADDR", ""}, {"NODE_ID", ""}});
  check_ok(r);
  CHECK(r.config.node_id == "n1");
  CHECK(r.config.join_addrs.size() == 1);
}

}  // namespace
}  // namespace ck::config
