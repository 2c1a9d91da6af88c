// Goal: every LMDB and errno code lands on the documented storage code, and status/result behave
// as value types. Method: table of (rc, expected code) through from_lmdb.

#include "storage/status.hpp"

#include <lmdb.h>

#include <cerrno>
#include <memory>
#include <string>

#include <doctest/doctest.h>

namespace ck::storage {
namespace {

TEST_CASE("status: from_lmdb maps every LMDB and errno code to the documented storage code") {
  struct row {
    int rc;
    code expected;
  };
  const row rows[] = {
      {MDB_NOTFOUND, code::not_found},
      {MDB_MAP_FULL, code::map_full},
      {MDB_CORRUPTED, code::corruption},
      {MDB_PAGE_NOTFOUND, code::corruption},
      {MDB_INVALID, code::corruption},
      {ENOSPC, code::io_error},
      {EIO, code::io_error},
      {EACCES, code::io_error},
      {EROFS, code::io_error},
      {MDB_PANIC, code::io_error},
      {MDB_VERSION_MISMATCH, code::version_mismatch},
      {MDB_READERS_FULL, code::busy},
      {MDB_MAP_RESIZED, code::busy},
      {EAGAIN, code::busy},
      {EINVAL, code::invalid_argument},
      {MDB_BAD_VALSIZE, code::invalid_argument},
      {MDB_BAD_TXN, code::internal},
      {MDB_BAD_DBI, code::internal},
      {MDB_DBS_FULL, code::internal},
      {MDB_KEYEXIST, code::internal},
  };
  for (const row& r : rows) {
    CAPTURE(r.rc);
    const status s = from_lmdb(r.rc, "doing x in /dir");
    CHECK(s.code() == r.expected);
    CHECK_FALSE(s.ok());
    CHECK(s.message().rfind("doing x in /dir: ", 0) == 0);
    CHECK(s.message().find(mdb_strerror(r.rc)) != std::string::npos);
  }
  CHECK(from_lmdb(MDB_SUCCESS, "anything").ok());
  CHECK(from_lmdb(MDB_SUCCESS, "anything").message().empty());
}

TEST_CASE("status: to_string names the code and carries the message") {
  CHECK(status().to_string() == "ok");
  CHECK(status::success().ok());
  CHECK(status::map_full("map in /x is full").to_string() == "map_full: map in /x is full");
  CHECK(status::corruption("c").code() == code::corruption);
  CHECK(status::io_error("i").code() == code::io_error);
  CHECK(status::invalid_argument("a").code() == code::invalid_argument);
  CHECK(status::busy("b").code() == code::busy);
  CHECK(status::version_mismatch("v").code() == code::version_mismatch);
  CHECK(status::internal("n").code() == code::internal);
  CHECK(status::not_found("n").code() == code::not_found);
  CHECK(to_string(code::version_mismatch) == "version_mismatch");
  CHECK(to_string(code::ok) == "ok");
}

TEST_CASE("result: holds either a value or a failure, and moves out move-only values") {
  const result<int> seven(7);
  CHECK(seven.ok());
  CHECK(seven.value() == 7);
  CHECK(seven.status().ok());

  const result<int> failed(status::busy("readers full"));
  CHECK_FALSE(failed.ok());
  CHECK(failed.status().code() == code::busy);
  CHECK(failed.status().message() == "readers full");

  result<std::unique_ptr<int>> owned(std::make_unique<int>(3));
  REQUIRE(owned.ok());
  std::unique_ptr<int> taken = std::move(owned).value();
  CHECK(*taken == 3);
}

}  // namespace
}  // namespace ck::storage
