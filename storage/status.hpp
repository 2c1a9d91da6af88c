#pragma once

// The storage layer's error vocabulary (STYLE rule 13): every fallible storage call returns a
// `status` or a `result<T>`; no exception crosses the API. LMDB return codes are translated in
// one place, `from_lmdb`.

#include <cstdint>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <variant>

#include "runtime/base/assert.hpp"

namespace ck::storage {

// Not persisted, but other layers map it (to ck::errc): append new codes, do not renumber.
enum class code : uint8_t {
  ok = 0,
  not_found = 1,         // the record, key or file asked for does not exist
  map_full = 2,          // the LMDB map is full; environment::write grows it up to its maximum
  corruption = 3,        // stored bytes fail validation, or LMDB reports a damaged file
  io_error = 4,          // the operating system refused: no space, I/O error, permission denied
  invalid_argument = 5,  // the caller's input breaks a documented limit (key too long, options)
  busy = 6,              // a bounded wait expired or a shared resource ran out; retry later
  version_mismatch = 7,  // the on-disk format (or LMDB file) version is not one this build reads
  internal = 8,          // LMDB was misused: a bug in this layer
};

// The enumerator's name, e.g. "map_full".
std::string_view to_string(code value) noexcept;

// The outcome of a storage call: ok, or a code with a human-readable message that names the
// thing that failed (directory, database, key size). A value type; cheap to move.
class [[nodiscard]] status {
 public:
  // An ok status.
  status() noexcept = default;
  // Requires: `value != code::ok` (use success() for ok).
  status(storage::code value, std::string message);

  static status success() noexcept { return status(); }
  static status not_found(std::string message);
  static status map_full(std::string message);
  static status corruption(std::string message);
  static status io_error(std::string message);
  static status invalid_argument(std::string message);
  static status busy(std::string message);
  static status version_mismatch(std::string message);
  static status internal(std::string message);

  bool ok() const noexcept { return code_ == storage::code::ok; }
  storage::code code() const noexcept { return code_; }
  // Empty when ok().
  const std::string& message() const noexcept { return message_; }
  // "ok", or "<code>: <message>", e.g. "map_full: LMDB map in /data is full at 1048576 bytes".
  std::string to_string() const;

 private:
  storage::code code_ = storage::code::ok;
  std::string message_;
};

// Translates an LMDB (or errno) return code of the call described by `what`.
// Returns: success() for rc == 0 (MDB_SUCCESS); otherwise a status whose message is
// "<what>: <mdb_strerror(rc)>". Mapping: MDB_NOTFOUND -> not_found; MDB_MAP_FULL -> map_full;
// MDB_CORRUPTED, MDB_PAGE_NOTFOUND, MDB_INVALID -> corruption; ENOSPC, EIO, EACCES, EPERM, EROFS,
// ENOTDIR, ENOMEM, MDB_PANIC -> io_error; MDB_VERSION_MISMATCH -> version_mismatch;
// MDB_READERS_FULL, MDB_MAP_RESIZED, EAGAIN, EBUSY -> busy; EINVAL, MDB_BAD_VALSIZE ->
// invalid_argument; anything else (MDB_BAD_TXN, MDB_BAD_DBI, MDB_DBS_FULL, ...) -> internal.
status from_lmdb(int rc, std::string_view what);

// A value of type T, or the failure that prevented it. Check ok() before value().
template <class T>
class [[nodiscard]] result {
  static_assert(!std::is_same_v<T, storage::status>, "use status directly");

 public:
  result(T value) : state_(std::in_place_index<0>, std::move(value)) {}
  // Requires: `!failure.ok()` (an ok result carries a value).
  result(storage::status failure) : state_(std::in_place_index<1>, std::move(failure)) {
    CK_ASSERT(!std::get<1>(state_).ok());
  }

  bool ok() const noexcept { return state_.index() == 0; }

  // Requires: ok().
  T& value() & {
    CK_ASSERT(ok());
    return std::get<0>(state_);
  }
  const T& value() const& {
    CK_ASSERT(ok());
    return std::get<0>(state_);
  }
  T&& value() && {
    CK_ASSERT(ok());
    return std::get<0>(std::move(state_));
  }

  // success() when ok(), else the failure.
  storage::status status() const {
    if (ok()) {
      return storage::status::success();
    }
    return std::get<1>(state_);
  }

 private:
  std::variant<T, storage::status> state_;
};

}  // namespace ck::storage
