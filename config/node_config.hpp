#pragma once

// The settings of one ClusterKit node and the loader that fills them, once, at start.
//
// Every setting has three names that are derived from one table (config/detail/settings.cpp):
// an environment variable, a YAML key `section.name`, and the flags `--section.name` and
// `--section-name` (dots and underscores dashed). help_text() prints that table. Sources, lowest
// precedence first: the defaults below, the YAML file (--config FILE or CONFIG), the environment,
// the command line. Nothing here includes CAF: the node assembly turns this into CAF settings.

#include "runtime/base/host_port.hpp"

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace ck::config {

// A listen or dial address and its parser (runtime/base/host_port.hpp): ":8080", "node4:9001",
// "10.0.0.1:80", "[::1]:8080".
using runtime::host_port;
using runtime::parse_host_port;

// Caps on what one client may make this node hold or wait for. Each is > 0; validate() also
// requires body_bytes_max >= value_bytes_max + key_bytes_max so that every legal key and value
// fits in one request body.
struct limits_config {
  uint32_t key_bytes_max = 1024;         // longest key a write may carry
  uint32_t value_bytes_max = 1 << 20;    // longest value a write may carry
  uint32_t body_bytes_max = 2 << 20;     // largest request body read; more is refused unread
  uint32_t header_bytes_max = 16 << 10;  // largest request header block read
  uint32_t idle_timeout_ms = 60000;      // an idle keep-alive connection is closed after this
  uint32_t connections_max = 1024;       // client connections open at once; more are refused
  uint32_t per_client_max = 256;         // of those, from one client address
  uint32_t read_timeout_ms = 15000;      // a request's header and body must arrive in this
  uint32_t request_timeout_ms = 5000;    // a request not answered by then gets 504
  uint32_t pipeline_depth_max = 64;      // pipelined requests read ahead per connection
};

struct storage_config {
  std::string dir;                           // load() defaults it to "./data/<node_id>"
  uint64_t map_size_bytes = 256ull << 20;    // initial LMDB map size; >= 1 MiB
  uint64_t map_size_max_bytes = 1ull << 40;  // the map never grows past this; >= map_size_bytes
  bool sync = true;  // fsync each commit; false may lose acknowledged writes on power loss
  // Write-ahead journal in front of LMDB (docs/performance.md, "a journal in front of LMDB"):
  // a batch is durable once appended and synced to DATA_DIR/journal; LMDB commits every 50 ms.
  // Needs sync (ignored without it). A journal left by an earlier run is replayed either way.
  bool journal = true;
};

// How this node judges its peers and sizes the meta group. Times are milliseconds of silence
// (no message received from the peer). validate() requires
// 100 <= suspect_after_ms < dead_after_ms and 1 <= meta_voters_max <= 7.
struct membership_config {
  // Silence before a peer is suspect. Lower notices a failure sooner but also flags peers that
  // are only slow (a loaded network, a long pause).
  uint32_t suspect_after_ms = 3000;
  // Silence before a peer is dead. Lower gives up on a failed peer sooner, at the price of
  // declaring dead a peer that was only briefly cut off.
  uint32_t dead_after_ms = 30000;
  // Voters of the meta group; further members are learners. More voters survive more failures
  // but make every meta commit wait for a larger quorum.
  uint32_t meta_voters_max = 5;
};

// Raft timing: time in the Raft core is counted in ticks of tick_ms (STYLE rule 1).
// validate() requires 10 <= tick_ms <= 10000, heartbeat_ticks >= 1 and
// election_ticks > heartbeat_ticks (else a follower campaigns before a heartbeat can arrive).
struct raft_timing_config {
  uint32_t tick_ms = 100;        // one logical tick; lower reacts faster and costs more CPU
  uint32_t heartbeat_ticks = 1;  // ticks between a leader's heartbeats
  uint32_t election_ticks = 10;  // ticks without a leader before a follower campaigns
  // Log compaction of partition groups: a snapshot is recorded every snapshot_entries applied
  // entries or snapshot_bytes of their data, whichever comes first (0: no such bound), and the
  // log keeps snapshot_keep_entries below it, at most about snapshot_keep_bytes (0: no bound),
  // so a follower a little behind still gets entries instead of a streamed snapshot. The byte
  // bounds matter for large values: by count alone, 10,000 entries of 64 KiB are 640 MiB of
  // log per partition, which a joining replica would replay entry by entry. 2 MiB since session
  // 26 (8 before): a partition of a few MB was never compacted, so a new replica was sent its
  // log (three times the receiver's work of a streamed snapshot); 256-MB joins went from
  // 17-18 to 22-35 MB/s, the foreground GET p99 during them from 0.8-1.7 s to 0.25-0.33 s. A
  // snapshot record is metadata only (the data is the KV table), so taking them more often
  // costs a small write.
  uint32_t snapshot_entries = 10'000;
  uint32_t snapshot_bytes = 2u << 20;
  uint32_t snapshot_keep_entries = 1'000;
  uint32_t snapshot_keep_bytes = 1u << 20;
};

// PEM files for mutual TLS on the node-to-node (Raft) port. Either all three are set or none.
struct tls_config {
  std::string ca;    // the CA every node's certificate must chain to
  std::string cert;  // this node's certificate (chain), signed by the CA
  std::string key;   // its private key (unencrypted PEM)
  bool enabled() const { return !ca.empty() || !cert.empty() || !key.empty(); }
};

struct node_config {
  std::string node_id;            // required, [A-Za-z0-9._-]{1,64}
  std::string node_name;          // load() defaults it to node_id; <= 128 bytes
  host_port http_addr{"", 8080};  // cluster API
  host_port kv_addr{"", 9080};    // KV API
  host_port raft_addr{"", 9001};  // CAF network layer; others dial it
  // Host other nodes and clients use for this node's HTTP/KV ports. load() defaults it to the
  // host of raft_addr if that is neither empty nor a wildcard (0.0.0.0, ::), else gethostname().
  // An IPv6 literal is stored without brackets, as in host_port.
  std::string advertise_host;
  bool bootstrap = false;             // create a new cluster; excludes join_addrs
  std::vector<host_port> join_addrs;  // HTTP addresses of members to join through
  uint32_t partitions = 64;           // 1..4096, fixed when the cluster is created
  uint32_t replication_factor = 3;    // 1..7
  // A partition's leadership moves to the voter whose node most of its requests enter
  // through (runtime/cluster/load_follow.hpp); false: leaders stay where the placement puts them.
  bool leader_follows_load = true;
  membership_config membership;
  raft_timing_config raft_timing;
  storage_config storage;
  std::string token;               // when non-empty, mutating endpoints need it
  std::string previous_token;      // while the token changes: the Raft port accepts it too
  bool protect_reads = false;      // with a token, reads need it too (not /health, /ready)
  bool rotate_token = false;       // take `token` although DATA_DIR stored another one
  tls_config tls;                  // node-to-node mutual TLS: all three paths or none
  std::string log_level = "info";  // trace|debug|info|warn|error|off
  uint32_t threads = 0;            // scheduler threads, 0..1024; 0 = hardware threads
  limits_config limits;
  std::string config_file;  // the YAML file it was loaded from, empty if none
};

// The scheduler thread count to use: threads, or the hardware's when threads is 0 (at least 1).
uint32_t effective_threads(const node_config& c);

enum class load_status { ok, help_printed, invalid };

struct load_result {
  load_status status = load_status::invalid;
  node_config config;   // meaningful only when status == ok
  std::string message;  // help_printed: help_text(); invalid: the ONE error line (no newline)
};

// Loads defaults < YAML file (--config path or CONFIG env) < environment < command line, fills
// the derived defaults (name, advertise_host, storage.dir), then validates.
// `getenv` is injected so tests need not touch the process environment; an empty function means
// no environment. An empty environment variable counts as unset.
// Returns ok with the config; help_printed when argv holds -h or --help; invalid with one line
// naming the setting (env var and YAML key), the quoted bad value, what is expected and, when
// known, where the value came from. Never throws: yaml-cpp and CLI11 exceptions are caught where
// they enter our code, and anything else (std::bad_alloc) becomes `invalid` at the top.
// Thread safety: pure apart from `getenv` and gethostname(); callable from any thread.
load_result load(int argc, const char* const* argv,
                 const std::function<const char*(const char*)>& getenv);

// "" if `c` is a valid final configuration, else one line naming the setting and the bad value:
//   invalid setting NODE_ID (node.id): "bad id!" must match [A-Za-z0-9._-]{1,64}
// Checks the config as load() returns it, so name, advertise_host and storage.dir must be set.
std::string validate(const node_config& c);

// Everything `clusterkit --help` prints: usage, precedence, and a table of every setting with its
// flag, environment variable, default and meaning. Lines are at most 100 columns.
std::string help_text();

}  // namespace ck::config
