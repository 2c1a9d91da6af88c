#pragma once

// The node assembly: turns a validated node_config into a running node (storage, actor
// system, actors, HTTP servers), serves until a stop signal, and shuts down in order.

#include "config/node_config.hpp"

namespace ck::node {
class extensions;
}

namespace ck::runtime {

/// Exit codes of the node binary.
enum class exit_code : int {
  ok = 0,
  start_failed = 1,  // storage or a listening port could not be opened
  bad_config = 2,    // a setting is invalid or contradicts the DATA_DIR
};

/// Runs the node until SIGTERM or SIGINT arrives. Requires: the caller blocked SIGTERM and
/// SIGINT in every thread (main does so before anything starts), so this thread can wait for
/// them with sigwait. Prints one line on stderr naming the cause when the node cannot start.
/// `ext`: the state machines, routes and start hooks the node runs with (ck::node::run).
exit_code run_node(const config::node_config& config, const node::extensions& ext);

}  // namespace ck::runtime
