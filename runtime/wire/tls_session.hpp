#pragma once

// TLS for the node-to-node port, as bytes in and bytes out (OpenSSL over memory BIOs): the
// connection broker feeds what the socket read and writes what the session hands back, so TLS
// runs wherever the bytes are, with no socket of its own. Mutual: both sides present a
// certificate and verify the other's chains to the cluster's CA (SSL_VERIFY_PEER |
// SSL_VERIFY_FAIL_IF_NO_PEER_CERT), TLS 1.2 at least. The frames (frame.hpp) and the token
// handshake (handshake.hpp) run inside. No CAF, no I/O.

#include <memory>
#include <string>
#include <string_view>

struct ssl_ctx_st;
struct ssl_st;

namespace ck::wire {

/// A node's TLS identity and trust, loaded once from PEM files and shared by its sessions.
class tls_context {
 public:
  /// The context, or null and `error` naming the file and OpenSSL's reason.
  static std::shared_ptr<tls_context> load(const std::string& ca, const std::string& cert,
                                           const std::string& key, std::string& error);
  ~tls_context();
  tls_context(const tls_context&) = delete;
  tls_context& operator=(const tls_context&) = delete;

  ssl_ctx_st* native() const { return ctx_; }

 private:
  explicit tls_context(ssl_ctx_st* ctx) : ctx_(ctx) {}
  ssl_ctx_st* ctx_;
};

class tls_session {
 public:
  /// `server`: the side that accepted the connection.
  tls_session(std::shared_ptr<tls_context> context, bool server);
  ~tls_session();
  tls_session(const tls_session&) = delete;
  tls_session& operator=(const tls_session&) = delete;

  /// The client's first flight (ClientHello) into `out`; nothing for a server.
  bool start(std::string& out);

  /// Takes bytes read from the socket: appends what they decrypt to `plain` and what must be
  /// sent back (handshake messages, alerts) to `out`. false when the session failed or the
  /// peer closed it (why()); the connection must then close after sending `out`.
  bool on_ciphertext(const char* data, size_t size, std::string& plain, std::string& out);

  /// Encrypts `plain` into `out` (held back until the handshake completes). false on failure.
  bool write(std::string_view plain, std::string& out);

  bool established() const { return established_; }
  const std::string& why() const { return why_; }

 private:
  bool fail(const char* what, int ret);
  bool drive(std::string& plain, std::string& out);
  bool flush_pending(std::string& out);
  void drain(std::string& out);

  std::shared_ptr<tls_context> context_;
  ssl_st* ssl_ = nullptr;
  bool established_ = false;
  std::string pending_;  // plaintext written before the handshake completed
  std::string why_;
};

}  // namespace ck::wire
