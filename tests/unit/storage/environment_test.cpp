// Goal: the environment opens, reopens, checks its format version, grows its map, isolates
// snapshots and counts what it does, as storage/environment.hpp promises. Method: real LMDB in
// temporary directories; raw LMDB writes play a damaged or foreign file.

#include "storage/environment.hpp"

#include <fstream>
#include <string>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <thread>
#include <vector>

#include <doctest/doctest.h>

#include "storage/format.hpp"
#include "storage/table.hpp"
#include "test_support.hpp"

namespace ck::storage {
namespace {

using test::open_or_fail;
using test::options_in;
using test::temp_dir;

status put_one(environment& env, uint32_t partition, std::string_view key, std::string_view value) {
  return env.write([&](write_txn& txn) { return table_put(txn, partition, key, value); });
}

// A 4-byte key, so that written bytes are easy to count.
std::string key_of(uint32_t i) {
  std::string key;
  append_u32_be(key, i);
  return key;
}

std::optional<std::string> get_one(environment& env, uint32_t partition, std::string_view key) {
  result<read_txn> txn = env.begin_read();
  REQUIRE(txn.ok());
  result<std::optional<std::string>> value = table_get(txn.value(), partition, key);
  REQUIRE(value.ok());
  return value.value();
}

TEST_CASE("environment: open creates missing directories and a reopen keeps committed data") {
  temp_dir tmp;
  const std::string dir = tmp.sub("a/b/c");
  {
    auto env = open_or_fail(options_in(dir));
    REQUIRE(put_one(*env, 7, "k", "v1").ok());
    REQUIRE(put_one(*env, 7, "k", "v2").ok());
  }
  auto env = open_or_fail(options_in(dir));
  CHECK(get_one(*env, 7, "k") == "v2");
  CHECK(env->options().dir == dir);
}

TEST_CASE("environment: open rejects invalid options and names the field") {
  temp_dir tmp;
  environment_options options = options_in(tmp.path());
  options.dir.clear();
  CHECK(environment::open(options).status().message().find("dir") != std::string::npos);

  options = options_in(tmp.path());
  options.map_size_max_bytes = options.map_size_bytes - 1;
  result<std::unique_ptr<environment>> opened = environment::open(options);
  CHECK(opened.status().code() == code::invalid_argument);
  CHECK(opened.status().message().find("map_size_max_bytes") != std::string::npos);

  options = options_in(tmp.path());
  options.map_size_bytes = 4096;
  CHECK(environment::open(options).status().code() == code::invalid_argument);
  options = options_in(tmp.path());
  options.max_readers = 0;
  CHECK(environment::open(options).status().code() == code::invalid_argument);
  options = options_in(tmp.path());
  options.lock_wait_ms_max = 0;
  CHECK(environment::open(options).status().code() == code::invalid_argument);
}

TEST_CASE("environment: a directory that cannot be created is io_error naming the directory") {
  temp_dir tmp;
  std::ofstream(tmp.sub("file")) << "not a directory";
  const std::string dir = tmp.sub("file/env");
  result<std::unique_ptr<environment>> opened = environment::open(options_in(dir));
  REQUIRE_FALSE(opened.ok());
  CHECK(opened.status().code() == code::io_error);
  CHECK(opened.status().message().find(dir) != std::string::npos);
  MESSAGE(opened.status().to_string());
}

TEST_CASE("environment: a data file that is not LMDB is corruption naming the directory") {
  temp_dir tmp;
  std::ofstream(tmp.sub("data.mdb")) << std::string(64 << 10, 'x');
  result<std::unique_ptr<environment>> opened = environment::open(options_in(tmp.path()));
  REQUIRE_FALSE(opened.ok());
  CHECK(opened.status().code() == code::corruption);
  CHECK(opened.status().message().rfind("cannot open LMDB environment in " + tmp.path(), 0) == 0);
  MESSAGE(opened.status().to_string());
}

TEST_CASE("environment: a different format version on disk is a version_mismatch") {
  temp_dir tmp;
  { open_or_fail(options_in(tmp.path())); }
  std::string version;
  append_u32_be(version, 99);
  test::raw_put(tmp.path(), "meta", meta_key_format_version, version);
  result<std::unique_ptr<environment>> opened = environment::open(options_in(tmp.path()));
  REQUIRE_FALSE(opened.ok());
  CHECK(opened.status().code() == code::version_mismatch);
  CHECK(opened.status().message().find("version 99") != std::string::npos);
  CHECK(opened.status().message().find(tmp.path()) != std::string::npos);
  MESSAGE(opened.status().to_string());
}

TEST_CASE("environment: a malformed or missing format version record is corruption") {
  temp_dir tmp;
  {
    auto env = open_or_fail(options_in(tmp.path()));
    REQUIRE(put_one(*env, 1, "k", "v").ok());
  }
  test::raw_put(tmp.path(), "meta", meta_key_format_version, "xy");
  CHECK(environment::open(options_in(tmp.path())).status().code() == code::corruption);
  test::raw_del(tmp.path(), "meta", meta_key_format_version);
  result<std::unique_ptr<environment>> opened = environment::open(options_in(tmp.path()));
  CHECK(opened.status().code() == code::corruption);
  CHECK(opened.status().message().find("no format version") != std::string::npos);
}

TEST_CASE("environment: a write_txn that is not committed leaves nothing behind") {
  temp_dir tmp;
  auto env = open_or_fail(options_in(tmp.path()));
  {
    result<write_txn> txn = env->begin_write();
    REQUIRE(txn.ok());
    REQUIRE(table_put(txn.value(), 1, "dropped", "x").ok());
  }
  {
    result<write_txn> txn = env->begin_write();
    REQUIRE(txn.ok());
    REQUIRE(table_put(txn.value(), 1, "aborted", "x").ok());
    txn.value().abort();
    CHECK_FALSE(txn.value().active());
  }
  CHECK_FALSE(get_one(*env, 1, "dropped").has_value());
  CHECK_FALSE(get_one(*env, 1, "aborted").has_value());
  const status failed = env->write([](write_txn& txn) {
    REQUIRE(table_put(txn, 1, "failed", "x").ok());
    return status::invalid_argument("the fill changed its mind");
  });
  CHECK(failed.code() == code::invalid_argument);
  CHECK_FALSE(get_one(*env, 1, "failed").has_value());
}

TEST_CASE("environment: a write waiting for the open transaction asks its holder to end it") {
  // The journal's writer keeps a transaction open across batches until its next checkpoint;
  // another writer that has to wait says so (set_write_wanted), and the holder commits early.
  temp_dir tmp;
  auto env = open_or_fail(options_in(tmp.path()));
  std::mutex mutex;
  std::condition_variable asked;
  int wanted = 0;
  env->set_write_wanted([&] {
    std::lock_guard<std::mutex> lock(mutex);
    ++wanted;
    asked.notify_all();
  });
  REQUIRE(put_one(*env, 1, "alone", "x").ok());  // nobody holds it: no call
  CHECK(wanted == 0);

  result<write_txn> held = env->begin_write();
  REQUIRE(held.ok());
  REQUIRE(table_put(held.value(), 1, "held", "x").ok());
  status second = status::io_error("not run");
  std::thread other([&] { second = put_one(*env, 1, "other", "y"); });
  {
    std::unique_lock<std::mutex> lock(mutex);
    REQUIRE_MESSAGE(asked.wait_for(lock, std::chrono::seconds(10), [&] { return wanted > 0; }),
                    "the waiting writer did not call the write-wanted hook within 10 s");
  }
  REQUIRE(held.value().commit().ok());
  other.join();
  CHECK(second.ok());
  CHECK(wanted == 1);
  CHECK(get_one(*env, 1, "held") == std::optional<std::string>("x"));
  CHECK(get_one(*env, 1, "other") == std::optional<std::string>("y"));
}

TEST_CASE("environment: write grows a 1 MiB map to hold 20 MiB") {
  temp_dir tmp;
  environment_options options = options_in(tmp.path());
  options.map_size_bytes = uint64_t{1} << 20;
  auto env = open_or_fail(options);
  const std::string value(4096, 'v');
  constexpr uint32_t batches = 40;
  constexpr uint32_t keys_per_batch = 128;  // 40 * 128 * 4 KiB = 20 MiB
  for (uint32_t batch = 0; batch < batches; ++batch) {
    const status written = env->write([&](write_txn& txn) {
      for (uint32_t i = 0; i < keys_per_batch; ++i) {
        if (status put = table_put(txn, batch % 3, std::to_string(batch * keys_per_batch + i), value);
            !put.ok()) {
          return put;
        }
      }
      return status::success();
    });
    REQUIRE_MESSAGE(written.ok(), written.to_string());
  }
  const environment_stats stats = env->stats();
  CHECK(stats.map_size_bytes >= uint64_t{20} << 20);
  CHECK(stats.map_growth_count >= 5);
  CHECK(stats.used_bytes >= uint64_t{20} << 20);
  CHECK(stats.used_bytes <= stats.map_size_bytes);
  result<read_txn> txn = env->begin_read();
  REQUIRE(txn.ok());
  CHECK(table_count(txn.value()).value() == uint64_t{batches} * keys_per_batch);
  CHECK(table_get(txn.value(), 0, "0").value() == value);
  CHECK(table_get(txn.value(), 39 % 3, std::to_string(batches * keys_per_batch - 1)).value() == value);
}

TEST_CASE("environment: growth stops at map_size_max_bytes with map_full") {
  temp_dir tmp;
  environment_options options = options_in(tmp.path());
  options.map_size_bytes = uint64_t{1} << 20;
  options.map_size_max_bytes = uint64_t{2} << 20;
  auto env = open_or_fail(options);
  const std::string value(64 << 10, 'v');
  status written;
  for (uint32_t i = 0; i < 64 && written.ok(); ++i) {  // 4 MiB into a 2 MiB maximum
    written = put_one(*env, 0, std::to_string(i), value);
  }
  CHECK(written.code() == code::map_full);
  CHECK(written.message().find("map_size_max_bytes") != std::string::npos);
  CHECK(env->stats().map_size_bytes == options.map_size_max_bytes);
  CHECK(put_one(*env, 0, "again", value).code() == code::map_full);  // stays full
}

TEST_CASE("environment: reserve grows the map to keep room free, up to map_size_max_bytes") {
  temp_dir tmp;
  environment_options options = options_in(tmp.path());
  options.map_size_bytes = uint64_t{1} << 20;
  options.map_size_max_bytes = uint64_t{8} << 20;
  auto env = open_or_fail(options);
  REQUIRE(env->reserve(uint64_t{512} << 10).ok());
  CHECK(env->stats().map_growth_count == 0);  // there was room
  REQUIRE(env->reserve(uint64_t{3} << 20).ok());
  const environment_stats grown = env->stats();
  CHECK(grown.map_size_bytes == uint64_t{4} << 20);  // doubled twice
  CHECK(grown.map_size_bytes - env->used_bytes() >= uint64_t{3} << 20);
  // What the room was for: an open transaction writing 2 MiB, which cannot grow the map itself.
  result<write_txn> txn = env->begin_write();
  REQUIRE(txn.ok());
  const std::string value(64 << 10, 'v');
  for (int i = 0; i < 32; ++i) {
    REQUIRE(table_put(txn.value(), 0, std::to_string(i), value).ok());
  }
  REQUIRE(txn.value().commit().ok());
  const status too_much = env->reserve(uint64_t{16} << 20);
  CHECK(too_much.code() == code::map_full);
  CHECK(too_much.message().find("map_size_max_bytes") != std::string::npos);
  CHECK(env->stats().map_size_bytes == options.map_size_max_bytes);
}

TEST_CASE("environment: a put into a full map without write() is map_full and spoils the txn") {
  temp_dir tmp;
  environment_options options = options_in(tmp.path());
  options.map_size_bytes = uint64_t{1} << 20;
  auto env = open_or_fail(options);
  result<write_txn> txn = env->begin_write();
  REQUIRE(txn.ok());
  const std::string value(64 << 10, 'v');
  status put;
  for (uint32_t i = 0; i < 32 && put.ok(); ++i) {
    put = table_put(txn.value(), 0, std::to_string(i), value);
  }
  CHECK(put.code() == code::map_full);
  CHECK(txn.value().commit().code() == code::map_full);
  CHECK_FALSE(get_one(*env, 0, "0").has_value());
}

TEST_CASE("environment: growth while the writer holds a read_txn is busy after the wait limit") {
  temp_dir tmp;
  environment_options options = options_in(tmp.path());
  options.map_size_bytes = uint64_t{1} << 20;
  options.lock_wait_ms_max = 50;
  auto env = open_or_fail(options);
  result<read_txn> held = env->begin_read();
  REQUIRE(held.ok());
  const std::string value(2 << 20, 'v');
  const status written = put_one(*env, 0, "big", value);
  CHECK(written.code() == code::busy);
  CHECK(written.message().find("map growth") != std::string::npos);
  held.value().end();
  CHECK(put_one(*env, 0, "big", value).ok());
  CHECK(get_one(*env, 0, "big") == value);
}

TEST_CASE("environment: a second write_txn waits for the first, then is busy") {
  temp_dir tmp;
  environment_options options = options_in(tmp.path());
  options.lock_wait_ms_max = 20;
  auto env = open_or_fail(options);
  result<write_txn> first = env->begin_write();
  REQUIRE(first.ok());
  result<write_txn> second = env->begin_write();
  CHECK(second.status().code() == code::busy);
  REQUIRE(first.value().commit().ok());
  result<write_txn> third = env->begin_write();
  CHECK(third.ok());
}

TEST_CASE("environment: a read_txn keeps its snapshot while a write commits") {
  temp_dir tmp;
  auto env = open_or_fail(options_in(tmp.path()));
  REQUIRE(put_one(*env, 1, "k", "old").ok());
  result<read_txn> snapshot = env->begin_read();
  REQUIRE(snapshot.ok());
  std::thread writer([&] {
    CHECK(put_one(*env, 1, "k", "new").ok());
    CHECK(put_one(*env, 1, "added", "x").ok());
  });
  writer.join();
  CHECK(table_get(snapshot.value(), 1, "k").value() == "old");
  CHECK_FALSE(table_get(snapshot.value(), 1, "added").value().has_value());
  CHECK(table_count(snapshot.value()).value() == 1);
  CHECK(get_one(*env, 1, "k") == "new");
}

TEST_CASE("environment: a read_txn may end on another thread than the one that began it") {
  temp_dir tmp;
  auto env = open_or_fail(options_in(tmp.path()));
  REQUIRE(put_one(*env, 1, "k", "v").ok());
  result<read_txn> txn = env->begin_read();
  REQUIRE(txn.ok());
  read_txn moved = std::move(txn).value();
  std::thread other([&] {
    CHECK(table_get(moved, 1, "k").value() == "v");
    moved.end();
  });
  other.join();
  CHECK_FALSE(moved.active());
  CHECK(put_one(*env, 1, "k", "after").ok());
}

TEST_CASE("environment: readers on other threads keep working while the writer grows the map") {
  temp_dir tmp;
  environment_options options = options_in(tmp.path());
  options.map_size_bytes = uint64_t{1} << 20;
  auto env = open_or_fail(options);
  REQUIRE(put_one(*env, 0, "anchor", "a").ok());
  std::atomic<bool> done{false};
  std::atomic<uint64_t> reads{0};
  std::vector<std::thread> readers;
  for (int r = 0; r < 2; ++r) {
    readers.emplace_back([&] {
      while (!done.load()) {
        result<read_txn> txn = env->begin_read();
        CHECK_MESSAGE(txn.ok(), txn.status().to_string());  // no REQUIRE: it would throw here
        if (!txn.ok()) {
          break;
        }
        if (table_get(txn.value(), 0, "anchor").value() != "a") {
          FAIL_CHECK("a reader lost the anchor key");
          break;
        }
        reads.fetch_add(1);
      }
    });
  }
  const std::string value(256 << 10, 'v');
  for (uint32_t i = 0; i < 40; ++i) {  // 10 MiB through a 1 MiB start
    const status written = put_one(*env, 1, std::to_string(i), value);
    CHECK_MESSAGE(written.ok(), written.to_string());
  }
  // On a loaded machine the writer can finish before a reader thread ran at all: let them read
  // at least once (the grown map) before stopping them, for at most 10 s.
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (reads.load() < 2 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::yield();
  }
  done.store(true);
  for (std::thread& reader : readers) {
    reader.join();
  }
  CHECK(env->stats().map_growth_count >= 3);
  CHECK(reads.load() > 0);
}

TEST_CASE("environment: stats count commits, fsyncs and written bytes; used_bytes grows") {
  temp_dir tmp;
  auto env = open_or_fail(options_in(tmp.path()));
  const environment_stats before = env->stats();
  CHECK(before.commit_count == 1);  // the format version at open
  CHECK(before.fsync_count == 1);
  CHECK(before.used_bytes > 0);
  CHECK(before.used_bytes == env->used_bytes());
  const std::string value(5000, 'v');
  // Stored key: 4-byte partition, form byte, 4-byte user key; the value as is.
  for (uint32_t i = 0; i < 200; ++i) {  // 200 * (5 + 4 + 5000) bytes, one commit each
    REQUIRE(put_one(*env, 2, key_of(i), value).ok());
  }
  const environment_stats after = env->stats();
  CHECK(after.commit_count == before.commit_count + 200);
  CHECK(after.fsync_count == before.fsync_count + 200);
  CHECK(after.written_bytes == before.written_bytes + 200 * (5 + 4 + 5000));
  CHECK(after.used_bytes >= before.used_bytes + 200 * 5000);
  CHECK(env->used_bytes() == after.used_bytes);
  CHECK(after.map_size_bytes == uint64_t{16} << 20);
  CHECK(after.map_growth_count == 0);
}

TEST_CASE("environment: with sync off commits do not fsync and sync_now does") {
  temp_dir tmp;
  environment_options options = options_in(tmp.path());
  options.sync = false;
  {
    auto env = open_or_fail(options);
    REQUIRE(put_one(*env, 0, "k", "v").ok());
    CHECK(env->stats().commit_count == 2);
    CHECK(env->stats().fsync_count == 0);
    REQUIRE(env->sync_now().ok());
    CHECK(env->stats().fsync_count == 1);
  }
  auto env = open_or_fail(options);
  CHECK(get_one(*env, 0, "k") == "v");
}

// The node's mode: LMDB's MDB_NOMETASYNC (integrity on a machine crash is LMDB's documented
// guarantee for it; a power cut cannot be simulated here). What is checked: commits still
// fsync (their data pages), sync_now() adds one, and committed data is there after a reopen.
TEST_CASE("environment: with defer_meta_sync commits fsync their data and sync_now the meta") {
  temp_dir tmp;
  environment_options options = options_in(tmp.path());
  options.defer_meta_sync = true;
  {
    auto env = open_or_fail(options);
    REQUIRE(put_one(*env, 0, "k", "v").ok());
    CHECK(env->stats().commit_count == 2);
    CHECK(env->stats().fsync_count == 2);
    REQUIRE(env->sync_now().ok());
    CHECK(env->stats().fsync_count == 3);
  }
  auto env = open_or_fail(options);
  CHECK(get_one(*env, 0, "k") == "v");
}

}  // namespace
}  // namespace ck::storage
