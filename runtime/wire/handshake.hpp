#pragma once

// The authentication of a node-to-node connection, before any other frame is accepted.
// Both sides prove that they hold the cluster's secret (derived from the cluster token),
// each over the other's fresh nonce, without sending it: a recorded handshake cannot be
// replayed, and a connection that does not complete one is closed without a byte of it
// reaching the rest of the node.
//
//   dialer   -> hello      u8 version | u16 n | name | u16 c | cluster_id | nonce_d (32)
//                          | u8 k (1..2) | k key ids (8 each)
//   acceptor -> challenge  u8 version | u16 n | name | nonce_a (32) | key id (8) | mac_a (32)
//   dialer   -> proof      mac_d (32)
//
//   key   = SHA-256("ck-wire-1 key" | token), for the token and the previous token if any
//   id    = SHA-256("ck-wire-1 key id" | key)[0..8)
//   the acceptor picks the first of its keys (token, then previous token) whose id the dialer
//   listed, and both MACs use it: while a token changes, nodes holding (new, old) and nodes
//   holding (old) still talk.
//   mac_a = HMAC-SHA256(key, "ck-wire-1 accept" | nonce_d | nonce_a | u16 n | dialer | u16 n | acceptor)
//   mac_d = HMAC-SHA256(key, "ck-wire-1 dial"   | nonce_a | nonce_d | u16 n | dialer | u16 n | acceptor)
//
// The dialer learns the acceptor is a member (and the one it meant to reach) before it sends
// anything else; the acceptor learns the dialer's name, which every later frame of the
// connection is then attributed to (a batch naming another sender is dropped). Without a
// token every node derives the same key from "": the handshake still bounds what a stranger
// can send, but authenticates nothing (docs/security.md). Pure: no I/O.

#include "runtime/wire/frame.hpp"

#include <array>
#include <cstdint>
#include <string>
#include <vector>

namespace ck::wire {

inline constexpr uint8_t wire_version = 1;
inline constexpr size_t nonce_bytes = 32;
using nonce = std::array<uint8_t, nonce_bytes>;

/// A nonce from OpenSSL's CSPRNG.
nonce random_nonce();

struct handshake_options {
  std::string self_name;
  std::string cluster_id;  // "" while this node has not joined yet
  std::string token;       // the cluster token ("" for none)
  std::string previous_token;  // also accepted while the token changes ("" for none)
};

class handshake {
 public:
  enum class state { waiting, done, failed };

  /// The side that connected; `expected_peer` is the node it meant to reach ("" for any).
  static handshake dialer(handshake_options options, std::string expected_peer, nonce mine);
  /// The side that accepted the connection.
  static handshake acceptor(handshake_options options, nonce mine);

  /// The frame the dialer sends first (hello); "" for the acceptor.
  std::string opening() const;

  /// Takes the next frame of the connection and appends the frames to send to `out`. Any
  /// frame out of order, malformed, of another version, of another cluster, naming another
  /// node than expected, or with a wrong proof fails the handshake for good (why()).
  state on_frame(const frame& f, std::string& out);

  state current() const { return state_; }
  /// The authenticated peer's name (once done).
  const std::string& peer() const { return peer_; }
  /// The peer's cluster id as it stated it ("" when it has none yet).
  const std::string& peer_cluster() const { return peer_cluster_; }
  const std::string& why() const { return why_; }

 private:
  handshake(bool dialer, handshake_options options, std::string expected_peer, nonce mine);
  state fail(std::string why);
  state on_hello(const std::string& body, std::string& out);
  state on_challenge(const std::string& body, std::string& out);
  state on_proof(const std::string& body);

  bool dialer_;
  struct key {
    std::array<uint8_t, 8> id;
    std::array<uint8_t, 32> secret;
  };
  /// The index in keys_ of the key with `id`, or -1.
  int find_key(const std::array<uint8_t, 8>& id) const;
  const key& chosen() const { return keys_[static_cast<size_t>(chosen_)]; }

  handshake_options options_;
  std::string expected_peer_;
  std::vector<key> keys_;  // the token's, then the previous token's
  int chosen_ = -1;        // the index of the key both sides use
  nonce mine_;
  nonce theirs_{};
  state state_ = state::waiting;
  bool sent_challenge_ = false;  // acceptor: waiting for the proof
  std::string peer_;
  std::string peer_cluster_;
  std::string why_;
};

}  // namespace ck::wire
