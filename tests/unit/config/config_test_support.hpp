#pragma once

// Test helpers for the config layer: a map-backed getenv, argv built from strings, and YAML
// temp files that remove themselves.

#include <unistd.h>

#include <array>
#include <filesystem>
#include <fstream>
#include <map>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

#include "config/node_config.hpp"

namespace ck::config::test {

using env_map = std::map<std::string, std::string>;

// Runs load() as `clusterkit <args...>` with `env` as the whole environment.
inline load_result load_with(const std::vector<std::string>& args, const env_map& env = {}) {
  std::vector<const char*> argv{"clusterkit"};
  for (const std::string& arg : args) {
    argv.push_back(arg.c_str());
  }
  auto getenv = [&env](const char* name) -> const char* {
    auto it = env.find(name);
    return it == env.end() ? nullptr : it->second.c_str();
  };
  return load(static_cast<int>(argv.size()), argv.data(), getenv);
}

// A YAML file in the temp directory for the life of the object.
class temp_yaml {
 public:
  explicit temp_yaml(std::string_view content) {
    static int files_created = 0;
    const std::string name = "ck_config_test_" + std::to_string(::getpid()) + "_" +
                             std::to_string(++files_created) + ".yaml";
    path_ = (std::filesystem::temp_directory_path() / name).string();
    std::ofstream(path_, std::ios::binary) << content;
  }
  ~temp_yaml() {
    std::error_code ignored;
    std::filesystem::remove(path_, ignored);
  }
  temp_yaml(const temp_yaml&) = delete;
  temp_yaml& operator=(const temp_yaml&) = delete;

  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

inline std::string test_hostname() {
  std::array<char, 256> buffer{};
  if (::gethostname(buffer.data(), buffer.size() - 1) != 0 || buffer[0] == '\0') {
    return "localhost";
  }
  return std::string(buffer.data());
}

// A config that passes validate(): the defaults with the derived fields filled as load() would.
inline node_config valid_config() {
  node_config c;
  c.node_id = "node-1";
  c.node_name = "node-1";
  c.advertise_host = "node1";
  c.storage.dir = "./data/node-1";
  return c;
}

}  // namespace ck::config::test
