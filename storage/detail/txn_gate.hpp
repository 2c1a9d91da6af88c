#pragma once

// Admits the transactions of one environment and lets map growth wait until none is open
// (mdb_env_set_mapsize requires that no transaction is active in the process).
//
// Why a counter under a mutex and not std::shared_mutex: with MDB_NOTLS a read_txn may begin on
// one thread and end on another (actors migrate between scheduler threads), and a shared_mutex
// must be unlocked by the thread that locked it. The gate has no owner thread, and every wait in
// it is bounded by `wait_max`, so a caller that holds a transaction while asking for growth gets
// `false` (busy) instead of a deadlock.
//
// Growth has priority: once begin_exclusive() starts waiting, new entries wait behind it, so a
// steady stream of readers cannot starve it.
//
// Thread safety: every method may be called from any thread.

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>

namespace ck::storage::detail {

class txn_gate {
 public:
  explicit txn_gate(std::chrono::milliseconds wait_max) noexcept;
  txn_gate(const txn_gate&) = delete;
  txn_gate& operator=(const txn_gate&) = delete;

  // Admits a read transaction. Returns false if growth held the gate longer than wait_max.
  [[nodiscard]] bool enter_read();
  // Requires: a matching successful enter_read().
  void leave_read();

  // Admits the one write transaction. Returns false if another write transaction or growth held
  // the gate longer than wait_max. When the write transaction is taken, calls the hook of
  // set_write_wanted() (without the gate's mutex) before waiting.
  [[nodiscard]] bool enter_write();

  // `hook` is called whenever a write transaction must wait for the open one: the journal's
  // writer keeps one open across batches, until its next checkpoint (up to 200 ms), and asks
  // for an early checkpoint through this (a snapshot chunk staged on the node's I/O thread
  // waited out that interval, holding up the thread, once per chunk). Any thread; the hook
  // must be cheap and must not enter the gate.
  void set_write_wanted(std::function<void()> hook);
  // Requires: a matching successful enter_write().
  void leave_write();

  // Blocks new entries and waits until no transaction is open. Returns false (and lets entries
  // in again) if that took longer than wait_max. Requires: no exclusive section of this caller
  // is open.
  [[nodiscard]] bool begin_exclusive();
  // Requires: a matching successful begin_exclusive().
  void end_exclusive();

  // Open transactions (readers plus the writer), for assertions.
  uint32_t open_count() const;

 private:
  const std::chrono::milliseconds wait_max_;
  mutable std::mutex mutex_;
  std::condition_variable changed_;
  uint32_t readers_open_ = 0;  // guarded by mutex_
  bool writer_open_ = false;   // guarded by mutex_
  bool exclusive_ = false;     // guarded by mutex_; a growth is pending or running
  std::function<void()> write_wanted_;  // guarded by mutex_ (copied out to be called)
};

}  // namespace ck::storage::detail
