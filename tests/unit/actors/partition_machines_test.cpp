// A partition's state machines (actors/partition_machines.hpp): commands routed by machine
// name to their own storage slot, batches applied in one transaction, and the snapshot stream
// (every slot read through one LMDB read transaction in chunks, staged on another replica
// beside its live data, and swapped in atomically).

#include "actors/partition_machines.hpp"
#include "actors/local_replicas.hpp"
#include "runtime/cluster/machine_command.hpp"
#include "runtime/base/metrics.hpp"
#include "storage/format.hpp"
#include "storage/environment.hpp"
#include "storage/table.hpp"
#include "storage/partition_state.hpp"
#include "storage/table_overlay.hpp"

#include <doctest/doctest.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

using namespace ck;

namespace {

struct replica_env {
  std::filesystem::path path;
  std::shared_ptr<storage::environment> env;
  explicit replica_env(uint64_t map_max = uint64_t{1} << 40) {
    char pattern[] = "/tmp/ck-kvsm-XXXXXX";
    path = ::mkdtemp(pattern);
    storage::environment_options options;
    options.dir = path.string();
    options.sync = false;
    options.map_size_bytes = std::min<uint64_t>(options.map_size_bytes, map_max);
    options.map_size_max_bytes = map_max;
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
    auto value = storage::table_get(txn.value(), partition, key);
    REQUIRE(value.ok());
    return value.value();
  }
  uint64_t count(uint32_t partition) {
    auto txn = env->begin_read();
    REQUIRE(txn.ok());
    auto n = storage::table_count_partition(txn.value(), partition);
    REQUIRE(n.ok());
    return n.value();
  }
};

constexpr uint32_t partition = 3;
constexpr uint32_t group = partition + 1;

// "store": command 'S' key '\0' value sets, 'D' key deletes; answers "1" when the key existed.
class store_machine final : public cluster::state_machine {
 public:
  std::string apply(cluster::machine_writer& store, std::string_view command) override {
    if (command.empty()) {
      return "bad";
    }
    if (command[0] == 'S') {
      const auto zero = command.find('\0');
      const auto key = command.substr(1, zero - 1);
      const bool existed = store.get(key).has_value();
      store.put(key, command.substr(zero + 1));
      return existed ? "1" : "0";
    }
    return store.erase(command.substr(1)) ? "1" : "0";
  }
  std::string query(const cluster::machine_store& store, std::string_view key) override {
    return store.get(key).value_or("<none>");
  }
  bool concurrent_queries() const override { return true; }  // a pure store lookup
};

// "count": every command adds its decimal value to key "n"; answers the new total.
class count_machine final : public cluster::state_machine {
 public:
  std::string apply(cluster::machine_writer& store, std::string_view command) override {
    const long now = std::stol(store.get("n").value_or("0")) + std::stol(std::string{command});
    store.put("n", std::to_string(now));
    return std::to_string(now);
  }
  std::string query(const cluster::machine_store& store, std::string_view) override {
    return store.get("n").value_or("0");
  }
};

std::shared_ptr<const actors::machine_types> types() {
  static auto shared = std::make_shared<const actors::machine_types>(actors::machine_types{
      {"store", [](uint32_t) { return std::make_unique<store_machine>(); }, {}},
      {"count", [](uint32_t) { return std::make_unique<count_machine>(); }, {}}});
  return shared;
}

std::string set_cmd(const std::string& key, const std::string& value) {
  return cluster::encode_machine_command("store", "S" + key + std::string(1, '\0') + value);
}
std::string delete_cmd(const std::string& key) {
  return cluster::encode_machine_command("store", "D" + key);
}
std::string add_cmd(long n) { return cluster::encode_machine_command("count", std::to_string(n)); }

// Streams `from` into `to` and returns the number of chunks.
int transfer(actors::partition_machines& from, actors::partition_machines& to, size_t chunk_bytes) {
  auto source = from.read_snapshot();
  auto sink = to.begin_restore();
  int chunks = 0;
  while (!source->done()) {
    REQUIRE(sink->write(source->next_chunk(chunk_bytes)));
    ++chunks;
    REQUIRE(chunks < 100'000);
  }
  REQUIRE(to.install_restored(source->applied()));
  return chunks;
}

}  // namespace

TEST_CASE("partition machines: snapshot chunks of large values stay near the chunk size") {
  replica_env leader_env, follower_env;
  actors::partition_machines leader(leader_env.env, types(), partition, group);
  actors::partition_machines follower(follower_env.env, types(), partition, group);
  const std::string value(64 << 10, 'v');
  for (int i = 1; i <= 40; ++i) {  // 2.5 MiB: within one listing page of keys
    leader.apply(i, set_cmd("k" + std::to_string(i), value));
  }
  auto source = leader.read_snapshot();
  auto sink = follower.begin_restore();
  constexpr size_t chunk_bytes = 256 << 10;
  size_t chunks = 0;
  while (!source->done()) {
    const std::string chunk = source->next_chunk(chunk_bytes);
    // At most one record past the bound (a record is never split).
    CHECK(chunk.size() < chunk_bytes + value.size() + 64);
    REQUIRE(sink->write(chunk));
    REQUIRE(++chunks < 1000);
  }
  CHECK(chunks >= 10);  // 40 x 64 KiB in chunks of 256 KiB (+ the count machine's slot)
  REQUIRE(follower.install_restored(source->applied()));
  CHECK(follower_env.count(partition) == 40);
  CHECK(follower_env.get(partition, "k40") == std::optional<std::string>(value));
}

// Issue 13: a replica whose storage is full while it receives a snapshot abandons the
// transfer (the leader retries later) instead of stopping the process.
TEST_CASE("partition machines: a chunk that does not fit abandons the transfer, live data kept") {
  replica_env leader_env;
  replica_env follower_env{uint64_t{1} << 20};  // a 1 MiB map: the 2.5 MiB below cannot fit
  actors::partition_machines leader(leader_env.env, types(), partition, group);
  actors::partition_machines follower(follower_env.env, types(), partition, group);
  follower.apply(1, set_cmd("mine", "kept"));
  const std::string value(64 << 10, 'v');
  for (int i = 1; i <= 40; ++i) {
    leader.apply(i, set_cmd("k" + std::to_string(i), value));
  }
  auto source = leader.read_snapshot();
  auto sink = follower.begin_restore();
  bool refused = false;
  for (int chunks = 0; !source->done() && !refused; ++chunks) {
    REQUIRE(chunks < 1000);
    refused = !sink->write(source->next_chunk(256 << 10));
  }
  CHECK(refused);
  CHECK(follower_env.get(partition, "mine") == std::optional<std::string>("kept"));
}

// Session 10: the swap at the end of a transfer copies the staged data, so it needs as much
// room again as the staging did; on a full disk it used to abort the process.
TEST_CASE("partition machines: a snapshot that cannot be swapped in leaves the live data") {
  replica_env leader_env;
  replica_env follower_env{uint64_t{1} << 20};  // 1 MiB: room for the staging, not the swap
  actors::partition_machines leader(leader_env.env, types(), partition, group);
  actors::partition_machines follower(follower_env.env, types(), partition, group);
  follower.apply(1, set_cmd("mine", "kept"));
  const std::string value(64 << 10, 'v');
  for (int i = 1; i <= 9; ++i) {
    leader.apply(i, set_cmd("k" + std::to_string(i), value));
  }
  auto source = leader.read_snapshot();
  auto sink = follower.begin_restore();
  for (int chunks = 0; !source->done(); ++chunks) {
    REQUIRE(chunks < 1000);
    REQUIRE(sink->write(source->next_chunk(64 << 10)));  // the staging fits
  }
  sink.reset();
  CHECK_FALSE(follower.install_restored(source->applied()));
  CHECK(follower_env.get(partition, "mine") == std::optional<std::string>("kept"));
  CHECK(follower_env.count(partition) == 1);
  CHECK(follower.stored_applied() == 1);
}

TEST_CASE("partition machines: a snapshot streams in chunks and replaces the follower's data") {
  replica_env leader_env, follower_env;
  actors::partition_machines leader(leader_env.env, types(), partition, group);
  actors::partition_machines follower(follower_env.env, types(), partition, group);
  const std::string big(3000, 'v');
  for (int i = 1; i <= 2000; ++i) {
    leader.apply(i, set_cmd("k" + std::to_string(i), i % 100 == 0 ? big : "x"));
  }
  leader.apply(2001, delete_cmd("k7"));
  // The follower holds stale data that must disappear, and a neighbour partition that must not.
  follower.apply(1, set_cmd("stale", "old"));
  actors::partition_machines neighbour(follower_env.env, types(), partition + 1, group + 1);
  neighbour.apply(1, set_cmd("other", "kept"));

  // The source reads one transaction: writes after it opened are not in the stream.
  auto source = leader.read_snapshot();
  leader.apply(2002, set_cmd("late", "not in the snapshot"));
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
  REQUIRE(follower.install_restored(source->applied()));

  CHECK(follower.stored_applied() == 2001);
  CHECK(follower_env.count(partition) == 1999);
  CHECK(follower_env.get(partition, "stale") == std::nullopt);
  CHECK(follower_env.get(partition, "k7") == std::nullopt);
  CHECK(follower_env.get(partition, "late") == std::nullopt);
  CHECK(follower_env.get(partition, "k100") == std::optional<std::string>(big));
  CHECK(follower_env.get(partition, "k2000") == std::optional<std::string>(big));
  CHECK(follower_env.get(partition, "k1999") == std::optional<std::string>("x"));
  CHECK(follower_env.get(partition + 1, "other") == std::optional<std::string>("kept"));
  CHECK(follower_env.count(storage::table_staging_partition(partition)) == 0);

  // A restarted follower resumes at the installed index and applies what follows it.
  actors::partition_machines reopened(follower_env.env, types(), partition, group);
  CHECK(reopened.stored_applied() == 2001);
  reopened.apply(2002, set_cmd("late", "now"));
  CHECK(follower_env.get(partition, "late") == std::optional<std::string>("now"));
}

TEST_CASE("partition machines: an empty partition is one empty chunk per machine; bad chunks are refused") {
  replica_env a_env, b_env;
  actors::partition_machines a(a_env.env, types(), partition, group);
  actors::partition_machines b(b_env.env, types(), partition, group);
  b.apply(1, set_cmd("x", "y"));
  CHECK(transfer(a, b, 1 << 20) == 2);  // one empty chunk per machine
  CHECK(b_env.count(partition) == 0);
  CHECK(b.stored_applied() == 0);

  auto sink = b.begin_restore();
  CHECK_FALSE(sink->write(""));
  CHECK_FALSE(sink->write(std::string("\x07", 1)));               // unknown version
  CHECK_FALSE(sink->write(std::string("\x01\x00\x00\x00\x09k", 6)));  // key runs past the end
  CHECK_FALSE(sink->write(std::string("\x02\x00\x07", 3)));      // a slot not registered here
}

TEST_CASE("partition machines: an abandoned transfer leaves the live data; the next one clears it") {
  replica_env a_env, b_env;
  actors::partition_machines a(a_env.env, types(), partition, group);
  actors::partition_machines b(b_env.env, types(), partition, group);
  for (int i = 1; i <= 300; ++i) {
    a.apply(i, set_cmd("k" + std::to_string(i), std::string(100, 'a')));
  }
  b.apply(1, set_cmd("mine", "live"));
  {
    auto source = a.read_snapshot();
    auto sink = b.begin_restore();
    REQUIRE(sink->write(source->next_chunk(1024)));  // then the leader goes away
  }
  CHECK(b_env.get(partition, "mine") == std::optional<std::string>("live"));
  CHECK(b_env.count(partition) == 1);
  CHECK(b_env.count(storage::table_staging_partition(partition)) > 0);
  transfer(a, b, 4096);
  CHECK(b_env.count(partition) == 300);
  CHECK(b_env.count(storage::table_staging_partition(partition)) == 0);
  CHECK(b.stored_applied() == 300);
  b.erase_all();
  CHECK(b_env.count(partition) == 0);
}

TEST_CASE("partition machines: each machine has its own data; one batch is one transaction") {
  replica_env e;
  runtime::node_metrics metrics;
  actors::partition_machines machines(e.env, types(), partition, group);
  machines.set_metrics(&metrics);
  std::vector<raft::entry> entries(5);
  const std::string commands[] = {set_cmd("n", "text"), add_cmd(5), add_cmd(-2),
                                  cluster::encode_machine_command("nope", "x"), delete_cmd("n")};
  std::vector<const raft::entry*> batch;
  for (size_t i = 0; i < entries.size(); ++i) {
    entries[i].index = i + 1;
    entries[i].data = commands[i];
    batch.push_back(&entries[i]);
  }
  auto results = machines.apply_batch(batch);
  REQUIRE(results.size() == 5);
  CHECK(results[0] == "0");
  CHECK(results[1] == "5");
  CHECK(results[2] == "3");
  CHECK(results[3].empty());  // a machine not registered here: consumed, nothing changed
  CHECK(results[4] == "1");   // "store"'s key n, not "count"'s
  CHECK(metrics.storage_batches.value() == 1);
  CHECK(metrics.storage_batched_ops.value() == 5);
  CHECK(machines.stored_applied() == 5);
  CHECK(machines.query("count", "").value == "3");
  CHECK(machines.query("store", "n").value == "<none>");
  CHECK_FALSE(machines.query("nope", "").ok);
  // Slot 1's table holds count's key; slot 0's is empty.
  CHECK(e.get(storage::machine_table(1, partition), "n") == std::optional<std::string>("3"));
  CHECK(e.count(storage::machine_table(0, partition)) == 0);
  // An entry written before envelopes existed belongs to slot 0.
  machines.apply(6, std::string("Sold\0value", 10));
  CHECK(machines.query("store", "old").value == "value");
}

TEST_CASE("partition machines: a snapshot carries every machine's data") {
  replica_env a_env, b_env;
  actors::partition_machines a(a_env.env, types(), partition, group);
  actors::partition_machines b(b_env.env, types(), partition, group);
  for (int i = 1; i <= 500; ++i) {
    a.apply(static_cast<raft::index_t>(i), i % 2 == 0 ? add_cmd(1) : set_cmd("k" + std::to_string(i), "v"));
  }
  b.apply(1, add_cmd(1000));
  transfer(a, b, 2048);
  CHECK(b.stored_applied() == 500);
  CHECK(b.query("count", "").value == "250");
  CHECK(b.query("store", "k499").value == "v");
  CHECK(b_env.count(storage::machine_table(0, partition)) == 250);
  b.erase_all();
  CHECK(b_env.count(storage::machine_table(1, partition)) == 0);
  CHECK(b.stored_applied() == 0);
}

TEST_CASE("partition machines: queries from any thread only for machines that allow them") {
  replica_env e;
  auto machines = std::make_shared<actors::partition_machines>(e.env, types(), partition, group);
  machines->apply(1, set_cmd("k", "v1"));
  machines->apply(2, add_cmd(7));
  auto here = machines->query_concurrent("store", "k");
  REQUIRE(here.has_value());
  CHECK(here->ok);
  CHECK(here->value == "v1");
  CHECK_FALSE(machines->query_concurrent("count", "").has_value());  // keeps the default: no
  CHECK_FALSE(machines->query_concurrent("nope", "").has_value());

  // Published replicas are found by partition; readers racing with applies see whole values.
  actors::local_replicas local;
  local.publish(partition, machines);
  std::vector<std::string> seen;
  std::thread reader([&] {
    for (int i = 0; i < 2'000; ++i) {
      auto replicas = local.current();
      auto found = replicas->find(partition);
      if (found == replicas->end()) {
        break;
      }
      auto answer = found->second->query_concurrent("store", "k");
      REQUIRE(answer.has_value());
      seen.push_back(answer->value);
    }
  });
  for (raft::index_t i = 3; i < 503; ++i) {
    machines->apply(i, set_cmd("k", "v" + std::to_string(i)));
  }
  reader.join();
  for (const auto& value : seen) {
    CHECK(value.rfind('v', 0) == 0);
  }
  local.withdraw(partition);
  CHECK(local.current()->count(partition) == 0);
  local.publish(partition, machines);
  local.clear();
  CHECK(local.current()->empty());
}

// "list": answers the keys of its table in order, a page of `query` (decimal) keys at a time,
// joined by ',' ("" when empty): reads through list() paging.
class list_machine final : public cluster::state_machine {
 public:
  std::string apply(cluster::machine_writer& store, std::string_view command) override {
    if (!command.empty() && command[0] == 'D') {
      store.erase(command.substr(1));
    } else {
      store.put(command, "x");
    }
    return "";
  }
  std::string query(const cluster::machine_store& store, std::string_view page) override {
    const size_t limit = std::stoul(std::string{page});
    std::string out;
    std::optional<std::string> after;
    for (int pages = 0; pages < 1000; ++pages) {
      auto listed = store.list(after, limit);
      for (const auto& key : listed.keys) {
        out += (out.empty() ? "" : ",") + key;
      }
      if (!listed.next_after) {
        break;
      }
      after = listed.next_after;
    }
    return out;
  }
  bool concurrent_queries() const override { return true; }
};

// The log writer's flush of the overlay (raft_log_writer.cpp checkpoint): stage, commit, drop.
void flush_overlay(storage::environment& env, storage::table_overlay& overlay,
                   std::optional<storage::write_txn> open = std::nullopt) {
  if (!open) {
    auto begun = env.begin_write();
    REQUIRE(begun.ok());
    open.emplace(std::move(begun).value());
  }
  auto generation = overlay.stage_into(*open);
  REQUIRE(generation.ok());
  REQUIRE(open->commit().ok());
  overlay.committed(generation.value());
}

// The journal design (deferred materialisation): applies record their changes and applied
// index in the overlay only; queries see them at once, from any thread; LMDB gets them, and
// the applied index with them, when the writer flushes the overlay.
TEST_CASE("partition machines: with an overlay, applies reach LMDB only when the overlay is flushed") {
  replica_env e;
  auto list_types = std::make_shared<const actors::machine_types>(actors::machine_types{
      {"store", [](uint32_t) { return std::make_unique<store_machine>(); }, {}},
      {"list", [](uint32_t) { return std::make_unique<list_machine>(); }, {}}});
  actors::partition_machines machines(e.env, list_types, partition, group);
  auto overlay = std::make_shared<storage::table_overlay>();
  machines.set_overlay(overlay);
  machines.apply(1, set_cmd("kept", "old"));
  CHECK(e.get(storage::machine_table(0, partition), "kept") == std::nullopt);
  CHECK(machines.stored_applied() == 1);  // from the overlay
  CHECK(storage::load_partition_applied(*e.env, group).value() == 0);
  flush_overlay(*e.env, *overlay);
  CHECK(overlay->size() == 0);
  CHECK(e.get(storage::machine_table(0, partition), "kept") == std::optional<std::string>("old"));
  CHECK(storage::load_partition_applied(*e.env, group).value() == 1);

  auto begun = e.env->begin_write();
  REQUIRE(begun.ok());
  storage::write_txn open = std::move(begun).value();
  std::vector<raft::entry> entries(7);
  const std::string commands[] = {set_cmd("kept", "new"),
                                  set_cmd("fresh", "1"),
                                  cluster::encode_machine_command("list", "b"),
                                  cluster::encode_machine_command("list", "a"),
                                  cluster::encode_machine_command("list", "c"),
                                  cluster::encode_machine_command("list", "Db"),
                                  delete_cmd("fresh")};
  std::vector<const raft::entry*> batch;
  for (size_t i = 0; i < entries.size(); ++i) {
    entries[i].index = 2 + i;
    entries[i].data = commands[i];
    batch.push_back(&entries[i]);
  }
  auto results = machines.log_txn_apply(open, batch);
  REQUIRE(results.ok());
  CHECK(results.value()[0] == "1");  // "kept" existed (in LMDB)
  CHECK(results.value()[6] == "1");  // "fresh" existed (in the overlay)

  // Not flushed: LMDB alone has the old state, the queries the new one, from any thread.
  CHECK(e.get(storage::machine_table(0, partition), "kept") == std::optional<std::string>("old"));
  CHECK(machines.stored_applied() == 8);
  std::thread reader([&] {
    CHECK(machines.query_concurrent("store", "kept")->value == "new");
    CHECK(machines.query_concurrent("store", "fresh")->value == "<none>");
    CHECK(machines.query_concurrent("list", "1")->value == "a,c");
    CHECK(machines.query_concurrent("list", "5")->value == "a,c");
  });
  reader.join();

  // The flush inside the writer's open transaction: the answers stay the same, LMDB catches up.
  flush_overlay(*e.env, *overlay, std::move(open));
  CHECK(overlay->size() == 0);
  CHECK(machines.query("store", "kept").value == "new");
  CHECK(machines.query("list", "2").value == "a,c");
  CHECK(e.get(storage::machine_table(0, partition), "kept") == std::optional<std::string>("new"));
  CHECK(e.get(storage::machine_table(0, partition), "fresh") == std::nullopt);
  CHECK(storage::load_partition_applied(*e.env, group).value() == 8);
  CHECK(machines.stored_applied() == 8);
}

// A snapshot installed (or the replica removed) while the overlay holds older changes of the
// partition: they never reach LMDB over the new data; other partitions' changes still do.
TEST_CASE("partition machines: a replacement discards the overlay's older changes of its partition") {
  replica_env leader_env, follower_env;
  actors::partition_machines leader(leader_env.env, types(), partition, group);
  for (int i = 1; i <= 20; ++i) {
    leader.apply(i, set_cmd("k" + std::to_string(i), "leader"));
  }
  auto overlay = std::make_shared<storage::table_overlay>();
  actors::partition_machines follower(follower_env.env, types(), partition, group);
  actors::partition_machines neighbour(follower_env.env, types(), partition + 1, group + 1);
  follower.set_overlay(overlay);
  neighbour.set_overlay(overlay);
  follower.apply(1, set_cmd("k1", "stale"));
  follower.apply(2, set_cmd("gone", "stale"));
  neighbour.apply(1, set_cmd("other", "kept"));

  auto source = leader.read_snapshot();
  auto sink = follower.begin_restore();
  while (!source->done()) {
    REQUIRE(sink->write(source->next_chunk(16 << 10)));
  }
  sink.reset();
  REQUIRE(follower.install_restored(source->applied()));
  CHECK(follower.stored_applied() == 20);
  CHECK(follower.query("store", "k1").value == "leader");
  CHECK(follower.query("store", "gone").value == "<none>");
  CHECK(neighbour.query("store", "other").value == "kept");
  CHECK(overlay->pending_applied(group) == std::nullopt);
  CHECK(overlay->pending_applied(group + 1) == std::optional<uint64_t>(1));

  follower.apply(21, set_cmd("k21", "after"));
  flush_overlay(*follower_env.env, *overlay);
  CHECK(follower_env.get(partition, "k1") == std::optional<std::string>("leader"));
  CHECK(follower_env.get(partition, "gone") == std::nullopt);
  CHECK(follower_env.get(partition, "k21") == std::optional<std::string>("after"));
  CHECK(follower_env.get(partition + 1, "other") == std::optional<std::string>("kept"));
  CHECK(storage::load_partition_applied(*follower_env.env, group).value() == 21);

  // Removal: erase_all leaves nothing of the partition for a later flush to bring back.
  follower.apply(22, set_cmd("k22", "late"));
  follower.erase_all();
  flush_overlay(*follower_env.env, *overlay);
  CHECK(follower_env.count(partition) == 0);
  CHECK(follower.stored_applied() == 0);
  CHECK(follower_env.get(partition + 1, "other") == std::optional<std::string>("kept"));
}
