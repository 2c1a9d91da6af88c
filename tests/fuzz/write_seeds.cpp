// write_seeds DIR: writes a starting corpus for each fuzz target into DIR/<target>/, made with
// the project's own encoders from the samples its unit tests use (a join body and reply, meta
// commands and a snapshot, Raft batches and snapshot chunks, stored Raft records and KV
// entries), so the fuzzers start from inputs that get past the first checks.

#include "actors/raft_wire.hpp"
#include "http/api/join_json.hpp"
#include "runtime/cluster/machine_command.hpp"
#include "runtime/cluster/meta_state.hpp"
#include "runtime/wire/handshake.hpp"
#include "storage/format.hpp"

#include <caf/binary_serializer.hpp>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

namespace {

namespace fs = std::filesystem;
using namespace ck;

void write(const fs::path& dir, const std::string& name, const std::string& bytes) {
  fs::create_directories(dir);
  std::ofstream{dir / name, std::ios::binary} << bytes;
}

template <class T>
std::string caf_bytes(T value) {
  std::vector<char> out;
  caf::binary_serializer sink{static_cast<caf::execution_unit*>(nullptr), out};
  if (sink(value)) {
    std::fprintf(stderr, "write_seeds: cannot serialize a sample\n");
    std::exit(1);
  }
  return {out.begin(), out.end()};
}

cluster::node_record sample_node(const std::string& id, raft::node_id raft_id) {
  cluster::node_record n;
  n.id = id;
  n.name = "node " + id;
  n.raft_addr = "10.0.0.1:9001";
  n.http_addr = "10.0.0.1:8080";
  n.kv_addr = "10.0.0.1:9080";
  n.services = {{"kv", "10.0.0.1:9080"}};
  n.raft_id = raft_id;
  return n;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: %s DIR\n", argv[0]);
    return 2;
  }
  const fs::path root = argv[1];

  actors::join_request req;
  req.id = "node-2";
  req.name = "second node";
  req.raft_addr = "10.0.0.2:7000";
  req.http_addr = "10.0.0.2:8080";
  req.kv_addr = "10.0.0.2:9090";
  req.services = {{"kv", "10.0.0.2:9090"}};
  write(root / "fuzz_join_json", "body", http::api::join_body(req));
  actors::join_reply reply;
  reply.outcome = "joined";
  reply.raft_id = 2;
  reply.cluster_id = "c-1f2e";
  reply.cluster_name = "prod";
  reply.partition_count = 64;
  reply.replication_factor = 3;
  reply.members = {{"node-1", 1, "10.0.0.1:7000"}, {"node-2", 2, "10.0.0.2:7000"}};
  write(root / "fuzz_join_json", "reply", http::api::join_reply_json("node-2", reply).dump());

  cluster::bootstrap_command boot{"c-1", "prod", 4, 3, sample_node("node-1", 0), 1000};
  write(root / "fuzz_meta_command", "bootstrap", cluster::encode_command(boot));
  write(root / "fuzz_meta_command", "join",
        cluster::encode_command(cluster::join_command{sample_node("node-2", 0), 2000}));
  write(root / "fuzz_meta_command", "status",
        cluster::encode_command(
            cluster::set_status_command{"node-2", cluster::node_status::suspect, 3000}));
  write(root / "fuzz_meta_command", "placement",
        cluster::encode_command(cluster::set_placement_command{1, {"node-1", "node-2"}}));
  cluster::meta_state state;
  state.cluster_id = "c-1";
  state.cluster_name = "prod";
  state.partition_count = 2;
  state.replication_factor = 1;
  state.nodes["node-1"] = sample_node("node-1", 1);
  state.next_raft_id = 2;
  state.placement = {{0, {"node-1"}}, {1, {"node-1"}}};
  state.version = 5;
  write(root / "fuzz_meta_command", "snapshot", cluster::encode_snapshot(state));

  raft::entry e;
  e.term = 3;
  e.index = 7;
  e.data = "payload";
  raft::message m;
  m.group = 5;
  m.from = 1;
  m.to = 2;
  m.term = 3;
  m.index = 6;
  m.commit = 4;
  m.entries = {e, e};
  m.context = "ctx";
  actors::raft_batch batch;
  batch.from_node = "node-1";
  batch.messages = {m, m};
  write(root / "fuzz_raft_wire", "batch", caf_bytes(batch));
  actors::snapshot_chunk chunk;
  chunk.group = 5;
  chunk.from = 1;
  chunk.to = 2;
  chunk.session = 9;
  chunk.meta.index = 100;
  chunk.meta.term = 3;
  chunk.meta.conf.voters = {1, 2, 3};
  chunk.data = "chunk-data";
  write(root / "fuzz_raft_wire", "chunk", caf_bytes(chunk));

  // Storage records: the first byte of the input splits key and value (see the target).
  const std::string log_key = storage::raft_log_key(5, e.index);
  const std::string log_value = storage::raft_entry_header(5, e) + e.data;
  write(root / "fuzz_storage_records", "log",
        std::string(1, static_cast<char>(log_key.size())) + log_key + log_value);
  const std::string hard = storage::raft_hard_state_encode(7, raft::hard_state{3, 2, 1});
  write(root / "fuzz_storage_records", "hard", std::string(1, '\0') + hard);
  write(root / "fuzz_storage_records", "machine",
        std::string(1, '\0') + cluster::encode_log_command(1, "counter", "add 1"));

  // The node-to-node port: the first byte is the read size (see the target); then a hello,
  // and an acceptor's challenge to it, as a stranger could replay them.
  wire::nonce n{};
  n.fill(1);
  auto dialer = wire::handshake::dialer({"node-2", "cluster", "secret", ""}, "", n);
  auto acceptor = wire::handshake::acceptor({"node-1", "cluster", "secret", ""}, n);
  const std::string hello = dialer.opening();
  wire::frame_reader reader(wire::handshake_body_bytes_max);
  reader.feed(hello.data(), hello.size());
  wire::frame f;
  std::string challenge;
  if (reader.next(f) == wire::frame_reader::status::frame) {
    acceptor.on_frame(f, challenge);
  }
  write(root / "fuzz_wire", "hello", std::string(1, '\x10') + hello);
  write(root / "fuzz_wire", "challenge", std::string(1, '\x03') + challenge);
  return 0;
}
