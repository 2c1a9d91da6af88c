#include "storage/detail/lmdb_ops.hpp"

#include <fmt/format.h>

#include <algorithm>

namespace ck::storage::detail {

MDB_txn* txn_access::handle(const read_txn& txn) {
  CK_ASSERT(txn.active());
  return txn.handle_;
}

MDB_txn* txn_access::handle(const write_txn& txn) {
  CK_ASSERT(txn.active());
  return txn.handle_;
}

MDB_dbi txn_access::dbi(const read_txn& txn, database which) {
  const auto slot = static_cast<std::size_t>(which);
  CK_ASSERT_LT(slot, database_count);
  return txn.env_->dbis_[slot];
}

MDB_dbi txn_access::dbi(const write_txn& txn, database which) {
  const auto slot = static_cast<std::size_t>(which);
  CK_ASSERT_LT(slot, database_count);
  return txn.env_->dbis_[slot];
}

const std::string& txn_access::dir(const read_txn& txn) { return txn.env_->options_.dir; }

const std::string& txn_access::dir(const write_txn& txn) { return txn.env_->options_.dir; }

void txn_access::record_failure(write_txn& txn, const status& failure) {
  CK_ASSERT(!failure.ok());
  if (txn.failure_.ok()) {
    txn.failure_ = failure;
  }
}

void txn_access::add_written_bytes(write_txn& txn, uint64_t bytes) { txn.written_bytes_ += bytes; }

result<std::optional<std::string_view>> get_view(MDB_txn* txn, MDB_dbi dbi, std::string_view key,
                                                 std::string_view what) {
  CK_ASSERT(!key.empty());
  CK_ASSERT_LE(key.size(), lmdb_key_bytes_max);
  MDB_val key_val = to_val(key);
  MDB_val value{};
  const int rc = mdb_get(txn, dbi, &key_val, &value);
  if (rc == MDB_NOTFOUND) {
    return std::optional<std::string_view>();
  }
  if (rc != MDB_SUCCESS) {
    return from_lmdb(rc, what);
  }
  return std::optional<std::string_view>(to_view(value));
}

result<std::optional<std::string>> get_copy(MDB_txn* txn, MDB_dbi dbi, std::string_view key,
                                            std::string_view what) {
  result<std::optional<std::string_view>> found = get_view(txn, dbi, key, what);
  if (!found.ok()) {
    return found.status();
  }
  if (!found.value()) {
    return std::optional<std::string>();
  }
  return std::optional<std::string>(std::string(*found.value()));
}

result<std::optional<std::string>> read_meta(environment& env, std::string_view key,
                                             std::string_view what) {
  result<read_txn> txn = env.begin_read();
  if (!txn.ok()) {
    return txn.status();
  }
  return get_copy(txn_access::handle(txn.value()), txn_access::dbi(txn.value(), database::meta),
                  key, fmt::format("cannot read {} in {}", what, txn_access::dir(txn.value())));
}

namespace {

status put_failed(write_txn& txn, database which, int rc, std::size_t key_bytes,
                  std::size_t value_bytes) {
  status failure =
      from_lmdb(rc, fmt::format("cannot put {} + {} bytes into database \"{}\" in {}", key_bytes,
                                value_bytes, database_name(which), txn_access::dir(txn)));
  txn_access::record_failure(txn, failure);
  return failure;
}

}  // namespace

status put(write_txn& txn, database which, std::string_view key, std::string_view value) {
  CK_ASSERT(!key.empty());
  CK_ASSERT_LE(key.size(), lmdb_key_bytes_max);
  MDB_val key_val = to_val(key);
  MDB_val value_val = to_val(value);
  const int rc =
      mdb_put(txn_access::handle(txn), txn_access::dbi(txn, which), &key_val, &value_val, 0);
  if (rc != MDB_SUCCESS) {
    return put_failed(txn, which, rc, key.size(), value.size());
  }
  txn_access::add_written_bytes(txn, key.size() + value.size());
  return status::success();
}

status put_joined(write_txn& txn, database which, std::string_view key, std::string_view value_head,
                  std::string_view value_tail) {
  CK_ASSERT(!key.empty());
  CK_ASSERT_LE(key.size(), lmdb_key_bytes_max);
  const std::size_t value_bytes = value_head.size() + value_tail.size();
  MDB_val key_val = to_val(key);
  MDB_val value_val{value_bytes, nullptr};
  const int rc = mdb_put(txn_access::handle(txn), txn_access::dbi(txn, which), &key_val, &value_val,
                         MDB_RESERVE);
  if (rc != MDB_SUCCESS) {
    return put_failed(txn, which, rc, key.size(), value_bytes);
  }
  CK_ASSERT_EQ(value_val.mv_size, value_bytes);
  CK_ASSERT(value_val.mv_data != nullptr);
  char* out = static_cast<char*>(value_val.mv_data);
  std::copy(value_head.begin(), value_head.end(), out);
  std::copy(value_tail.begin(), value_tail.end(), out + value_head.size());
  txn_access::add_written_bytes(txn, key.size() + value_bytes);
  return status::success();
}

result<bool> erase(write_txn& txn, database which, std::string_view key) {
  CK_ASSERT(!key.empty());
  CK_ASSERT_LE(key.size(), lmdb_key_bytes_max);
  MDB_val key_val = to_val(key);
  const int rc = mdb_del(txn_access::handle(txn), txn_access::dbi(txn, which), &key_val, nullptr);
  if (rc == MDB_NOTFOUND) {
    return false;
  }
  if (rc != MDB_SUCCESS) {
    status failure = from_lmdb(rc, fmt::format("cannot delete from database \"{}\" in {}",
                                               database_name(which), txn_access::dir(txn)));
    txn_access::record_failure(txn, failure);
    return failure;
  }
  return true;
}

cursor::~cursor() {
  if (handle_ != nullptr) {
    mdb_cursor_close(handle_);
  }
}

status cursor::open(MDB_txn* txn, MDB_dbi dbi, std::string_view what) {
  CK_ASSERT(handle_ == nullptr);
  const int rc = mdb_cursor_open(txn, dbi, &handle_);
  if (rc != MDB_SUCCESS) {
    handle_ = nullptr;
  }
  return from_lmdb(rc, what);
}

int cursor::seek(std::string_view key, MDB_val& key_out, MDB_val& value_out) noexcept {
  CK_ASSERT(handle_ != nullptr);
  CK_ASSERT_LE(key.size(), lmdb_key_bytes_max);
  if (key.empty()) {
    return mdb_cursor_get(handle_, &key_out, &value_out, MDB_FIRST);
  }
  key_out = to_val(key);
  return mdb_cursor_get(handle_, &key_out, &value_out, MDB_SET_RANGE);
}

int cursor::next(MDB_val& key_out, MDB_val& value_out) noexcept {
  CK_ASSERT(handle_ != nullptr);
  return mdb_cursor_get(handle_, &key_out, &value_out, MDB_NEXT);
}

int cursor::prev(MDB_val& key_out, MDB_val& value_out) noexcept {
  CK_ASSERT(handle_ != nullptr);
  return mdb_cursor_get(handle_, &key_out, &value_out, MDB_PREV);
}

int cursor::last(MDB_val& key_out, MDB_val& value_out) noexcept {
  CK_ASSERT(handle_ != nullptr);
  return mdb_cursor_get(handle_, &key_out, &value_out, MDB_LAST);
}

int cursor::erase_current() noexcept {
  CK_ASSERT(handle_ != nullptr);
  return mdb_cursor_del(handle_, 0);
}

}  // namespace ck::storage::detail
