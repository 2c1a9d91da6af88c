// raft::config validation and the role names.

#include "runtime/raft/node.hpp"

namespace ck::raft {

std::string_view to_string(role r) {
  switch (r) {
    case role::follower:
      return "follower";
    case role::pre_candidate:
      return "pre_candidate";
    case role::candidate:
      return "candidate";
    case role::leader:
      return "leader";
  }
  return "unknown";
}

std::string config::validate() const {
  if (id == no_node) {
    return "raft config: id must not be 0 (0 means no node)";
  }
  if (heartbeat_ticks < 1) {
    return "raft config: heartbeat_ticks must be at least 1";
  }
  if (election_ticks <= heartbeat_ticks) {
    return "raft config: election_ticks must exceed heartbeat_ticks";
  }
  if (inflight_msgs_max < 1) {
    return "raft config: inflight_msgs_max must be at least 1";
  }
  if (append_bytes_max < 1) {
    return "raft config: append_bytes_max must be at least 1";
  }
  if (inflight_bytes_max != 0 && inflight_bytes_max < append_bytes_max) {
    return "raft config: inflight_bytes_max must be 0 (no limit) or at least append_bytes_max";
  }
  if (committed_bytes_max < 1) {
    return "raft config: committed_bytes_max must be at least 1";
  }
  if (pending_reads_max < 1) {
    return "raft config: pending_reads_max must be at least 1";
  }
  return "";
}

}  // namespace ck::raft
