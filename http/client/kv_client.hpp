#pragma once

// ClusterKit's C++ client library: the KV API and the cluster API of a ClusterKit cluster, from
// any program (no CAF, no server parts; link ClusterKit::client). docs/client.md is its guide.
//
//   ck::client::client_options options;
//   options.endpoints = {"10.0.0.1:8080", "10.0.0.2:8080"};  // cluster API addresses
//   ck::client::kv_client kv(options);
//   auto put = kv.put("user:1", "Ada");               // blocking
//   auto got = kv.get_async("user:1").get();          // or asynchronous (std::future)
//   if (!got.ok()) std::cerr << got.error().message << "\n";
//
// Routing: the client caches the topology (GET /cluster from the first endpoint that answers)
// and sends each key's request straight to the KV address of the node leading the key's
// partition (MD5 of the key, as the server computes it), so no request pays the server-side
// relay hop. Any node would answer (it relays), so an unknown leader falls back to an alive
// node. The topology is refreshed when it is older than topology_max_age and after an answer
// that says the cluster moved (503, a connection that failed).
//
// Retries follow the server's outcome-unknown rules (http/client/retry_policy.hpp): what did
// not happen is retried (503, no connection), reads are retried after any transport failure,
// and a write that may have been applied is never repeated: it ends with
// error_kind::outcome_unknown. Connections are kept alive and reused per node.
//
// Thread safety: every method may be called from any thread concurrently.

#include "http/client/topology.hpp"
#include "runtime/cluster/partition_hash.hpp"

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <future>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace ck::client {

struct client_options {
  /// Cluster API addresses (host:port) of some members; tried in turn for /cluster and the
  /// cluster API calls. At least one.
  std::vector<std::string> endpoints;
  /// The cluster token (AUTH_TOKEN of the nodes), "" for none.
  std::string token;
  /// Bounds each HTTP attempt, connect included.
  std::chrono::milliseconds request_timeout{5'000};
  /// Attempts of one request before it fails with the last error (>= 1).
  int attempts = 6;
  /// The first pause before a retry; doubled each time, at most 1 s.
  std::chrono::milliseconds backoff{50};
  /// A cached topology older than this is fetched again before the next request.
  std::chrono::milliseconds topology_max_age{30'000};
  /// Threads running the *_async calls.
  size_t async_threads = 4;
  /// true: each key's request goes to its partition leader's KV address. false: to the
  /// endpoints in turn (every node relays to the leader; one more hop, e.g. when only the
  /// cluster API addresses are reachable).
  bool route_to_leader = true;
};

enum class error_kind {
  invalid_argument,  // 400/413: the request is wrong
  unauthorized,      // 401/403: no or another token
  not_found,         // 404: no such key / node / path
  conflict,          // 409: refused by the cluster's state
  unavailable,       // 503 or no node reachable after every attempt: nothing happened
  outcome_unknown,   // a write that may or may not have been applied (504, lost answer)
  storage_full,      // 507: the leader's disk is full; nothing was written
  server,            // another status, or an answer the client cannot read
};

const char* to_string(error_kind kind);

struct error {
  error_kind kind = error_kind::server;
  int http_status = 0;  // 0 when no answer arrived
  std::string code;     // the server's "code" slug ("key_not_found", ...), or the transport's
  std::string message;  // one line
};

/// A value or an error.
template <class T>
class result {
 public:
  result(T value) : content_(std::move(value)) {}        // NOLINT: implicit by design
  result(client::error e) : content_(std::move(e)) {}     // NOLINT
  bool ok() const { return content_.index() == 0; }
  explicit operator bool() const { return ok(); }
  /// Requires: ok().
  const T& value() const { return std::get<0>(content_); }
  T& value() { return std::get<0>(content_); }
  /// Requires: !ok().
  const client::error& error() const { return std::get<1>(content_); }

 private:
  std::variant<T, client::error> content_;
};

enum class consistency {
  linearizable,  // through the partition leader's ReadIndex (the default)
  stale,         // the answering replica's local copy, possibly behind
};

struct put_result {
  uint32_t partition = 0;
};

struct delete_result {
  uint32_t partition = 0;
  bool existed = false;
};

struct list_options {
  std::string prefix;  // only keys starting with it
  size_t limit = 0;    // at most this many keys; 0: all
};

/// One change a watch delivers.
struct watch_event {
  enum class kind {
    set,
    erase,
    gap,  // events of `partition` after `index` may be missing: re-read the keys there
  };
  kind type = kind::set;
  std::string key;
  std::string value;  // set only
  uint32_t partition = 0;
  uint64_t index = 0;  // the change's Raft log index in its partition (gap: the resume point)
};

/// Positions of a watch: per partition, the index of the last change seen.
using watch_positions = cluster::partition_positions;

struct watch_options {
  std::string key;     // one key, or with prefix set: the keys starting with it
  bool prefix = false;
  /// Resume after these positions (from a previous watch's answer); empty: from now on.
  watch_positions from;
  /// Consecutive failed (re)connections before watch() gives up.
  int reconnects = 20;
  /// A stream silent for this long (the server sends a keep-alive every 15 s) is dropped and
  /// resumed elsewhere.
  std::chrono::seconds silence_max{40};
};

/// The answer of a cluster API call, for the calls this library does not wrap.
struct api_reply {
  int status = 0;
  std::string body;  // JSON
};

/// Endpoints as people write them: "host:port[,host:port...]"; an "http://" prefix and
/// trailing slashes are dropped, empty items skipped.
std::vector<std::string> parse_endpoints(std::string_view text);

/// `text` percent-encoded for a URL query value (everything but RFC 3986's unreserved
/// characters).
std::string url_encode(std::string_view text);

/// The error a cluster API answer with a non-2xx status stands for (the server's code and
/// message; kind from the status).
error api_error(const api_reply& reply);

class kv_client {
 public:
  /// Requires: options.endpoints not empty, attempts >= 1. Contacts no node yet.
  explicit kv_client(client_options options);
  ~kv_client();
  kv_client(const kv_client&) = delete;
  kv_client& operator=(const kv_client&) = delete;

  result<std::string> get(const std::string& key, consistency c = consistency::linearizable);
  result<put_result> put(const std::string& key, const std::string& value);
  result<delete_result> del(const std::string& key);
  /// Keys of every partition, read from each partition's leader (its local copy: a key
  /// written a moment ago may be missing), partition by partition in key-byte order within
  /// each; filtered by prefix, up to limit.
  result<std::vector<std::string>> list(const list_options& options);

  std::future<result<std::string>> get_async(std::string key,
                                             consistency c = consistency::linearizable);
  std::future<result<put_result>> put_async(std::string key, std::string value);
  std::future<result<delete_result>> del_async(std::string key);

  /// Streams the changes of a key or prefix (GET /kv/watch) to `on_event` until it returns
  /// false; blocks meanwhile. A broken stream (the node died, a restart) is resumed on the next
  /// endpoint after the last change seen per partition, so no change is delivered twice or
  /// lost (a `gap` event says where the cluster could not prove that). Returns the positions
  /// reached (to resume later), or the error after options.reconnects failed attempts in a
  /// row.
  result<watch_positions> watch(const watch_options& options,
                                const std::function<bool(const watch_event&)>& on_event);

  /// The topology, fetched now (refresh) or from the cache.
  result<topology> cluster(bool refresh = true);
  /// A cluster API call (e.g. "POST", "/leave?node=node-3") on the first endpoint that
  /// answers; the answer whatever its status (an error only when no endpoint answered).
  result<api_reply> call(const std::string& method, const std::string& target,
                         const std::string& body = {});

 private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

}  // namespace ck::client
