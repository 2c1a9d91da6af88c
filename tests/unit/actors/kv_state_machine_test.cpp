// The KV state machine's snapshot stream: a partition read through one LMDB read transaction
// in chunks, staged on another replica beside its live data, and swapped in atomically.

#include "actors/kv_state_machine.hpp"
#include "storage/environment.hpp"
#include "storage/kv_table.hpp"

#include <doctest/doctest.h>

#include <cstdlib>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>

using namespace ck;

namespace {

struct replica_env {
  std::filesystem::path path;
  std::shared_ptr<storage::environment> env;
  replica_env() {
    char pattern[] = "/tmp/ck-kvsm-XXXXXX";
    path = ::mkdtemp(pattern);
    storage::environment_options options;
    options.dir = path.string();
    options.sync = false;
    auto opened = storage::environment::open(options);
    REQUIRE(opened.ok());
    env = std::move(opened.value());
  }
  ~replica_env() {
    env.reset();
    std::filesystem::remove_all(path);
  }
  std::optional<std::string> get(uint32_t partition, const std::string& key) {
    auto txn = env->begin_read();
    REQUIRE(txn.ok());
    auto value = storage::kv_get(txn.value(), partition, key);
    REQUIRE(value.ok());
    return value.value();
  }
  uint64_t count(uint32_t partition) {
    auto txn = env->begin_read();
    REQUIRE(txn.ok());
    auto n = storage::kv_count_partition(txn.value(), partition);
    REQUIRE(n.ok());
    return n.value();
  }
};

constexpr uint32_t partition = 3;
constexpr uint32_t group = partition + 1;

// Streams `from` into `to` and returns the number of chunks.
int transfer(actors::kv_state_machine& from, actors::kv_state_machine& to, size_t chunk_bytes) {
  auto source = from.read_snapshot();
  auto sink = to.begin_restore();
  int chunks = 0;
  while (!source->done()) {
    REQUIRE(sink->write(source->next_chunk(chunk_bytes)));
    ++chunks;
    REQUIRE(chunks < 100'000);
  }
  to.install_restored(source->applied());
  return chunks;
}

}  // namespace

TEST_CASE("kv state machine: a snapshot streams in chunks and replaces the follower's data") {
  replica_env leader_env, follower_env;
  actors::kv_state_machine leader(leader_env.env, partition, group);
  actors::kv_state_machine follower(follower_env.env, partition, group);
  const std::string big(3000, 'v');
  for (int i = 1; i <= 2000; ++i) {
    leader.apply(i, actors::encode_kv_set("k" + std::to_string(i), i % 100 == 0 ? big : "x"));
  }
  leader.apply(2001, actors::encode_kv_delete("k7"));
  // The follower holds stale data that must disappear, and a neighbour partition that must not.
  follower.apply(1, actors::encode_kv_set("stale", "old"));
  actors::kv_state_machine neighbour(follower_env.env, partition + 1, group + 1);
  neighbour.apply(1, actors::encode_kv_set("other", "kept"));

  // The source reads one transaction: writes after it opened are not in the stream.
  auto source = leader.read_snapshot();
  leader.apply(2002, actors::encode_kv_set("late", "not in the snapshot"));
  auto sink = follower.begin_restore();
  int chunks = 0;
  while (!source->done()) {
    REQUIRE(sink->write(source->next_chunk(16 << 10)));
    ++chunks;
    // Staged data is invisible until installed.
    CHECK(follower_env.get(partition, "stale") == std::optional<std::string>("old"));
  }
  CHECK(chunks >= 4);  // ~80 KB in 16 KiB chunks (a page of keys may overshoot one)
  CHECK(source->applied() == 2001);
  follower.install_restored(source->applied());

  CHECK(follower.stored_applied() == 2001);
  CHECK(follower_env.count(partition) == 1999);
  CHECK(follower_env.get(partition, "stale") == std::nullopt);
  CHECK(follower_env.get(partition, "k7") == std::nullopt);
  CHECK(follower_env.get(partition, "late") == std::nullopt);
  CHECK(follower_env.get(partition, "k100") == std::optional<std::string>(big));
  CHECK(follower_env.get(partition, "k2000") == std::optional<std::string>(big));
  CHECK(follower_env.get(partition, "k1999") == std::optional<std::string>("x"));
  CHECK(follower_env.get(partition + 1, "other") == std::optional<std::string>("kept"));
  CHECK(follower_env.count(storage::kv_staging_partition(partition)) == 0);

  // A restarted follower resumes at the installed index and applies what follows it.
  actors::kv_state_machine reopened(follower_env.env, partition, group);
  CHECK(reopened.stored_applied() == 2001);
  reopened.apply(2002, actors::encode_kv_set("late", "now"));
  CHECK(follower_env.get(partition, "late") == std::optional<std::string>("now"));
}

TEST_CASE("kv state machine: an empty partition is one empty chunk; bad chunks are refused") {
  replica_env a_env, b_env;
  actors::kv_state_machine a(a_env.env, partition, group);
  actors::kv_state_machine b(b_env.env, partition, group);
  b.apply(1, actors::encode_kv_set("x", "y"));
  CHECK(transfer(a, b, 1 << 20) == 1);
  CHECK(b_env.count(partition) == 0);
  CHECK(b.stored_applied() == 0);

  auto sink = b.begin_restore();
  CHECK_FALSE(sink->write(""));
  CHECK_FALSE(sink->write(std::string("\x07", 1)));               // unknown version
  CHECK_FALSE(sink->write(std::string("\x01\x00\x00\x00\x09k", 6)));  // key runs past the end
}

TEST_CASE("kv state machine: an abandoned transfer leaves the live data; the next one clears it") {
  replica_env a_env, b_env;
  actors::kv_state_machine a(a_env.env, partition, group);
  actors::kv_state_machine b(b_env.env, partition, group);
  for (int i = 1; i <= 300; ++i) {
    a.apply(i, actors::encode_kv_set("k" + std::to_string(i), std::string(100, 'a')));
  }
  b.apply(1, actors::encode_kv_set("mine", "live"));
  {
    auto source = a.read_snapshot();
    auto sink = b.begin_restore();
    REQUIRE(sink->write(source->next_chunk(1024)));  // then the leader goes away
  }
  CHECK(b_env.get(partition, "mine") == std::optional<std::string>("live"));
  CHECK(b_env.count(partition) == 1);
  CHECK(b_env.count(storage::kv_staging_partition(partition)) > 0);
  transfer(a, b, 4096);
  CHECK(b_env.count(partition) == 300);
  CHECK(b_env.count(storage::kv_staging_partition(partition)) == 0);
  CHECK(b.stored_applied() == 300);
  b.erase_all();
  CHECK(b_env.count(partition) == 0);
}
