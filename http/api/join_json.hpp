#pragma once

// The POST /join wire format (API.md): the body a joining node sends and the 200 reply it gets.
// Both directions live here so the server's parser and the joiner's writer cannot drift apart.
// Pure functions over strings and JSON; any thread.

#include "actors/messages.hpp"

#include <nlohmann/json.hpp>

#include <string>
#include <string_view>

namespace ck::http::api {

/// Parses and validates a POST /join body:
///   {"node": {"id", "name"?, "http_addr", "kv_addr", "services"?: {name: addr}}, "raft_addr"}
/// On success fills `out` and returns "". "name" defaults to the id; when "services" lacks
/// "kv", kv_addr is added as "kv". Otherwise returns one sentence for a 400 naming the field:
/// not JSON, not an object, a missing or unknown field (top level or inside "node"), a wrong
/// type, a node id outside [A-Za-z0-9._-]{1,64}, an address that is not host:port with a port in
/// 1..65535, a name above cluster::node_name_bytes_max, more than cluster::services_max
/// services, or a bad service name. On failure `out` is unspecified (partly filled).
std::string parse_join_body(std::string_view body, actors::join_request& out);

/// The body a joiner sends; parse_join_body(join_body(r), x) gives back r (with "kv" in
/// services) when r is valid. Never throws: invalid UTF-8 is replaced, not rejected.
std::string join_body(const actors::join_request& req);

/// The 200 reply to a committed join:
///   {"success": true, "outcome", "node_id", "raft_id", "cluster_id", "name", "partition_count",
///    "replication_factor", "members": [{"id", "raft_id", "raft_addr"}]}
nlohmann::json join_reply_json(const std::string& node_id, const actors::join_reply& reply);

/// The joiner's side: parses a 200 reply body into `out`. Returns "" or why it is not a valid
/// reply: not JSON or not an object, "success" not true, a missing field or wrong type, raft_id
/// 0, an empty cluster_id or outcome, a count above uint32, a member without id, raft_id or
/// raft_addr. Unknown fields are ignored (newer members may add some). On failure `out` is
/// unspecified.
std::string parse_join_reply(std::string_view body, actors::join_reply& out);

}  // namespace ck::http::api
