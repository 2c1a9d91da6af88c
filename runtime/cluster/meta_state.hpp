#pragma once

// The replicated state of the meta Raft group (group 0): the cluster's identity, its member
// nodes and the partition placement. Pure and deterministic: every replica applies the same
// committed commands in the same order and reaches byte-identical state, so `apply` reads no
// clock and no randomness (times travel inside the commands, stamped by the proposer).
//
// Encodings (frozen: change only with a new version byte; enums below may reach disk and the
// network: do not renumber). Integers are big-endian; str = u32 length | bytes.
//   command  = u8 version (1) | u8 tag | body
//     tag 1 bootstrap     : str cluster_id | str cluster_name | u32 partition_count
//                           | u32 replication_factor | node_fields | i64 at_unix_ms
//     tag 2 join          : node_fields | i64 at_unix_ms
//     tag 3 set_status    : str id | u8 status | i64 at_unix_ms
//     tag 4 remove_node   : str id
//     tag 5 set_placement : u32 index | u32 count | str replica * count
//   node_fields = str id | str name | str raft_addr | str http_addr | str kv_addr
//                 | u32 count | (str service | str addr) * count     (services in key order)
//   snapshot = u8 version (1) | str cluster_id | str cluster_name | u32 partition_count
//              | u32 replication_factor | u64 next_raft_id | u64 version
//              | u32 node_count | (node_fields | u8 status | i64 joined_unix_ms
//                                  | i64 status_changed_unix_ms | u64 raft_id) * node_count
//              | u32 placement_count | (u32 index | u32 count | str replica * count) * ...
//   Nodes are written in key order, so equal states encode to equal bytes.

#include "runtime/raft/types.hpp"

#include <cstddef>
#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace ck::cluster {

// Limits shared by validation and decoding (a decoder never allocates more than these allow).
inline constexpr size_t node_id_bytes_max = 64;
inline constexpr size_t node_name_bytes_max = 128;
inline constexpr size_t address_bytes_max = 300;  // host (<= 253 bytes) + ":" + port
inline constexpr size_t services_max = 64;
inline constexpr size_t service_name_bytes_max = 64;
inline constexpr size_t service_addr_bytes_max = 300;
inline constexpr size_t nodes_max = 4096;
inline constexpr uint32_t partition_count_max = 65536;
// A placement may exceed the replication factor while a move adds the new replica before it
// removes the old one; 7 also bounds a partition group's size.
inline constexpr uint32_t replicas_max = 7;
inline constexpr uint32_t replication_factor_max = replicas_max;
static_assert(replication_factor_max <= replicas_max);

// Persisted in snapshots and commands: do not renumber.
enum class node_status : uint8_t {
  alive = 0,    // heard from recently
  suspect = 1,  // missed heartbeats or lost its connection; may come back any moment
  dead = 2,     // silent for longer than the dead threshold; its replicas get re-created
  leaving = 3,  // being decommissioned (POST /leave); removed once its replicas moved away
};

/// "alive", "suspect", "dead", "leaving" (the API's words).
std::string_view to_string(node_status status);
/// Parses the words above; returns false (out unchanged) for anything else.
bool parse_node_status(std::string_view text, node_status& out);

struct node_record {
  std::string id;  // stable, unique: [A-Za-z0-9._-]{1,64}
  std::string name;
  std::string raft_addr;  // host:port
  std::string http_addr;  // host:port
  std::string kv_addr;    // host:port
  std::map<std::string, std::string> services;
  node_status status = node_status::alive;
  int64_t joined_unix_ms = 0;
  int64_t status_changed_unix_ms = 0;
  // Assigned by `apply` at first join from meta_state::next_raft_id and never reused: a Raft
  // id that forgot its votes (a wiped disk) must not come back as the same voter.
  raft::node_id raft_id = raft::no_node;

  friend bool operator==(const node_record& a, const node_record& b);
};

struct partition_placement {
  uint32_t index = 0;
  std::vector<std::string> replicas;  // node ids; the first is the preferred leader

  friend bool operator==(const partition_placement& a, const partition_placement& b) {
    return a.index == b.index && a.replicas == b.replicas;
  }
};

/// Invariant (check_invariants): once bootstrapped, placement.size() == partition_count and
/// placement[i].index == i; replicas are distinct known nodes; raft ids are unique, non-zero
/// and below next_raft_id. Before bootstrap (cluster_id empty) the state is empty.
struct meta_state {
  std::string cluster_id;
  std::string cluster_name;
  uint32_t partition_count = 0;
  uint32_t replication_factor = 0;
  std::map<std::string, node_record> nodes;  // by node id
  raft::node_id next_raft_id = 1;
  std::vector<partition_placement> placement;  // by index; empty replicas = not placed yet
  uint64_t version = 0;                        // +1 on every change, never on a no-op

  bool bootstrapped() const { return !cluster_id.empty(); }
  friend bool operator==(const meta_state& a, const meta_state& b);
};

// Commands. node_record's status, raft_id and times are not part of a command: `apply` sets
// them (times from at_unix_ms).
struct bootstrap_command {
  std::string cluster_id;
  std::string cluster_name;
  uint32_t partition_count = 0;
  uint32_t replication_factor = 0;
  node_record first;
  int64_t at_unix_ms = 0;
};
struct join_command {
  node_record node;
  int64_t at_unix_ms = 0;
};
struct set_status_command {
  std::string id;
  node_status status = node_status::alive;
  int64_t at_unix_ms = 0;
};
struct remove_node_command {
  std::string id;
};
struct set_placement_command {
  uint32_t index = 0;
  std::vector<std::string> replicas;
};
using command = std::variant<bootstrap_command, join_command, set_status_command,
                             remove_node_command, set_placement_command>;

enum class apply_outcome : uint8_t {
  ok,                // bootstrap, set_status, remove_node or set_placement applied
  joined,            // a new node; result.raft_id is its new id
  rejoined,          // the same id from the same raft_addr: refreshed, alive, same raft id
  replaced,          // the id was dead and joins from a new raft_addr: new address and raft id
  unchanged,         // valid, but the state already says so (no version bump)
  conflict,          // refused by the current state (id alive elsewhere, bootstrapped twice,
                     // removing a node that still hosts replicas or the last node)
  invalid,           // the command itself is malformed (ids, addresses, limits)
  not_found,         // names a node the state does not know
  not_bootstrapped,  // anything but bootstrap before the cluster exists
};
std::string_view to_string(apply_outcome outcome);

struct apply_result {
  apply_outcome outcome = apply_outcome::ok;
  std::string message;                    // why, for logs and HTTP error bodies
  raft::node_id raft_id = raft::no_node;  // joined/rejoined/replaced: the node's raft id
};

/// Applies one committed command. Deterministic: same state + same command = same result on
/// every replica. Refusals and no-ops leave `state` untouched (version included).
/// Postcondition: find_invariant_violation(state) is "" (checked in debug builds; the full
/// check costs O(partitions x replicas)). Call it as `cluster::apply`: on a `command`
/// (a std::variant) an unqualified call also finds std::apply by ADL and is ambiguous.
apply_result apply(meta_state& state, const command& cmd);

// Validation, also for the HTTP layer to answer 400 before proposing. Each returns "" when
// valid, else a sentence naming the field.
bool is_valid_node_id(std::string_view id);
/// host:port with a non-empty host (a bracketed IPv6 host is fine) and a port in 1..65535.
bool is_valid_address(std::string_view address);
std::string validate_node_fields(const node_record& node);
std::string validate_bootstrap(const bootstrap_command& cmd);

/// The command's bytes (format above). Requires nothing: any command encodes.
std::string encode_command(const command& cmd);
/// Returns false with `error` set (and `out` unchanged) for bytes that are not an encoded
/// command: short, trailing bytes, unknown version, tag or status, counts above the limits.
bool decode_command(std::string_view bytes, command& out, std::string& error);

std::string encode_snapshot(const meta_state& state);
/// Like decode_command; also rejects a decoded state that breaks an invariant.
bool decode_snapshot(std::string_view bytes, meta_state& out, std::string& error);

/// "" when every invariant above holds, else the first violation (for decoded input).
std::string find_invariant_violation(const meta_state& state);
/// Aborts (CK_ASSERT) on a violation: for states this process built itself.
void check_invariants(const meta_state& state);

/// The node with this raft id, or nullptr.
const node_record* find_by_raft_id(const meta_state& state, raft::node_id raft_id);
/// The id of the node with this raft id, or "" (raft::no_node and unknown ids alike).
std::string node_id_of(const meta_state& state, raft::node_id raft_id);
/// The raft id of member `id`, or raft::no_node when no member has that id.
raft::node_id raft_id_of(const meta_state& state, const std::string& id);

}  // namespace ck::cluster
