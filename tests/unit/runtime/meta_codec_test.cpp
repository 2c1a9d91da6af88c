// The meta group's byte formats: commands and snapshots round-trip, equal states encode to
// equal bytes, and hostile bytes (random, truncated, tampered) are refused with an error,
// never a crash. Randomized cases print their seed.

#include "runtime/cluster/meta_state.hpp"

#include "meta_test_support.hpp"

#include <doctest/doctest.h>

#include <random>

using namespace ck::cluster;
using ck::cluster::test::make_bootstrap;
using ck::cluster::test::make_cluster;
using ck::cluster::test::make_join;
using ck::cluster::test::make_node;

namespace {

std::vector<command> sample_commands() {
  set_placement_command placement{5, {"node-2", "node-1"}};
  return {make_bootstrap(),
          make_join("node-2", -5),  // times are opaque numbers, negative ones included
          set_status_command{"node-2", node_status::leaving, INT64_MAX},
          remove_node_command{"node-3"},
          placement,
          set_placement_command{0, {}}};
}

// A few commands whose outcomes vary: joins, status changes, a replace, placements.
std::vector<command> history() {
  std::vector<command> commands{make_bootstrap()};
  for (int i = 2; i <= 6; ++i) {
    commands.push_back(make_join("node-" + std::to_string(i), 100 * i));
  }
  commands.push_back(set_status_command{"node-3", node_status::dead, 900});
  commands.push_back(join_command{make_node("node-3", 5000), 1000});
  commands.push_back(set_placement_command{2, {"node-4", "node-3", "node-1"}});
  commands.push_back(remove_node_command{"node-6"});
  commands.push_back(make_join("node-7", 1200));
  return commands;
}

}  // namespace

TEST_CASE("every command survives an encode and decode round trip") {
  for (const auto& cmd : sample_commands()) {
    const std::string bytes = encode_command(cmd);
    command decoded;
    std::string error;
    REQUIRE_MESSAGE(decode_command(bytes, decoded, error), error);
    CHECK(decoded.index() == cmd.index());
    CHECK(encode_command(decoded) == bytes);
  }
}

TEST_CASE("a decoded join carries every field") {
  auto join = make_join("node-2", 77);
  join.node.services["zeta"] = "z:1";
  command decoded;
  std::string error;
  REQUIRE(decode_command(encode_command(join), decoded, error));
  const auto& back = std::get<join_command>(decoded);
  CHECK(back.node.id == "node-2");
  CHECK(back.node.raft_addr == join.node.raft_addr);
  CHECK(back.node.kv_addr == join.node.kv_addr);
  CHECK(back.node.services == join.node.services);
  CHECK(back.at_unix_ms == 77);
}

TEST_CASE("every truncation of an encoded command is refused") {
  for (const auto& cmd : sample_commands()) {
    const std::string bytes = encode_command(cmd);
    for (size_t size = 0; size < bytes.size(); ++size) {
      command out = remove_node_command{"untouched"};
      std::string error;
      CHECK_FALSE(decode_command(std::string_view(bytes).substr(0, size), out, error));
      CHECK_FALSE(error.empty());
      CHECK(std::get<remove_node_command>(out).id == "untouched");
    }
  }
}

TEST_CASE("trailing bytes, unknown versions, tags and statuses are refused") {
  std::string error;
  command out;
  std::string bytes = encode_command(remove_node_command{"node-1"});
  CHECK_FALSE(decode_command(bytes + "x", out, error));
  CHECK(error.find("trailing") != std::string::npos);
  bytes[0] = 2;
  CHECK_FALSE(decode_command(bytes, out, error));
  bytes[0] = 1;
  bytes[1] = 9;
  CHECK_FALSE(decode_command(bytes, out, error));
  std::string status = encode_command(set_status_command{"n", node_status::dead, 1});
  status[2 + 4 + 1] = 4;  // version | tag | len | "n" | status
  CHECK_FALSE(decode_command(status, out, error));
}

TEST_CASE("a forged length or count is refused without allocating it") {
  std::string bytes;
  bytes += '\x01';
  bytes += '\x05';                              // set_placement
  bytes += std::string("\0\0\0\1", 4);          // index
  bytes += std::string("\xff\xff\xff\xff", 4);  // count
  command out;
  std::string error;
  CHECK_FALSE(decode_command(bytes, out, error));
  std::string remove("\x01\x04\x7f\xff\xff\xff", 6);  // remove_node with a 2 GiB id
  CHECK_FALSE(decode_command(remove, out, error));
}

TEST_CASE("random bytes never crash the decoders") {
  const uint64_t seed = std::random_device{}();
  MESSAGE("seed=" << seed);
  std::mt19937_64 random(seed);
  const auto valid = encode_command(make_join("node-2"));
  for (int round = 0; round < 20000; ++round) {
    std::string bytes;
    if (round % 2 == 0) {  // pure noise
      bytes.resize(random() % 64);
      for (auto& b : bytes) {
        b = static_cast<char>(random());
      }
    } else {  // a valid encoding with a few bytes flipped: gets past the first checks
      bytes = valid;
      for (int flips = 0; flips < 3; ++flips) {
        bytes[random() % bytes.size()] = static_cast<char>(random());
      }
    }
    command cmd;
    meta_state state;
    std::string error;
    if (decode_command(bytes, cmd, error)) {
      CHECK(encode_command(cmd) == bytes);  // canonical: what decodes re-encodes the same
    } else {
      CHECK_FALSE(error.empty());
    }
    if (decode_snapshot(bytes, state, error)) {
      CHECK(encode_snapshot(state) == bytes);
    }
  }
}

TEST_CASE("a snapshot round-trips to an equal state") {
  meta_state state;
  for (const auto& cmd : history()) {
    ck::cluster::apply(state, cmd);
  }
  const std::string bytes = encode_snapshot(state);
  meta_state back;
  std::string error;
  REQUIRE_MESSAGE(decode_snapshot(bytes, back, error), error);
  CHECK(back == state);
  CHECK(encode_snapshot(back) == bytes);
  meta_state empty;
  REQUIRE(decode_snapshot(encode_snapshot(meta_state{}), empty, error));
  CHECK(empty == meta_state{});
}

TEST_CASE("two states fed the same commands encode to identical bytes") {
  meta_state a;
  meta_state b;
  for (const auto& cmd : history()) {
    const auto result_a = ck::cluster::apply(a, cmd);
    // The second replica applies the command after a trip through its encoding, as a
    // follower does from the log.
    command decoded;
    std::string error;
    REQUIRE(decode_command(encode_command(cmd), decoded, error));
    const auto result_b = ck::cluster::apply(b, decoded);
    CHECK(result_a.outcome == result_b.outcome);
    CHECK(result_a.raft_id == result_b.raft_id);
    CHECK(encode_snapshot(a) == encode_snapshot(b));
    CHECK(find_invariant_violation(a).empty());
  }
  CHECK(a.nodes.size() == 6);
  CHECK(a.version == b.version);
}

TEST_CASE("snapshot truncations and states that break invariants are refused") {
  const meta_state state = make_cluster(3);
  const std::string bytes = encode_snapshot(state);
  for (size_t size = 0; size < bytes.size(); ++size) {
    meta_state out;
    std::string error;
    CHECK_FALSE(decode_snapshot(std::string_view(bytes).substr(0, size), out, error));
  }
  meta_state broken = state;
  broken.next_raft_id = 1;  // below the raft ids in use
  meta_state out;
  std::string error;
  CHECK_FALSE(decode_snapshot(encode_snapshot(broken), out, error));
  CHECK(error.find("raft id") != std::string::npos);
  CHECK(out == meta_state{});
}
