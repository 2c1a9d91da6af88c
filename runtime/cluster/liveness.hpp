#pragma once

// A failure detector for one observing node: it is told when a peer was heard from (a
// heartbeat, any message) or lost (a CAF down message), and evaluates at its own pace which
// peers changed status. Pure: time is passed in as milliseconds of a steady clock, so tests
// inject it. The observer is the meta leader's actor, which turns each status_change into a
// replicated set_status command; the detector itself decides nothing cluster-wide.
//
// Per peer:
//           heartbeat                     silent >= suspect_after_ms, or disconnected
//   alive <----------- suspect / dead      alive ------------------------------> suspect
//                                          alive/suspect -- silent >= dead_after_ms --> dead
// A disconnect is a strong hint, so it makes a peer suspect at once; only silence makes it
// dead. If evaluate runs late, a peer may go alive -> dead in one reported change.

#include "runtime/cluster/meta_state.hpp"

#include <cstddef>
#include <cstdint>
#include <limits>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace ck::cluster {

struct liveness_config {
  int64_t suspect_after_ms = 3000;  // silence before a peer is suspect (LAN: ~10 heartbeats)
  int64_t dead_after_ms = 30000;    // silence before a peer is dead (its replicas get moved)
  size_t peers_max = nodes_max;     // peers tracked; more are ignored (bounded memory)

  /// "" when usable, else a sentence naming the field: both thresholds > 0, suspect < dead,
  /// peers_max >= 1.
  std::string validate() const;
};

struct status_change {
  std::string node;
  node_status from = node_status::alive;
  node_status to = node_status::alive;
  int64_t at_ms = 0;  // the evaluate time that saw it

  friend bool operator==(const status_change& a, const status_change& b) {
    return a.node == b.node && a.from == b.from && a.to == b.to && a.at_ms == b.at_ms;
  }
};

class liveness_detector {
 public:
  /// Requires: config.validate() is "" (the node validates it at start).
  liveness_detector(std::string self, liveness_config config);

  /// Starts watching `node` as alive, heard at now_ms (a grace period for members known from
  /// the meta state that have not spoken yet). No effect on a node already watched, on self,
  /// or beyond peers_max (then returns false).
  bool track(const std::string& node, int64_t now_ms);
  /// The node was heard from at now_ms; tracks it if new. Returns false if ignored (self, or
  /// beyond peers_max).
  bool record_heartbeat(const std::string& node, int64_t now_ms);
  /// The connection to the node was lost at now_ms; tracks it if new (heard at now_ms).
  bool record_disconnect(const std::string& node, int64_t now_ms);
  /// Stops watching (the node was removed from the cluster).
  void forget(const std::string& node);

  /// Each status change since the previous call, in node id order, each reported once.
  /// Requires: now_ms not below the previous evaluate's.
  std::vector<status_change> evaluate(int64_t now_ms);

  /// The last status evaluate reported (alive for a node not evaluated yet), or nullopt for a
  /// node not watched.
  std::optional<node_status> status_of(const std::string& node) const;
  /// Milliseconds since the node was last heard, or nullopt if not watched (for the API's
  /// peers[].last_seen_ms_ago).
  std::optional<int64_t> silent_ms(const std::string& node, int64_t now_ms) const;
  size_t peer_count() const { return peers_.size(); }

 private:
  struct peer {
    int64_t heard_ms = 0;
    bool disconnected = false;    // a disconnect came after the last heartbeat
    int64_t disconnected_ms = 0;  // when (valid while disconnected)
    node_status reported = node_status::alive;
  };

  peer* find_or_track(const std::string& node, int64_t now_ms);
  node_status target_status(const peer& p, int64_t now_ms) const;

  std::string self_;
  liveness_config config_;
  std::map<std::string, peer> peers_;
  int64_t evaluated_ms_ = std::numeric_limits<int64_t>::min();
};

/// What the meta leader replicates for one member, given the status the meta state holds and
/// what its own detector says: the new status, or nullopt to leave the member alone.
///   - `leaving` is never touched here (decommissioning owns it);
///   - alive is replicated only for a member heard since this leader took over: a fresh
///     leader's detector starts every member as alive (a grace period), which is no proof
///     that a dead member came back;
///   - suspect only demotes an alive member (a dead one stays dead until heard);
///   - dead is replicated as soon as the detector says so.
std::optional<node_status> replicated_status_change(node_status replicated,
                                                    std::optional<node_status> detected,
                                                    bool heard_since_leading);

}  // namespace ck::cluster
