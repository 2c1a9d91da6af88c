#include "actors/kv_state_machine.hpp"

#include "runtime/assert.hpp"
#include "runtime/log.hpp"
#include "storage/environment.hpp"
#include "storage/format.hpp"
#include "storage/kv_table.hpp"
#include "storage/partition_state.hpp"

namespace ck::actors {

namespace {

constexpr uint8_t command_version = 1;
constexpr uint8_t op_set = 1;
constexpr uint8_t op_delete = 2;
constexpr uint8_t chunk_version = 1;

std::string encode(uint8_t op, std::string_view key, std::string_view value) {
  std::string out;
  out.reserve(6 + key.size() + value.size());
  out.push_back(static_cast<char>(command_version));
  out.push_back(static_cast<char>(op));
  storage::append_u32_be(out, static_cast<uint32_t>(key.size()));
  out.append(key);
  out.append(value);
  return out;
}

// A stored state the replica cannot continue from is not recoverable here: stop loudly.
void require(const storage::status& st, const char* what) {
  if (!st.ok()) {
    CK_LOG_ERROR("kv: {} failed: {}", what, st.to_string());
    CK_ASSERT(st.ok());
  }
}

}  // namespace

std::string encode_kv_set(std::string_view key, std::string_view value) {
  return encode(op_set, key, value);
}

std::string encode_kv_delete(std::string_view key) { return encode(op_delete, key, {}); }

std::optional<bool> decode_kv_result(std::string_view result) {
  if (result.size() != 1 || static_cast<uint8_t>(result[0]) > 1) {
    return std::nullopt;
  }
  return result[0] == 1;
}

kv_state_machine::kv_state_machine(std::shared_ptr<storage::environment> env,
                                   uint32_t partition, uint32_t group)
    : env_(std::move(env)), partition_(partition), group_(group) {
  auto stored = storage::load_partition_applied(*env_, group_);
  require(stored.ok() ? storage::status{} : stored.status(), "reading the applied index");
  applied_ = stored.value();
}

uint64_t kv_state_machine::stored_applied() const { return applied_; }

std::string kv_state_machine::apply(raft::index_t index, const std::string& command) {
  CK_ASSERT_GT(index, applied_);
  bool existed = false;
  const bool well_formed = command.size() >= 6 &&
                           static_cast<uint8_t>(command[0]) == command_version &&
                           storage::get_u32_be(command.data() + 2) <= command.size() - 6;
  const uint8_t op = well_formed ? static_cast<uint8_t>(command[1]) : 0;
  auto st = env_->write([&](storage::write_txn& txn) -> storage::status {
    if (well_formed && (op == op_set || op == op_delete)) {
      const size_t key_size = storage::get_u32_be(command.data() + 2);
      std::string_view key(command.data() + 6, key_size);
      if (op == op_set) {
        std::string_view value(command.data() + 6 + key_size, command.size() - 6 - key_size);
        auto before = storage::kv_get(txn, partition_, key);
        if (!before.ok()) {
          return before.status();
        }
        existed = before.value().has_value();
        auto put = storage::kv_put(txn, partition_, key, value);
        if (!put.ok()) {
          return put;
        }
      } else {
        auto erased = storage::kv_erase(txn, partition_, key);
        if (!erased.ok()) {
          return erased.status();
        }
        existed = erased.value();
      }
    }
    // A malformed command changes nothing but is still consumed at its index.
    return storage::save_partition_applied(txn, group_, index);
  });
  require(st, "applying a committed command");
  applied_ = index;
  return std::string(1, existed ? '\1' : '\0');
}

namespace {

// Reads the partition from one LMDB read transaction, held for the whole transfer (the
// environment runs with MDB_NOTLS, so the group actor may use it from any scheduler thread),
// a page of keys at a time.
class kv_snapshot_source final : public snapshot_source {
 public:
  kv_snapshot_source(storage::read_txn txn, uint32_t partition, raft::index_t applied)
      : txn_(std::move(txn)), partition_(partition), applied_(applied) {}

  raft::index_t applied() const override { return applied_; }

  std::string next_chunk(size_t max_bytes) override {
    CK_ASSERT(!done_);
    std::string chunk(1, static_cast<char>(chunk_version));
    do {
      auto page = storage::kv_list(txn_, partition_, after_, 256);
      require(page.ok() ? storage::status{} : page.status(), "reading a snapshot page");
      for (const auto& key : page.value().keys) {
        auto value = storage::kv_get(txn_, partition_, key);
        require(value.ok() ? storage::status{} : value.status(), "reading a snapshot value");
        CK_ASSERT(value.value().has_value());  // same transaction as the listing
        storage::append_u32_be(chunk, static_cast<uint32_t>(key.size()));
        chunk.append(key);
        storage::append_u32_be(chunk, static_cast<uint32_t>(value.value()->size()));
        chunk.append(*value.value());
      }
      after_ = page.value().next;
      done_ = !after_;
    } while (!done_ && chunk.size() < max_bytes);
    if (done_) {
      txn_.end();  // release the snapshot as soon as the last page is read
    }
    return chunk;
  }

  bool done() const override { return done_; }

 private:
  storage::read_txn txn_;
  uint32_t partition_;
  raft::index_t applied_;
  std::optional<storage::kv_cursor_position> after_;
  bool done_ = false;
};

// Stages chunks under the partition's staging id, one write transaction per chunk.
class kv_snapshot_sink final : public snapshot_sink {
 public:
  kv_snapshot_sink(std::shared_ptr<storage::environment> env, uint32_t staging)
      : env_(std::move(env)), staging_(staging) {}

  bool write(const std::string& chunk) override {
    if (chunk.empty() || static_cast<uint8_t>(chunk[0]) != chunk_version) {
      return false;
    }
    bool well_formed = true;
    auto st = env_->write([&](storage::write_txn& txn) -> storage::status {
      size_t at = 1;
      while (at < chunk.size()) {
        std::string_view key, value;
        if (!take_field(chunk, at, key) || !take_field(chunk, at, value)) {
          well_formed = false;
          return storage::status::success();  // nothing written past here; rejected below
        }
        if (auto put = storage::kv_put(txn, staging_, key, value); !put.ok()) {
          return put;
        }
      }
      return storage::status::success();
    });
    require(st, "staging a snapshot chunk");
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
  uint32_t staging_;
};

}  // namespace

std::unique_ptr<snapshot_source> kv_state_machine::read_snapshot() {
  auto txn = env_->begin_read();
  require(txn.ok() ? storage::status{} : txn.status(), "opening a snapshot read");
  // applied_ is what the transaction sees: applies run on this (the group's) actor only.
  return std::make_unique<kv_snapshot_source>(std::move(txn.value()), partition_, applied_);
}

std::unique_ptr<snapshot_sink> kv_state_machine::begin_restore() {
  const uint32_t staging = storage::kv_staging_partition(partition_);
  auto st = env_->write([&](storage::write_txn& txn) -> storage::status {
    return storage::kv_erase_partition(txn, staging);
  });
  require(st, "clearing the snapshot staging area");
  return std::make_unique<kv_snapshot_sink>(env_, staging);
}

void kv_state_machine::install_restored(raft::index_t applied) {
  auto st = env_->write([&](storage::write_txn& txn) -> storage::status {
    auto moved =
        storage::kv_move_partition(txn, storage::kv_staging_partition(partition_), partition_);
    if (!moved.ok()) {
      return moved;
    }
    return storage::save_partition_applied(txn, group_, applied);
  });
  require(st, "installing a snapshot");
  applied_ = applied;
}

void kv_state_machine::erase_all() {
  auto st = env_->write([&](storage::write_txn& txn) -> storage::status {
    for (uint32_t p : {partition_, storage::kv_staging_partition(partition_)}) {
      if (auto cleared = storage::kv_erase_partition(txn, p); !cleared.ok()) {
        return cleared;
      }
    }
    return storage::erase_partition_applied(txn, group_);
  });
  require(st, "erasing a removed replica");
  applied_ = 0;
}

}  // namespace ck::actors
