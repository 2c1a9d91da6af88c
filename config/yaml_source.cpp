// The YAML file source. yaml-cpp is used only here, and every call into it sits inside one try:
// its exceptions carry the line and column the operator needs.

#include <yaml-cpp/yaml.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <set>
#include <vector>

#include "config/detail/sources.hpp"
#include "config/detail/values.hpp"

namespace ck::config::detail {
namespace {

// A config file is a few kilobytes; the cap keeps a wrong path (a disk image, /dev/zero) from
// being read into memory.
constexpr std::streamsize yaml_file_bytes_max = 1 << 20;
// Settings are two levels deep (section.name); the cap bounds the recursion on hostile input.
constexpr int yaml_depth_max = 8;

struct yaml_walk {
  const std::string& path;
  node_config& config;
  origin_map& origins;
  std::set<std::string> seen_keys;
};

// yaml-cpp marks count from 0; editors count from 1.
std::string file_position(const std::string& path, const YAML::Mark& mark) {
  if (mark.is_null()) {
    return "invalid config file " + quote(path) + ": ";
  }
  return "invalid config file " + quote(path) + ": line " + std::to_string(mark.line + 1) +
         ", column " + std::to_string(mark.column + 1) + ": ";
}

// The text of a value node: a scalar as written, a list (cluster.join only) joined with commas,
// null as "" (an empty `name:` means the default).
std::string yaml_value_text(yaml_walk& walk, const setting& s, const YAML::Node& value,
                            std::string& error) {
  if (value.IsNull()) {
    return "";
  }
  if (value.IsScalar()) {
    return value.Scalar();
  }
  if (value.IsSequence() && s.kind == value_kind::address_list) {
    std::string text;
    for (const YAML::Node& item : value) {
      if (!item.IsScalar()) {
        error = file_position(walk.path, item.Mark()) + std::string(s.key) +
                " entries must be host:port strings";
        return "";
      }
      text += (text.empty() ? "" : ",") + item.Scalar();
    }
    return text;
  }
  error = file_position(walk.path, value.Mark()) + std::string(s.key) + " must be one value" +
          (s.kind == value_kind::address_list ? " or a list" : "") + ", not a " +
          (value.IsMap() ? "map" : "list");
  return "";
}

std::string yaml_apply_value(yaml_walk& walk, const std::string& key, const YAML::Node& key_node,
                             const YAML::Node& value) {
  const setting* s = find_setting(key);
  if (s == nullptr) {
    return file_position(walk.path, key_node.Mark()) + "unknown key " + quote(key) +
           " (see --help for the keys)";
  }
  if (!walk.seen_keys.insert(key).second) {
    return file_position(walk.path, key_node.Mark()) + "duplicate key " + quote(key);
  }
  std::string error;
  const std::string text = yaml_value_text(walk, *s, value, error);
  if (!error.empty()) {
    return error;
  }
  if (value.IsNull()) {
    return "";  // `key:` with nothing after it keeps the default, as if the key were absent
  }
  const std::string origin =
      "from " + walk.path + " line " + std::to_string(key_node.Mark().line + 1);
  std::string expectation = s->apply(walk.config, text);
  if (!expectation.empty()) {
    return setting_error(*s, text, expectation) + " (" + origin + ")";
  }
  walk.origins[key] = origin;
  return "";
}

// True if some setting's key starts with `prefix` + ".": "limits" and "cluster" are sections.
bool is_known_section(std::string_view prefix) {
  for (const setting& s : all_settings()) {
    if (s.key.size() > prefix.size() && s.key.substr(0, prefix.size()) == prefix &&
        s.key[prefix.size()] == '.') {
      return true;
    }
  }
  return false;
}

// Walks a map; nested maps extend the key ("node:" + "id:" is node.id), so `node.id: x` at the
// top level works too.
std::string yaml_walk_map(yaml_walk& walk, const YAML::Node& map, const std::string& prefix,
                          int depth) {
  if (depth > yaml_depth_max) {
    return file_position(walk.path, map.Mark()) + "nested too deep";
  }
  for (auto it = map.begin(); it != map.end(); ++it) {
    if (!it->first.IsScalar()) {
      return file_position(walk.path, it->first.Mark()) + "keys must be plain names";
    }
    const std::string key = prefix + it->first.Scalar();
    const bool section = it->second.IsMap() && find_setting(key) == nullptr;
    if (section && !is_known_section(key)) {
      // Reported here, not at its first entry: an empty `nodes: {}` must not pass either.
      return file_position(walk.path, it->first.Mark()) + "unknown key " + quote(key) +
             " (see --help for the keys)";
    }
    std::string error = section ? yaml_walk_map(walk, it->second, key + ".", depth + 1)
                                : yaml_apply_value(walk, key, it->first, it->second);
    if (!error.empty()) {
      return error;
    }
  }
  return "";
}

// Reads the file ourselves (YAML::LoadFile would say only "bad file") so a missing file says why.
std::string yaml_read_file(const std::string& path, std::string& content) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    const int error = errno;
    return std::strerror(error != 0 ? error : ENOENT);
  }
  std::vector<char> chunk(yaml_file_bytes_max + 1);
  in.read(chunk.data(), yaml_file_bytes_max + 1);
  if (in.bad()) {
    return "read failed";
  }
  if (in.gcount() > yaml_file_bytes_max) {
    return "larger than 1MiB";
  }
  content.assign(chunk.data(), static_cast<std::size_t>(in.gcount()));
  return "";
}

}  // namespace

std::string yaml_apply(const std::string& path, node_config& c, origin_map& origins) {
  std::string content;
  if (std::string why = yaml_read_file(path, content); !why.empty()) {
    return "invalid setting CONFIG (--config): " + quote(path) + " cannot be read: " + why;
  }
  try {
    const YAML::Node root = YAML::Load(content);
    if (root.IsNull()) {
      return "";  // an empty file or one with only comments sets nothing
    }
    if (!root.IsMap()) {
      return file_position(path, root.Mark()) + "expected a map of settings (key: value)";
    }
    yaml_walk walk{path, c, origins, {}};
    return yaml_walk_map(walk, root, "", 0);
  } catch (const YAML::Exception& e) {
    return file_position(path, e.mark) + e.msg;
  } catch (const std::exception& e) {
    return "invalid config file " + quote(path) + ": " + e.what();
  }
}

}  // namespace ck::config::detail
