// clusterkit-ctl: the command line of a ClusterKit cluster, in the etcdctl tradition
// (docs/cli.md). Built on the client library (http/client/kv_client.hpp).

#include "http/client/ctl/commands.hpp"
#include "runtime/cluster/partition_hash.hpp"

#include <CLI/CLI.hpp>

#include <cstdlib>

namespace {

std::string env_or(const char* name, const char* fallback) {
  const char* value = std::getenv(name);
  return value != nullptr && *value != '\0' ? value : fallback;
}

}  // namespace

int main(int argc, char** argv) {
  using namespace ck;
  CLI::App app{"clusterkit-ctl: keys and cluster administration of a ClusterKit cluster"};
  app.require_subcommand(1);
  std::string endpoints = env_or("CLUSTERKIT_ENDPOINTS", "127.0.0.1:8080");
  std::string token = env_or("CLUSTERKIT_TOKEN", "");
  std::string output = "table";
  int timeout_ms = 5000;
  app.add_option("--endpoints", endpoints,
                 "cluster API addresses host:port[,host:port...], tried in turn "
                 "(env CLUSTERKIT_ENDPOINTS)")
      ->capture_default_str();
  app.add_option("--token", token, "the cluster token (env CLUSTERKIT_TOKEN)");
  app.add_option("-o,--output", output, "table or json")
      ->check(CLI::IsMember({"table", "json"}))
      ->capture_default_str();
  app.add_option("--timeout-ms", timeout_ms, "bound of each HTTP attempt")
      ->check(CLI::Range(1, 600'000))
      ->capture_default_str();

  std::string key;
  std::string value;
  std::string node;
  bool stale = false;
  client::list_options list_opts;
  ctl::wait_options wait;
  int wait_s = 600;

  auto* get = app.add_subcommand("get", "print a key's value (linearizable unless --stale)");
  get->add_option("key", key)->required();
  get->add_flag("--stale", stale, "read the answering replica's copy (may be behind)");
  auto* put = app.add_subcommand("put", "set a key");
  put->add_option("key", key)->required();
  put->add_option("value", value)->required();
  auto* del = app.add_subcommand("del", "delete a key (prints 1 if it existed, else 0)");
  del->add_option("key", key)->required();
  auto* list = app.add_subcommand("list", "list keys (every partition, from its leader)");
  list->add_option("--prefix", list_opts.prefix, "only keys starting with it");
  list->add_option("--limit", list_opts.limit, "at most this many keys (0: all)");
  auto* cluster = app.add_subcommand("cluster", "cluster commands");
  cluster->require_subcommand(1);
  auto* status = cluster->add_subcommand("status", "nodes, roles, partitions, moves in progress");
  auto* members = app.add_subcommand("members", "the members and their addresses");
  auto* leave = app.add_subcommand("leave", "decommission a node (its replicas move away)");
  leave->add_option("node", node, "node id")->required();
  auto* rebalance = app.add_subcommand("rebalance", "the rebalancer's moves");
  for (auto* waiting : {leave, rebalance}) {
    waiting->add_flag("--wait", wait.wait, "wait until done, showing the moves' progress");
    waiting->add_option("--wait-timeout", wait_s, "seconds --wait waits at most")
        ->check(CLI::Range(1, 86'400))
        ->capture_default_str();
  }
  auto* partition = app.add_subcommand("partition", "the partition of a key and its replicas");
  partition->add_option("key", key)->required();
  client::watch_options watch_opts;
  std::string from;
  size_t count = 0;
  auto* watch = app.add_subcommand("watch", "print changes of a key (or --prefix) as they happen");
  watch->add_option("key", watch_opts.key, "the key, or the prefix with --prefix")->required();
  watch->add_flag("--prefix", watch_opts.prefix, "watch every key starting with KEY");
  watch->add_option("--from", from, "resume after PARTITION:INDEX[,...] (what -o json printed)");
  watch->add_option("--count", count, "exit after this many changes (0: never)");

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    const int rc = app.exit(e);
    return rc == 0 ? ctl::exit_ok : ctl::exit_usage;
  }
  wait.timeout = std::chrono::seconds(wait_s);
  client::client_options options;
  options.endpoints = client::parse_endpoints(endpoints);
  if (options.endpoints.empty()) {
    return ctl::fail("--endpoints: no address given", ctl::exit_usage);
  }
  options.token = token;
  options.request_timeout = std::chrono::milliseconds(timeout_ms);
  options.async_threads = 1;
  client::kv_client kv(options);
  const auto f = output == "json" ? ctl::format::json : ctl::format::table;

  if (get->parsed()) return ctl::get(kv, f, key, stale);
  if (put->parsed()) return ctl::put(kv, f, key, value);
  if (del->parsed()) return ctl::del(kv, f, key);
  if (list->parsed()) return ctl::list(kv, f, list_opts);
  if (status->parsed()) return ctl::cluster_status(kv, f);
  if (members->parsed()) return ctl::members(kv, f);
  if (leave->parsed()) return ctl::leave(kv, f, node, wait);
  if (rebalance->parsed()) return ctl::rebalance(kv, f, wait);
  if (partition->parsed()) return ctl::partition(kv, f, key);
  if (watch->parsed()) {
    auto positions = cluster::parse_partition_positions(from, UINT32_MAX);
    if (!positions) {
      return ctl::fail("--from: " + from + " is not PARTITION:INDEX[,...]", ctl::exit_usage);
    }
    watch_opts.from = std::move(*positions);
    return ctl::watch(kv, f, watch_opts, count);
  }
  return ctl::fail("no command", ctl::exit_usage);
}
