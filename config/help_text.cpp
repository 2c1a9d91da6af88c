// help_text(): generated from the settings table, so help cannot drift from what load() accepts.

#include <fmt/format.h>

#include "config/detail/settings.hpp"
#include "config/node_config.hpp"

namespace ck::config {
namespace {

constexpr std::string_view help_intro = R"(Usage: clusterkit [--config FILE] [--SETTING VALUE]...

Starts one ClusterKit node. Each setting comes from, lowest precedence first: its default, the
YAML file (--config FILE or CONFIG), the environment, the command line.

Flags: --flag=VALUE and --flag VALUE both work. Each --section.name flag also answers to its
dashed form (--cluster.replication_factor is --cluster-replication-factor). A boolean flag given
without a value means true. Unknown flags are errors.
YAML: the key is the flag without "--", nested by section (cluster: {partitions: 64}) or dotted
(cluster.partitions: 64). Unknown keys are errors; see config/node.example.yaml.
Environment: an empty variable counts as unset. Beyond the ClusterKit variables (NODE_ID ...
CLUSTERKIT_TOKEN) each variable is the YAML key upper-cased with dots as underscores:
limits.key_bytes_max is LIMITS_KEY_BYTES_MAX, log.level is LOG_LEVEL; runtime.threads is THREADS
and cluster.meta_voters_max is META_VOTERS_MAX.
Values: BOOL is true/false, 1/0 or yes/no (any case). SIZE is bytes or a number with a 1024-based
suffix K/KiB, M/MiB, G/GiB, T/TiB. HOST:PORT has an empty host for all interfaces (:8080) and
IPv6 in brackets ([::1]:8080). LIST is comma-separated HOST:PORT.

)";

constexpr int flag_columns = 36;
constexpr int env_columns = 30;

void help_row(std::string& out, std::string_view flag, std::string_view env,
              std::string_view default_text, std::string_view meaning) {
  std::string columns =
      fmt::format("  {:<{}}{:<{}}{}", flag, flag_columns, env, env_columns, default_text);
  columns.erase(columns.find_last_not_of(' ') + 1);  // "-h, --help" has no env var or default
  out += columns + "\n      " + std::string(meaning) + "\n";
}

}  // namespace

std::string help_text() {
  std::string out(help_intro);
  out += fmt::format("  {:<{}}{:<{}}{}\n", "FLAG", flag_columns, "ENV VAR", env_columns, "DEFAULT");
  help_row(out, "--config FILE", "CONFIG", "(none)", "YAML file with any of the settings below");
  const node_config defaults;
  for (const detail::setting& s : detail::all_settings()) {
    const std::string flag = fmt::format("--{} {}", s.key, detail::placeholder(s.kind));
    const std::string default_text =
        s.default_text.empty() ? s.show(defaults) : std::string(s.default_text);
    help_row(out, flag, s.env, default_text, s.meaning);
  }
  help_row(out, "-h, --help", "", "", "print this text and exit");
  return out;
}

}  // namespace ck::config
