// One validation pass over the merged config: each field's range, then the relations between
// fields. The first failure wins; the message names the setting through the settings table.

#include <algorithm>
#include <array>
#include <cassert>
#include <cstdint>

#include "config/detail/settings.hpp"
#include "config/detail/sources.hpp"
#include "config/detail/values.hpp"

namespace ck::config::detail {
namespace {

constexpr std::size_t node_name_bytes_max = 128;
constexpr uint32_t partitions_max = 4096;
constexpr uint32_t replication_factor_max = 7;  // a Raft group of more voters only adds latency
constexpr std::size_t join_addrs_max = 64;
constexpr uint32_t threads_max = 1024;
constexpr std::size_t token_bytes_max = 4096;  // it travels in one request header
constexpr uint64_t map_size_min_bytes = mib;   // LMDB needs room for its meta pages and a tree
constexpr uint32_t meta_voters_cap = 7;  // as replication_factor_max: more voters only add latency
// Below this a peer is judged on scheduling jitter and single lost messages, not on failures.
constexpr uint32_t failure_after_min_ms = 100;
constexpr uint32_t raft_tick_min_ms = 10;
constexpr uint32_t raft_tick_max_ms = 10000;

using result = std::optional<validation_error>;

result fail(const node_config& c, std::string_view key, std::string_view expectation) {
  const setting* s = find_setting(key);
  assert(s != nullptr);  // every key named below is in the table
  return validation_error{s->key, setting_error(*s, s->show(c), expectation)};
}

bool has_control_byte(std::string_view text) {
  for (char ch : text) {
    const auto byte = static_cast<unsigned char>(ch);
    if (byte < 0x20 || byte == 0x7f) {
      return true;
    }
  }
  return false;
}

result validate_identity(const node_config& c) {
  if (!valid_node_id(c.node_id)) {
    return fail(c, "node.id",
                c.node_id.empty() ? "must be set (NODE_ID, node.id or --node.id) and match "
                                    "[A-Za-z0-9._-]{1,64}"
                                  : "must match [A-Za-z0-9._-]{1,64}");
  }
  if (c.node_name.empty() || c.node_name.size() > node_name_bytes_max ||
      has_control_byte(c.node_name)) {
    return fail(c, "node.name", "must be 1..128 bytes without control characters");
  }
  if (!valid_host(c.advertise_host)) {
    return fail(c, "node.advertise_host",
                "must be a host name or IP address ([A-Za-z0-9._-] or an IPv6 literal)");
  }
  return std::nullopt;
}

bool valid_listen_address(const host_port& address) {
  return address.port != 0 && (address.host.empty() || valid_host(address.host));
}

// Two listeners collide on the same port when their hosts are equal or either listens on all
// interfaces (":8080" and "127.0.0.1:8080" cannot both be bound).
bool addresses_collide(const host_port& a, const host_port& b) {
  return a.port == b.port &&
         (a.host == b.host || is_wildcard_host(a.host) || is_wildcard_host(b.host));
}

result validate_addresses(const node_config& c) {
  struct listener {
    std::string_view key;
    const host_port* address;
  };
  const std::array<listener, 3> listeners{
      {{"http.addr", &c.http_addr}, {"kv.addr", &c.kv_addr}, {"raft.addr", &c.raft_addr}}};
  for (const listener& l : listeners) {
    if (!valid_listen_address(*l.address)) {
      return fail(c, l.key, "must be host:port or :port with port 1..65535");
    }
  }
  for (std::size_t i = 0; i < listeners.size(); ++i) {
    for (std::size_t j = i + 1; j < listeners.size(); ++j) {
      if (addresses_collide(*listeners[i].address, *listeners[j].address)) {
        const setting& other = *find_setting(listeners[i].key);
        return fail(c, listeners[j].key,
                    "must not use the same port as " + setting_name(other) + " " +
                        quote(listeners[i].address->to_string()));
      }
    }
  }
  return std::nullopt;
}

result validate_cluster(const node_config& c) {
  if (c.partitions == 0 || c.partitions > partitions_max) {
    return fail(c, "cluster.partitions", "must be in 1..4096");
  }
  if (c.replication_factor == 0 || c.replication_factor > replication_factor_max) {
    return fail(c, "cluster.replication_factor", "must be in 1..7");
  }
  if (c.join_addrs.size() > join_addrs_max) {
    return fail(c, "cluster.join", "must list at most 64 addresses");
  }
  for (const host_port& address : c.join_addrs) {
    // A join address is dialled, so "all interfaces" (":8080", "0.0.0.0:8080") means nothing.
    if (is_wildcard_host(address.host) || !valid_listen_address(address)) {
      return fail(c, "cluster.join",
                  "must list host:port entries with a host and port 1..65535; " +
                      quote(address.to_string()) + " is not one");
    }
  }
  if (c.bootstrap && !c.join_addrs.empty()) {
    return fail(c, "cluster.join",
                "must be empty when BOOTSTRAP (cluster.bootstrap) is true: a node either creates "
                "a cluster or joins one");
  }
  return std::nullopt;
}

result validate_membership(const node_config& c) {
  const membership_config& m = c.membership;
  if (m.meta_voters_max == 0 || m.meta_voters_max > meta_voters_cap) {
    return fail(c, "cluster.meta_voters_max", "must be in 1..7");
  }
  if (m.suspect_after_ms < failure_after_min_ms) {
    return fail(c, "failure.suspect_after_ms", "must be at least 100");
  }
  if (m.dead_after_ms < failure_after_min_ms) {
    return fail(c, "failure.dead_after_ms", "must be at least 100");
  }
  if (m.dead_after_ms <= m.suspect_after_ms) {
    return fail(c, "failure.dead_after_ms",
                "must be greater than FAILURE_SUSPECT_AFTER_MS (failure.suspect_after_ms) " +
                    quote(std::to_string(m.suspect_after_ms)));
  }
  return std::nullopt;
}

result validate_raft_timing(const node_config& c) {
  const raft_timing_config& r = c.raft_timing;
  if (r.tick_ms < raft_tick_min_ms || r.tick_ms > raft_tick_max_ms) {
    return fail(c, "raft.tick_ms", "must be in 10..10000");
  }
  if (r.heartbeat_ticks == 0) {
    return fail(c, "raft.heartbeat_ticks", "must be at least 1");
  }
  if (r.election_ticks <= r.heartbeat_ticks) {
    return fail(c, "raft.election_ticks",
                "must be greater than RAFT_HEARTBEAT_TICKS (raft.heartbeat_ticks) " +
                    quote(std::to_string(r.heartbeat_ticks)));
  }
  return std::nullopt;
}

result validate_storage(const node_config& c) {
  if (c.storage.dir.empty()) {
    return fail(c, "storage.dir", "must be set");
  }
  if (c.storage.map_size_max_bytes < map_size_min_bytes) {
    return fail(c, "storage.map_size_max", "must be at least 1MiB");
  }
  if (c.storage.map_size_bytes < map_size_min_bytes ||
      c.storage.map_size_bytes > c.storage.map_size_max_bytes) {
    return fail(c, "storage.map_size",
                "must be between 1MiB and STORAGE_MAP_SIZE_MAX (storage.map_size_max) " +
                    quote(format_size(c.storage.map_size_max_bytes)));
  }
  return std::nullopt;
}

result validate_runtime(const node_config& c) {
  static constexpr std::array<std::string_view, 6> levels{"trace", "debug", "info",
                                                          "warn",  "error", "off"};
  bool known_level = false;
  for (std::string_view level : levels) {
    known_level = known_level || c.log_level == level;
  }
  if (!known_level) {
    return fail(c, "log.level", "must be one of trace|debug|info|warn|error|off");
  }
  if (c.threads > threads_max) {
    return fail(c, "runtime.threads", "must be in 0..1024 (0 = hardware threads)");
  }
  for (auto [key, token] : {std::pair{"security.token", &c.token},
                            std::pair{"security.previous_token", &c.previous_token}}) {
    const bool printable = std::all_of(token->begin(), token->end(),
                                       [](char ch) { return ch > ' ' && ch < 0x7f; });
    if (!printable || token->size() > token_bytes_max) {
      return fail(c, key, "must be at most 4096 printable ASCII characters without spaces");
    }
  }
  if (!c.previous_token.empty() && (c.token.empty() || c.previous_token == c.token)) {
    return fail(c, "security.previous_token",
                "needs security.token (CLUSTERKIT_TOKEN) set to another, new token");
  }
  if (c.protect_reads && c.token.empty()) {
    return fail(c, "auth.protect_reads", "needs security.token (CLUSTERKIT_TOKEN) to be set");
  }
  if (c.tls.enabled()) {
    for (auto [key, path] : {std::pair{"tls.ca", &c.tls.ca}, std::pair{"tls.cert", &c.tls.cert},
                             std::pair{"tls.key", &c.tls.key}}) {
      if (path->empty()) {
        return fail(c, key, "must be set: tls.ca, tls.cert and tls.key go together");
      }
    }
  }
  return std::nullopt;
}

result validate_limits(const node_config& c) {
  const limits_config& l = c.limits;
  const std::array<std::pair<std::string_view, uint32_t>, 10> positive{{
      {"limits.key_bytes_max", l.key_bytes_max},
      {"limits.value_bytes_max", l.value_bytes_max},
      {"limits.body_bytes_max", l.body_bytes_max},
      {"limits.header_bytes_max", l.header_bytes_max},
      {"limits.idle_timeout_ms", l.idle_timeout_ms},
      {"limits.connections_max", l.connections_max},
      {"limits.per_client_max", l.per_client_max},
      {"limits.read_timeout_ms", l.read_timeout_ms},
      {"limits.request_timeout_ms", l.request_timeout_ms},
      {"limits.pipeline_depth_max", l.pipeline_depth_max},
  }};
  for (const auto& [key, value] : positive) {
    if (value == 0) {
      return fail(c, key, "must be greater than 0");
    }
  }
  // The storage layer keeps keys up to 64 KiB and values up to 64 MiB (storage/format.hpp);
  // config cannot include storage, so the two figures are repeated here.
  if (l.key_bytes_max > (64u << 10)) {
    return fail(c, "limits.key_bytes_max", "must be at most 64KiB");
  }
  if (l.value_bytes_max > (64u << 20)) {
    return fail(c, "limits.value_bytes_max", "must be at most 64MiB");
  }
  // In 64 bits: the two 32-bit maxima may sum past 4 GiB.
  const uint64_t entry_bytes_max = uint64_t{l.key_bytes_max} + l.value_bytes_max;
  if (l.body_bytes_max < entry_bytes_max) {
    return fail(c, "limits.body_bytes_max",
                "must be at least limits.value_bytes_max + limits.key_bytes_max (" +
                    std::to_string(entry_bytes_max) + " bytes) so every legal write fits");
  }
  return std::nullopt;
}

}  // namespace

std::optional<validation_error> validate_detail(const node_config& c) {
  using check = result (*)(const node_config&);
  static constexpr std::array<check, 8> checks{
      validate_identity,    validate_addresses, validate_cluster, validate_membership,
      validate_raft_timing, validate_storage,   validate_runtime, validate_limits};
  for (check run : checks) {
    if (result error = run(c)) {
      return error;
    }
  }
  return std::nullopt;
}

}  // namespace ck::config::detail

namespace ck::config {

std::string validate(const node_config& c) {
  std::optional<detail::validation_error> error = detail::validate_detail(c);
  return error ? error->message : std::string();
}

}  // namespace ck::config
