#include "http/api/join_json.hpp"

#include "http/json_depth.hpp"
#include "runtime/cluster/meta_state.hpp"

#include <cstdint>
#include <limits>
#include <string>

namespace ck::http::api {

using nlohmann::json;

namespace {

// Bytes of a client-chosen name quoted back in an error, so a huge key cannot bloat the reply.
constexpr size_t quoted_name_bytes_max = 64;

// `"text"`, cut to quoted_name_bytes_max at a UTF-8 character boundary (the parser has
// validated the UTF-8, and a split character would make the error body unserialisable).
std::string quote_name(std::string_view text) {
  if (text.size() > quoted_name_bytes_max) {
    size_t cut = quoted_name_bytes_max;
    while (cut > 0 && (static_cast<unsigned char>(text[cut]) & 0xC0) == 0x80) {
      --cut;
    }
    return "\"" + std::string{text.substr(0, cut)} + "...\"";
  }
  return "\"" + std::string{text} + "\"";
}

// Returns "" when `object` has only `allowed` keys, else a sentence naming the first other one.
template <size_t N>
std::string check_known_fields(const json& object, const char* prefix,
                               const std::string_view (&allowed)[N]) {
  for (const auto& item : object.items()) {
    bool known = false;
    for (const auto& name : allowed) {
      known = known || item.key() == name;
    }
    if (!known) {
      return "unknown field " + quote_name(prefix + item.key());
    }
  }
  return "";
}

// Reads object[key] as a string into `out`. Returns "" or the error; a missing key is an error
// only when `required`.
std::string read_string(const json& object, const char* key, const char* field, bool required,
                        std::string& out) {
  const auto found = object.find(key);
  if (found == object.end()) {
    return required ? std::string{"missing field \""} + field + "\"" : "";
  }
  if (!found->is_string()) {
    return std::string{"field \""} + field + "\" must be a string";
  }
  out = found->get<std::string>();
  return "";
}

std::string read_address(const json& object, const char* key, const char* field, std::string& out) {
  auto error = read_string(object, key, field, true, out);
  if (!error.empty()) {
    return error;
  }
  if (!cluster::is_valid_address(out)) {
    return std::string{field} + " must be host:port with a port in 1..65535";
  }
  return "";
}

std::string check_node_id(const std::string& id) {
  if (id.empty()) {
    return "node.id must not be empty";
  }
  if (id.size() > cluster::node_id_bytes_max) {
    return "node.id must be at most " + std::to_string(cluster::node_id_bytes_max) + " bytes";
  }
  if (!cluster::is_valid_node_id(id)) {
    return "node.id has illegal characters (allowed: [A-Za-z0-9._-])";
  }
  return "";
}

// Fills `out` from node["services"] (if any) and adds "kv" when missing.
std::string read_services(const json& node, actors::join_request& out) {
  out.services.clear();
  const auto found = node.find("services");
  if (found != node.end()) {
    if (!found->is_object()) {
      return "field \"node.services\" must be an object of name to address";
    }
    if (found->size() > cluster::services_max) {
      return "node.services must have at most " + std::to_string(cluster::services_max) +
             " entries";
    }
    for (const auto& item : found->items()) {
      const auto& name = item.key();
      if (name.empty() || name.size() > cluster::service_name_bytes_max) {
        return "node.services names must be 1.." + std::to_string(cluster::service_name_bytes_max) +
               " bytes";
      }
      if (!item.value().is_string()) {
        return "node.services." + quote_name(name) + " must be a string";
      }
      auto address = item.value().get<std::string>();
      if (!cluster::is_valid_address(address)) {
        return "node.services." + quote_name(name) + " must be host:port with a port in 1..65535";
      }
      out.services.emplace(name, std::move(address));
    }
  }
  out.services.emplace("kv", out.kv_addr);  // no-op when the joiner named its own "kv"
  if (out.services.size() > cluster::services_max) {
    return "node.services must have at most " + std::to_string(cluster::services_max) +
           " entries, \"kv\" included";
  }
  return "";
}

std::string read_node(const json& node, actors::join_request& out) {
  if (!node.is_object()) {
    return "field \"node\" must be an object";
  }
  static constexpr std::string_view node_fields[] = {"id", "name", "http_addr", "kv_addr",
                                                     "services"};
  auto error = check_known_fields(node, "node.", node_fields);
  if (error.empty()) {
    error = read_string(node, "id", "node.id", true, out.id);
  }
  if (error.empty()) {
    error = check_node_id(out.id);
  }
  out.name.clear();
  if (error.empty()) {
    error = read_string(node, "name", "node.name", false, out.name);
  }
  if (error.empty() && out.name.size() > cluster::node_name_bytes_max) {
    error = "node.name must be at most " + std::to_string(cluster::node_name_bytes_max) + " bytes";
  }
  if (error.empty() && out.name.empty()) {
    out.name = out.id;
  }
  if (error.empty()) {
    error = read_address(node, "http_addr", "node.http_addr", out.http_addr);
  }
  if (error.empty()) {
    error = read_address(node, "kv_addr", "node.kv_addr", out.kv_addr);
  }
  if (error.empty()) {
    error = read_services(node, out);
  }
  return error;
}

// Reads object[key] as an unsigned integer no larger than `max`.
std::string read_unsigned(const json& object, const char* key, uint64_t max, uint64_t& out) {
  const auto found = object.find(key);
  if (found == object.end()) {
    return std::string{"missing field \""} + key + "\"";
  }
  if (!found->is_number_unsigned()) {
    return std::string{"field \""} + key + "\" must be a non-negative integer";
  }
  out = found->get<uint64_t>();
  if (out > max) {
    return std::string{"field \""} + key + "\" is too large";
  }
  return "";
}

std::string read_member(const json& item, actors::join_member& out) {
  if (!item.is_object()) {
    return "members must be objects";
  }
  auto error = read_string(item, "id", "members[].id", true, out.id);
  if (error.empty()) {
    error = read_unsigned(item, "raft_id", std::numeric_limits<uint64_t>::max(), out.raft_id);
  }
  if (error.empty()) {
    error = read_string(item, "raft_addr", "members[].raft_addr", true, out.raft_addr);
  }
  if (error.empty() && (out.id.empty() || out.raft_id == 0 || out.raft_addr.empty())) {
    error = "a member has an empty id, raft_id 0 or an empty raft_addr";
  }
  return error.empty() ? "" : "member: " + error;
}

std::string read_reply_members(const json& reply, actors::join_reply& out) {
  const auto found = reply.find("members");
  if (found == reply.end()) {
    return "missing field \"members\"";
  }
  if (!found->is_array()) {
    return "field \"members\" must be an array";
  }
  if (found->size() > cluster::nodes_max) {
    return "more than " + std::to_string(cluster::nodes_max) + " members";
  }
  out.members.clear();
  for (const auto& item : *found) {
    actors::join_member member;
    auto error = read_member(item, member);
    if (!error.empty()) {
      return error;
    }
    out.members.push_back(std::move(member));
  }
  return "";
}

std::string read_reply(const json& reply, actors::join_reply& out) {
  const auto success = reply.find("success");
  if (success == reply.end() || !success->is_boolean() || !success->get<bool>()) {
    return "reply does not say \"success\": true";
  }
  constexpr uint64_t u32_max = std::numeric_limits<uint32_t>::max();
  uint64_t partition_count = 0;
  uint64_t replication_factor = 0;
  auto error = read_string(reply, "outcome", "outcome", true, out.outcome);
  if (error.empty()) {
    error = read_unsigned(reply, "raft_id", std::numeric_limits<uint64_t>::max(), out.raft_id);
  }
  if (error.empty()) {
    error = read_string(reply, "cluster_id", "cluster_id", true, out.cluster_id);
  }
  if (error.empty()) {
    error = read_string(reply, "name", "name", true, out.cluster_name);
  }
  if (error.empty()) {
    error = read_unsigned(reply, "partition_count", u32_max, partition_count);
  }
  if (error.empty()) {
    error = read_unsigned(reply, "replication_factor", u32_max, replication_factor);
  }
  if (!error.empty()) {
    return error;
  }
  out.partition_count = static_cast<uint32_t>(partition_count);
  out.replication_factor = static_cast<uint32_t>(replication_factor);
  if (out.outcome.empty()) {
    return "field \"outcome\" is empty";
  }
  if (out.raft_id == 0) {
    return "field \"raft_id\" is 0";
  }
  if (out.cluster_id.empty()) {
    return "field \"cluster_id\" is empty";
  }
  return read_reply_members(reply, out);
}

}  // namespace

std::string parse_join_body(std::string_view body, actors::join_request& out) {
  if (http::json_nesting_exceeds(body)) {
    return "body nests deeper than " + std::to_string(http::json_depth_max) + " levels";
  }
  const auto parsed = json::parse(body.begin(), body.end(), nullptr, false);
  if (parsed.is_discarded()) {
    return "body is not valid JSON";
  }
  if (!parsed.is_object()) {
    return "body must be a JSON object";
  }
  static constexpr std::string_view top_fields[] = {"node", "raft_addr"};
  auto error = check_known_fields(parsed, "", top_fields);
  if (!error.empty()) {
    return error;
  }
  const auto node = parsed.find("node");
  if (node == parsed.end()) {
    return "missing field \"node\"";
  }
  if (parsed.find("raft_addr") == parsed.end()) {
    return "missing field \"raft_addr\"";
  }
  error = read_node(*node, out);
  if (!error.empty()) {
    return error;
  }
  return read_address(parsed, "raft_addr", "raft_addr", out.raft_addr);
}

std::string join_body(const actors::join_request& req) {
  json services = json::object();
  for (const auto& [name, address] : req.services) {
    services[name] = address;
  }
  const json body = {{"node",
                      {{"id", req.id},
                       {"name", req.name},
                       {"http_addr", req.http_addr},
                       {"kv_addr", req.kv_addr},
                       {"services", std::move(services)}}},
                     {"raft_addr", req.raft_addr}};
  return body.dump(-1, ' ', false, json::error_handler_t::replace);
}

json join_reply_json(const std::string& node_id, const actors::join_reply& reply) {
  json members = json::array();
  for (const auto& member : reply.members) {
    members.push_back(
        {{"id", member.id}, {"raft_id", member.raft_id}, {"raft_addr", member.raft_addr}});
  }
  return {{"success", true},
          {"outcome", reply.outcome},
          {"node_id", node_id},
          {"raft_id", reply.raft_id},
          {"cluster_id", reply.cluster_id},
          {"name", reply.cluster_name},
          {"partition_count", reply.partition_count},
          {"replication_factor", reply.replication_factor},
          {"members", std::move(members)}};
}

std::string parse_join_reply(std::string_view body, actors::join_reply& out) {
  if (http::json_nesting_exceeds(body)) {
    return "reply nests deeper than " + std::to_string(http::json_depth_max) + " levels";
  }
  const auto parsed = json::parse(body.begin(), body.end(), nullptr, false);
  if (parsed.is_discarded()) {
    return "reply is not valid JSON";
  }
  if (!parsed.is_object()) {
    return "reply must be a JSON object";
  }
  return read_reply(parsed, out);
}

}  // namespace ck::http::api
