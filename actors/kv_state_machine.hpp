#pragma once

// The KV store as a replicated state machine: one per partition replica, hosted by the
// partition's Raft group actor. Its data lives in the node's LMDB "kv" database under the
// partition's prefix, and every apply writes the data and the applied index in ONE write
// transaction (storage/partition_state.hpp), so a restart resumes at exactly the right entry.
// Commits do not fsync (the node runs LMDB in no-sync mode); the Raft log writer's sync is the
// durability point, and anything applied but not yet synced is applied again from the log.
//
// Command encoding (persisted in Raft entries: frozen; change only with a new version byte):
//   command = u8 version (1) | u8 op (1 set, 2 delete) | u32_be key length | key | value (rest)
//   result  = u8 existed (1: the key was there before)
// Snapshot chunk (streamed from one LMDB read transaction, staged under the partition's
// staging id of storage/format.hpp and swapped in with one write transaction):
//   chunk = u8 version (1) | (u32_be klen | key | u32_be vlen | value)*

#include "actors/state_machine.hpp"

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

namespace ck::storage {
class environment;
}

namespace ck::actors {

std::string encode_kv_set(std::string_view key, std::string_view value);
std::string encode_kv_delete(std::string_view key);
/// The result bytes say whether the key existed; nullopt for bytes that are not a result.
std::optional<bool> decode_kv_result(std::string_view result);

class kv_state_machine final : public replicated_state_machine {
 public:
  /// `group` is the partition's Raft group id (partition index + 1).
  kv_state_machine(std::shared_ptr<storage::environment> env, uint32_t partition,
                   uint32_t group);

  /// The applied index stored for the group (0 for a new replica). Call before starting the
  /// group: it is the group's `applied` option.
  uint64_t stored_applied() const;

  std::string apply(raft::index_t index, const std::string& command) override;
  std::unique_ptr<snapshot_source> read_snapshot() override;
  std::unique_ptr<snapshot_sink> begin_restore() override;
  void install_restored(raft::index_t applied) override;

  /// Removes the partition's data, staged snapshot data and applied index (the replica left
  /// this node).
  void erase_all();

 private:
  std::shared_ptr<storage::environment> env_;
  uint32_t partition_;
  uint32_t group_;
  uint64_t applied_ = 0;
};

}  // namespace ck::actors
