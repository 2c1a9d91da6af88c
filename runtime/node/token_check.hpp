#pragma once

// The HTTP token (security.token) is a cluster setting, not a per-node one: a join is refused
// when the joiner's token differs from the cluster's (http/api/cluster_api.cpp), and a member
// restarted with another token, or none, must not serve the cluster either (it would accept
// unauthenticated writes into it). So the DATA_DIR keeps a fingerprint of the token its node
// joined or founded the cluster with (storage: meta/"token_fingerprint"), and every start
// compares the configured token with it. Changing a cluster's token is explicit: restart
// each node with the new token and auth.rotate_token=true.

#include "config/node_config.hpp"

#include <optional>
#include <string>
#include <string_view>

namespace ck::storage {
class environment;
}

namespace ck::node {

/// The SHA-256 of `token` in 64 lower-case hex digits; "" for no token.
std::string token_fingerprint(std::string_view token);

struct token_decision {
  bool store = false;      // write the configured fingerprint to the DATA_DIR
  std::string error_line;  // non-empty: the node must not start (one line, no token in it)
};

/// The pure decision: `stored` is what the DATA_DIR holds (nullopt: nothing yet), `configured`
/// the fingerprint of the configured token. Equal: nothing to do. Nothing stored: take it.
/// Different: refused, unless `rotate`, which takes the configured one.
token_decision decide_token(const std::optional<std::string>& stored,
                            const std::string& configured, bool rotate,
                            const std::string& data_dir);

/// Loads, decides and stores (for a node whose DATA_DIR already belongs to a cluster, or that
/// just joined or founded one). "" when the node may go on; else the line to print.
std::string check_token(storage::environment& env, const config::node_config& cfg);

}  // namespace ck::node
