// The environment source: one variable per setting, named in the settings table.

#include "config/detail/sources.hpp"

namespace ck::config::detail {

std::string env_apply(const std::function<const char*(const char*)>& getenv, node_config& c,
                      origin_map& origins) {
  if (!getenv) {
    return "";
  }
  for (const setting& s : all_settings()) {
    const std::string name(s.env);
    const char* value = getenv(name.c_str());
    // Compose files write `JOIN_ADDR=` for "not set"; treating empty as unset keeps that working
    // and keeps an empty variable from wiping a value the YAML file gave.
    if (value == nullptr || *value == '\0') {
      continue;
    }
    std::string expectation = s.apply(c, value);
    if (!expectation.empty()) {
      return setting_error(s, value, expectation) + " (from the environment)";
    }
    origins[std::string(s.key)] = "from the environment";
  }
  return "";
}

}  // namespace ck::config::detail
