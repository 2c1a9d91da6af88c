// Validation of meta commands and the meta state's invariants: the checks shared by `apply`,
// the snapshot decoder and the HTTP layer (which answers 400 before proposing anything).

#include "runtime/cluster/meta_state.hpp"

#include "runtime/base/assert.hpp"

#include <cstdio>
#include <set>
#include <utility>

namespace ck::cluster {

namespace {

bool is_id_char(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' ||
         c == '_' || c == '-';
}

bool is_valid_port(std::string_view port) {
  if (port.empty() || port.size() > 5) {
    return false;
  }
  uint32_t value = 0;
  for (const char c : port) {
    if (c < '0' || c > '9') {
      return false;
    }
    value = value * 10 + static_cast<uint32_t>(c - '0');
  }
  return value >= 1 && value <= 65535;
}

// Host characters: letters, digits, '.', '-', '_' (names and IPv4); ':' only inside brackets.
bool is_valid_host(std::string_view host) {
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
    const auto inner = host.substr(1, host.size() - 2);
    if (inner.empty()) {
      return false;
    }
    for (const char c : inner) {
      const bool hex = (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
      if (!hex && c != ':' && c != '.') {
        return false;
      }
    }
    return true;
  }
  if (host.empty() || host.size() > 253) {
    return false;
  }
  for (const char c : host) {
    if (!is_id_char(c)) {
      return false;
    }
  }
  return true;
}

std::string check_address(std::string_view field, std::string_view address) {
  if (!is_valid_address(address)) {
    return std::string(field) + " must be host:port with a port in 1..65535";
  }
  return "";
}

}  // namespace

std::string_view to_string(node_status status) {
  switch (status) {
    case node_status::alive:
      return "alive";
    case node_status::suspect:
      return "suspect";
    case node_status::dead:
      return "dead";
    case node_status::leaving:
      return "leaving";
  }
  return "unknown";
}

bool parse_node_status(std::string_view text, node_status& out) {
  for (const auto status :
       {node_status::alive, node_status::suspect, node_status::dead, node_status::leaving}) {
    if (text == to_string(status)) {
      out = status;
      return true;
    }
  }
  return false;
}

std::string_view to_string(apply_outcome outcome) {
  switch (outcome) {
    case apply_outcome::ok:
      return "ok";
    case apply_outcome::joined:
      return "joined";
    case apply_outcome::rejoined:
      return "rejoined";
    case apply_outcome::replaced:
      return "replaced";
    case apply_outcome::unchanged:
      return "unchanged";
    case apply_outcome::conflict:
      return "conflict";
    case apply_outcome::invalid:
      return "invalid";
    case apply_outcome::not_found:
      return "not_found";
    case apply_outcome::not_bootstrapped:
      return "not_bootstrapped";
  }
  return "unknown";
}

bool operator==(const node_record& a, const node_record& b) {
  return a.id == b.id && a.name == b.name && a.raft_addr == b.raft_addr &&
         a.http_addr == b.http_addr && a.kv_addr == b.kv_addr && a.services == b.services &&
         a.status == b.status && a.joined_unix_ms == b.joined_unix_ms &&
         a.status_changed_unix_ms == b.status_changed_unix_ms && a.raft_id == b.raft_id;
}

bool operator==(const meta_state& a, const meta_state& b) {
  return a.cluster_id == b.cluster_id && a.cluster_name == b.cluster_name &&
         a.partition_count == b.partition_count && a.replication_factor == b.replication_factor &&
         a.nodes == b.nodes && a.next_raft_id == b.next_raft_id && a.placement == b.placement &&
         a.version == b.version;
}

bool is_valid_node_id(std::string_view id) {
  if (id.empty() || id.size() > node_id_bytes_max) {
    return false;
  }
  for (const char c : id) {
    if (!is_id_char(c)) {
      return false;
    }
  }
  return true;
}

bool is_valid_address(std::string_view address) {
  if (address.size() > address_bytes_max) {
    return false;
  }
  const auto colon = address.rfind(':');
  if (colon == std::string_view::npos) {
    return false;
  }
  return is_valid_host(address.substr(0, colon)) && is_valid_port(address.substr(colon + 1));
}

std::string validate_node_fields(const node_record& node) {
  if (!is_valid_node_id(node.id)) {
    return "node id must match [A-Za-z0-9._-]{1,64}";
  }
  if (node.name.size() > node_name_bytes_max) {
    return "node name must be at most 128 bytes";
  }
  const std::pair<std::string_view, std::string_view> addresses[] = {
      {"raft_addr", node.raft_addr}, {"http_addr", node.http_addr}, {"kv_addr", node.kv_addr}};
  for (const auto& [field, address] : addresses) {
    auto error = check_address(field, address);
    if (!error.empty()) {
      return error;
    }
  }
  if (node.services.size() > services_max) {
    return "at most 64 services";
  }
  for (const auto& [service, address] : node.services) {
    if (service.empty() || service.size() > service_name_bytes_max) {
      return "service names must be 1..64 bytes";
    }
    if (address.empty() || address.size() > service_addr_bytes_max) {
      return "service '" + service + "' needs an address of 1..300 bytes";
    }
  }
  return "";
}

std::string validate_bootstrap(const bootstrap_command& cmd) {
  if (!is_valid_node_id(cmd.cluster_id)) {
    return "cluster id must match [A-Za-z0-9._-]{1,64}";
  }
  if (cmd.cluster_name.size() > node_name_bytes_max) {
    return "cluster name must be at most 128 bytes";
  }
  if (cmd.partition_count == 0 || cmd.partition_count > partition_count_max) {
    return "partition count must be in 1..65536";
  }
  if (cmd.replication_factor == 0 || cmd.replication_factor > replication_factor_max) {
    return "replication factor must be in 1..7";
  }
  return validate_node_fields(cmd.first);
}

const node_record* find_by_raft_id(const meta_state& state, raft::node_id raft_id) {
  for (const auto& [id, node] : state.nodes) {
    if (node.raft_id == raft_id) {
      return &node;
    }
  }
  return nullptr;
}

std::string node_id_of(const meta_state& state, raft::node_id raft_id) {
  const node_record* node = find_by_raft_id(state, raft_id);
  return node != nullptr ? node->id : "";
}

raft::node_id raft_id_of(const meta_state& state, const std::string& id) {
  const auto found = state.nodes.find(id);
  return found != state.nodes.end() ? found->second.raft_id : raft::no_node;
}

namespace {

std::string find_node_violation(const meta_state& state) {
  std::set<raft::node_id> raft_ids;
  for (const auto& [id, node] : state.nodes) {
    if (id != node.id || !is_valid_node_id(id)) {
      return "node key '" + id + "' does not match a valid record id";
    }
    if (static_cast<uint8_t>(node.status) > static_cast<uint8_t>(node_status::leaving)) {
      return "node '" + id + "' has an unknown status";
    }
    if (node.raft_id == raft::no_node || node.raft_id >= state.next_raft_id) {
      return "node '" + id + "' has a raft id outside 1..next_raft_id-1";
    }
    if (!raft_ids.insert(node.raft_id).second) {
      return "node '" + id + "' shares its raft id";
    }
  }
  return "";
}

std::string find_placement_violation(const meta_state& state) {
  if (state.placement.size() != state.partition_count) {
    return "placement does not cover exactly partition_count partitions";
  }
  for (size_t i = 0; i < state.placement.size(); ++i) {
    const auto& p = state.placement[i];
    if (p.index != i) {
      return "placement entry " + std::to_string(i) + " has index " + std::to_string(p.index);
    }
    if (p.replicas.size() > replicas_max) {
      return "partition " + std::to_string(i) + " has more than 7 replicas";
    }
    std::set<std::string> seen;
    for (const auto& replica : p.replicas) {
      if (state.nodes.count(replica) == 0 || !seen.insert(replica).second) {
        return "partition " + std::to_string(i) + " names an unknown or repeated node";
      }
    }
  }
  return "";
}

}  // namespace

std::string find_invariant_violation(const meta_state& state) {
  if (!state.bootstrapped()) {
    const bool empty = state.nodes.empty() && state.placement.empty() &&
                       state.partition_count == 0 && state.next_raft_id == 1;
    return empty ? "" : "a state without cluster id must be empty";
  }
  if (state.partition_count == 0 || state.partition_count > partition_count_max ||
      state.replication_factor == 0 || state.replication_factor > replication_factor_max) {
    return "partition count or replication factor out of range";
  }
  if (state.nodes.size() > nodes_max) {
    return "more nodes than nodes_max";
  }
  auto error = find_node_violation(state);
  return error.empty() ? find_placement_violation(state) : error;
}

void check_invariants(const meta_state& state) {
  const std::string violation = find_invariant_violation(state);
  if (!violation.empty()) {
    std::fprintf(stderr, "clusterkit: meta state invariant: %s\n", violation.c_str());
  }
  CK_ASSERT(violation.empty());
}

}  // namespace ck::cluster
