#pragma once

// The three sources load() merges, each applied on top of the previous one. Each returns "" or
// the one error line; none throws (library exceptions are caught inside).

#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "config/detail/settings.hpp"
#include "config/node_config.hpp"

namespace ck::config::detail {

// Where each setting got its current value ("the environment", "node.yaml line 4"), keyed by
// YAML key, so a validation error can say which of the four places to fix.
using origin_map = std::map<std::string, std::string, std::less<>>;

// The command line, parsed but not yet applied: it goes last, yet --config must be known first.
struct cli_values {
  bool help = false;
  bool config_given = false;
  std::string config_path;
  std::vector<std::pair<const setting*, std::string>> values;  // last value of each flag given
};

// Parses argv (argv[0] is the program). Unknown flags, positional arguments and missing values
// are errors; -h/--help anywhere sets `help` and skips every other check.
std::string cli_parse(int argc, const char* const* argv, cli_values& out);

// Applies the parsed flags to `c`, recording "the command line" as their origin.
std::string cli_apply(const cli_values& cli, node_config& c, origin_map& origins);

// Reads the YAML file at `path` and applies every key in it. A missing or malformed file, an
// unknown or duplicate key, a map or list where one value belongs: all errors naming the file
// and the line and column.
std::string yaml_apply(const std::string& path, node_config& c, origin_map& origins);

// Applies every setting whose environment variable is set and non-empty.
std::string env_apply(const std::function<const char*(const char*)>& getenv, node_config& c,
                      origin_map& origins);

// validate() with the key of the offending setting, so load() can add its origin.
struct validation_error {
  std::string_view key;
  std::string message;
};
std::optional<validation_error> validate_detail(const node_config& c);

}  // namespace ck::config::detail
