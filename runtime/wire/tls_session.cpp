#include "runtime/wire/tls_session.hpp"

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/ssl.h>

#include <algorithm>
#include <utility>

namespace ck::wire {

namespace {

// OpenSSL's reasons since the last call, in one line (the error queue is emptied).
std::string openssl_errors() {
  std::string out;
  while (unsigned long code = ERR_get_error()) {
    char text[256];
    ERR_error_string_n(code, text, sizeof text);
    out += out.empty() ? text : std::string{"; "} + text;
  }
  return out.empty() ? "no reason given" : out;
}

}  // namespace

std::shared_ptr<tls_context> tls_context::load(const std::string& ca, const std::string& cert,
                                               const std::string& key, std::string& error) {
  ERR_clear_error();
  SSL_CTX* ctx = SSL_CTX_new(TLS_method());
  if (ctx == nullptr) {
    error = "cannot create a TLS context: " + openssl_errors();
    return nullptr;
  }
  std::shared_ptr<tls_context> out{new tls_context(ctx)};
  SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
  SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, nullptr);
  if (SSL_CTX_set_cipher_list(ctx, "HIGH:!aNULL:!MD5") != 1) {
    error = "TLS cipher list refused: " + openssl_errors();
    return nullptr;
  }
  if (SSL_CTX_load_verify_locations(ctx, ca.c_str(), nullptr) != 1) {
    error = "TLS_CA " + ca + ": " + openssl_errors();
    return nullptr;
  }
  if (SSL_CTX_use_certificate_chain_file(ctx, cert.c_str()) != 1) {
    error = "TLS_CERT " + cert + ": " + openssl_errors();
    return nullptr;
  }
  if (SSL_CTX_use_PrivateKey_file(ctx, key.c_str(), SSL_FILETYPE_PEM) != 1 ||
      SSL_CTX_check_private_key(ctx) != 1) {
    error = "TLS_KEY " + key + ": " + openssl_errors();
    return nullptr;
  }
  return out;
}

tls_context::~tls_context() { SSL_CTX_free(ctx_); }

tls_session::tls_session(std::shared_ptr<tls_context> context, bool server)
    : context_(std::move(context)) {
  ssl_ = SSL_new(context_->native());
  if (ssl_ == nullptr) {
    why_ = "cannot create a TLS session: " + openssl_errors();
    return;
  }
  BIO* in = BIO_new(BIO_s_mem());
  BIO* out = BIO_new(BIO_s_mem());
  SSL_set_bio(ssl_, in, out);  // the session owns both
  if (server) {
    SSL_set_accept_state(ssl_);
  } else {
    SSL_set_connect_state(ssl_);
  }
}

tls_session::~tls_session() { SSL_free(ssl_); }

bool tls_session::fail(const char* what, int ret) {
  const int code = SSL_get_error(ssl_, ret);
  if (code == SSL_ERROR_ZERO_RETURN) {
    why_ = "the peer closed the TLS session";
  } else {
    why_ = std::string{what} + ": " + openssl_errors();
  }
  return false;
}

void tls_session::drain(std::string& out) {
  BIO* wbio = SSL_get_wbio(ssl_);
  char buffer[16 * 1024];
  int n = 0;
  while ((n = BIO_read(wbio, buffer, sizeof buffer)) > 0) {
    out.append(buffer, static_cast<size_t>(n));
  }
}

bool tls_session::start(std::string& out) {
  if (ssl_ == nullptr) {
    return false;
  }
  std::string plain;  // a client has none before its first flight
  return drive(plain, out);
}

// Advances the handshake, then decrypts what is buffered; appends the output.
bool tls_session::drive(std::string& plain, std::string& out) {
  ERR_clear_error();
  if (!established_) {
    const int ret = SSL_do_handshake(ssl_);
    if (ret == 1) {
      established_ = true;
    } else {
      const int code = SSL_get_error(ssl_, ret);
      drain(out);  // an alert, or the next handshake flight
      if (code == SSL_ERROR_WANT_READ || code == SSL_ERROR_WANT_WRITE) {
        return true;
      }
      return fail("TLS handshake", ret);
    }
  }
  char buffer[16 * 1024];
  for (;;) {
    const int n = SSL_read(ssl_, buffer, sizeof buffer);
    if (n > 0) {
      plain.append(buffer, static_cast<size_t>(n));
      continue;
    }
    const int code = SSL_get_error(ssl_, n);
    if (code == SSL_ERROR_WANT_READ || code == SSL_ERROR_WANT_WRITE) {
      break;
    }
    drain(out);
    return fail("TLS read", n);
  }
  if (!flush_pending(out)) {
    return false;
  }
  drain(out);
  return true;
}

bool tls_session::flush_pending(std::string& out) {
  if (pending_.empty()) {
    return true;
  }
  std::string held = std::move(pending_);
  pending_.clear();
  return write(held, out);
}

bool tls_session::on_ciphertext(const char* data, size_t size, std::string& plain,
                                std::string& out) {
  if (ssl_ == nullptr || !why_.empty()) {
    return false;
  }
  BIO* rbio = SSL_get_rbio(ssl_);
  while (size > 0) {  // a memory BIO takes everything; the loop guards int overflow
    const int chunk = static_cast<int>(std::min<size_t>(size, 1u << 30));
    const int n = BIO_write(rbio, data, chunk);
    if (n <= 0) {
      why_ = "cannot buffer TLS input";
      return false;
    }
    data += n;
    size -= static_cast<size_t>(n);
  }
  return drive(plain, out);
}

bool tls_session::write(std::string_view plain, std::string& out) {
  if (ssl_ == nullptr || !why_.empty()) {
    return false;
  }
  if (!established_) {
    pending_.append(plain);
    return true;
  }
  ERR_clear_error();
  while (!plain.empty()) {
    const int chunk = static_cast<int>(std::min<size_t>(plain.size(), 1u << 30));
    const int n = SSL_write(ssl_, plain.data(), chunk);
    if (n <= 0) {
      return fail("TLS write", n);
    }
    plain.remove_prefix(static_cast<size_t>(n));
  }
  drain(out);
  return true;
}

}  // namespace ck::wire
