#pragma once

// The node's identity (node id, cluster id, partition count) lives in its DATA_DIR so a
// restart keeps it. This decides, at start, whether the node creates a cluster, resumes the
// one its DATA_DIR belongs to, or cannot start (and says why in one line).

#include "config/node_config.hpp"
#include "runtime/node/assembly.hpp"
#include "storage/identity.hpp"

#include <string>

namespace ck::storage {
class environment;
}

namespace ck::runtime {

struct identity_outcome {
  bool ok = false;
  bool needs_join = false;  // ok, but the DATA_DIR is new: join through JOIN_ADDR first
  storage::node_identity value;
  exit_code code = exit_code::ok;
  std::string error_line;  // set when !ok
};

/// Loads the identity from `env`, or creates it when `cfg.bootstrap` is set and the DATA_DIR
/// is new (the founder: meta raft id 1). A new DATA_DIR with JOIN_ADDR set gives ok with
/// needs_join (the caller joins, then calls save_joined_identity). Fails when the DATA_DIR
/// belongs to another node id, when it is new and neither BOOTSTRAP nor JOIN_ADDR is set, or
/// on a storage error.
identity_outcome establish_identity(storage::environment& env, const config::node_config& cfg);

/// Stores the identity a join gave this node (cluster, partitioning, meta raft id).
identity_outcome save_joined_identity(storage::environment& env, const config::node_config& cfg,
                                      const std::string& cluster_id, uint32_t partition_count,
                                      uint32_t replication_factor, uint64_t meta_raft_id);

}  // namespace ck::runtime
