// The sources' failures (YAML file, environment, command line) and help.
// Method: feed each source one mistake and check load() answers `invalid` with one line that
// names the setting or the file, the bad value and, where it has one, the line and column.

#include <doctest/doctest.h>

#include <sstream>

#include "config/detail/settings.hpp"
#include "config/node_config.hpp"
#include "tests/unit/config/config_test_support.hpp"

namespace ck::config {
namespace {

using test::load_with;
using test::temp_yaml;

// Loads `yaml` as the config file and returns the error line (empty if it loaded).
std::string yaml_error(std::string_view yaml, std::string& path) {
  temp_yaml file(yaml);
  path = file.path();
  const load_result r = load_with({"--config", file.path()});
  CHECK(r.message.find('\n') == std::string::npos);
  return r.status == load_status::invalid ? r.message : std::string();
}

TEST_CASE("load: a missing YAML file is an error naming the file and the reason") {
  const load_result r = load_with({"--config", "/nonexistent/ck-node.yaml"});
  REQUIRE(r.status == load_status::invalid);
  CHECK(r.message ==
        "invalid setting CONFIG (--config): \"/nonexistent/ck-node.yaml\" cannot be read: "
        "No such file or directory");
}

TEST_CASE("load: a malformed YAML file is an error with yaml-cpp's line and column") {
  std::string path;
  const std::string message = yaml_error("node:\n  id: n1\ncluster: [1, 2\n", path);
  CHECK(message.rfind("invalid config file \"" + path + "\": line ", 0) == 0);
  CHECK(message.find("end of sequence flow not found") != std::string::npos);
  const std::string illegal_value = yaml_error("node:\n  id: n1\n  name: a: b\n", path);
  CHECK(illegal_value ==
        "invalid config file \"" + path + "\": line 3, column 10: illegal map value");
}

TEST_CASE("load: an unknown YAML key is an error naming the key, the file and the position") {
  std::string path;
  const std::string unknown = yaml_error("node:\n  id: n1\n  idd: n2\n", path);
  CHECK(unknown == "invalid config file \"" + path +
                       "\": line 3, column 3: unknown key \"node.idd\" (see --help for the keys)");
  CHECK(yaml_error("nodes:\n  id: n1\n", path).find("unknown key \"nodes\"") != std::string::npos);
  CHECK(yaml_error("node:\n  id: n1\nlimit: {}\n", path).find("unknown key \"limit\"") !=
        std::string::npos);
  CHECK(yaml_error("config: other.yaml\n", path).find("unknown key \"config\"") !=
        std::string::npos);
}

TEST_CASE("load: a duplicate YAML key is an error") {
  std::string path;
  const std::string duplicate = yaml_error("node:\n  id: n1\nnode.id: n2\n", path);
  CHECK(duplicate ==
        "invalid config file \"" + path + "\": line 3, column 1: duplicate key \"node.id\"");
}

TEST_CASE("load: a YAML list or map where one value belongs is an error") {
  std::string path;
  CHECK(yaml_error("node:\n  id: [a, b]\n", path).find("node.id must be one value, not a list") !=
        std::string::npos);
  CHECK(yaml_error("node:\n  id:\n    x: 1\n", path).find("node.id must be one value") !=
        std::string::npos);
  CHECK(yaml_error("- node.id\n", path).find("expected a map of settings") != std::string::npos);
}

TEST_CASE("load: an empty YAML file or a key without value keeps the defaults") {
  temp_yaml empty("# nothing set here\n");
  CHECK(load_with({"--config", empty.path()}, {{"NODE_ID", "n1"}}).status == load_status::ok);
  temp_yaml null_value("node:\n  id: n1\ncluster:\n  partitions:\n");
  const load_result r = load_with({"--config", null_value.path()});
  REQUIRE(r.status == load_status::ok);
  CHECK(r.config.partitions == 64);
}

TEST_CASE("load: a value that does not parse names the setting, the value and the source") {
  temp_yaml file("node:\n  id: n1\ncluster:\n  partitions: lots\n");
  CHECK(load_with({"--config", file.path()}).message ==
        "invalid setting PARTITIONS (cluster.partitions): \"lots\" must be an integer in "
        "0..4294967295 (from " +
            file.path() + " line 4)");
  CHECK(load_with({}, {{"NODE_ID", "n1"}, {"HTTP_ADDR", "8080"}}).message ==
        "invalid setting HTTP_ADDR (http.addr): \"8080\" must be host:port or :port with port "
        "1..65535 (IPv6 as [addr]:port) (from the environment)");
  CHECK(load_with({"--node.id=n1", "--storage.map_size=big"}).message ==
        "invalid setting STORAGE_MAP_SIZE (storage.map_size): \"big\" must be a byte count, "
        "optionally with a suffix K/KiB, M/MiB, G/GiB or T/TiB (from the command line)");
  CHECK(load_with({"--node.id=n1", "--cluster.join=n2:8080,n3"}).message ==
        "invalid setting JOIN_ADDR (cluster.join): \"n2:8080,n3\" must be a comma-separated "
        "list of host:port with port 1..65535; \"n3\" is not (from the command line)");
  CHECK(load_with({"--node.id=n1", "--runtime.threads=-1"}).status == load_status::invalid);
  CHECK(
      load_with({"--node.id=n1", "--limits.body_bytes_max=5GiB"})
          .message.find(
              "LIMITS_BODY_BYTES_MAX (limits.body_bytes_max): \"5GiB\" must be a byte count below "
              "4GiB") != std::string::npos);
}

TEST_CASE("load: an unknown flag or a positional argument is an error") {
  CHECK(load_with({"--node.id=n1", "--node.idd=n2"}).message ==
        "invalid command line: unknown flag --node.idd (see --help)");
  CHECK(load_with({"--node.id=n1", "-x"}).message ==
        "invalid command line: unknown flag -x (see --help)");
  CHECK(load_with({"--node.id=n1", "stray"}).message ==
        "invalid command line: unexpected argument \"stray\" (see --help)");
}

TEST_CASE("load: an unknown flag's value is not echoed, it may be a secret") {
  const load_result r = load_with({"--node.id=n1", "--security.tokn=hunter2"});
  CHECK(r.message == "invalid command line: unknown flag --security.tokn (see --help)");
}

TEST_CASE("load: no argv at all is the same as no flags") {
  const auto getenv = [](const char* name) -> const char* {
    return std::string_view(name) == "NODE_ID" ? "n1" : nullptr;
  };
  const load_result r = load(0, nullptr, getenv);
  CHECK(r.status == load_status::ok);
  CHECK(r.config.node_id == "n1");
  CHECK(load(0, nullptr, nullptr).message.find("NODE_ID (node.id)") != std::string::npos);
}

TEST_CASE("load: a flag without its value is rejected by the setting") {
  const load_result r = load_with({"--node.id=n1", "--cluster.partitions"});
  CHECK(r.message ==
        "invalid setting PARTITIONS (cluster.partitions): \"\" must be an integer in "
        "0..4294967295 (from the command line)");
  CHECK(load_with({"--config="}).message ==
        "invalid setting CONFIG (--config): \"\" must be the path of a YAML file");
}

TEST_CASE("load: a validation error says where the bad value came from") {
  temp_yaml file("node:\n  id: n1\ncluster:\n  replication_factor: 9\n");
  CHECK(load_with({"--config", file.path()}).message ==
        "invalid setting REPLICATION_FACTOR (cluster.replication_factor): \"9\" must be in 1..7 "
        "(from " +
            file.path() + " line 4)");
  CHECK(load_with({}, {{"NODE_ID", "bad id!"}}).message ==
        "invalid setting NODE_ID (node.id): \"bad id!\" must match [A-Za-z0-9._-]{1,64} "
        "(from the environment)");
  CHECK(load_with({}).message ==
        "invalid setting NODE_ID (node.id): \"\" must be set (NODE_ID, node.id or --node.id) and "
        "match [A-Za-z0-9._-]{1,64}");
}

TEST_CASE("load: bad failure, meta group and Raft timing values stop the node with one line") {
  temp_yaml file("node:\n  id: n1\nraft:\n  addr: \":9001\"\n  election_ticks: 1\n");
  CHECK(load_with({"--config", file.path()}).message ==
        "invalid setting RAFT_ELECTION_TICKS (raft.election_ticks): \"1\" must be greater than "
        "RAFT_HEARTBEAT_TICKS (raft.heartbeat_ticks) \"1\" (from " +
            file.path() + " line 5)");
  CHECK(load_with({}, {{"NODE_ID", "n1"}, {"FAILURE_DEAD_AFTER_MS", "2000"}}).message ==
        "invalid setting FAILURE_DEAD_AFTER_MS (failure.dead_after_ms): \"2000\" must be "
        "greater than FAILURE_SUSPECT_AFTER_MS (failure.suspect_after_ms) \"3000\" (from the "
        "environment)");
  CHECK(load_with({"--node.id=n1", "--cluster-meta-voters-max=9"}).message ==
        "invalid setting META_VOTERS_MAX (cluster.meta_voters_max): \"9\" must be in 1..7 (from "
        "the command line)");
  CHECK(load_with({"--node.id=n1", "--raft.tick_ms=fast"}).message ==
        "invalid setting RAFT_TICK_MS (raft.tick_ms): \"fast\" must be an integer in "
        "0..4294967295 (from the command line)");
  const load_result both =
      load_with({"--node.id=n1", "--failure.suspect_after_ms=500", "--failure.dead_after_ms=1000",
                 "--raft.heartbeat_ticks=3", "--raft.election_ticks=30", "--raft.tick_ms=20"});
  INFO(both.message);
  REQUIRE(both.status == load_status::ok);
  CHECK(both.config.membership.suspect_after_ms == 500);
  CHECK(both.config.membership.dead_after_ms == 1000);
  CHECK(both.config.raft_timing.heartbeat_ticks == 3);
  CHECK(both.config.raft_timing.election_ticks == 30);
  CHECK(both.config.raft_timing.tick_ms == 20);
}

TEST_CASE("load: an error line stays one line whatever the bad value holds") {
  const load_result r = load_with({}, {{"NODE_ID", "a\nb\"c"}});
  REQUIRE(r.status == load_status::invalid);
  CHECK(r.message.find('\n') == std::string::npos);
  CHECK(r.message.find("\"a\\x0ab\\\"c\"") != std::string::npos);
}

TEST_CASE("load: -h and --help print the help whatever else is on the line") {
  for (const std::vector<std::string>& args :
       {std::vector<std::string>{"--help"}, std::vector<std::string>{"-h"},
        std::vector<std::string>{"--bogus", "--cluster.partitions=x", "--help"}}) {
    const load_result r = load_with(args);
    CHECK(r.status == load_status::help_printed);
    CHECK(r.message == help_text());
  }
}

TEST_CASE("help: lists every setting's flag, environment variable and default") {
  const std::string help = help_text();
  for (const detail::setting& s : detail::all_settings()) {
    INFO(s.key);
    CHECK(help.find("--" + std::string(s.key) + " ") != std::string::npos);
    CHECK(help.find(" " + std::string(s.env) + " ") != std::string::npos);
    CHECK(help.find(s.meaning) != std::string::npos);
  }
  CHECK(help.find("--config FILE") != std::string::npos);
  CHECK(help.find("LIMITS_KEY_BYTES_MAX") != std::string::npos);
  CHECK(help.find(":8080") != std::string::npos);
  CHECK(help.find("256MiB") != std::string::npos);
  CHECK(help.find("(required)") != std::string::npos);
}

TEST_CASE("help: no line is wider than 100 columns or ends in a blank") {
  std::istringstream lines(help_text());
  std::string line;
  while (std::getline(lines, line)) {
    INFO(line);
    CHECK(line.size() <= 100);
    CHECK((line.empty() || line.back() != ' '));
  }
}

}  // namespace
}  // namespace ck::config
