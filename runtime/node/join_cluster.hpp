#pragma once

// A new node (no identity in its DATA_DIR, JOIN_ADDR set) asks a member to let it in before
// its actors serve: POST /join to each JOIN_ADDR in turn until one answers 200. The member
// (or the meta leader it forwards to) commits the node to the meta group and answers the
// node's meta raft id and the members; the node then stores its identity. Runs on the main
// thread, not on an actor; a stop signal ends the wait.

#include "actors/messages.hpp"
#include "config/node_config.hpp"
#include "runtime/node/assembly.hpp"

#include <string>

namespace ck::runtime {

struct join_outcome {
  bool ok = false;
  bool stopped = false;  // a stop signal arrived while waiting
  actors::join_reply reply;
  exit_code code = exit_code::ok;
  std::string error_line;  // when neither ok nor stopped
};

/// Tries every JOIN_ADDR, round after round with a growing pause (0.25 s .. 2 s), logging one
/// line per failed round ("join: waiting to join ..."), until a member answers 200, a member
/// answers 400 (the request itself is wrong: retrying cannot help; error_line says why), or
/// SIGTERM/SIGINT arrives (blocked by main; taken here with sigtimedwait).
/// `self` describes this node as the members will reach it.
join_outcome join_cluster(const config::node_config& cfg, const actors::join_request& self);

}  // namespace ck::runtime
