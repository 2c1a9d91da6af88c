#include "runtime/node/token_check.hpp"

#include "storage/identity.hpp"

#include <openssl/evp.h>

#include <array>

namespace ck::node {

std::string token_fingerprint(std::string_view token) {
  if (token.empty()) {
    return "";
  }
  std::array<unsigned char, EVP_MAX_MD_SIZE> digest{};
  unsigned int size = 0;
  // Domain-separated, so the stored value is not the bare hash of a secret used elsewhere.
  const std::string input = "clusterkit-token:" + std::string(token);
  if (EVP_Digest(input.data(), input.size(), digest.data(), &size, EVP_sha256(), nullptr) != 1) {
    return "";  // unreachable with OpenSSL's built-in SHA-256; check_token refuses "" for a token
  }
  static constexpr char hex[] = "0123456789abcdef";
  std::string out;
  for (unsigned int i = 0; i < size; ++i) {
    out.push_back(hex[digest[i] >> 4]);
    out.push_back(hex[digest[i] & 0xf]);
  }
  return out;
}

token_decision decide_token(const std::optional<std::string>& stored,
                            const std::string& configured, bool rotate,
                            const std::string& data_dir) {
  token_decision d;
  if (!stored) {
    d.store = true;  // a new DATA_DIR, or one from before the fingerprint was kept
    return d;
  }
  if (*stored == configured) {
    return d;
  }
  if (rotate) {
    d.store = true;
    return d;
  }
  const std::string how = " (to change the cluster's token, restart every node with the new "
                          "one and AUTH_ROTATE_TOKEN=true)";
  if (configured.empty()) {
    d.error_line = "CLUSTERKIT_TOKEN is not set, but this node's cluster (DATA_DIR " + data_dir +
                   ") uses a token: start it with the cluster's token" + how;
  } else if (stored->empty()) {
    d.error_line = "CLUSTERKIT_TOKEN is set, but this node's cluster (DATA_DIR " + data_dir +
                   ") runs without a token: give every node the same token, or none" + how;
  } else {
    d.error_line = "CLUSTERKIT_TOKEN differs from the token of this node's cluster (DATA_DIR " +
                   data_dir + "): give every node the same token" + how;
  }
  return d;
}

std::string check_token(storage::environment& env, const config::node_config& cfg) {
  const std::string configured = token_fingerprint(cfg.token);
  if (!cfg.token.empty() && configured.empty()) {
    return "cannot compute the token's SHA-256 (OpenSSL)";
  }
  auto stored = storage::load_token_fingerprint(env);
  if (!stored.ok()) {
    return "cannot read the token fingerprint in " + cfg.storage.dir + ": " +
           stored.status().to_string();
  }
  const token_decision d = decide_token(stored.value(), configured, cfg.rotate_token,
                                        cfg.storage.dir);
  if (!d.error_line.empty()) {
    return d.error_line;
  }
  if (d.store) {
    auto saved = storage::save_token_fingerprint(env, configured);
    if (!saved.ok()) {
      return "cannot record the token fingerprint in " + cfg.storage.dir + ": " +
             saved.to_string();
    }
  }
  return "";
}

}  // namespace ck::node
