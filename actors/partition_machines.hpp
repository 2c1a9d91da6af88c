#pragma once

// The replicated state machine of one partition replica: every registered machine type
// (runtime/cluster/state_machine.hpp) side by side over the node's LMDB. A Raft entry carries
// one machine's command in an envelope (runtime/cluster/machine_command.hpp); the machine in
// slot s keeps its data in the "kv" database's table (s << 16) | partition (storage/format.hpp).
//
// Applies: a batch of committed entries (one ready's) runs in ONE write transaction that also
// records the partition's applied index: normally the log writer's transaction that persists
// the same ready (log_txn_apply), so log, data and applied index commit together; the node's
// Raft log writer's sync is the durability point (LMDB runs without per-commit sync), and a
// restart applies again whatever the synced log has beyond the stored applied index.
// Snapshots stream every slot's table from one read transaction:
//   chunk = u8 version (2) | u16_be slot | (u32_be klen | key | u32_be vlen | value)*
// except slot 0's, sent as version 1 (u8 1 | entries, no slot: the KV-only version's layout, so
// a node of that version can install them during a rolling upgrade). The follower stages them in
// each table's staging id and swaps all of them in with one write transaction.
// Used only by the group actor that owns it (one thread at a time), but for log_txn_apply,
// which the node's Raft log writer runs while the group waits for it, and query(), which the
// partition host runs in read transactions of its own (LMDB's snapshot isolation keeps both
// apart; the machines keep all state in the store).

#include "actors/state_machine.hpp"
#include "runtime/cluster/state_machine.hpp"

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace ck::storage {
class environment;
class table_overlay;
}
namespace ck::runtime {
struct node_metrics;
}

namespace ck::actors {

/// The registered machine types of a node, in slot order (shared by every replica).
using machine_types = std::vector<cluster::machine_type>;

class partition_machines final : public replicated_state_machine, public log_txn_applier {
 public:
  /// `group` is the partition's Raft group id (partition index + 1).
  partition_machines(std::shared_ptr<storage::environment> env,
                     std::shared_ptr<const machine_types> types, uint32_t partition,
                     uint32_t group);

  /// The applied index stored for the group (0 for a new replica): the group's `applied`.
  /// Reads it in a read transaction of its own; with an overlay, the index its changes reach
  /// when it holds any (set_overlay).
  uint64_t stored_applied() const;

  std::string apply(raft::index_t index, const std::string& command) override;
  std::vector<std::string> apply_batch(const std::vector<const raft::entry*>& entries) override;
  log_txn_applier* txn_applier() override { return this; }
  /// Hands the command to its machine type's apply listener, if it has one.
  void applied(const raft::entry& e, const std::string& result) override;
  /// Tells every apply listener that this replica's commands are told from after `applied` on
  /// (applied_command::reset): when the replica starts, and after a snapshot install.
  void announce_reset(raft::index_t applied);
  storage::result<std::vector<std::string>> log_txn_apply(
      storage::write_txn& txn, const std::vector<const raft::entry*>& entries) override;
  std::unique_ptr<snapshot_source> read_snapshot() override;
  std::unique_ptr<snapshot_sink> begin_restore() override;
  bool install_restored(raft::index_t applied) override;

  /// Runs machine `machine`'s query on this replica's current data (a read transaction of its
  /// own). Errors: not_found for a machine that is not registered.
  struct query_result {
    bool ok = false;
    std::string value;  // the answer, or why not
  };
  query_result query(std::string_view machine, std::string_view query);
  /// As query(), from any thread, when the machine declares concurrent_queries(); nullopt
  /// when it does not (or is not registered): then ask the replica's actor instead.
  std::optional<query_result> query_concurrent(std::string_view machine, std::string_view query);

  /// Removes every machine's data, staged snapshot data and the applied index (the replica
  /// left this node).
  void erase_all();

  /// Where the node counts apply transactions (storage_batches) and the commands in them
  /// (storage_batched_ops); may be null; must outlive this object.
  void set_metrics(runtime::node_metrics* metrics) { metrics_ = metrics; }

  /// The journal design (docs/performance.md, sessions 15-16 and 20; storage.journal):
  /// log_txn_apply records its changes and applied index in `overlay` only, and the log writer
  /// stages them into LMDB about once a second (storage/table_overlay.hpp, deferred
  /// materialisation); query() reads through it (the committed generation first, then the
  /// transaction, retried when told), stored_applied() counts its applied index. Snapshots
  /// (read_snapshot) read LMDB alone: they wait until LMDB holds their index. A snapshot
  /// install or removal replaces the data so that the overlay's older changes never reach
  /// LMDB after it (replace_data). Set before use.
  void set_overlay(std::shared_ptr<storage::table_overlay> overlay) { overlay_ = std::move(overlay); }

 private:
  query_result query_slot(uint16_t slot, std::string_view query);
  // Runs `change`, a write transaction that replaces this partition's data, in step with the
  // overlay (storage/table_overlay.hpp, "Replacing a partition's data").
  storage::status replace_data(const std::function<storage::status(storage::write_txn&)>& change);

  std::shared_ptr<storage::environment> env_;
  std::shared_ptr<const machine_types> types_;
  std::vector<std::unique_ptr<cluster::state_machine>> machines_;  // by slot
  uint32_t partition_;
  uint32_t group_;
  bool has_listeners_ = false;  // some machine type has an apply listener

  // A Raft entry's command and the slot of its machine; nullopt when the entry names no
  // registered machine (or is a cut-short envelope).
  struct routed_command {
    uint16_t slot = 0;
    std::string_view command;  // points into the entry's data
  };
  std::optional<routed_command> route(std::string_view data) const;
  runtime::node_metrics* metrics_ = nullptr;
  std::shared_ptr<storage::table_overlay> overlay_;  // null: applies commit before queries run
};

}  // namespace ck::actors
