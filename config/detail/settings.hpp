#pragma once

// The one table of settings. Every source (YAML, environment, command line), the validator's
// messages and the help text read their names from here, so a setting cannot be known to one
// source and unknown to another.
//
// Naming scheme: the YAML key is `section.name`; the flags are `--section.name` and the dashed
// alias (dots and underscores become dashes: `--cluster-replication-factor`); the environment
// variable is the one API.md fixes (NODE_ID, JOIN_ADDR, ...) and, for settings API.md does not
// name, the YAML key upper-cased with dots as underscores (limits.key_bytes_max ->
// LIMITS_KEY_BYTES_MAX, storage.map_size -> STORAGE_MAP_SIZE, log.level -> LOG_LEVEL), except
// runtime.threads -> THREADS and cluster.meta_voters_max -> META_VOTERS_MAX. The --config
// flag / CONFIG variable is not in the table: it names the YAML file and so cannot be set inside
// it.

#include <cstddef>
#include <string>
#include <string_view>

#include "config/node_config.hpp"

namespace ck::config::detail {

// What a setting's text holds; help shows it as the flag's placeholder, and a bare boolean flag
// ("--cluster.bootstrap" with no value) means true.
enum class value_kind { text, boolean, number, size, address, address_list };

// The placeholder help shows after a flag: "TEXT", "BOOL", "N", "SIZE", "HOST:PORT", "LIST".
std::string_view placeholder(value_kind kind);

struct setting {
  std::string_view env;  // environment variable
  std::string_view key;  // YAML key; the flag is "--" + key
  value_kind kind;
  std::string_view default_text;  // help's default when derived; "" means show(node_config{})
  std::string_view meaning;       // one help line, <= 90 columns
  bool secret;                    // never echo the value (it is a credential)
  // Parses `text` into `c`. Returns "" on success, else what was expected ("must be ...").
  // Checks the syntax only; validate() checks ranges and relations on the merged config.
  std::string (*apply)(node_config& c, std::string_view text);
  // The value in `c` in a form apply() reads back.
  std::string (*show)(const node_config& c);
};

struct setting_table {
  const setting* first;
  std::size_t count;
  const setting* begin() const { return first; }
  const setting* end() const { return first + count; }
};

// Every setting, in help order. Lives for the whole program.
setting_table all_settings();

// The setting with YAML key `key`, nullptr if none.
const setting* find_setting(std::string_view key);

// "--cluster-replication-factor" for "cluster.replication_factor".
std::string dashed_flag(std::string_view key);

// "ENV (key)", e.g. "NODE_ID (node.id)": how every message names a setting.
std::string setting_name(const setting& s);

// The value as messages show it: quoted, or a redaction for a secret.
std::string quoted_value(const setting& s, std::string_view value);

// invalid setting NODE_ID (node.id): "bad id!" must match [A-Za-z0-9._-]{1,64}
std::string setting_error(const setting& s, std::string_view value, std::string_view expectation);

}  // namespace ck::config::detail
