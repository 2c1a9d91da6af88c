#pragma once

// Internal: one group's raft::log_storage in the Raft log store (storage/raft_log_store.hpp):
// the group's state as of the last commit, plus the cached tail of its log.
//
// Threads: every method may be called from any thread. mutex_ guards state_ and cache_ and is
// held only for memory work: a read that starts below the cache notes the state's generation,
// releases the mutex, reads that part from one LMDB read snapshot, and takes the rest from the
// cache only if no change was published meanwhile (else it starts over), so an answer is
// never a mix of two states (see the scenario in raft_log_store.hpp). The writer replaces
// state_ and mirrors its changes into cache_ under the mutex, after its commit (or, staged,
// before it, with the new entries pinned in the cache: raft_log_store::stage).

#include <cstdint>
#include <mutex>
#include <optional>
#include <utility>
#include <vector>

#include "runtime/raft/log_storage.hpp"
#include "runtime/raft/types.hpp"
#include "storage/detail/raft_entry_cache.hpp"
#include "storage/detail/raft_log_ops.hpp"
#include "storage/raft_log_store.hpp"
#include "storage/status.hpp"

namespace ck::storage {
class environment;
}

namespace ck::storage::detail {

// One group_write of a committed batch as the cache must mirror it: the change, and whether
// its snapshot kept the entries after it.
using applied_write = std::pair<const group_write*, bool>;

class raft_group_view final : public raft::log_storage {
 public:
  raft_group_view(environment& env, raft::group_id group, const raft_log_store_options& options);
  raft_group_view(const raft_group_view&) = delete;
  raft_group_view& operator=(const raft_group_view&) = delete;

  // raft::log_storage. entries() appends to `out`. A storage failure (see read_entries) prints
  // the status and aborts.
  raft::hard_state initial_hard_state() const override;
  raft::conf_state initial_conf_state() const override;
  raft::log_error entries(raft::index_t lo, raft::index_t hi, uint64_t bytes_max,
                          std::vector<raft::entry>& out) const override;
  raft::log_error term(raft::index_t index, raft::term_t& out) const override;
  raft::index_t first_index() const override;
  raft::index_t last_index() const override;
  raft::snapshot current_snapshot() const override;

  // The same reads, returning storage failures (corruption, busy, io_error) as statuses; `out`
  // is left as it was unless the answer is none.
  result<raft::log_error> read_entries(raft::index_t lo, raft::index_t hi, uint64_t bytes_max,
                                       std::vector<raft::entry>& out) const;
  result<raft::log_error> read_term(raft::index_t index, raft::term_t& out) const;

  // ---- the writer's side (raft_log_store) ----
  // A copy of the state as of the last commit.
  raft_group_state state() const;
  // Installs what open() loaded. Requires: tail is the end of state's log (or empty).
  void load(const raft_group_state& state, const std::vector<raft::entry>& tail);
  // Publishes a commit: `state` is the group's state after it, `changes` its group_writes in
  // order (none for record_snapshot() and compact()). With `pin`, the changes were written into
  // a transaction that is not committed yet (raft_log_store::stage): the entries they append
  // stay in the cache until unpin().
  void publish(const raft_group_state& state, const std::vector<applied_write>& changes,
               bool pin = false);
  // The transaction of the pinned entries committed: the cache may drop them again.
  void unpin();
  // Publishes a committed drop_group(): an empty group but for `kept`, its hard state.
  void reset(const raft::hard_state& kept);

 private:
  // Requires: mutex_ held. Aborts unless the cache is a suffix of state_'s log.
  void check_cache() const;
  // Requires: mutex_ held. A change of the log from `from` on: forgets a remembered term there.
  void forget_terms_from(raft::index_t from);

  // The last term read from LMDB outside the cache. The core asks for the same one on every
  // step (raft_log::check_invariants reads the term of the first entry), and with large
  // entries the first entry is rarely cached: without it each step read and checksummed a
  // whole entry (7.8 % of a node's CPU in a join of 64 KiB values).
  struct remembered_term {
    raft::index_t index = 0;
    raft::term_t term = 0;
  };

  environment& env_;
  const raft::group_id group_;
  mutable std::mutex mutex_;
  raft_group_state state_;  // guarded by mutex_
  raft_entry_cache cache_;  // guarded by mutex_
  mutable std::optional<remembered_term> remembered_;  // guarded by mutex_
  // Counts the changes published (load, publish, reset): a term read from LMDB is remembered
  // only when no change was published while it was read. Guarded by mutex_.
  uint64_t generation_ = 0;
};

}  // namespace ck::storage::detail
