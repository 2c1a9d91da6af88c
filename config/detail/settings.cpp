#include "config/detail/settings.hpp"

#include <array>
#include <cstdint>

#include "config/detail/values.hpp"

namespace ck::config::detail {
namespace {

// Setters and printers shared by settings of the same type. Each setter returns "" or the
// expectation, so the caller can name the setting and the source in one line.

std::string set_text(std::string& field, std::string_view text) {
  field = std::string(text);
  return "";
}

std::string set_address(host_port& field, std::string_view text) {
  std::optional<host_port> address = parse_host_port(trim(text));
  if (!address) {
    return "must be host:port or :port with port 1..65535 (IPv6 as [addr]:port)";
  }
  field = std::move(*address);
  return "";
}

std::string set_bool(bool& field, std::string_view text) {
  std::optional<bool> value = parse_bool(text);
  if (!value) {
    return "must be true/false, 1/0 or yes/no";
  }
  field = *value;
  return "";
}

std::string set_u32(uint32_t& field, std::string_view text) {
  std::optional<uint64_t> value = parse_uint(text, UINT32_MAX);
  if (!value) {
    return "must be an integer in 0..4294967295";
  }
  field = static_cast<uint32_t>(*value);
  return "";
}

std::string set_size32(uint32_t& field, std::string_view text) {
  std::optional<uint64_t> value = parse_size(text, UINT32_MAX);
  if (!value) {
    return "must be a byte count below 4GiB, optionally with a suffix K/KiB, M/MiB or G/GiB";
  }
  field = static_cast<uint32_t>(*value);
  return "";
}

std::string set_size64(uint64_t& field, std::string_view text) {
  std::optional<uint64_t> value = parse_size(text, UINT64_MAX);
  if (!value) {
    return "must be a byte count, optionally with a suffix K/KiB, M/MiB, G/GiB or T/TiB";
  }
  field = *value;
  return "";
}

std::string set_join(std::vector<host_port>& field, std::string_view text) {
  std::string bad_entry;
  std::optional<std::vector<host_port>> list = parse_host_port_list(text, bad_entry);
  if (!list) {
    return "must be a comma-separated list of host:port with port 1..65535; " + quote(bad_entry) +
           " is not";
  }
  field = std::move(*list);
  return "";
}

std::string set_log_level(std::string& field, std::string_view text) {
  field.clear();
  for (char ch : trim(text)) {
    // Operators type INFO as often as info; store one spelling so consumers compare simply.
    field += (ch >= 'A' && ch <= 'Z') ? static_cast<char>(ch - 'A' + 'a') : ch;
  }
  return "";
}

std::string show_bool(bool value) { return value ? "true" : "false"; }

// Shorthands that keep each table row on a few lines.
using cfg = node_config;
using text = std::string_view;

constexpr std::array<setting, 45> settings_rows{{
    {"NODE_ID", "node.id", value_kind::text, "(required)",
     "unique, stable node id: [A-Za-z0-9._-]{1,64}", false,
     [](cfg& c, text t) { return set_text(c.node_id, t); }, [](const cfg& c) { return c.node_id; }},
    {"NODE_NAME", "node.name", value_kind::text, "the node id", "human name, at most 128 bytes",
     false, [](cfg& c, text t) { return set_text(c.node_name, t); },
     [](const cfg& c) { return c.node_name; }},
    {"ADVERTISE_HOST", "node.advertise_host", value_kind::text, "raft.addr host, else hostname",
     "host other nodes and clients use for this node's HTTP/KV ports", false,
     [](cfg& c, text t) { return set_text(c.advertise_host, trim(t)); },
     [](const cfg& c) { return c.advertise_host; }},
    {"HTTP_ADDR", "http.addr", value_kind::address, "",
     "cluster API listen address, host:port (empty host: all)", false,
     [](cfg& c, text t) { return set_address(c.http_addr, t); },
     [](const cfg& c) { return c.http_addr.to_string(); }},
    {"KV_ADDR", "kv.addr", value_kind::address, "", "KV API listen address", false,
     [](cfg& c, text t) { return set_address(c.kv_addr, t); },
     [](const cfg& c) { return c.kv_addr.to_string(); }},
    {"RAFT_ADDR", "raft.addr", value_kind::address, "",
     "CAF network-layer address; host:port others use to reach us", false,
     [](cfg& c, text t) { return set_address(c.raft_addr, t); },
     [](const cfg& c) { return c.raft_addr.to_string(); }},
    {"RAFT_TICK_MS", "raft.tick_ms", value_kind::number, "",
     "length of one Raft tick in ms, 10..10000", false,
     [](cfg& c, text t) { return set_u32(c.raft_timing.tick_ms, t); },
     [](const cfg& c) { return std::to_string(c.raft_timing.tick_ms); }},
    {"RAFT_HEARTBEAT_TICKS", "raft.heartbeat_ticks", value_kind::number, "",
     "ticks between a leader's heartbeats, >= 1", false,
     [](cfg& c, text t) { return set_u32(c.raft_timing.heartbeat_ticks, t); },
     [](const cfg& c) { return std::to_string(c.raft_timing.heartbeat_ticks); }},
    {"RAFT_ELECTION_TICKS", "raft.election_ticks", value_kind::number, "",
     "ticks without a leader before a follower campaigns, > raft.heartbeat_ticks", false,
     [](cfg& c, text t) { return set_u32(c.raft_timing.election_ticks, t); },
     [](const cfg& c) { return std::to_string(c.raft_timing.election_ticks); }},
    {"RAFT_SNAPSHOT_ENTRIES", "raft.snapshot_entries", value_kind::number, "",
     "partition log compaction: record a snapshot every N applied entries (0: never)", false,
     [](cfg& c, text t) { return set_u32(c.raft_timing.snapshot_entries, t); },
     [](const cfg& c) { return std::to_string(c.raft_timing.snapshot_entries); }},
    {"RAFT_SNAPSHOT_BYTES", "raft.snapshot_bytes", value_kind::number, "",
     "partition log compaction: also a snapshot once N bytes were applied (0: no byte bound)",
     false, [](cfg& c, text t) { return set_u32(c.raft_timing.snapshot_bytes, t); },
     [](const cfg& c) { return std::to_string(c.raft_timing.snapshot_bytes); }},
    {"RAFT_SNAPSHOT_KEEP", "raft.snapshot_keep_entries", value_kind::number, "",
     "entries kept in a partition log below its latest snapshot", false,
     [](cfg& c, text t) { return set_u32(c.raft_timing.snapshot_keep_entries, t); },
     [](const cfg& c) { return std::to_string(c.raft_timing.snapshot_keep_entries); }},
    {"RAFT_SNAPSHOT_KEEP_BYTES", "raft.snapshot_keep_bytes", value_kind::number, "",
     "at most about N bytes of entries kept below the latest snapshot (0: no byte bound)", false,
     [](cfg& c, text t) { return set_u32(c.raft_timing.snapshot_keep_bytes, t); },
     [](const cfg& c) { return std::to_string(c.raft_timing.snapshot_keep_bytes); }},
    {"BOOTSTRAP", "cluster.bootstrap", value_kind::boolean, "",
     "create a new cluster with this node (true/false/...)", false,
     [](cfg& c, text t) { return set_bool(c.bootstrap, t); },
     [](const cfg& c) { return show_bool(c.bootstrap); }},
    {"JOIN_ADDR", "cluster.join", value_kind::address_list, "(empty)",
     "HTTP host:port of members to join through, comma-separated (YAML: also a list)", false,
     [](cfg& c, text t) { return set_join(c.join_addrs, t); },
     [](const cfg& c) { return format_host_port_list(c.join_addrs); }},
    {"PARTITIONS", "cluster.partitions", value_kind::number, "",
     "partition count, 1..4096, fixed at cluster creation", false,
     [](cfg& c, text t) { return set_u32(c.partitions, t); },
     [](const cfg& c) { return std::to_string(c.partitions); }},
    {"REPLICATION_FACTOR", "cluster.replication_factor", value_kind::number, "",
     "replicas per partition, 1..7", false,
     [](cfg& c, text t) { return set_u32(c.replication_factor, t); },
     [](const cfg& c) { return std::to_string(c.replication_factor); }},
    {"CLUSTER_LEADER_FOLLOWS_LOAD", "cluster.leader_follows_load", value_kind::boolean, "",
     "move a partition's leader to the node most of its requests come through", false,
     [](cfg& c, text t) { return set_bool(c.leader_follows_load, t); },
     [](const cfg& c) { return show_bool(c.leader_follows_load); }},
    {"META_VOTERS_MAX", "cluster.meta_voters_max", value_kind::number, "",
     "voters of the meta group, 1..7; further members are learners", false,
     [](cfg& c, text t) { return set_u32(c.membership.meta_voters_max, t); },
     [](const cfg& c) { return std::to_string(c.membership.meta_voters_max); }},
    {"FAILURE_SUSPECT_AFTER_MS", "failure.suspect_after_ms", value_kind::number, "",
     "silence in ms before a peer is suspect, >= 100", false,
     [](cfg& c, text t) { return set_u32(c.membership.suspect_after_ms, t); },
     [](const cfg& c) { return std::to_string(c.membership.suspect_after_ms); }},
    {"FAILURE_DEAD_AFTER_MS", "failure.dead_after_ms", value_kind::number, "",
     "silence in ms before a peer is dead, > failure.suspect_after_ms", false,
     [](cfg& c, text t) { return set_u32(c.membership.dead_after_ms, t); },
     [](const cfg& c) { return std::to_string(c.membership.dead_after_ms); }},
    {"DATA_DIR", "storage.dir", value_kind::text, "./data/<node.id>",
     "LMDB environment and node identity", false,
     [](cfg& c, text t) { return set_text(c.storage.dir, t); },
     [](const cfg& c) { return c.storage.dir; }},
    {"STORAGE_SYNC", "storage.sync", value_kind::boolean, "",
     "fsync each commit; false may lose acknowledged writes on power loss", false,
     [](cfg& c, text t) { return set_bool(c.storage.sync, t); },
     [](const cfg& c) { return show_bool(c.storage.sync); }},
    {"STORAGE_JOURNAL", "storage.journal", value_kind::boolean, "",
     "write-ahead journal in front of LMDB (needs storage.sync); false: LMDB commits each batch",
     false,
     [](cfg& c, text t) { return set_bool(c.storage.journal, t); },
     [](const cfg& c) { return show_bool(c.storage.journal); }},
    {"STORAGE_MAP_SIZE", "storage.map_size", value_kind::size, "", "initial LMDB map size, >= 1MiB",
     false, [](cfg& c, text t) { return set_size64(c.storage.map_size_bytes, t); },
     [](const cfg& c) { return format_size(c.storage.map_size_bytes); }},
    {"STORAGE_MAP_SIZE_MAX", "storage.map_size_max", value_kind::size, "",
     "the LMDB map never grows past this, >= storage.map_size", false,
     [](cfg& c, text t) { return set_size64(c.storage.map_size_max_bytes, t); },
     [](const cfg& c) { return format_size(c.storage.map_size_max_bytes); }},
    {"CLUSTERKIT_TOKEN", "security.token", value_kind::text, "(none)",
     "when set, mutating endpoints need Authorization: Bearer <token> (flags show in ps)", true,
     [](cfg& c, text t) { return set_text(c.token, t); }, [](const cfg& c) { return c.token; }},
    {"CLUSTERKIT_PREVIOUS_TOKEN", "security.previous_token", value_kind::text, "(none)",
     "while the token changes: nodes and HTTP clients holding this one are admitted too",
     true, [](cfg& c, text t) { return set_text(c.previous_token, t); },
     [](const cfg& c) { return c.previous_token; }},
    {"AUTH_PROTECT_READS", "auth.protect_reads", value_kind::boolean, "",
     "reads need the token too (all but /health and /ready); needs security.token", false,
     [](cfg& c, text t) { return set_bool(c.protect_reads, t); },
     [](const cfg& c) { return show_bool(c.protect_reads); }},
    {"AUTH_ROTATE_TOKEN", "auth.rotate_token", value_kind::boolean, "",
     "accept security.token although DATA_DIR was joined with another (changing the token)",
     false, [](cfg& c, text t) { return set_bool(c.rotate_token, t); },
     [](const cfg& c) { return show_bool(c.rotate_token); }},
    {"TLS_CA", "tls.ca", value_kind::text, "(none)",
     "PEM CA for node-to-node mutual TLS; with tls.cert and tls.key", false,
     [](cfg& c, text t) { return set_text(c.tls.ca, t); }, [](const cfg& c) { return c.tls.ca; }},
    {"TLS_CERT", "tls.cert", value_kind::text, "(none)",
     "PEM certificate of this node, signed by tls.ca", false,
     [](cfg& c, text t) { return set_text(c.tls.cert, t); },
     [](const cfg& c) { return c.tls.cert; }},
    {"TLS_KEY", "tls.key", value_kind::text, "(none)", "PEM private key of tls.cert", false,
     [](cfg& c, text t) { return set_text(c.tls.key, t); },
     [](const cfg& c) { return c.tls.key; }},
    {"LOG_LEVEL", "log.level", value_kind::text, "", "trace, debug, info, warn, error or off",
     false, [](cfg& c, text t) { return set_log_level(c.log_level, t); },
     [](const cfg& c) { return c.log_level; }},
    {"THREADS", "runtime.threads", value_kind::number, "",
     "scheduler threads, 0..1024; 0 = hardware threads", false,
     [](cfg& c, text t) { return set_u32(c.threads, t); },
     [](const cfg& c) { return std::to_string(c.threads); }},
    {"LIMITS_KEY_BYTES_MAX", "limits.key_bytes_max", value_kind::size, "", "longest key accepted",
     false, [](cfg& c, text t) { return set_size32(c.limits.key_bytes_max, t); },
     [](const cfg& c) { return format_size(c.limits.key_bytes_max); }},
    {"LIMITS_VALUE_BYTES_MAX", "limits.value_bytes_max", value_kind::size, "",
     "longest value accepted", false,
     [](cfg& c, text t) { return set_size32(c.limits.value_bytes_max, t); },
     [](const cfg& c) { return format_size(c.limits.value_bytes_max); }},
    {"LIMITS_BODY_BYTES_MAX", "limits.body_bytes_max", value_kind::size, "",
     "largest request body, >= value_bytes_max + key_bytes_max", false,
     [](cfg& c, text t) { return set_size32(c.limits.body_bytes_max, t); },
     [](const cfg& c) { return format_size(c.limits.body_bytes_max); }},
    {"LIMITS_HEADER_BYTES_MAX", "limits.header_bytes_max", value_kind::size, "",
     "largest request header block", false,
     [](cfg& c, text t) { return set_size32(c.limits.header_bytes_max, t); },
     [](const cfg& c) { return format_size(c.limits.header_bytes_max); }},
    {"LIMITS_IDLE_TIMEOUT_MS", "limits.idle_timeout_ms", value_kind::number, "",
     "idle keep-alive connections are closed after this", false,
     [](cfg& c, text t) { return set_u32(c.limits.idle_timeout_ms, t); },
     [](const cfg& c) { return std::to_string(c.limits.idle_timeout_ms); }},
    {"LIMITS_CONNECTIONS_MAX", "limits.connections_max", value_kind::number, "",
     "client connections open at once", false,
     [](cfg& c, text t) { return set_u32(c.limits.connections_max, t); },
     [](const cfg& c) { return std::to_string(c.limits.connections_max); }},
    {"LIMITS_PER_CLIENT_MAX", "limits.per_client_max",
     value_kind::number, "", "connections one client address may hold at once", false,
     [](cfg& c, text t) { return set_u32(c.limits.per_client_max, t); },
     [](const cfg& c) { return std::to_string(c.limits.per_client_max); }},
    {"LIMITS_READ_TIMEOUT_MS", "limits.read_timeout_ms", value_kind::number, "",
     "a request's header and body must arrive within this, else 408", false,
     [](cfg& c, text t) { return set_u32(c.limits.read_timeout_ms, t); },
     [](const cfg& c) { return std::to_string(c.limits.read_timeout_ms); }},
    {"LIMITS_REQUEST_TIMEOUT_MS", "limits.request_timeout_ms", value_kind::number, "",
     "a request not answered by then gets 504", false,
     [](cfg& c, text t) { return set_u32(c.limits.request_timeout_ms, t); },
     [](const cfg& c) { return std::to_string(c.limits.request_timeout_ms); }},
    {"LIMITS_PIPELINE_DEPTH_MAX", "limits.pipeline_depth_max", value_kind::number, "",
     "pipelined requests read ahead per connection", false,
     [](cfg& c, text t) { return set_u32(c.limits.pipeline_depth_max, t); },
     [](const cfg& c) { return std::to_string(c.limits.pipeline_depth_max); }},
}};

}  // namespace

setting_table all_settings() { return {settings_rows.data(), settings_rows.size()}; }

const setting* find_setting(std::string_view key) {
  for (const setting& s : settings_rows) {
    if (s.key == key) {
      return &s;
    }
  }
  return nullptr;
}

std::string_view placeholder(value_kind kind) {
  switch (kind) {
    case value_kind::text:
      return "TEXT";
    case value_kind::boolean:
      return "BOOL";
    case value_kind::number:
      return "N";
    case value_kind::size:
      return "SIZE";
    case value_kind::address:
      return "HOST:PORT";
    case value_kind::address_list:
      return "LIST";
  }
  return "VALUE";
}

std::string dashed_flag(std::string_view key) {
  std::string flag = "--";
  for (char ch : key) {
    flag += (ch == '.' || ch == '_') ? '-' : ch;
  }
  return flag;
}

std::string setting_name(const setting& s) {
  return std::string(s.env) + " (" + std::string(s.key) + ")";
}

std::string quoted_value(const setting& s, std::string_view value) {
  if (s.secret) {
    return "(" + std::to_string(value.size()) + " bytes, not shown)";
  }
  return quote(value);
}

std::string setting_error(const setting& s, std::string_view value, std::string_view expectation) {
  return "invalid setting " + setting_name(s) + ": " + quoted_value(s, value) + " " +
         std::string(expectation);
}

}  // namespace ck::config::detail
