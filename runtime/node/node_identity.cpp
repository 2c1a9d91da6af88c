#include "runtime/node/node_identity.hpp"

#include "runtime/base/clock.hpp"
#include "runtime/base/log.hpp"
#include "storage/environment.hpp"

#include <fmt/format.h>

#include <chrono>
#include <random>

namespace ck::runtime {

namespace {

// A new cluster's id: 128 random bits in hex, from the OS entropy source.
std::string new_cluster_id() {
  std::random_device entropy;
  return fmt::format("{:08x}{:08x}{:08x}{:08x}", entropy(), entropy(), entropy(), entropy());
}

identity_outcome failure(exit_code code, std::string line) {
  identity_outcome out;
  out.code = code;
  out.error_line = std::move(line);
  return out;
}

identity_outcome store_identity(storage::environment& env, const config::node_config& cfg,
                                storage::node_identity id) {
  id.created_unix_ms = static_cast<uint64_t>(unix_now_ms());
  auto saved = storage::save_identity(env, id);
  if (!saved.ok()) {
    return failure(exit_code::start_failed, "cannot store the node identity in " + cfg.storage.dir +
                                                ": " + saved.to_string());
  }
  identity_outcome out;
  out.ok = true;
  out.value = std::move(id);
  return out;
}

identity_outcome create_identity(storage::environment& env, const config::node_config& cfg) {
  storage::node_identity id;
  id.node_id = cfg.node_id;
  id.cluster_id = new_cluster_id();
  id.partition_count = cfg.partitions;
  id.replication_factor = cfg.replication_factor;
  id.meta_raft_id = 1;  // the founder's replica of the meta group (raft::make_bootstrap)
  auto out = store_identity(env, cfg, std::move(id));
  if (out.ok) {
    CK_LOG_INFO("node: bootstrapping cluster {} with {} partitions, replication factor {}",
                out.value.cluster_id, out.value.partition_count, out.value.replication_factor);
  }
  return out;
}

}  // namespace

identity_outcome establish_identity(storage::environment& env, const config::node_config& cfg) {
  auto loaded = storage::load_identity(env);
  if (!loaded.ok()) {
    return failure(exit_code::start_failed, "cannot read the node identity in " + cfg.storage.dir +
                                                ": " + loaded.status().to_string());
  }
  if (const auto& existing = loaded.value()) {
    if (existing->node_id != cfg.node_id) {
      return failure(exit_code::bad_config,
                     fmt::format("DATA_DIR {} belongs to node \"{}\", not NODE_ID \"{}\"",
                                 cfg.storage.dir, existing->node_id, cfg.node_id));
    }
    if (existing->partition_count != cfg.partitions) {
      CK_LOG_WARN("node: PARTITIONS={} ignored: cluster {} was created with {} partitions",
                  cfg.partitions, existing->cluster_id, existing->partition_count);
    }
    CK_LOG_INFO("node: resuming as {} in cluster {}", existing->node_id, existing->cluster_id);
    if (!cfg.join_addrs.empty()) {
      // Normal for a restarted member (compose sets JOIN_ADDR on every start); a surprise for
      // someone who meant to join another cluster with an old DATA_DIR: say which one wins.
      CK_LOG_INFO(
          "node: JOIN_ADDR not used: DATA_DIR {} already belongs to cluster {} (to join "
          "another cluster, start with an empty DATA_DIR)",
          cfg.storage.dir, existing->cluster_id);
    }
    identity_outcome out;
    out.ok = true;
    out.value = *existing;
    return out;
  }
  if (cfg.bootstrap) {
    return create_identity(env, cfg);
  }
  if (!cfg.join_addrs.empty()) {
    identity_outcome out;
    out.ok = true;
    out.needs_join = true;
    return out;
  }
  return failure(
      exit_code::bad_config,
      "DATA_DIR " + cfg.storage.dir +
          " holds no cluster: set BOOTSTRAP=true to create one or JOIN_ADDR to join one");
}

identity_outcome save_joined_identity(storage::environment& env, const config::node_config& cfg,
                                      const std::string& cluster_id, uint32_t partition_count,
                                      uint32_t replication_factor, uint64_t meta_raft_id) {
  storage::node_identity id;
  id.node_id = cfg.node_id;
  id.cluster_id = cluster_id;
  id.partition_count = partition_count;
  id.replication_factor = replication_factor;
  id.meta_raft_id = meta_raft_id;
  return store_identity(env, cfg, std::move(id));
}

}  // namespace ck::runtime
