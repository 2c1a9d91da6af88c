#include "actors/raft_log_writer.hpp"

#include "storage/environment.hpp"
#include "storage/journaled_log.hpp"
#include "storage/table.hpp"
#include "storage/table_overlay.hpp"

#include "actors/errc.hpp"
#include "actors/raft_wire.hpp"
#include "runtime/base/assert.hpp"
#include "runtime/base/log.hpp"
#include "runtime/base/metrics.hpp"
#include "runtime/base/storage_health.hpp"
#include "runtime/io/io_thread_scheduler.hpp"

#include <caf/actor_system.hpp>
#include <caf/mailbox_element.hpp>
#include <caf/send.hpp>
#include <caf/typed_event_based_actor.hpp>
#include <caf/typed_response_promise.hpp>

#include <algorithm>
#include <atomic>
#include <deque>
#include <functional>
#include <optional>
#include <variant>
#include <vector>

namespace ck::actors {

namespace {

using snapshot_record = storage::raft_log_store::snapshot_record;

// A replica that left this node: its log, hard state and snapshot meta go (drop_group).
struct group_drop {
  raft::group_id group = 0;
};

struct pending_request {
  std::variant<persist_request, snapshot_record, group_drop> operation;
  caf::typed_response_promise<uint64_t> promise;
};

struct raft_writer_state {
  static inline const char* name = "raft_log_writer";
  std::shared_ptr<storage::raft_log_store> store;
  std::shared_ptr<storage::environment> sync_env;  // null: the environment syncs every commit
  std::shared_ptr<runtime::storage_health> health;  // null: a full disk is a failure like others
  std::vector<pending_request> pending;
  // Journal mode: snapshot records waiting for LMDB to hold the applies before them (a
  // record may compact the log): carried out after the next checkpoint that stages their
  // group's changes, or once the overlay holds none of them (record_waiting_snapshots).
  std::vector<pending_request> waiting_records;
  // Journal mode: the slices of the overlay's flush in progress not staged yet, next first
  // (journal_mode::table_flush_slices; one per checkpoint).
  std::deque<storage::table_overlay::slice> flush_slices;
  bool flush_scheduled = false;
  // The journal design (journal_mode): set when the writer writes through the journal.
  std::optional<journal_mode> journal;
  std::chrono::steady_clock::time_point last_checkpoint = std::chrono::steady_clock::now();
  std::chrono::steady_clock::time_point last_table_flush = std::chrono::steady_clock::now();
  uint64_t table_leaf_pages = 0;  // the KV database's leaves at the last flush (0: not known)
  // A checkpoint_timer_atom is on its way to check for a due checkpoint. One at a time: a timer
  // armed per flush would wake the clock thread and the writer once more for every batch.
  bool checkpoint_timer = false;
  // Journal mode: set (from any thread) when a write transaction of someone else waits for the
  // open one (storage::environment::set_write_wanted): the next check checkpoints at once.
  std::shared_ptr<std::atomic<bool>> write_wanted;
  bool reported_broken = false;   // journal_mode::on_broken was called
  // Journal mode: the last free-space measurement, and the journal bytes taken in since (an
  // estimate: pending_bytes of the batches let through unmeasured).
  struct free_space_sample {
    uint64_t bytes = 0;
    std::chrono::steady_clock::time_point at{};
    uint64_t appended = 0;
  };
  std::optional<free_space_sample> free_space;
  // The writer's context while it flushes: the groups its answers wake are handed over in one
  // go after the flush (runtime/io/io_thread_scheduler.hpp). Made on the first flush.
  std::unique_ptr<io::batched_wakeups> wakeups;
};

using raft_writer_pointer = raft_log_writer_actor::stateful_pointer<raft_writer_state>;

// Runs the applies of one store write, inside its transaction. On a retry every job starts
// over (results are reassigned).
storage::status run_applies(storage::write_txn& txn, const std::vector<apply_job*>& jobs) {
  std::vector<const raft::entry*> entries;
  for (apply_job* job : jobs) {
    entries.clear();
    for (const raft::entry& e : job->entries) {
      entries.push_back(&e);
    }
    auto results = job->applier->log_txn_apply(txn, entries);
    if (!results.ok()) {
      return results.status();
    }
    CK_ASSERT_EQ(results.value().size(), job->entries.size());
    job->results = std::move(results.value());
  }
  return storage::status::success();
}

// The applies of a run of persists, to run inside its store write (none without jobs).
std::function<storage::status(storage::write_txn&)> applies_of(
    const std::vector<apply_job*>& jobs) {
  if (jobs.empty()) {
    return {};
  }
  return [&jobs](storage::write_txn& txn) { return run_applies(txn, jobs); };
}

// Adds `request` to the run of persists being gathered (its write, its applies, whether it
// must sync); false when it is no persist (a snapshot record or a drop ends the run).
bool join_run(pending_request& request, std::vector<storage::group_write>& run,
              std::vector<apply_job*>& jobs, bool& must_sync) {
  auto* persist = std::get_if<persist_request>(&request.operation);
  if (persist == nullptr) {
    return false;
  }
  must_sync = must_sync || persist->must_sync;
  run.push_back(std::move(persist->write));
  if (persist->apply) {
    jobs.push_back(persist->apply.get());
  }
  return true;
}

// The oldest pending requests, at most raft_write_batch_max of them, out of the queue.
std::vector<pending_request> take_batch(raft_writer_state& st) {
  const size_t take = std::min(st.pending.size(), raft_write_batch_max);
  std::vector<pending_request> batch;
  batch.reserve(take);
  auto end = st.pending.begin() + static_cast<std::ptrdiff_t>(take);
  std::move(st.pending.begin(), end, std::back_inserter(batch));
  st.pending.erase(st.pending.begin(), end);
  return batch;
}

// What became of one request of a batch: its write's status and how many requests that write
// carried (the answer).
using outcome = std::pair<storage::status, uint64_t>;

// Carries out a snapshot record or a group drop, each one transaction of its own, and logs
// a failure for which `logged` is true.
storage::status carry_out(storage::raft_log_store& store, const pending_request& request,
                          const std::function<bool(const storage::status&)>& logged) {
  storage::status st;
  if (const auto* drop = std::get_if<group_drop>(&request.operation)) {
    st = store.drop_group(drop->group);
    if (!st.ok() && logged(st)) {
      CK_LOG_ERROR("raft: dropping the log of group {} failed: {}", drop->group, st.to_string());
    }
  } else {
    st = store.record_snapshots({std::get<snapshot_record>(request.operation)});
    if (!st.ok() && logged(st)) {
      CK_LOG_ERROR("raft: snapshot record failed: {}", st.to_string());
    }
  }
  return st;
}

// Answers the first `end` requests of `batch`: each with its outcome, or with the failure of
// the sync that was to make it durable.
void answer(std::vector<pending_request>& batch, size_t end, const std::vector<outcome>& outcomes,
            const storage::status& synced) {
  for (size_t k = 0; k < end; ++k) {
    const auto& [st, count] = outcomes[k];
    const storage::status& failure = st.ok() ? synced : st;
    if (failure.ok()) {
      batch[k].promise.deliver(count);
    } else {
      batch[k].promise.deliver(caf::make_error(errc::storage_failure, failure.to_string()));
    }
  }
}

// Sends `msg` as the answer to `promise` from the writer's thread, through `context` (the
// promise's own deliver would use the execution unit of the actor that made it: a group's,
// which another thread may be running). As caf::response_promise::deliver_impl does.
void deliver_from_writer(caf::response_promise& promise, caf::message msg,
                         const caf::strong_actor_ptr& sender, caf::execution_unit* context) {
  caf::response_promise::forwarding_stack stages = promise.stages();
  if (!stages.empty()) {
    caf::strong_actor_ptr next = std::move(stages.back());
    stages.pop_back();
    next->enqueue(caf::make_mailbox_element(promise.source(), promise.id(), std::move(stages),
                                            std::move(msg)),
                  context);
  } else if (promise.source() != nullptr) {
    promise.source()->enqueue(sender, promise.id().response_id(), std::move(msg), context);
  }
  promise = caf::response_promise{};
}

// Answers the proposals the apply jobs of the first `end` requests carry (apply_job::answers):
// with their results where the write that applied them succeeded, else as a stopping replica
// answers its parked proposals (the entry is committed; whether it was applied is unknown to
// the caller). Returns how many it answered.
size_t answer_early(std::vector<pending_request>& batch, size_t end,
                    const std::vector<outcome>& outcomes, const caf::strong_actor_ptr& sender,
                    caf::execution_unit* context) {
  size_t answered = 0;
  for (size_t k = 0; k < end; ++k) {
    auto* persist = std::get_if<persist_request>(&batch[k].operation);
    if (persist == nullptr || !persist->apply || persist->apply->answers.empty()) {
      continue;
    }
    apply_job& job = *persist->apply;
    const storage::status& written = outcomes[k].first;
    for (early_answer& early : job.answers) {
      caf::message msg =
          written.ok()
              ? caf::make_message(raft_propose_reply{job.entries[early.entry].index,
                                                     job.results[early.entry]})
              : caf::make_message(caf::make_error(
                    errc::timeout, "storage failure: the entry may still commit elsewhere; it "
                                   "may or may not have been applied"));
      deliver_from_writer(early.promise, std::move(msg), sender, context);
      ++answered;
    }
    job.answers.clear();
  }
  return answered;
}

// How often a batch that met a full disk is tried again.
constexpr auto storage_full_retry = std::chrono::seconds(1);

// Carries out `batch` in arrival order: each run of consecutive persists is one store write
// (the group commit) with their applies inside it; a snapshot record or group drop between
// them is its own transaction, so it lands after the persists that preceded it and before
// those that followed.
//
// Returns how many requests from the front of `batch` were carried out (and answered). A
// write that fails for lack of space (runtime::storage_health::looks_full) stops the batch
// there: the requests from it on stay in `batch`, unanswered and unchanged, to be tried
// again; the requesters (Raft groups) simply wait, as for a slow disk. Any other failure is
// answered as such (storage_failure): the groups stop and restart from what the store holds.
size_t run_batch(storage::raft_log_store& store, storage::environment* sync_env,
                 const runtime::storage_health* health, std::vector<pending_request>& batch,
                 std::string& full_reason,
                 const std::function<void(size_t, const std::vector<outcome>&)>& before_sync) {
  std::vector<storage::group_write> run;
  std::vector<apply_job*> jobs;
  size_t run_begin = 0;
  size_t stop = batch.size();  // where a full disk stopped the batch
  // Answers wait until the whole batch is written (and synced, below).
  std::vector<outcome> outcomes(batch.size());
  bool must_sync = false;
  auto finish = [&](size_t end, const storage::status& st, uint64_t count) {
    for (size_t k = run_begin; k < end; ++k) {
      outcomes[k] = {st, count};
    }
    run_begin = end;
  };
  auto out_of_space = [&](const storage::status& st) {
    return health != nullptr &&
           health->looks_full(st.code() == storage::code::map_full, st.to_string());
  };
  // Gives the writes of the run back to their requests, for the retry.
  auto unmove_run = [&](size_t end) {
    size_t i = 0;
    for (size_t k = run_begin; k < end; ++k) {
      if (auto* persist = std::get_if<persist_request>(&batch[k].operation)) {
        persist->write = std::move(run[i++]);
      }
    }
  };
  // False when the run met a full disk (and the batch stops at its first request).
  auto write_run = [&](size_t end) {
    if (end == run_begin) {
      return true;
    }
    auto st = store.write(run, applies_of(jobs));
    if (!st.ok() && out_of_space(st)) {
      full_reason = st.to_string();
      unmove_run(end);
      stop = run_begin;
      run.clear();
      jobs.clear();
      return false;
    }
    if (!st.ok()) {
      CK_LOG_ERROR("raft: log write of {} groups failed: {}", end - run_begin, st.to_string());
    }
    finish(end, st, end - run_begin);
    run.clear();
    jobs.clear();
    return true;
  };
  bool stopped = false;
  for (size_t k = 0; k < batch.size() && !stopped; ++k) {
    if (join_run(batch[k], run, jobs, must_sync)) {
      continue;
    }
    if (!write_run(k)) {
      stopped = true;
      break;
    }
    must_sync = true;  // snapshot records and drops are rare: keep them simple
    const storage::status st = carry_out(
        store, batch[k], [&](const storage::status& failed) { return !out_of_space(failed); });
    if (!st.ok() && out_of_space(st)) {
      full_reason = st.to_string();
      stop = k;
      stopped = true;
      break;
    }
    finish(k + 1, st, 1);
  }
  if (!stopped) {
    write_run(batch.size());
  }
  before_sync(stop, outcomes);
  // With the environment deferring its meta page, this one fsync makes every commit of the
  // batch durable before anyone hears "persisted" (when something in it must be).
  storage::status synced;
  if (sync_env != nullptr && must_sync && stop > 0) {
    synced = sync_env->sync_now();
    if (!synced.ok()) {
      CK_LOG_ERROR("raft: sync after a log write failed: {}", synced.to_string());
    }
  }
  answer(batch, stop, outcomes, synced);
  return stop;
}

// Journal mode: what the overlay holds for the next flush (nothing without an overlay).
storage::table_overlay::pending_figures tables_pending(const raft_writer_state& st) {
  const journal_mode& mode = *st.journal;
  return mode.overlay ? mode.overlay->pending() : storage::table_overlay::pending_figures{};
}

// Journal mode: whether the overlay's changes, `pending`, are due for LMDB (journal_mode's
// table_flush_*).
bool tables_due(const raft_writer_state& st,
                const storage::table_overlay::pending_figures& pending,
                std::chrono::steady_clock::time_point now) {
  const journal_mode& mode = *st.journal;
  return !pending.empty() &&
         (now - st.last_table_flush >= mode.table_flush_interval ||
          pending.changes >= mode.table_flush_changes || pending.bytes >= mode.table_flush_bytes ||
          storage::table_dirty_pages_estimate(pending.changes, st.table_leaf_pages) >=
              mode.table_flush_pages);
}

// Answers the snapshot records in [first, last), which were carried out together with
// `done`: how many they were, or storage_failure.
void answer_records(std::vector<pending_request>::iterator first,
                    std::vector<pending_request>::iterator last, const storage::status& done) {
  const auto count = static_cast<uint64_t>(last - first);
  for (; first != last; ++first) {
    if (done.ok()) {
      first->promise.deliver(count);
    } else {
      first->promise.deliver(caf::make_error(errc::storage_failure, done.to_string()));
    }
  }
}

// Journal mode: answers the waiting snapshot records with `failure`, not carried out.
void fail_waiting_records(raft_writer_state& st, const storage::status& failure) {
  CK_ASSERT(!failure.ok());
  answer_records(st.waiting_records.begin(), st.waiting_records.end(), failure);
  st.waiting_records.clear();
}

// What a checkpoint stages of the overlay's changes: all of them, or one slice of a flush.
struct table_staging {
  bool all = false;
  storage::table_overlay::slice slice;  // without `all`
  bool covers(uint32_t group) const {
    return all || std::binary_search(slice.groups.begin(), slice.groups.end(), group);
  }
};

// Journal mode: carries out, together in one transaction (record_snapshots), the waiting
// snapshot records whose group LMDB holds every apply of: the checkpoint that just committed
// staged the group (`staged`), or the overlay holds nothing of it. Call only between
// checkpoints (no open transaction).
void record_waiting_snapshots(raft_writer_state& st, const table_staging* staged = nullptr) {
  const storage::table_overlay* overlay = st.journal->overlay.get();
  auto ready = [&](const pending_request& request) {
    const auto group = static_cast<uint32_t>(std::get<snapshot_record>(request.operation).group);
    return (staged != nullptr && staged->covers(group)) || overlay == nullptr ||
           !overlay->pending_applied(group);
  };
  // The ready ones first, each group's records in their order.
  auto waiting = std::stable_partition(st.waiting_records.begin(), st.waiting_records.end(), ready);
  if (waiting == st.waiting_records.begin()) {
    return;
  }
  std::vector<snapshot_record> list;
  for (auto it = st.waiting_records.begin(); it != waiting; ++it) {
    list.push_back(std::get<snapshot_record>(it->operation));
  }
  const storage::status done = st.store->record_snapshots(list);
  if (!done.ok()) {
    CK_LOG_ERROR("raft: recording {} snapshots failed: {}", list.size(), done.to_string());
  }
  answer_records(st.waiting_records.begin(), waiting, done);
  st.waiting_records.erase(st.waiting_records.begin(), waiting);
}

// Journal mode: the next slice of the flush in progress, taken off the list.
table_staging take_slice(raft_writer_state& st) {
  CK_ASSERT(!st.flush_slices.empty());
  table_staging next{false, std::move(st.flush_slices.front())};
  st.flush_slices.pop_front();
  return next;
}

// Journal mode: what this checkpoint stages of `pending`: everything with `flush_tables`;
// otherwise the next slice of the flush in progress, or the first slice of a flush that is due
// now (tables_due). Nothing when the overlay is empty.
std::optional<table_staging> next_table_staging(
    raft_writer_state& st, const storage::table_overlay::pending_figures& pending,
    std::chrono::steady_clock::time_point now, bool flush_tables) {
  const journal_mode& mode = *st.journal;
  if (pending.empty()) {
    st.flush_slices.clear();
    return std::nullopt;
  }
  if (!flush_tables && !st.flush_slices.empty()) {
    return take_slice(st);  // the flush in progress goes on
  }
  st.flush_slices.clear();  // a forced flush takes the rest of one in progress along
  if (!flush_tables && !tables_due(st, pending, now)) {
    return std::nullopt;
  }
  st.last_table_flush = now;  // a flush begins
  if (flush_tables || mode.table_flush_slices <= 1) {
    return table_staging{true, {{}, pending.changes}};
  }
  auto slices = mode.overlay->pending_slices(mode.table_flush_slices);
  st.flush_slices.assign(std::make_move_iterator(slices.begin()),
                         std::make_move_iterator(slices.end()));
  return take_slice(st);
}

// Journal mode: commits the open transaction and releases the journal before it. When the
// overlay's changes are due (or `flush_tables`), stages them first, all or a slice of them
// (next_table_staging), and lets the overlay drop them once LMDB holds them. Then the waiting
// snapshot records whose group LMDB holds every apply of.
storage::status checkpoint(raft_writer_state& st, bool flush_tables = false) {
  journal_mode& mode = *st.journal;
  const auto now = std::chrono::steady_clock::now();
  st.last_checkpoint = now;
  std::optional<uint64_t> generation;
  const std::optional<table_staging> staging =
      next_table_staging(st, tables_pending(st), now, flush_tables);
  if (staging) {
    storage::status staged = mode.journal->stage({}, [&](storage::write_txn& txn) {
      storage::result<uint64_t> sealed = staging->all
                                             ? mode.overlay->stage_into(txn)
                                             : mode.overlay->stage_into(txn, staging->slice.groups);
      if (!sealed.ok()) {
        return sealed.status();
      }
      generation = sealed.value();
      storage::result<uint64_t> leaves = storage::table_leaf_pages(txn);
      if (!leaves.ok()) {
        return leaves.status();
      }
      st.table_leaf_pages = leaves.value();
      return storage::status::success();
    });
    if (!staged.ok()) {
      CK_LOG_ERROR("raft: staging the applied changes failed: {}", staged.to_string());
      return staged;
    }
  }
  if (mode.journal->open_transaction() != nullptr) {
    storage::status done = mode.journal->checkpoint();
    if (!done.ok()) {
      CK_LOG_ERROR("raft: journal checkpoint failed: {}", done.to_string());
      return done;
    }
    if (generation) {
      mode.overlay->committed(*generation);
      if (mode.metrics != nullptr) {
        mode.metrics->storage_table_flushes.add();
        mode.metrics->storage_table_flushed_changes.add(staging->slice.changes);
      }
    }
  }
  record_waiting_snapshots(st, generation ? &*staging : nullptr);
  return storage::status::success();
}

// Whether `request` is a persist that must sync (false for anything else).
bool persist_must_sync(const pending_request& request) {
  const auto* persist = std::get_if<persist_request>(&request.operation);
  return persist != nullptr && persist->must_sync;
}

// Journal mode's run_batch: every run of persists is staged with its applies into the open
// transaction and, when its persists must sync, appended to the journal (a run of persists
// that need not, commit indexes and applies only, is staged alone: journaled_log::stage says
// why a restart may lose it). A snapshot record may compact the log, so LMDB must hold the
// applies up to it first: it waits for the next checkpoint that stages its group's changes
// anyway (st.waiting_records; forcing a flush for it stalled the writer for tens of
// milliseconds when all groups, under equal load, reached their snapshot interval together).
// Later persists of its group may go first (they append or truncate above the commit index,
// which the record does not touch), but not one that installs a snapshot, nor a drop: those
// checkpoint with a flush first, which carries the waiting records out. A drop commits on its
// own. One journal sync at the end when anything must sync, then the answers. Every request is
// carried out (a failure is answered as storage_failure; the journal is then broken and fails
// everything after it).
void run_batch_journaled(
    raft_writer_state& st, std::vector<pending_request>& batch,
    const std::function<void(size_t, const std::vector<outcome>&)>& before_sync) {
  storage::journaled_log& log = *st.journal->journal;
  std::vector<outcome> outcomes(batch.size());
  std::vector<storage::group_write> run;
  std::vector<apply_job*> jobs;
  size_t run_begin = 0;
  bool must_sync = false;
  bool run_must_sync = false;  // of the requests in `run`: all alike
  auto write_run = [&](size_t end) {
    if (end == run_begin) {
      return;
    }
    const storage::status written = run_must_sync
                                        ? log.write(run, /*sync=*/false, applies_of(jobs))
                                        : log.stage(run, applies_of(jobs));
    if (!written.ok()) {
      CK_LOG_ERROR("raft: journaled write of {} groups failed: {}", end - run_begin,
                   written.to_string());
    }
    for (size_t k = run_begin; k < end; ++k) {
      outcomes[k] = {written, end - run_begin};
    }
    run.clear();
    jobs.clear();
    run_begin = end;
  };
  auto record_waits = [&](raft::group_id group) {
    return std::any_of(st.waiting_records.begin(), st.waiting_records.end(),
                       [&](const pending_request& waiting) {
                         return std::get<snapshot_record>(waiting.operation).group == group;
                       });
  };
  for (size_t k = 0; k < batch.size(); ++k) {
    if (!run.empty() && persist_must_sync(batch[k]) != run_must_sync) {
      write_run(k);  // runs are alike: journaled or staged alone
    }
    run_must_sync = persist_must_sync(batch[k]);
    if (const auto* persist = std::get_if<persist_request>(&batch[k].operation);
        persist != nullptr && persist->write.snapshot && record_waits(persist->write.group)) {
      write_run(k);
      if (storage::status done = checkpoint(st, /*flush_tables=*/true); !done.ok()) {
        fail_waiting_records(st, done);  // they must not land after the install
      }
    }
    if (join_run(batch[k], run, jobs, must_sync)) {
      continue;
    }
    write_run(k);
    run_begin = k + 1;
    if (std::holds_alternative<snapshot_record>(batch[k].operation)) {
      // Answered when carried out; the moved-from promise left here answers nothing.
      st.waiting_records.push_back(std::move(batch[k]));
      continue;
    }
    storage::status done = checkpoint(st, /*flush_tables=*/true);
    if (done.ok()) {
      done = carry_out(*st.store, batch[k], [](const storage::status&) { return true; });
    }
    outcomes[k] = {done, 1};
  }
  write_run(batch.size());
  before_sync(batch.size(), outcomes);
  storage::status synced;
  if (must_sync) {
    synced = log.write({}, /*sync=*/true);
    if (!synced.ok()) {
      CK_LOG_ERROR("raft: journal sync failed: {}", synced.to_string());
    }
  }
  answer(batch, batch.size(), outcomes, synced);
}

// Journal mode: the journal bytes `pending` adds, about (entries and hard states).
uint64_t pending_bytes(const std::vector<pending_request>& pending) {
  uint64_t bytes = 0;
  for (const auto& request : pending) {
    if (const auto* persist = std::get_if<persist_request>(&request.operation)) {
      bytes += 64;
      for (const raft::entry& e : persist->write.entries) {
        bytes += 32 + e.data.size();
      }
    }
  }
  return bytes;
}

// Journal mode: whether the pending requests must wait for disk space (less free than
// journal_space_needed, even after a checkpoint took the open transaction's share of the
// need). A journal that broke in that checkpoint does not wait: its requests fail. Never
// without a health to report to. Measures the free space again only when the last measurement
// is older than journal_mode::free_space_recheck or no longer clearly enough.
bool journal_short_of_space(raft_writer_state& st) {
  const journal_mode& mode = *st.journal;
  if (mode.health == nullptr) {
    return false;
  }
  const uint64_t batch = pending_bytes(st.pending);
  // Asked again after a checkpoint, which takes the open transaction's share of the need.
  // The overlay's changes count as well: their flush writes their bytes and a page per key
  // at most, and the journal that carried them may be released already.
  auto need = [&] {
    const storage::table_overlay::pending_figures tables = tables_pending(st);
    return storage::journal_space_needed(
        mode.journal->bytes_since_checkpoint() + tables.bytes + tables.changes * 4096, batch);
  };
  const auto now = std::chrono::steady_clock::now();
  if (auto& last = st.free_space; last && now - last->at < mode.free_space_recheck) {
    const uint64_t spent = 4 * (last->appended + batch);
    if (last->bytes >= spent && last->bytes - spent >= 2 * need()) {
      last->appended += batch;
      return false;
    }
  }
  auto enough = [&] {
    const uint64_t free = mode.health->free_bytes();
    st.free_space = raft_writer_state::free_space_sample{free, std::chrono::steady_clock::now(),
                                                         batch};
    return free >= need();
  };
  if (enough()) {
    return false;
  }
  return checkpoint(st).ok() && !enough();
}

// Journal mode: calls on_broken once the journal failed.
void report_if_broken(raft_writer_state& st) {
  const storage::status& failure = st.journal->journal->failure();
  if (failure.ok() || st.reported_broken) {
    return;
  }
  st.reported_broken = true;
  if (st.journal->on_broken) {
    st.journal->on_broken(failure.to_string());
  }
}

// Journal mode: checkpoints when the open transaction is old or large enough, or the overlay's
// changes are due; otherwise, while either waits, makes sure a timer comes back to check (an
// idle writer still checkpoints, and still flushes the overlay).
void checkpoint_if_due(raft_log_writer_actor::stateful_pointer<raft_writer_state> self) {
  auto& st = self->state;
  const journal_mode& mode = *st.journal;
  bool open = mode.journal->open_transaction() != nullptr;
  const bool wanted = st.write_wanted != nullptr && st.write_wanted->exchange(false);
  storage::table_overlay::pending_figures pending = tables_pending(st);
  if (!open) {
    record_waiting_snapshots(st);  // those whose group the overlay holds nothing of
  }
  if (!open && pending.empty()) {
    return;
  }
  auto now = std::chrono::steady_clock::now();
  // A flush in progress stages its next slice at the checkpoint interval.
  const bool tables = st.flush_slices.empty()
                          ? tables_due(st, pending, now)
                          : now - st.last_checkpoint >= mode.checkpoint_interval;
  if ((open && (wanted || now - st.last_checkpoint >= mode.checkpoint_interval ||
                mode.journal->bytes_since_checkpoint() >= mode.checkpoint_bytes)) ||
      tables) {
    if (!checkpoint(st).ok()) {
      return;  // the journal is broken: later requests get the failure
    }
    // A checkpoint may leave the overlay's changes for a later one.
    open = mode.journal->open_transaction() != nullptr;
    pending = tables_pending(st);
    if (!open && pending.empty()) {
      return;
    }
    now = std::chrono::steady_clock::now();
  }
  if (!st.checkpoint_timer) {
    st.checkpoint_timer = true;
    // An idle writer still flushes the overlay's changes, a table_flush_interval after the last
    // flush began, and a flush in progress slice by slice.
    const auto wait = open || !st.flush_slices.empty()
                          ? mode.checkpoint_interval - (now - st.last_checkpoint)
                          : mode.table_flush_interval - (now - st.last_table_flush);
    self->delayed_send(self, std::chrono::duration_cast<std::chrono::milliseconds>(wait) +
                                 std::chrono::milliseconds(1),
                       atoms::checkpoint_timer_atom_v);
  }
}

// A full disk: says so in `health` (the groups refuse proposals) and tries the pending requests
// again in a second.
void wait_for_space(raft_writer_pointer self, const std::string& reason) {
  auto& st = self->state;
  if (!st.health->full()) {
    CK_LOG_ERROR("raft: storage full, writes wait until space is freed (retried every {} s): {}",
                 storage_full_retry.count(), reason);
  }
  st.health->set_full(reason);
  st.flush_scheduled = true;
  self->delayed_send(self, storage_full_retry, atoms::flush_atom_v);
}

void writable_again(raft_writer_state& st) {
  if (st.health != nullptr && st.health->full()) {
    st.health->clear();
    CK_LOG_INFO("raft: storage writable again, the waiting writes went through");
  }
}

void flush_batch(raft_writer_pointer self);

// flush_batch with the answers' wake-ups batched.
void flush(raft_writer_pointer self) {
  auto& st = self->state;
  if (!st.wakeups) {
    st.wakeups = std::make_unique<io::batched_wakeups>(self->system());
  }
  caf::execution_unit* own = self->context();
  self->context(st.wakeups.get());
  flush_batch(self);
  self->context(own);
  st.wakeups->hand_over();
}

// The proposals a batch answers before its sync (answer_early), and their requesters woken
// right away: they need not wait for the sync.
std::function<void(size_t, const std::vector<outcome>&)> early_answers(
    raft_writer_pointer self, std::vector<pending_request>& batch) {
  return [self, &batch](size_t end, const std::vector<outcome>& outcomes) {
    auto& st = self->state;
    if (answer_early(batch, end, outcomes, caf::actor_cast<caf::strong_actor_ptr>(self),
                     self->context()) > 0 &&
        st.wakeups && self->context() == st.wakeups.get()) {
      st.wakeups->hand_over();
    }
  };
}

void flush_batch(raft_writer_pointer self) {
  auto& st = self->state;
  st.flush_scheduled = false;
  if (st.journal) {
    if (!st.pending.empty() && journal_short_of_space(st)) {
      wait_for_space(self, "less free space than the journal needs (" +
                               std::to_string(st.health->free_bytes() >> 10) + " KiB left)");
      return;
    }
    if (!st.pending.empty()) {
      // Room enough: say so before any answer leaves (a requester that hears its answer must
      // not still see the disk full).
      writable_again(st);
      std::vector<pending_request> batch = take_batch(st);
      run_batch_journaled(st, batch, early_answers(self, batch));
    }
    checkpoint_if_due(self);
    report_if_broken(st);
    if (!st.pending.empty() && !st.flush_scheduled) {
      st.flush_scheduled = true;
      self->send(self, atoms::flush_atom_v);
    }
    return;
  }
  if (st.pending.empty()) {
    return;
  }
  std::vector<pending_request> batch = take_batch(st);
  std::string full_reason;
  const size_t done = run_batch(*st.store, st.sync_env.get(), st.health.get(), batch,
                               full_reason, early_answers(self, batch));
  if (done < batch.size()) {
    // A full disk: the rest goes back to the front, in order, and is tried again in a second.
    st.pending.insert(st.pending.begin(), std::make_move_iterator(batch.begin() + done),
                      std::make_move_iterator(batch.end()));
    wait_for_space(self, full_reason);
    return;
  }
  writable_again(st);
  if (!st.pending.empty()) {
    st.flush_scheduled = true;
    self->send(self, atoms::flush_atom_v);
  }
}

// Answers what is left when the writer stops on a full disk: it cannot wait for space.
void fail_pending(raft_writer_pointer self) {
  static constexpr const char* why = "stopped while the disk was full";
  auto& pending = self->state.pending;
  const std::vector<outcome> failed(pending.size(), {storage::status::io_error(why), 0});
  answer_early(pending, pending.size(), failed, caf::actor_cast<caf::strong_actor_ptr>(self),
               self->context());
  for (auto& request : pending) {
    request.promise.deliver(caf::make_error(errc::storage_full, why));
  }
  self->state.pending.clear();
}

template <class Operation>
caf::typed_response_promise<uint64_t> enqueue(raft_writer_pointer self, Operation&& operation) {
  auto promise = self->make_response_promise<uint64_t>();
  self->state.pending.push_back({std::forward<Operation>(operation), promise});
  if (!self->state.flush_scheduled) {
    // The flush message queues behind every request already in the mailbox, so all of them
    // join this batch: group commit without a timer.
    self->state.flush_scheduled = true;
    self->send(self, atoms::flush_atom_v);
  }
  return promise;
}

raft_log_writer_actor::behavior_type raft_writer(
    raft_writer_pointer self, std::shared_ptr<storage::raft_log_store> store,
    std::shared_ptr<storage::environment> sync_env,
    std::shared_ptr<runtime::storage_health> health, std::optional<journal_mode> journal) {
  CK_ASSERT(store != nullptr);
  self->state.store = std::move(store);
  self->state.sync_env = std::move(sync_env);
  self->state.health = std::move(health);
  self->state.journal = std::move(journal);
  if (self->state.journal && self->state.sync_env) {
    // Another writer of the environment (a snapshot chunk staged by a group, a restore's
    // swap) waits for the open transaction: checkpoint now instead of at the interval.
    auto wanted = std::make_shared<std::atomic<bool>>(false);
    self->state.write_wanted = wanted;
    self->state.sync_env->set_write_wanted([wanted, writer = self->address()] {
      wanted->store(true);
      if (auto alive = caf::actor_cast<caf::actor>(writer)) {
        caf::anon_send(alive, atoms::checkpoint_now_atom_v);
      }
    });
  }
  // A stop still commits what was accepted: the group actors wait for those answers.
  self->set_exit_handler([=](caf::exit_msg& msg) {
    // Bounded: a full disk leaves requests pending after every flush.
    for (size_t attempt = 0; !self->state.pending.empty() && attempt < 8; ++attempt) {
      flush(self);
      if (self->state.health != nullptr && self->state.health->full()) {
        break;
      }
    }
    fail_pending(self);
    if (self->state.journal) {
      // A restart need not replay what was written, nor apply again what was applied.
      const storage::status done = checkpoint(self->state, /*flush_tables=*/true);
      fail_waiting_records(self->state,
                           done.ok() ? storage::status::io_error("the log writer stopped") : done);
    }
    self->quit(msg.reason);
  });
  return {
      [=](atoms::raft_persist_atom, persist_request& request) {
        return enqueue(self, std::move(request));
      },
      [=](atoms::raft_snapshot_atom, raft::group_id group, raft::snapshot_meta& meta,
          raft::index_t compact_index) {
        return enqueue(self, snapshot_record{group, std::move(meta), compact_index});
      },
      [=](atoms::raft_drop_atom, raft::group_id group) { return enqueue(self, group_drop{group}); },
      [=](atoms::flush_atom) { flush(self); },
      [=](atoms::checkpoint_timer_atom) {
        self->state.checkpoint_timer = false;  // flush's checkpoint_if_due arms the next one
        flush(self);
      },
      [=](atoms::checkpoint_now_atom) {
        // Not the timer: the armed one (checkpoint_timer) is still on its way and stays the
        // only one; the hook's flag makes this check checkpoint an open transaction at once.
        checkpoint_if_due(self);
        report_if_broken(self->state);
      },
  };
}

}  // namespace

raft_log_writer_actor spawn_raft_log_writer(caf::actor_system& sys,
                                            std::shared_ptr<storage::raft_log_store> store,
                                            std::shared_ptr<storage::environment> sync_env,
                                            std::shared_ptr<runtime::storage_health> health) {
  return sys.spawn<caf::detached>(raft_writer, std::move(store), std::move(sync_env),
                                  std::move(health), std::optional<journal_mode>{});
}

raft_log_writer_actor spawn_journaled_raft_log_writer(
    caf::actor_system& sys, std::shared_ptr<storage::raft_log_store> store,
    std::shared_ptr<storage::environment> env, journal_mode mode) {
  CK_ASSERT(mode.journal != nullptr);
  // `env` stays alive with the writer: the journal writes into it.
  auto health = mode.health;
  return sys.spawn<caf::detached>(raft_writer, std::move(store), std::move(env),
                                  std::move(health), std::optional<journal_mode>{std::move(mode)});
}

}  // namespace ck::actors
