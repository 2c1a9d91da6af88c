#include "runtime/wire/handshake.hpp"

#include "runtime/base/big_endian.hpp"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

#include <algorithm>
#include <cstring>
#include <stdexcept>
#include <string_view>
#include <utility>

namespace ck::wire {

namespace {

using mac = std::array<uint8_t, 32>;

constexpr std::string_view key_label = "ck-wire-1 key";
constexpr std::string_view key_id_label = "ck-wire-1 key id";
constexpr std::string_view accept_label = "ck-wire-1 accept";
constexpr std::string_view dial_label = "ck-wire-1 dial";
constexpr size_t name_bytes_max = 255;

mac sha256(std::string_view label, const void* data, size_t size) {
  std::string input{label};
  input.append(static_cast<const char*>(data), size);
  mac out{};
  unsigned int length = 0;
  if (EVP_Digest(input.data(), input.size(), out.data(), &length, EVP_sha256(), nullptr) != 1) {
    throw std::runtime_error("wire handshake: SHA-256 failed (OpenSSL)");
  }
  return out;
}

void append_name(std::string& out, const std::string& name) {
  runtime::append_u16_be(out, static_cast<uint16_t>(name.size()));
  out += name;
}

void append_nonce(std::string& out, const nonce& n) {
  out.append(reinterpret_cast<const char*>(n.data()), n.size());
}

mac compute_mac(const mac& key, std::string_view label, const nonce& first, const nonce& second,
                const std::string& dialer, const std::string& acceptor) {
  std::string input{label};
  append_nonce(input, first);
  append_nonce(input, second);
  append_name(input, dialer);
  append_name(input, acceptor);
  mac out{};
  unsigned int size = 0;
  if (HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
           reinterpret_cast<const unsigned char*>(input.data()), input.size(), out.data(),
           &size) == nullptr) {
    throw std::runtime_error("wire handshake: HMAC-SHA256 failed (OpenSSL)");
  }
  return out;
}

// Reads the parts of a handshake body in order; any read past the end fails it for good.
class body_reader {
 public:
  explicit body_reader(const std::string& body) : body_(body) {}

  bool u8(uint8_t& out) {
    if (!take(1)) {
      return false;
    }
    out = static_cast<uint8_t>(body_[pos_ - 1]);
    return true;
  }
  bool name(std::string& out) {
    if (!take(2)) {
      return false;
    }
    const size_t n = runtime::get_u16_be(body_.data() + pos_ - 2);
    if (n > name_bytes_max || !take(n)) {
      return false;
    }
    out.assign(body_, pos_ - n, n);
    return true;
  }
  template <size_t N>
  bool bytes(std::array<uint8_t, N>& out) {
    if (!take(N)) {
      return false;
    }
    std::memcpy(out.data(), body_.data() + pos_ - N, N);
    return true;
  }
  bool at_end() const { return pos_ == body_.size(); }

 private:
  bool take(size_t n) {
    if (body_.size() - pos_ < n) {
      return false;
    }
    pos_ += n;
    return true;
  }
  const std::string& body_;
  size_t pos_ = 0;
};

bool same_mac(const mac& a, const mac& b) { return CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0; }

}  // namespace

int handshake::find_key(const std::array<uint8_t, 8>& id) const {
  for (size_t i = 0; i < keys_.size(); ++i) {
    if (keys_[i].id == id) {
      return static_cast<int>(i);
    }
  }
  return -1;
}

nonce random_nonce() {
  nonce n{};
  if (RAND_bytes(n.data(), static_cast<int>(n.size())) != 1) {
    throw std::runtime_error("wire handshake: no random bytes (OpenSSL RAND_bytes)");
  }
  return n;
}

handshake::handshake(bool dialer, handshake_options options, std::string expected_peer,
                     nonce mine)
    : dialer_(dialer),
      options_(std::move(options)),
      expected_peer_(std::move(expected_peer)),
      mine_(mine) {
  for (const std::string* token : {&options_.token, &options_.previous_token}) {
    if (token == &options_.previous_token && token->empty()) {
      break;  // no previous token ("" as the token itself means: no token)
    }
    key k{};
    k.secret = sha256(key_label, token->data(), token->size());
    const mac id = sha256(key_id_label, k.secret.data(), k.secret.size());
    std::copy(id.begin(), id.begin() + 8, k.id.begin());
    keys_.push_back(k);
  }
  if (options_.self_name.empty() || options_.self_name.size() > name_bytes_max ||
      options_.cluster_id.size() > name_bytes_max) {
    fail("this node's name or cluster id cannot be sent (1-255 bytes)");
  }
}

handshake handshake::dialer(handshake_options options, std::string expected_peer, nonce mine) {
  return handshake(true, std::move(options), std::move(expected_peer), mine);
}

handshake handshake::acceptor(handshake_options options, nonce mine) {
  return handshake(false, std::move(options), "", mine);
}

std::string handshake::opening() const {
  if (!dialer_ || state_ != state::waiting) {
    return "";
  }
  std::string body;
  body.push_back(static_cast<char>(wire_version));
  append_name(body, options_.self_name);
  append_name(body, options_.cluster_id);
  append_nonce(body, mine_);
  body.push_back(static_cast<char>(keys_.size()));
  for (const key& k : keys_) {
    body.append(reinterpret_cast<const char*>(k.id.data()), k.id.size());
  }
  std::string out;
  append_frame(out, frame_type::hello, body);
  return out;
}

handshake::state handshake::fail(std::string why) {
  if (state_ != state::failed) {
    state_ = state::failed;
    why_ = std::move(why);
  }
  return state_;
}

handshake::state handshake::on_frame(const frame& f, std::string& out) {
  if (state_ != state::waiting) {
    return state_ == state::done ? fail("a handshake frame after the handshake") : state_;
  }
  if (dialer_ && f.type == frame_type::challenge) {
    return on_challenge(f.body, out);
  }
  if (!dialer_ && f.type == frame_type::hello && !sent_challenge_) {
    return on_hello(f.body, out);
  }
  if (!dialer_ && f.type == frame_type::proof && sent_challenge_) {
    return on_proof(f.body);
  }
  return fail("unexpected frame type " + std::to_string(static_cast<int>(f.type)) +
              " in the handshake");
}

handshake::state handshake::on_hello(const std::string& body, std::string& out) {
  body_reader in(body);
  uint8_t version = 0;
  if (!in.u8(version)) {
    return fail("an empty hello");
  }
  if (version != wire_version) {
    return fail("wire version " + std::to_string(version) + " (this node speaks " +
                std::to_string(wire_version) + ")");
  }
  uint8_t key_count = 0;
  if (!in.name(peer_) || !in.name(peer_cluster_) || !in.bytes(theirs_) || !in.u8(key_count) ||
      key_count < 1 || key_count > 2 || peer_.empty()) {
    return fail("a malformed hello");
  }
  std::array<std::array<uint8_t, 8>, 2> offered{};
  for (uint8_t i = 0; i < key_count; ++i) {
    if (!in.bytes(offered[i])) {
      return fail("a malformed hello");
    }
  }
  if (!in.at_end()) {
    return fail("a malformed hello");
  }
  // Ours in order of preference: the token, then the previous token.
  for (size_t k = 0; k < keys_.size() && chosen_ < 0; ++k) {
    for (uint8_t i = 0; i < key_count; ++i) {
      if (offered[i] == keys_[k].id) {
        chosen_ = static_cast<int>(k);
        break;
      }
    }
  }
  if (chosen_ < 0) {
    return fail(peer_ + " holds none of this node's tokens");
  }
  if (!options_.cluster_id.empty() && !peer_cluster_.empty() &&
      peer_cluster_ != options_.cluster_id) {
    return fail(peer_ + " is a node of cluster " + peer_cluster_ + ", this node is in " +
                options_.cluster_id);
  }
  std::string reply;
  reply.push_back(static_cast<char>(wire_version));
  append_name(reply, options_.self_name);
  append_nonce(reply, mine_);
  reply.append(reinterpret_cast<const char*>(chosen().id.data()), chosen().id.size());
  const mac proof =
      compute_mac(chosen().secret, accept_label, theirs_, mine_, peer_, options_.self_name);
  reply.append(reinterpret_cast<const char*>(proof.data()), proof.size());
  append_frame(out, frame_type::challenge, reply);
  sent_challenge_ = true;
  return state_;
}

handshake::state handshake::on_challenge(const std::string& body, std::string& out) {
  body_reader in(body);
  uint8_t version = 0;
  mac their_proof{};
  std::array<uint8_t, 8> id{};
  if (!in.u8(version)) {
    return fail("an empty challenge");
  }
  if (version != wire_version) {
    return fail("wire version " + std::to_string(version) + " (this node speaks " +
                std::to_string(wire_version) + ")");
  }
  if (!in.name(peer_) || !in.bytes(theirs_) || !in.bytes(id) || !in.bytes(their_proof) ||
      !in.at_end()) {
    return fail("a malformed challenge");
  }
  if (!expected_peer_.empty() && peer_ != expected_peer_) {
    return fail("reached " + peer_ + " instead of " + expected_peer_);
  }
  chosen_ = find_key(id);
  if (chosen_ < 0) {
    return fail(peer_ + " chose a token this node does not hold");
  }
  const mac expected =
      compute_mac(chosen().secret, accept_label, mine_, theirs_, options_.self_name, peer_);
  if (!same_mac(their_proof, expected)) {
    return fail(peer_ + " does not hold this cluster's token");
  }
  const mac proof =
      compute_mac(chosen().secret, dial_label, theirs_, mine_, options_.self_name, peer_);
  append_frame(out, frame_type::proof,
               std::string_view(reinterpret_cast<const char*>(proof.data()), proof.size()));
  state_ = state::done;
  return state_;
}

handshake::state handshake::on_proof(const std::string& body) {
  mac their_proof{};
  body_reader in(body);
  if (!in.bytes(their_proof) || !in.at_end()) {
    return fail("a malformed proof");
  }
  const mac expected =
      compute_mac(chosen().secret, dial_label, mine_, theirs_, peer_, options_.self_name);
  if (!same_mac(their_proof, expected)) {
    return fail(peer_ + " does not hold this cluster's token");
  }
  state_ = state::done;
  return state_;
}

}  // namespace ck::wire
