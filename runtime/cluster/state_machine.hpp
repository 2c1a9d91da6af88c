#pragma once

// The contract of a user-defined replicated state machine (re-exported to users by
// runtime/node/state_machine.hpp, which is where its documentation for users lives).
//
// Every partition's Raft group hosts one instance of every registered machine. A machine keeps
// ALL of its durable state in the store it is handed: the runtime applies a ready's committed
// commands of every machine of the partition in ONE storage transaction, together with the
// partition's applied index, so a restart resumes at exactly the right entry, and snapshots,
// restores, moves and re-replication carry every machine's data without code of the machine's
// own. Pure: no CAF, no LMDB (the store is an interface the actors implement).

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace ck::cluster {

/// One page of a machine's keys (machine_store::list).
struct store_page {
  std::vector<std::string> keys;
  /// Set iff more keys follow: pass it as `after` for the next page.
  std::optional<std::string> next_after;
};

/// Read access to one machine's data in one partition, inside one storage transaction.
/// Keys and values are bytes (any byte); a key has at most 64 KiB, a value at most the
/// node's storage limit. Keys are ordered bytewise up to 506 bytes, longer keys after them.
class machine_store {
 public:
  virtual ~machine_store() = default;
  /// The value of `key`, nullopt when absent.
  virtual std::optional<std::string> get(std::string_view key) const = 0;
  /// Up to `limit` keys (1..10,000) strictly after `after` (from the first when nullopt).
  virtual store_page list(const std::optional<std::string>& after, size_t limit) const = 0;
};

/// Write access, handed to apply(): every change joins the batch's one transaction.
class machine_writer : public machine_store {
 public:
  /// Stores `value` under `key` (replacing any earlier value).
  virtual void put(std::string_view key, std::string_view value) = 0;
  /// Removes `key`; true when it was there.
  virtual bool erase(std::string_view key) = 0;
};

/// A replicated state machine: deterministic code over its store.
/// Threads: each instance is used by one partition replica at a time (no locking needed).
class state_machine {
 public:
  virtual ~state_machine() = default;

  /// Applies one committed command (the bytes a proposer passed) and returns the result the
  /// proposer receives. Must be deterministic: every replica applies the same commands in the
  /// same order over the same data and must reach the same data. All state it keeps goes
  /// through `store`. It may run more than once for the same command when the runtime retries
  /// the batch's transaction (storage map growth), always from the state before the batch:
  /// keep no side effect outside the store. Malformed input is the machine's to answer (an
  /// error result), never a crash: a committed command is applied on every replica.
  virtual std::string apply(machine_writer& store, std::string_view command) = 0;

  /// Answers a read query (the bytes a reader passed) from the store. Linearizable reads run
  /// after the partition's leader confirmed it leads and applied everything committed before
  /// the read started; stale reads run on any replica's current data. Must not change anything.
  virtual std::string query(const machine_store& store, std::string_view query) = 0;

  /// True when query() reads nothing but `store` (keeps no member state): the runtime may
  /// then run stale queries on the thread that asks (an HTTP handler's), concurrently with
  /// apply() and with other queries, which saves a message round trip per read. False (the
  /// default): every query runs on the replica's own thread.
  virtual bool concurrent_queries() const { return false; }
};

/// Makes the machine instance of one partition replica.
using state_machine_factory = std::function<std::unique_ptr<state_machine>(uint32_t partition)>;

/// One command of a machine whose apply is committed on this node's replica of a partition,
/// or (reset) the point from which the replica's commands are told.
struct applied_command {
  uint32_t partition = 0;
  uint64_t index = 0;        // the command's Raft log index in the partition's group
  std::string_view command;  // the machine's own bytes (empty with reset)
  std::string_view result;   // what apply() returned (empty with reset)
  /// true: no command; the replica's state reflects everything up to `index` without those
  /// commands having been told here: the replica started (over what its DATA_DIR held) or
  /// installed a snapshot. Every later command of the partition is told.
  bool reset = false;
};

/// Told of every command of its machine applied on this node, per partition in log order,
/// once the apply is committed (never twice for one index, never for a retried transaction),
/// and of each reset (see applied_command). Runs on the partition's replica: keep it short and
/// non-blocking.
using apply_listener = std::function<void(const applied_command&)>;

/// A machine type as registered: its name (in every command, so all nodes must register the
/// same names), its factory, and who is told of its applies (may be empty).
struct machine_type {
  std::string name;
  state_machine_factory factory;
  apply_listener on_applied;
};

/// The slot of the machine named `name` in `types` (registration order); nullopt when none.
inline std::optional<uint16_t> machine_slot(const std::vector<machine_type>& types,
                                            std::string_view name) {
  for (size_t slot = 0; slot < types.size(); ++slot) {
    if (types[slot].name == name) {
      return static_cast<uint16_t>(slot);
    }
  }
  return std::nullopt;
}

}  // namespace ck::cluster
