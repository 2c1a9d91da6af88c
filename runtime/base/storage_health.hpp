#pragma once

// Whether this node's disk took its last write.
//
// A full disk (or an LMDB map at STORAGE_MAP_SIZE_MAX) is not a reason to stop the node: the
// raft log writer keeps the batch it could not write and retries it every second
// (actors/raft_log_writer.cpp), the Raft groups refuse new proposals (HTTP 507) instead of
// queueing them behind it, and /ready and /health/detailed say why. Reads from memory-mapped
// data keep working. The writer sets and clears the state; the others only read it.
//
// Thread safety: every member may be called from any thread.

#include <atomic>
#include <functional>
#include <cstdint>
#include <mutex>
#include <string>

namespace ck::runtime {

class storage_health {
 public:
  /// `dir`: the data directory whose filesystem is checked for free space.
  explicit storage_health(std::string dir) : dir_(std::move(dir)) {}
  /// For tests: the free space is what `free_bytes` says (called from any thread).
  storage_health(std::string dir, std::function<uint64_t()> free_bytes)
      : dir_(std::move(dir)), free_bytes_source_(std::move(free_bytes)) {}

  /// True while writes are refused for lack of space.
  bool full() const noexcept { return full_.load(std::memory_order_acquire); }

  /// Why (the storage error of the failed write), "" when not full.
  std::string reason() const;

  void set_full(std::string reason);
  void clear();

  /// Bytes an unprivileged writer may still use on the data directory's filesystem; UINT64_MAX
  /// if statvfs fails (unknown is not "full").
  uint64_t free_bytes() const;

  /// Whether a failed write looks like a full disk rather than a broken one: the environment
  /// said so (map_full, "No space left on device"), or the filesystem has less than
  /// `nearly_full_bytes` left (LMDB reports a short page write as EIO).
  bool looks_full(bool map_full, const std::string& message) const;

  static constexpr uint64_t nearly_full_bytes = 16u << 20;

 private:
  const std::string dir_;
  const std::function<uint64_t()> free_bytes_source_;  // empty: statvfs of dir_
  std::atomic<bool> full_{false};
  mutable std::mutex mutex_;
  std::string reason_;  // guarded by mutex_
};

}  // namespace ck::runtime
