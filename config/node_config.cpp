// load(): the order of the sources and the derived defaults. Parsing lives in the *_source.cpp
// files, the rules in validate.cpp, the names in detail/settings.cpp.

#include "config/node_config.hpp"

#include <unistd.h>

#include <array>
#include <thread>

#include "config/detail/sources.hpp"
#include "config/detail/values.hpp"

namespace ck::config {
namespace {

// The machine's host name, "localhost" if the call fails (then advertise_host should be set).
std::string machine_hostname() {
  std::array<char, 256> buffer{};  // above HOST_NAME_MAX (64) on Linux; POSIX allows 255
  if (gethostname(buffer.data(), buffer.size() - 1) != 0 || buffer[0] == '\0') {
    return "localhost";
  }
  return std::string(buffer.data());  // the last byte stays '\0' even if the name was cut
}

// The defaults that depend on other settings, applied after every source so that e.g. NODE_ID on
// the command line also moves the default data directory.
void resolve_derived_defaults(node_config& c) {
  if (c.node_name.empty()) {
    c.node_name = c.node_id;
  }
  if (c.advertise_host.empty()) {
    // A wildcard listen address is not a place anyone can dial; fall back to the host name.
    c.advertise_host =
        detail::is_wildcard_host(c.raft_addr.host) ? machine_hostname() : c.raft_addr.host;
  }
  if (c.storage.dir.empty()) {
    c.storage.dir = "./data/" + c.node_id;
  }
}

load_result invalid(std::string message) {
  return load_result{load_status::invalid, node_config{}, std::move(message)};
}

// The path of the YAML file, if any: --config beats CONFIG like every flag beats its variable.
std::string config_path(const detail::cli_values& cli,
                        const std::function<const char*(const char*)>& getenv) {
  if (cli.config_given) {
    return cli.config_path;
  }
  const char* from_env = getenv ? getenv("CONFIG") : nullptr;
  return from_env != nullptr ? std::string(from_env) : std::string();
}

load_result load_checked(int argc, const char* const* argv,
                         const std::function<const char*(const char*)>& getenv) {
  detail::cli_values cli;
  if (std::string error = detail::cli_parse(argc, argv, cli); !error.empty()) {
    return invalid(std::move(error));
  }
  if (cli.help) {
    return load_result{load_status::help_printed, node_config{}, help_text()};
  }
  node_config c;
  detail::origin_map origins;
  c.config_file = config_path(cli, getenv);
  if (cli.config_given && c.config_file.empty()) {
    return invalid("invalid setting CONFIG (--config): \"\" must be the path of a YAML file");
  }
  if (!c.config_file.empty()) {
    if (std::string error = detail::yaml_apply(c.config_file, c, origins); !error.empty()) {
      return invalid(std::move(error));
    }
  }
  if (std::string error = detail::env_apply(getenv, c, origins); !error.empty()) {
    return invalid(std::move(error));
  }
  if (std::string error = detail::cli_apply(cli, c, origins); !error.empty()) {
    return invalid(std::move(error));
  }
  resolve_derived_defaults(c);
  if (std::optional<detail::validation_error> error = detail::validate_detail(c)) {
    auto origin = origins.find(error->key);
    return invalid(origin == origins.end() ? error->message
                                           : error->message + " (" + origin->second + ")");
  }
  return load_result{load_status::ok, std::move(c), ""};
}

}  // namespace

uint32_t effective_threads(const node_config& c) {
  if (c.threads != 0) {
    return c.threads;
  }
  const unsigned hardware = std::thread::hardware_concurrency();  // 0 when unknown
  return hardware == 0 ? 1 : static_cast<uint32_t>(hardware);
}

load_result load(int argc, const char* const* argv,
                 const std::function<const char*(const char*)>& getenv) {
  // The sources catch the library exceptions where they enter; this only turns what is left
  // (std::bad_alloc, a throwing getenv) into the one error line main() expects.
  try {
    return load_checked(argc, argv, getenv);
  } catch (const std::exception& e) {
    return invalid(std::string("configuration could not be loaded: ") + e.what());
  } catch (...) {
    return invalid("configuration could not be loaded: unknown error");
  }
}

}  // namespace ck::config
