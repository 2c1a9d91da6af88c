#pragma once

// The node's identity, written once when the node joins or bootstraps a cluster and read at
// every start. Layout: "Identity record" in storage/format.hpp.

#include <cstdint>
#include <optional>
#include <string>

#include "storage/status.hpp"

namespace ck::storage {

class environment;

struct node_identity {
  std::string node_id;              // 1..identity_id_bytes_max bytes
  std::string cluster_id;           // 1..identity_id_bytes_max bytes
  uint32_t partition_count = 0;     // >= 1
  uint32_t replication_factor = 0;  // >= 1
  uint64_t created_unix_ms = 0;
  // This node's replica id in the meta Raft group (group 0); >= 1, and 1 for the node that
  // bootstrapped the cluster. Fixed for the life of the identity.
  uint64_t meta_raft_id = 0;

  friend bool operator==(const node_identity& a, const node_identity& b) {
    return a.node_id == b.node_id && a.cluster_id == b.cluster_id &&
           a.partition_count == b.partition_count && a.replication_factor == b.replication_factor &&
           a.created_unix_ms == b.created_unix_ms && a.meta_raft_id == b.meta_raft_id;
  }
  friend bool operator!=(const node_identity& a, const node_identity& b) { return !(a == b); }
};

// Returns success, or invalid_argument naming the field that breaks the limits above.
status validate(const node_identity& identity);

// Reads the identity in its own read transaction. Any thread.
// Returns the identity; nullopt when none was saved (a new node); corruption when the stored
// record fails validation (truncated, garbled, wrong version: the message names the reason);
// busy or io_error from LMDB.
result<std::optional<node_identity>> load_identity(environment& env);

// Writes (replaces) the identity in its own write transaction, growing the map if needed.
// Returns success once committed (durable when the environment syncs); invalid_argument when
// validate() rejects it (nothing written); otherwise the failure of environment::write.
// Requires: the caller holds no transaction of `env` (it goes through the writer).
status save_identity(environment& env, const node_identity& identity);

// The stored token fingerprint (meta/"token_fingerprint", format.hpp): nullopt when none was
// stored, "" for a node without a token. Its own read transaction; any thread.
result<std::optional<std::string>> load_token_fingerprint(environment& env);

// Stores `fingerprint` ("" for no token) in its own write transaction.
status save_token_fingerprint(environment& env, const std::string& fingerprint);

// The record bytes of `identity` (format.hpp), always in the current version (2).
// Requires: validate(identity).ok().
std::string encode_identity_record(const node_identity& identity);

// Parses a record of version 2, or of version 1, which yields meta_raft_id = 1 (format.hpp says
// why). Returns the identity, or corruption saying what is wrong with the bytes.
result<node_identity> decode_identity_record(std::string_view record);

}  // namespace ck::storage
