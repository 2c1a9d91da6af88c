#include "actors/partition_machines.hpp"

#include "runtime/base/assert.hpp"
#include "runtime/cluster/machine_command.hpp"
#include "runtime/base/log.hpp"
#include "runtime/base/metrics.hpp"
#include "storage/environment.hpp"
#include "storage/format.hpp"
#include "storage/table.hpp"
#include "storage/table_overlay.hpp"
#include "storage/partition_state.hpp"

namespace ck::actors {

namespace {

constexpr uint8_t chunk_version_slot0 = 1;  // written before slots existed: slot 0's data
constexpr uint8_t chunk_version = 2;
constexpr size_t snapshot_page_keys = 256;

// A stored state the replica cannot continue from is not recoverable here: stop loudly.
void require(const storage::status& st, const char* what) {
  if (!st.ok()) {
    CK_LOG_ERROR("partition: {} failed: {}", what, st.to_string());
    CK_ASSERT(st.ok());
  }
}

template <class Result>
void require_ok(const Result& r, const char* what) {
  require(r.ok() ? storage::status{} : r.status(), what);
}

uint32_t table_of(size_t slot, uint32_t partition) {
  return storage::machine_table(static_cast<uint32_t>(slot), partition);
}

// One machine's table inside one transaction. A storage failure is remembered (the first one)
// and turns later calls into no-ops: the batch's transaction fails as a whole with it.
template <class Txn, class Base>
class table_view : public Base {
 public:
  table_view(Txn& txn, uint32_t table, storage::status& failure)
      : txn_(txn), table_(table), failure_(failure) {}

  std::optional<std::string> get(std::string_view key) const override {
    if (!failure_.ok()) {
      return std::nullopt;
    }
    auto value = storage::table_get(txn_, table_, key);
    if (!value.ok()) {
      failure_ = value.status();
      return std::nullopt;
    }
    return std::move(value.value());
  }

  cluster::store_page list(const std::optional<std::string>& after, size_t limit) const override {
    cluster::store_page page;
    if (!failure_.ok()) {
      return page;
    }
    std::optional<storage::table_cursor_position> from;
    if (after) {
      from = storage::table_cursor_position{table_, *after};
    }
    return page_of(storage::table_list(txn_, storage::table_range{table_, table_}, from,
                                       std::clamp<size_t>(limit, 1, storage::table_list_limit_max)));
  }

 protected:
  // The machine's page of a table_list answer (empty, the failure remembered, when it failed).
  cluster::store_page page_of(storage::result<storage::table_page> listed) const {
    cluster::store_page page;
    if (!listed.ok()) {
      failure_ = listed.status();
      return page;
    }
    page.keys = std::move(listed.value().keys);
    if (listed.value().next) {
      page.next_after = std::move(listed.value().next->key);
    }
    return page;
  }

  Txn& txn_;
  uint32_t table_;
  storage::status& failure_;
};

using read_view = table_view<storage::read_txn, cluster::machine_store>;

// A view through the overlay (storage/table_overlay.hpp): a key the overlay changed is
// answered from it, any other from `txn`, which the caller opened after taking `seen` from the
// overlay. When the overlay says the transaction may be too old, `retry` is set and the answers
// are empty: the caller renews the transaction and asks again.
template <class Txn, class Base>
class overlay_view : public table_view<Txn, Base> {
  using base_view = table_view<Txn, Base>;

 public:
  overlay_view(Txn& txn, uint32_t table_id, storage::status& failure,
               const storage::table_overlay& overlay, uint64_t seen, bool& retry)
      : base_view(txn, table_id, failure), overlay_(overlay), seen_(seen), retry_(retry) {}

  std::optional<std::string> get(std::string_view key) const override {
    if (retry_ || !this->failure_.ok()) {
      return std::nullopt;
    }
    bool retry = false;
    auto change = overlay_.get(this->table_, key, seen_, retry);
    if (retry) {
      retry_ = true;
      return std::nullopt;
    }
    return change ? change->value : base_view::get(key);
  }

  cluster::store_page list(const std::optional<std::string>& after, size_t limit) const override {
    if (retry_ || !this->failure_.ok()) {
      return {};
    }
    std::optional<storage::table_cursor_position> from;
    if (after) {
      from = storage::table_cursor_position{this->table_, *after};
    }
    auto merged = overlay_.list(
        this->table_, from, std::clamp<size_t>(limit, 1, storage::table_list_limit_max), seen_,
        [this](const std::optional<storage::table_cursor_position>& a, size_t n) {
          return storage::table_list(this->txn_,
                                     storage::table_range{this->table_, this->table_}, a, n);
        });
    if (!merged) {
      retry_ = true;
      return {};
    }
    return this->page_of(std::move(*merged));
  }

 private:
  const storage::table_overlay& overlay_;
  uint64_t seen_;
  bool& retry_;
};

using overlay_read_view = overlay_view<storage::read_txn, cluster::machine_store>;

// Writes into the apply transaction (no overlay: every apply commits before queries run).
class write_view final : public table_view<storage::write_txn, cluster::machine_writer> {
 public:
  write_view(storage::write_txn& txn, uint32_t table, storage::status& failure)
      : table_view(txn, table, failure) {}

  void put(std::string_view key, std::string_view value) override {
    if (failure_.ok()) {
      if (auto st = storage::table_put(txn_, table_, key, value); !st.ok()) {
        failure_ = st;
      }
    }
  }

  bool erase(std::string_view key) override {
    if (!failure_.ok()) {
      return false;
    }
    auto erased = storage::table_erase(txn_, table_, key);
    if (!erased.ok()) {
      failure_ = erased.status();
      return false;
    }
    return erased.value();
  }
};

// The journal design's applies (table_overlay.hpp, deferred materialisation): changes go into
// the overlay only, reads see the overlay first, then the log writer's open transaction. That
// transaction holds everything the overlay dropped (the writer's own checkpoints, and
// replacements, which commit before it begins), so the overlay never asks for a retry here:
// `seen` is "everything".
class deferred_write_view final : public overlay_view<storage::write_txn, cluster::machine_writer> {
 public:
  deferred_write_view(storage::write_txn& txn, uint32_t group, uint32_t table,
                      storage::status& failure, storage::table_overlay& overlay)
      : overlay_view(txn, table, failure, overlay, ~uint64_t{0}, retry_),
        group_(group),
        writable_(overlay) {}

  void put(std::string_view key, std::string_view value) override {
    if (failure_.ok()) {
      writable_.put(group_, table_, key, value);
    }
  }

  bool erase(std::string_view key) override {
    if (!failure_.ok()) {
      return false;
    }
    const bool existed = get(key).has_value();
    if (existed) {
      writable_.erase(group_, table_, key);
    }
    return existed;
  }

 private:
  uint32_t group_;
  storage::table_overlay& writable_;
  bool retry_ = false;  // never set: see above
};

}  // namespace

partition_machines::partition_machines(std::shared_ptr<storage::environment> env,
                                       std::shared_ptr<const machine_types> types,
                                       uint32_t partition, uint32_t group)
    : env_(std::move(env)), types_(std::move(types)), partition_(partition), group_(group) {
  CK_ASSERT(types_ != nullptr);
  CK_ASSERT_LE(types_->size(), storage::table_slots_max);
  for (const auto& type : *types_) {
    machines_.push_back(type.factory(partition_));
    CK_ASSERT(machines_.back() != nullptr);
    has_listeners_ = has_listeners_ || static_cast<bool>(type.on_applied);
  }
}

std::optional<partition_machines::routed_command> partition_machines::route(
    std::string_view data) const {
  const auto decoded = cluster::decode_machine_command(data);
  const auto slot = !decoded                   ? std::nullopt
                    : decoded->machine.empty() ? std::optional<uint16_t>{0}
                                               : cluster::machine_slot(*types_, decoded->machine);
  if (!slot || *slot >= machines_.size()) {
    return std::nullopt;
  }
  return routed_command{*slot, decoded->command};
}

uint64_t partition_machines::stored_applied() const {
  if (overlay_) {
    if (auto pending = overlay_->pending_applied(group_)) {
      return *pending;  // the overlay's changes on top of LMDB reflect the log through it
    }
  }
  auto stored = storage::load_partition_applied(*env_, group_);
  require_ok(stored, "reading the applied index");
  return stored.value();
}

std::string partition_machines::apply(raft::index_t index, const std::string& command) {
  raft::entry e;
  e.index = index;
  e.data = command;
  auto results = apply_batch({&e});
  CK_ASSERT_EQ(results.size(), 1u);
  return std::move(results.front());
}

std::vector<std::string> partition_machines::apply_batch(
    const std::vector<const raft::entry*>& entries) {
  std::vector<std::string> results;
  auto st = env_->write([&](storage::write_txn& txn) -> storage::status {
    auto applied = log_txn_apply(txn, entries);
    if (!applied.ok()) {
      return applied.status();
    }
    results = std::move(applied.value());
    return storage::status::success();
  });
  require(st, "applying committed commands");
  return results;
}

storage::result<std::vector<std::string>> partition_machines::log_txn_apply(
    storage::write_txn& txn, const std::vector<const raft::entry*>& entries) {
  CK_ASSERT(!entries.empty());
  std::vector<std::string> results(entries.size());
  storage::status failure;
  for (size_t i = 0; i < entries.size() && failure.ok(); ++i) {
    const auto routed = route(entries[i]->data);
    if (!routed) {
      // Every replica runs the same registrations, so every replica skips it alike.
      CK_LOG_ERROR("partition: partition-{} entry {} names no registered state machine",
                   partition_, entries[i]->index);
      continue;
    }
    const uint32_t table = table_of(routed->slot, partition_);
    if (overlay_) {
      deferred_write_view store(txn, group_, table, failure, *overlay_);
      results[i] = machines_[routed->slot]->apply(store, routed->command);
    } else {
      write_view store(txn, table, failure);
      results[i] = machines_[routed->slot]->apply(store, routed->command);
    }
  }
  if (!failure.ok()) {
    return failure;
  }
  if (overlay_) {
    overlay_->note_applied(group_, entries.back()->index);  // staged with the changes
  } else if (auto saved = storage::save_partition_applied(txn, group_, entries.back()->index);
             !saved.ok()) {
    return saved;
  }
  if (metrics_ != nullptr) {
    metrics_->storage_batches.add();
    metrics_->storage_batched_ops.add(entries.size());
  }
  return results;
}

void partition_machines::applied(const raft::entry& e, const std::string& result) {
  if (!has_listeners_) {
    return;
  }
  const auto routed = route(e.data);
  if (!routed || !(*types_)[routed->slot].on_applied) {
    return;
  }
  (*types_)[routed->slot].on_applied(
      cluster::applied_command{partition_, e.index, routed->command, result});
}

void partition_machines::announce_reset(raft::index_t applied) {
  if (!has_listeners_) {
    return;
  }
  cluster::applied_command reset;
  reset.partition = partition_;
  reset.index = applied;
  reset.reset = true;
  for (const auto& type : *types_) {
    if (type.on_applied) {
      type.on_applied(reset);
    }
  }
}

partition_machines::query_result partition_machines::query(std::string_view machine,
                                                           std::string_view query) {
  const auto slot = cluster::machine_slot(*types_, machine);
  if (!slot) {
    return {false, "no state machine named \"" + std::string{machine} + "\" is registered"};
  }
  return query_slot(*slot, query);
}

partition_machines::query_result partition_machines::query_slot(uint16_t slot,
                                                                std::string_view query) {
  // With an overlay, a checkpoint between taking `seen` and reading can make the overlay refuse
  // to answer (see storage/table_overlay.hpp); checkpoints are tens of milliseconds apart, so
  // a few attempts always suffice.
  constexpr int attempts_max = 16;
  for (int attempt = 0; attempt < attempts_max; ++attempt) {
    const uint64_t seen = overlay_ ? overlay_->committed_generation() : 0;
    auto txn = env_->begin_read();
    if (!txn.ok()) {
      return {false, txn.status().to_string()};
    }
    storage::status failure;
    std::string answer;
    bool retry = false;
    if (overlay_) {
      overlay_read_view store(txn.value(), table_of(slot, partition_), failure, *overlay_, seen,
                              retry);
      answer = machines_[slot]->query(store, query);
    } else {
      read_view store(txn.value(), table_of(slot, partition_), failure);
      answer = machines_[slot]->query(store, query);
    }
    if (retry) {
      continue;
    }
    if (!failure.ok()) {
      return {false, failure.to_string()};
    }
    return {true, std::move(answer)};
  }
  return {false, "the store changed under every one of " + std::to_string(attempts_max) +
                     " attempts to read it"};
}

std::optional<partition_machines::query_result> partition_machines::query_concurrent(
    std::string_view machine, std::string_view query) {
  const auto slot = cluster::machine_slot(*types_, machine);
  if (!slot || !machines_[*slot]->concurrent_queries()) {
    return std::nullopt;
  }
  return query_slot(*slot, query);
}

namespace {

// Reads every slot's table from one LMDB read transaction, held for the whole transfer (the
// environment runs with MDB_NOTLS, so the group actor may use it from any scheduler thread),
// a page of keys at a time. Each chunk holds entries of one slot.
class machines_snapshot_source final : public snapshot_source {
 public:
  machines_snapshot_source(storage::read_txn txn, uint32_t partition, size_t slots,
                           raft::index_t applied)
      : txn_(std::move(txn)), partition_(partition), slots_(slots), applied_(applied) {}

  raft::index_t applied() const override { return applied_; }

  std::string next_chunk(size_t max_bytes) override {
    CK_ASSERT(!done_);
    // Slot 0's chunks keep the version-1 layout (no slot field), which a node of the previous
    // version (KV only) can install during a rolling upgrade.
    std::string chunk(1, static_cast<char>(slot_ == 0 ? chunk_version_slot0 : chunk_version));
    if (slot_ != 0) {
      storage::append_u16_be(chunk, static_cast<uint16_t>(slot_));
    }
    const uint32_t table = table_of(slot_, partition_);
    bool slot_done = false;
    do {
      auto page =
          storage::table_list(txn_, storage::table_range{table, table}, after_, snapshot_page_keys);
      require_ok(page, "reading a snapshot page");
      const auto& keys = page.value().keys;
      size_t taken = 0;
      // The size bound holds per record, not per page: a page of 256 values of 64 KiB would
      // otherwise make one 16 MiB chunk, and such chunks stall both nodes' threads.
      while (taken < keys.size() && chunk.size() < max_bytes) {
        const std::string& key = keys[taken++];
        auto value = storage::table_get(txn_, table, key);
        require_ok(value, "reading a snapshot value");
        CK_ASSERT(value.value().has_value());  // same transaction as the listing
        storage::append_u32_be(chunk, static_cast<uint32_t>(key.size()));
        chunk.append(key);
        storage::append_u32_be(chunk, static_cast<uint32_t>(value.value()->size()));
        chunk.append(*value.value());
      }
      if (taken < keys.size()) {
        after_ = storage::table_cursor_position{table, keys[taken - 1]};  // resume after it
        break;
      }
      after_ = page.value().next;
      slot_done = !after_;
    } while (!slot_done && chunk.size() < max_bytes);
    if (slot_done) {
      ++slot_;
      done_ = slot_ >= slots_;
    }
    if (done_) {
      txn_.end();  // release the snapshot as soon as the last page is read
    }
    return chunk;
  }

  bool done() const override { return done_; }

 private:
  storage::read_txn txn_;
  uint32_t partition_;
  size_t slots_;
  raft::index_t applied_;
  size_t slot_ = 0;
  std::optional<storage::table_cursor_position> after_;
  bool done_ = false;
};

// Stages chunks under each slot table's staging id, one write transaction per chunk.
class machines_snapshot_sink final : public snapshot_sink {
 public:
  machines_snapshot_sink(std::shared_ptr<storage::environment> env, uint32_t partition,
                         size_t slots)
      : env_(std::move(env)), partition_(partition), slots_(slots) {}

  bool write(const std::string& chunk) override {
    size_t at = 0;
    size_t slot = 0;
    if (!chunk.empty() && static_cast<uint8_t>(chunk[0]) == chunk_version_slot0) {
      at = 1;
    } else if (chunk.size() >= 3 && static_cast<uint8_t>(chunk[0]) == chunk_version) {
      slot = storage::get_u16_be(chunk.data() + 1);
      at = 3;
    } else {
      return false;
    }
    if (slot >= slots_) {
      return false;  // data of a machine this binary does not register
    }
    const uint32_t staging = storage::table_staging_partition(table_of(slot, partition_));
    bool well_formed = true;
    auto st = env_->write([&](storage::write_txn& txn) -> storage::status {
      size_t pos = at;
      while (pos < chunk.size()) {
        std::string_view key, value;
        if (!take_field(chunk, pos, key) || !take_field(chunk, pos, value)) {
          well_formed = false;
          return storage::status::success();  // nothing written past here; rejected below
        }
        if (auto put = storage::table_put(txn, staging, key, value); !put.ok()) {
          return put;
        }
      }
      return storage::status::success();
    });
    if (!st.ok()) {
      // A full disk (or a failing one) while receiving a replica: abandon the transfer, as
      // for a malformed chunk; the live state is untouched and the leader tries again later.
      CK_LOG_ERROR("partition: staging a snapshot chunk of partition-{} failed, transfer "
                   "abandoned: {}", partition_, st.to_string());
      return false;
    }
    return well_formed;
  }

 private:
  // u32_be length | bytes at `at`; false when the chunk ends inside it.
  static bool take_field(const std::string& chunk, size_t& at, std::string_view& out) {
    if (chunk.size() - at < 4) {
      return false;
    }
    const size_t size = storage::get_u32_be(chunk.data() + at);
    at += 4;
    if (chunk.size() - at < size) {
      return false;
    }
    out = std::string_view(chunk.data() + at, size);
    at += size;
    return true;
  }

  std::shared_ptr<storage::environment> env_;
  uint32_t partition_;
  size_t slots_;
};

}  // namespace

std::unique_ptr<snapshot_source> partition_machines::read_snapshot() {
  auto txn = env_->begin_read();
  require_ok(txn, "opening a snapshot read");
  // The applied index as this transaction sees it: the log writer may have applied more
  // than the group has heard of yet (log_txn_apply), and the data must match the index.
  auto applied = storage::load_partition_applied(txn.value(), group_);
  require_ok(applied, "reading the applied index of a snapshot");
  return std::make_unique<machines_snapshot_source>(std::move(txn.value()), partition_,
                                                    machines_.size(), applied.value());
}

std::unique_ptr<snapshot_sink> partition_machines::begin_restore() {
  auto st = env_->write([&](storage::write_txn& txn) -> storage::status {
    for (size_t slot = 0; slot < machines_.size(); ++slot) {
      const uint32_t staging = storage::table_staging_partition(table_of(slot, partition_));
      if (auto cleared = storage::table_erase_partition(txn, staging); !cleared.ok()) {
        return cleared;
      }
    }
    return storage::status::success();
  });
  if (!st.ok()) {
    // As for a chunk that cannot be staged: this transfer is abandoned (by a sink that takes
    // nothing), the leader tries again later.
    CK_LOG_ERROR("partition: clearing the snapshot staging area of partition-{} failed: {}",
                 partition_, st.to_string());
    struct refusing_sink : snapshot_sink {
      bool write(const std::string&) override { return false; }
    };
    return std::make_unique<refusing_sink>();
  }
  return std::make_unique<machines_snapshot_sink>(env_, partition_, machines_.size());
}

storage::status partition_machines::replace_data(
    const std::function<storage::status(storage::write_txn&)>& change) {
  if (!overlay_) {
    return env_->write(change);
  }
  // table_overlay.hpp, "Replacing a partition's data": the overlay's older changes of this
  // partition must not reach LMDB after the new data, nor vanish before readers can see it.
  std::vector<uint32_t> tables;
  for (size_t slot = 0; slot < machines_.size(); ++slot) {
    tables.push_back(table_of(slot, partition_));
  }
  uint64_t mark = 0;
  const storage::status st = env_->write([&](storage::write_txn& txn) -> storage::status {
    // Inside the transaction: the writer holds none, so it is not staging right now.
    mark = overlay_->begin_replacement(tables, group_);
    return change(txn);
  });
  overlay_->end_replacement(tables, group_, mark, st.ok());
  return st;
}

bool partition_machines::install_restored(raft::index_t applied) {
  auto st = replace_data([&](storage::write_txn& txn) -> storage::status {
    for (size_t slot = 0; slot < machines_.size(); ++slot) {
      const uint32_t table = table_of(slot, partition_);
      auto moved =
          storage::table_move_partition(txn, storage::table_staging_partition(table), table);
      if (!moved.ok()) {
        return moved;
      }
    }
    return storage::save_partition_applied(txn, group_, applied);
  });
  if (!st.ok()) {
    // Moving the staged data in copies it (LMDB reuses no page freed in the same write), so
    // a disk with room for the staging may have none for the swap. The transaction changed
    // nothing: the live data stays, and the leader sends the snapshot again later.
    CK_LOG_ERROR("partition: installing the snapshot of partition-{} failed, transfer "
                 "dropped: {}",
                 partition_, st.to_string());
    return false;
  }
  announce_reset(applied);
  return true;
}

void partition_machines::erase_all() {
  auto st = replace_data([&](storage::write_txn& txn) -> storage::status {
    for (size_t slot = 0; slot < machines_.size(); ++slot) {
      const uint32_t table = table_of(slot, partition_);
      for (uint32_t t : {table, storage::table_staging_partition(table)}) {
        if (auto cleared = storage::table_erase_partition(txn, t); !cleared.ok()) {
          return cleared;
        }
      }
    }
    return storage::erase_partition_applied(txn, group_);
  });
  require(st, "erasing a removed replica");
}

}  // namespace ck::actors
