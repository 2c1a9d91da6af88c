#pragma once

// Internal: the storage layer's own access to LMDB handles and the few raw operations that
// identity and kv_table share. Not part of the public surface; includes lmdb.h.

#include <lmdb.h>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "storage/environment.hpp"
#include "storage/format.hpp"
#include "storage/status.hpp"

namespace ck::storage::detail {

// The one friend through which storage code reaches the handles behind the RAII types.
struct txn_access {
  // Requires: txn.active().
  static MDB_txn* handle(const read_txn& txn);
  static MDB_txn* handle(const write_txn& txn);
  static MDB_dbi dbi(const read_txn& txn, database which);
  static MDB_dbi dbi(const write_txn& txn, database which);
  static const std::string& dir(const read_txn& txn);
  static const std::string& dir(const write_txn& txn);
  // Remembers the first failed write, so that commit() refuses to commit (LMDB would anyway).
  static void record_failure(write_txn& txn, const status& failure);
  static void add_written_bytes(write_txn& txn, uint64_t bytes);
};

// Views bytes as an MDB_val. LMDB never writes through mv_data of a key or a value to put.
inline MDB_val to_val(std::string_view bytes) noexcept {
  return MDB_val{bytes.size(), const_cast<char*>(bytes.data())};
}

// Views an MDB_val as bytes; valid until the transaction ends or writes to that page.
inline std::string_view to_view(const MDB_val& value) noexcept {
  return std::string_view(static_cast<const char*>(value.mv_data), value.mv_size);
}

// Reads `key` of `which` without copying.
// Returns a view into the map (valid until the transaction ends or writes to that page), nullopt
// when absent, or the LMDB failure (described with `what`).
result<std::optional<std::string_view>> get_view(MDB_txn* txn, MDB_dbi dbi, std::string_view key,
                                                 std::string_view what);

// Reads `key` of `which` and copies the value out of the map.
// Returns the value, nullopt when absent, or the LMDB failure (described with `what`).
result<std::optional<std::string>> get_copy(MDB_txn* txn, MDB_dbi dbi, std::string_view key,
                                            std::string_view what);

// Reads `key` of the meta database in a read snapshot of its own and copies the value out.
// `what` names the record in the failure ("the journal checkpoint": "cannot read <what> in
// <dir>"). Returns the value, nullopt when absent, or the failure (busy, LMDB's).
result<std::optional<std::string>> read_meta(environment& env, std::string_view key,
                                             std::string_view what);

// Puts `key` -> `value` into `which`, counting key + value bytes for the stats; a failure is
// recorded on the txn. Requires: txn.active(), key of 1..lmdb_key_bytes_max bytes.
status put(write_txn& txn, database which, std::string_view key, std::string_view value);

// Puts `key` -> value_head followed by value_tail, reserving the value's space in the map and
// copying both parts into it (MDB_RESERVE), so no joined temporary is built. Counts and records
// as put(). Requires: as put(); which is not a MDB_DUPSORT database.
status put_joined(write_txn& txn, database which, std::string_view key, std::string_view value_head,
                  std::string_view value_tail);

// Deletes `key` of `which`. Returns whether it existed; a failure is recorded on the txn.
// Requires: txn.active(), key of 1..lmdb_key_bytes_max bytes.
result<bool> erase(write_txn& txn, database which, std::string_view key);

// An LMDB cursor closed when it goes out of scope (before its transaction ends).
class cursor {
 public:
  cursor() noexcept = default;
  cursor(const cursor&) = delete;
  cursor& operator=(const cursor&) = delete;
  ~cursor();

  // Opens the cursor on `dbi`. Requires: not yet open.
  status open(MDB_txn* txn, MDB_dbi dbi, std::string_view what);
  // Positions on the first key >= `key` (or on the first key when `key` is empty).
  // Returns MDB_SUCCESS, MDB_NOTFOUND or an LMDB error; fills `key_out` and `value_out`.
  int seek(std::string_view key, MDB_val& key_out, MDB_val& value_out) noexcept;
  // Moves to the next key; same returns as seek().
  int next(MDB_val& key_out, MDB_val& value_out) noexcept;
  // Moves to the previous key; same returns as seek().
  int prev(MDB_val& key_out, MDB_val& value_out) noexcept;
  // Positions on the last key of the database; same returns as seek().
  int last(MDB_val& key_out, MDB_val& value_out) noexcept;
  // Deletes the current key; the next next() returns the key after it.
  int erase_current() noexcept;

 private:
  MDB_cursor* handle_ = nullptr;
};

}  // namespace ck::storage::detail
