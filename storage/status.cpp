#include "storage/status.hpp"

#include <lmdb.h>

#include <cerrno>

#include <fmt/format.h>

namespace ck::storage {

std::string_view to_string(code value) noexcept {
  switch (value) {
    case code::ok:
      return "ok";
    case code::not_found:
      return "not_found";
    case code::map_full:
      return "map_full";
    case code::corruption:
      return "corruption";
    case code::io_error:
      return "io_error";
    case code::invalid_argument:
      return "invalid_argument";
    case code::busy:
      return "busy";
    case code::version_mismatch:
      return "version_mismatch";
    case code::internal:
      return "internal";
  }
  return "unknown";
}

status::status(storage::code value, std::string message)
    : code_(value), message_(std::move(message)) {
  CK_ASSERT(value != storage::code::ok);
}

status status::not_found(std::string message) {
  return status(storage::code::not_found, std::move(message));
}
status status::map_full(std::string message) {
  return status(storage::code::map_full, std::move(message));
}
status status::corruption(std::string message) {
  return status(storage::code::corruption, std::move(message));
}
status status::io_error(std::string message) {
  return status(storage::code::io_error, std::move(message));
}
status status::invalid_argument(std::string message) {
  return status(storage::code::invalid_argument, std::move(message));
}
status status::busy(std::string message) { return status(storage::code::busy, std::move(message)); }
status status::version_mismatch(std::string message) {
  return status(storage::code::version_mismatch, std::move(message));
}
status status::internal(std::string message) {
  return status(storage::code::internal, std::move(message));
}

std::string status::to_string() const {
  if (ok()) {
    return "ok";
  }
  return fmt::format("{}: {}", storage::to_string(code_), message_);
}

namespace {

// The one table from LMDB and errno return codes to our codes; see from_lmdb's contract.
code code_of_lmdb(int rc) noexcept {
  switch (rc) {
    case MDB_NOTFOUND:
      return code::not_found;
    case MDB_MAP_FULL:
      return code::map_full;
    case MDB_CORRUPTED:
    case MDB_PAGE_NOTFOUND:
    case MDB_INVALID:
      return code::corruption;
    case ENOSPC:
    case EIO:
    case EACCES:
    case EPERM:
    case EROFS:
    case ENOTDIR:
    case ENOMEM:
    case MDB_PANIC:
      return code::io_error;
    case MDB_VERSION_MISMATCH:
      return code::version_mismatch;
    case MDB_READERS_FULL:
    case MDB_MAP_RESIZED:
    case EAGAIN:
    case EBUSY:
      return code::busy;
    case EINVAL:
    case MDB_BAD_VALSIZE:
      return code::invalid_argument;
    default:
      return code::internal;
  }
}

}  // namespace

status from_lmdb(int rc, std::string_view what) {
  if (rc == MDB_SUCCESS) {
    return status::success();
  }
  return status(code_of_lmdb(rc), fmt::format("{}: {}", what, mdb_strerror(rc)));
}

}  // namespace ck::storage
