#pragma once

// Startup check of the node-to-node TLS files (TLS_CA, TLS_CERT, TLS_KEY).
//
// CAF's OpenSSL module loads these files only when the first connection is made, on its I/O
// thread, and raises an exception there if one is unusable: the node would die on its first
// peer connection instead of refusing to start. So the node loads them once before it starts,
// with the same OpenSSL calls, and says in one line which file is wrong and why.

#include "config/node_config.hpp"

#include <string>

namespace ck::node {

/// "" when the CA and the certificate parse as PEM, the key is the certificate's, and the
/// certificate chains to the CA and is valid now; else one line naming the setting, the path
/// and OpenSSL's reason.
std::string check_tls_files(const config::tls_config& tls);

}  // namespace ck::node
