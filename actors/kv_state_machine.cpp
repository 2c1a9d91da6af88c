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
constexpr uint8_t image_version = 1;

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

std::string kv_state_machine::snapshot() {
  std::string image;
  image.push_back(static_cast<char>(image_version));
  storage::append_u64_be(image, applied_);
  auto txn = env_->begin_read();
  require(txn.ok() ? storage::status{} : txn.status(), "opening a snapshot read");
  std::optional<storage::kv_cursor_position> after;
  for (;;) {
    auto page = storage::kv_list(txn.value(), partition_, after, 1000);
    require(page.ok() ? storage::status{} : page.status(), "reading a snapshot page");
    for (const auto& key : page.value().keys) {
      auto value = storage::kv_get(txn.value(), partition_, key);
      require(value.ok() ? storage::status{} : value.status(), "reading a snapshot value");
      CK_ASSERT(value.value().has_value());
      storage::append_u32_be(image, static_cast<uint32_t>(key.size()));
      image.append(key);
      storage::append_u32_be(image, static_cast<uint32_t>(value.value()->size()));
      image.append(*value.value());
    }
    if (!page.value().next) {
      break;
    }
    after = page.value().next;
  }
  return image;
}

void kv_state_machine::restore(const std::string& image) {
  CK_ASSERT(image.size() >= 9 && static_cast<uint8_t>(image[0]) == image_version);
  const uint64_t applied = storage::get_u64_be(image.data() + 1);
  auto st = env_->write([&](storage::write_txn& txn) -> storage::status {
    auto cleared = storage::kv_erase_partition(txn, partition_);
    if (!cleared.ok()) {
      return cleared;
    }
    size_t at = 9;
    while (at < image.size()) {
      CK_ASSERT_LE(at + 4, image.size());
      const size_t key_size = storage::get_u32_be(image.data() + at);
      at += 4;
      std::string_view key(image.data() + at, key_size);
      at += key_size;
      const size_t value_size = storage::get_u32_be(image.data() + at);
      at += 4;
      std::string_view value(image.data() + at, value_size);
      at += value_size;
      CK_ASSERT_LE(at, image.size());
      auto put = storage::kv_put(txn, partition_, key, value);
      if (!put.ok()) {
        return put;
      }
    }
    return storage::save_partition_applied(txn, group_, applied);
  });
  require(st, "restoring a snapshot");
  applied_ = applied;
}

void kv_state_machine::erase_all() {
  auto st = env_->write([&](storage::write_txn& txn) -> storage::status {
    auto cleared = storage::kv_erase_partition(txn, partition_);
    if (!cleared.ok()) {
      return cleared;
    }
    return storage::erase_partition_applied(txn, group_);
  });
  require(st, "erasing a removed replica");
  applied_ = 0;
}

}  // namespace ck::actors
