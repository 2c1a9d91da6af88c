#pragma once

// Startup check of the node-to-node TLS files (TLS_CA, TLS_CERT, TLS_KEY).
//
// Runs before the node opens its storage, so a node with unusable files refuses to start in
// one line naming the file and why (including a certificate that does not chain to the CA or
// has expired, which loading alone does not show). The transport then loads the same files
// into its TLS context (runtime/wire/tls_session.hpp).

#include "config/node_config.hpp"

#include <string>

namespace ck::node {

/// "" when the CA and the certificate parse as PEM, the key is the certificate's, and the
/// certificate chains to the CA and is valid now; else one line naming the setting, the path
/// and OpenSSL's reason.
std::string check_tls_files(const config::tls_config& tls);

}  // namespace ck::node
