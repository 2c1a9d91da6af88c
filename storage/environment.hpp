#pragma once

// One LMDB environment per node, in one directory, holding every named database of
// storage/format.hpp. Transactions are RAII values that abort unless committed.
//
// Threads: an environment may be shared by any number of threads. Read transactions may be
// begun, used and ended from any thread (the environment is opened with MDB_NOTLS, so a read
// transaction may even move between threads, as actors do), one thread at a time per txn.
// All writes of a node go through one writer (the storage writer actor): one write_txn is open at
// a time; a second begin_write() waits up to lock_wait_ms_max for it and then returns busy.
// One process per directory: LMDB's lock file guards the data across processes, but map growth
// (below) only coordinates the transactions of this process.
//
// Map growth, as environment::write runs it:
//  1. A put or the commit returns MDB_MAP_FULL; write() aborts its transaction.
//  2. It closes the gate to new transactions and waits (at most lock_wait_ms_max) until every
//     read_txn of this process has ended: mdb_env_set_mapsize remaps the file, and a reader still
//     holding pointers into the old mapping would read unmapped memory.
//  3. It doubles the map (at most map_size_max_bytes), reopens the gate and reruns the fill.
// The gate counts transactions instead of holding a std::shared_mutex because with MDB_NOTLS a
// read_txn may end on another thread than the one that began it, and a shared_mutex must be
// released by its owner thread (storage/detail/txn_gate.hpp).

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "storage/format.hpp"
#include "storage/status.hpp"

struct MDB_env;
struct MDB_txn;

namespace ck::storage {

namespace detail {
class txn_gate;
struct txn_access;
}  // namespace detail

class environment;

struct environment_options {
  // Directory holding data.mdb and lock.mdb; created (mkdir -p) if missing. Must not be empty.
  std::string dir;
  // Initial map size. Small values cost nothing but early growth; large ones only reserve
  // address space (the file is sparse). At least map_size_bytes_min.
  uint64_t map_size_bytes = uint64_t{256} << 20;
  // environment::write doubles the map up to this size; past it a full map is a real map_full.
  // Must be >= map_size_bytes.
  uint64_t map_size_max_bytes = uint64_t{1} << 40;
  // true: every commit is fsynced before commit() returns, so a returned commit survives a
  // process kill and a machine crash. false: MDB_NOSYNC, faster; a returned commit survives a
  // process kill, but a machine crash may lose the commits made since the last sync_now().
  bool sync = true;
  // With sync: defers the flush of the meta page (MDB_NOMETASYNC). A commit still fsyncs its
  // data pages before it returns; the meta page that makes it current reaches the disk with
  // the next commit or sync_now(). A machine crash may then undo the commits made since the
  // last sync_now(), but never corrupts the environment: the meta page on disk always points
  // at pages that were synced first. (MDB_NOSYNC gives no such order: after a power loss its
  // meta page may point at pages that never arrived.) The node runs this way; its log writer
  // calls sync_now() before it acknowledges a batch.
  bool defer_meta_sync = false;
  // LMDB reader slots: concurrent read transactions (across threads) before begin_read() returns
  // busy. At least 1.
  uint32_t max_readers = 512;
  // Longest wait, in every wait of this environment: for the writer slot, for growth to finish,
  // and for open transactions to end before growth. Low values turn contention into busy
  // sooner; high values stall callers longer. 1..lock_wait_ms_limit.
  uint32_t lock_wait_ms_max = 10'000;
};

inline constexpr uint64_t map_size_bytes_min = uint64_t{64} << 10;
inline constexpr uint32_t lock_wait_ms_limit = 600'000;

// Returns success, or invalid_argument naming the first field (and relation) that is wrong.
status validate(const environment_options& options);

// A snapshot of the environment's counters (each read atomically; not one consistent cut).
struct environment_stats {
  uint64_t commit_count = 0;      // successful write commits, including the one at open
  uint64_t fsync_count = 0;       // commits made with sync on, plus successful sync_now() calls
  uint64_t written_bytes = 0;     // key + value bytes of every put in a committed transaction
  uint64_t map_size_bytes = 0;    // current map size
  uint64_t map_growth_count = 0;  // times write() grew the map
  uint64_t used_bytes = 0;        // (last used page + 1) * page size, as of the last commit
};

// A consistent snapshot of the whole environment, from begin_read() until it ends.
// Move-only; ends (mdb_txn_abort) in its destructor. Lifetime: must end before its environment
// is destroyed. Holding it delays map growth (and so writes that need growth): keep it short.
class read_txn {
 public:
  read_txn(read_txn&& other) noexcept;
  read_txn& operator=(read_txn&& other) noexcept;
  read_txn(const read_txn&) = delete;
  read_txn& operator=(const read_txn&) = delete;
  ~read_txn();

  // Ends the snapshot now. Requires: active().
  void end() noexcept;
  // False after end() or after being moved from.
  bool active() const noexcept { return handle_ != nullptr; }

 private:
  friend class environment;
  friend struct detail::txn_access;
  read_txn(environment& env, MDB_txn* handle) noexcept;

  environment* env_ = nullptr;
  MDB_txn* handle_ = nullptr;
};

// The one write transaction of the environment. Move-only; aborts in its destructor unless
// committed. Used from one thread at a time. Lifetime: must end before its environment.
//
// The first failed write inside it (e.g. map_full from table_put) is remembered: LMDB refuses every
// later operation of that transaction, and commit() then aborts and returns that failure.
class write_txn {
 public:
  write_txn(write_txn&& other) noexcept;
  write_txn& operator=(write_txn&& other) noexcept;
  write_txn(const write_txn&) = delete;
  write_txn& operator=(const write_txn&) = delete;
  ~write_txn();

  // Makes every write of this transaction visible to later transactions, and durable when the
  // environment syncs (options.sync). Ends the transaction whatever the outcome.
  // Returns: success; the remembered failure (nothing was written); map_full (grow and retry
  // the whole transaction, see environment::write); io_error (the disk refused; nothing was
  // written). Requires: active().
  status commit();
  // Discards every write. Requires: active().
  void abort() noexcept;
  // False after commit(), abort() or being moved from.
  bool active() const noexcept { return handle_ != nullptr; }

 private:
  friend class environment;
  friend struct detail::txn_access;
  write_txn(environment& env, MDB_txn* handle) noexcept;
  void end() noexcept;

  environment* env_ = nullptr;
  MDB_txn* handle_ = nullptr;
  status failure_;              // first failed write; commit() returns it
  uint64_t written_bytes_ = 0;  // key + value bytes put so far, counted at commit
};

class environment {
  struct private_tag {};

 public:
  // Opens (creating if needed) the environment in options.dir: creates the directory, opens
  // LMDB with MDB_NOTLS (plus MDB_NOSYNC when !options.sync, MDB_NOMETASYNC with
  // options.defer_meta_sync), clears reader slots left by dead
  // processes, opens every database of storage/format.hpp and writes or checks the format
  // version. Returns the environment, or: invalid_argument (options, naming the field);
  // io_error (directory cannot be created, permission denied, no space; the message names the
  // directory and the system's reason); version_mismatch (written by another format version, or
  // another LMDB file version); corruption (damaged file, a format version record that is not 4
  // bytes, or data without a version record).
  // Requires: no other environment of this process has the same directory open.
  static result<std::unique_ptr<environment>> open(const environment_options& options);

  // Use open(); public only so that std::make_unique can reach it.
  environment(private_tag, const environment_options& options);
  environment(const environment&) = delete;
  environment& operator=(const environment&) = delete;
  // Closes LMDB. Requires: no transaction of this environment is open.
  ~environment();

  // Begins a read snapshot. Any thread. Returns busy when every reader slot is taken
  // (max_readers) or growth held the environment longer than lock_wait_ms_max.
  result<read_txn> begin_read();

  // Begins the write transaction. Any thread, one writer at a time. Returns busy when another
  // write transaction stayed open (or growth ran) longer than lock_wait_ms_max.
  // A put in it may fail with map_full: abort, and prefer write(), which grows the map.
  result<write_txn> begin_write();

  // Begins a write transaction, runs `fill` on it, and commits. When `fill` or the commit meets
  // map_full, aborts, doubles the map (up to map_size_max_bytes) and reruns `fill` on a fresh
  // transaction, so `fill` must only write through the txn (it may run several times) and must
  // neither commit nor abort it.
  // Returns: success once committed; fill's own failure (nothing written); map_full when the
  // map is at map_size_max_bytes; busy when growth waited lock_wait_ms_max for open
  // transactions to end (e.g. the caller itself holds a read_txn); io_error from the commit.
  // Requires: the caller holds no write_txn of this environment.
  status write(const std::function<status(write_txn&)>& fill);

  // Called whenever a write transaction has to wait for the open one (detail::txn_gate::
  // set_write_wanted): the journal's writer checkpoints early then. Any thread.
  void set_write_wanted(std::function<void()> hook);

  // Grows the map (doubling, at most map_size_max_bytes) until at least `free_bytes` lie
  // between the last commit's used bytes and its end: for a writer that keeps one transaction
  // open across many batches (the journal design, storage/journaled_log.hpp), which cannot grow
  // the map from inside it. Returns success (also when there was room already); map_full when
  // map_size_max_bytes leaves less room; busy as for write(). Requires: the caller holds no
  // transaction of this environment.
  status reserve(uint64_t free_bytes);

  // Forces data to disk (mdb_env_sync(force)): the durability point with sync == false, and
  // the last step of a clean shutdown. Any thread. Returns success or io_error.
  status sync_now();

  // Counters; any thread, lock-free.
  environment_stats stats() const noexcept;
  // (last used page + 1) * page size as of the last commit; any thread, lock-free.
  uint64_t used_bytes() const noexcept;
  const environment_options& options() const noexcept { return options_; }

 private:
  friend class read_txn;
  friend class write_txn;
  friend struct detail::txn_access;

  status open_lmdb();
  status open_databases();
  status grow_map(uint64_t observed_map_size_bytes);
  void refresh_sizes() noexcept;
  void on_commit(uint64_t written_bytes) noexcept;

  // Constant after open().
  const environment_options options_;
  MDB_env* env_ = nullptr;
  unsigned int dbis_[database_count] = {};  // MDB_dbi per storage::database
  std::unique_ptr<detail::txn_gate> gate_;

  std::atomic<uint64_t> commit_count_{0};
  std::atomic<uint64_t> fsync_count_{0};
  std::atomic<uint64_t> written_bytes_{0};
  std::atomic<uint64_t> map_size_bytes_{0};  // changed only inside the gate's exclusive section
  std::atomic<uint64_t> map_growth_count_{0};
  std::atomic<uint64_t> used_bytes_{0};  // refreshed by the writer after each commit
};

}  // namespace ck::storage
