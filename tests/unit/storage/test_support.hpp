#pragma once

// Shared helpers of the storage tests: a temporary directory removed afterwards, raw LMDB
// access that plays "another tool damaged the file" without going through the storage layer,
// and the seeds of the randomized tests (a replay value from the environment, or a random one).

#include <lmdb.h>
#include <stdlib.h>

#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <optional>
#include <random>
#include <string>
#include <string_view>

#include <doctest/doctest.h>

#include "storage/environment.hpp"

namespace ck::storage::test {

// The unsigned number in environment variable `name`; nullopt when unset or empty.
inline std::optional<uint64_t> env_number(const char* name) {
  const char* text = std::getenv(name);
  if (text == nullptr || *text == '\0') {
    return std::nullopt;
  }
  return std::strtoull(text, nullptr, 10);
}

// A fresh 64-bit seed for a randomized test (print it, so a failure can be replayed).
inline uint64_t random_seed() {
  return (uint64_t{std::random_device{}()} << 32) | std::random_device{}();
}

// A fresh directory under /tmp, removed with everything in it when the object dies.
class temp_dir {
 public:
  temp_dir() {
    char pattern[] = "/tmp/ck-storage-test-XXXXXX";
    const char* made = mkdtemp(pattern);
    REQUIRE(made != nullptr);
    path_ = made;
  }
  temp_dir(const temp_dir&) = delete;
  temp_dir& operator=(const temp_dir&) = delete;
  ~temp_dir() {
    std::error_code ignored;
    std::filesystem::remove_all(path_, ignored);
  }
  const std::string& path() const { return path_; }
  // A path inside the directory.
  std::string sub(std::string_view name) const { return path_ + "/" + std::string(name); }

 private:
  std::string path_;
};

inline environment_options options_in(const std::string& dir) {
  environment_options options;
  options.dir = dir;
  options.map_size_bytes = uint64_t{16} << 20;
  return options;
}

// Opens `dir` with the storage layer or fails the test.
inline std::unique_ptr<environment> open_or_fail(const environment_options& options) {
  result<std::unique_ptr<environment>> opened = environment::open(options);
  REQUIRE_MESSAGE(opened.ok(), opened.status().to_string());
  return std::move(opened).value();
}

// Runs `change(txn, dbi)` in a raw LMDB write transaction on database `db_name` of `dir`.
// Requires: no environment of this process has `dir` open.
template <class Change>
void raw_change(const std::string& dir, const char* db_name, Change change) {
  MDB_env* env = nullptr;
  REQUIRE(mdb_env_create(&env) == MDB_SUCCESS);
  REQUIRE(mdb_env_set_maxdbs(env, 8) == MDB_SUCCESS);
  REQUIRE(mdb_env_open(env, dir.c_str(), 0, 0644) == MDB_SUCCESS);
  MDB_txn* txn = nullptr;
  REQUIRE(mdb_txn_begin(env, nullptr, 0, &txn) == MDB_SUCCESS);
  MDB_dbi dbi = 0;
  REQUIRE(mdb_dbi_open(txn, db_name, 0, &dbi) == MDB_SUCCESS);
  change(txn, dbi);
  REQUIRE(mdb_txn_commit(txn) == MDB_SUCCESS);
  mdb_env_close(env);
}

inline void raw_put(const std::string& dir, const char* db_name, std::string_view key,
                    std::string_view value) {
  raw_change(dir, db_name, [&](MDB_txn* txn, MDB_dbi dbi) {
    MDB_val k{key.size(), const_cast<char*>(key.data())};
    MDB_val v{value.size(), const_cast<char*>(value.data())};
    REQUIRE(mdb_put(txn, dbi, &k, &v, 0) == MDB_SUCCESS);
  });
}

inline void raw_del(const std::string& dir, const char* db_name, std::string_view key) {
  raw_change(dir, db_name, [&](MDB_txn* txn, MDB_dbi dbi) {
    MDB_val k{key.size(), const_cast<char*>(key.data())};
    REQUIRE(mdb_del(txn, dbi, &k, nullptr) == MDB_SUCCESS);
  });
}

}  // namespace ck::storage::test
