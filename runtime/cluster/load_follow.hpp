#pragma once

// Leadership follows the workload (pure: the partition host counts and carries the transfer
// out). A request for a partition enters the cluster at some node (its origin: the node whose
// KV port or context the caller used) and runs on the partition's leader; when the origin is
// another node, the request crosses the network twice more (relay there, answer back), which
// under load costs more CPU than the Raft round itself (session 19: all load through node-1
// took 182 us of node CPU per write with leaders spread, 124 us with node-1 leading). So a
// leader counts its requests' origins, and when one other voter's node sends most of them it
// hands leadership there (CockroachDB's load-based lease placement does the same for
// leaseholders). Spread load names no node, and the placement's preferred leader stays.
//
// The verdict changes at the end of a window with enough requests to judge. A window with too
// few keeps the previous verdict of this leadership (an intermittent client does not move
// leaders back and forth), up to quiet_windows_max of them in a row: then the load is gone and
// the verdict is "none" (the placement's balance comes back). Until its first window ends a new
// leader has no verdict ("unknown"): it holds leadership rather than handing it back at once to
// the placement's preferred leader before it has seen where requests come from.

#include "runtime/raft/types.hpp"

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace ck::cluster {

struct load_follow_options {
  bool enabled = true;
  int64_t window_ms = 1'000;
  uint64_t min_requests = 32;      // a window with fewer keeps the previous verdict
  uint32_t dominant_percent = 75;  // the origin's share of the window's requests
  uint32_t quiet_windows_max = 10;  // windows in a row with too few requests that end a verdict
};

/// What a leader's counts say about where its partition's leadership belongs.
struct load_verdict {
  enum class kind : uint8_t {
    unknown,   // no window ended yet in this leadership: do not balance
    none,      // no dominant origin: the placement's preferred leader
    follow,    // `node` sends most requests
  };
  kind what = kind::unknown;
  std::string node;  // for follow
};

/// The origins of one replica's requests while it leads.
class request_origins {
 public:
  /// One request that entered the cluster at node `origin` (hot path: a short scan).
  void record(std::string_view origin);

  /// At a leader's tick (time `now_ms`): closes the window once it is window_ms old and
  /// returns the verdict so far. The first call of a leadership opens its first window.
  const load_verdict& verdict(int64_t now_ms, const load_follow_options& options);

  /// The verdict as the last call of verdict() left it.
  const load_verdict& last() const { return verdict_; }

  /// Leadership began or ended: forget counts and verdict.
  void reset();

 private:
  void close_window(const load_follow_options& options);

  std::vector<std::pair<std::string, uint64_t>> counts_;  // few origins: a vector beats a map
  uint64_t total_ = 0;
  int64_t window_start_ms_ = -1;  // -1: no window open
  uint32_t quiet_windows_ = 0;    // windows in a row with too few requests
  load_verdict verdict_;
};

/// Whom a leader's balancing hands leadership to: the followed node (`followed`: its raft id,
/// no_node when the verdict's node is not a member) when it is a voter of `conf`, else the
/// placement's preferred leader; no_node while the verdict is unknown (hold). The result may be
/// the leader itself (stay): cluster::leader_balance_transfer then does nothing.
raft::node_id balance_target(const load_verdict& verdict, raft::node_id followed,
                             raft::node_id placement_preferred, const raft::conf_state& conf);

}  // namespace ck::cluster
