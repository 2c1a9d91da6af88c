#pragma once

// The meta Raft group's (group 0) state machine: hosts the cluster's meta_state behind the
// replicated_state_machine interface, so that every replica applies the same committed
// cluster::command bytes with cluster::apply and reaches byte-identical state.
//
// Threads: apply/snapshot/restore are called by the group actor only (one at a time); current()
// and last_restore_error() may be called from any thread (HTTP handlers, the node actor).
// Every access to the state takes one mutex.
//
// Result encoding (what a proposer receives in raft_propose_reply::result; frozen: change only
// with a new version byte; apply_outcome values are cluster's, do not renumber).
// Integers big-endian:
//   result = u8 version (1) | u8 outcome (cluster::apply_outcome) | u64 raft_id
//            | u32 message_length | message bytes
// Fixed part: 1 + 1 + 8 + 4 = 14 bytes; the message is at most meta_result_message_bytes_max.

#include "actors/state_machine.hpp"
#include "runtime/cluster/meta_state.hpp"

#include <cstddef>
#include <cstdint>
#include <functional>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

namespace ck::actors {

inline constexpr uint8_t meta_result_version = 1;
inline constexpr size_t meta_result_fixed_bytes = 1 + 1 + 8 + 4;
/// Longer messages are cut to this many bytes when encoded (decode rejects longer ones).
inline constexpr size_t meta_result_message_bytes_max = 4096;

/// The result bytes for `result` (format above). Requires nothing: any result encodes.
std::string encode_meta_apply_result(const cluster::apply_result& result);
/// For the proposer side. Returns true and fills `out`; returns false with `error` set (and
/// `out` unchanged) for bytes that are not an encoded result: short, trailing bytes, unknown
/// version or outcome, a message above the limit.
bool decode_meta_apply_result(std::string_view bytes, cluster::apply_result& out,
                              std::string& error);

class meta_state_machine final : public image_state_machine {
 public:
  /// Called by the group actor after each apply, outside the state lock (so it may call
  /// current()). `command` is nullptr when the bytes did not decode (result is invalid).
  /// Must be quick and must not throw: it runs inside the group actor's ready loop.
  /// `after` is the state after the apply (read on the applying thread, the only writer);
  /// `placement_before`: for a set_placement command, the partition's replicas before it.
  using observer = std::function<void(raft::index_t index, const cluster::command* command,
                                      const cluster::apply_result& result,
                                      const cluster::meta_state& after,
                                      const std::vector<std::string>& placement_before)>;

  meta_state_machine() = default;
  explicit meta_state_machine(observer on_applied) : on_applied_(std::move(on_applied)) {}
  meta_state_machine(const meta_state_machine&) = delete;
  meta_state_machine& operator=(const meta_state_machine&) = delete;

  /// Decodes `command` and runs cluster::apply on the state; returns
  /// encode_meta_apply_result(result). Bytes that are not a command answer
  /// apply_outcome::invalid (message: the decoder's error) and leave the state untouched.
  /// Requires: index above every index applied before.
  std::string apply_command(raft::index_t index, const std::string& command) override;
  /// cluster::encode_snapshot of the current state.
  std::string snapshot() override;
  /// Replaces the state with cluster::decode_snapshot(image). A corrupt image (does not decode
  /// or breaks an invariant) is an operating error, not a crash: the old state is kept, the
  /// error is recorded in last_restore_error() and counted in restore_failures(). The replica
  /// then no longer matches the group; the node must treat a failure as fatal for group 0
  /// (stop and resync), which is why it is recorded instead of hidden.
  void restore(const std::string& image) override;

  /// A copy of the state, taken under the lock. Any thread.
  cluster::meta_state current() const;
  /// The state as of the last change, shared and immutable: what hot paths read (a relayed
  /// request asks it for a node's name; a copy of the whole state there cost each request
  /// some 250 allocations). Any thread.
  std::shared_ptr<const cluster::meta_state> view() const;
  /// The highest index applied (0 before any; a restore does not change it). Any thread.
  raft::index_t applied_index() const;
  /// "" when the last restore succeeded (or none happened), else its error. Any thread.
  std::string last_restore_error() const;
  uint64_t restore_failures() const;

 private:
  const observer on_applied_;  // constant after construction; may be empty
  mutable std::mutex mutex_;
  cluster::meta_state state_;          // guarded by mutex_
  // state_ as of its last change (version, or a restore); guarded by mutex_.
  std::shared_ptr<const cluster::meta_state> view_ = std::make_shared<const cluster::meta_state>();
  raft::index_t applied_index_ = 0;    // guarded by mutex_
  std::string last_restore_error_;     // guarded by mutex_
  uint64_t restore_failures_ = 0;      // guarded by mutex_
};

}  // namespace ck::actors
