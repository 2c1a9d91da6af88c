#include "runtime/node/tls_files.hpp"

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>

#include <cstdio>
#include <memory>

namespace ck::node {
namespace {

struct file_closer {
  void operator()(std::FILE* f) const { std::fclose(f); }
};
struct x509_freer {
  void operator()(X509* x) const { X509_free(x); }
};
struct key_freer {
  void operator()(EVP_PKEY* k) const { EVP_PKEY_free(k); }
};
struct store_freer {
  void operator()(X509_STORE* s) const { X509_STORE_free(s); }
};
struct store_ctx_freer {
  void operator()(X509_STORE_CTX* c) const { X509_STORE_CTX_free(c); }
};
using x509_ptr = std::unique_ptr<X509, x509_freer>;

// OpenSSL's queued reasons, oldest first, cleared.
std::string openssl_reason() {
  std::string out;
  while (unsigned long code = ERR_get_error()) {
    char buf[256];
    ERR_error_string_n(code, buf, sizeof(buf));
    out += out.empty() ? "" : "; ";
    out += buf;
  }
  return out.empty() ? "not PEM" : out;
}

std::string bad(const char* setting, const std::string& path, const std::string& why) {
  return "cannot use " + std::string{setting} + " " + path + ": " + why;
}

std::unique_ptr<std::FILE, file_closer> open_file(const std::string& path) {
  return std::unique_ptr<std::FILE, file_closer>{std::fopen(path.c_str(), "r")};
}

}  // namespace

std::string check_tls_files(const config::tls_config& tls) {
  ERR_clear_error();
  auto ca_file = open_file(tls.ca);
  if (!ca_file) {
    return bad("TLS_CA", tls.ca, "cannot open the file");
  }
  std::unique_ptr<X509_STORE, store_freer> store{X509_STORE_new()};
  if (!store || X509_STORE_load_file(store.get(), tls.ca.c_str()) != 1) {
    return bad("TLS_CA", tls.ca, "no PEM certificate in it (" + openssl_reason() + ")");
  }
  auto cert_file = open_file(tls.cert);
  if (!cert_file) {
    return bad("TLS_CERT", tls.cert, "cannot open the file");
  }
  x509_ptr cert{PEM_read_X509(cert_file.get(), nullptr, nullptr, nullptr)};
  if (!cert) {
    return bad("TLS_CERT", tls.cert, "no PEM certificate in it (" + openssl_reason() + ")");
  }
  auto key_file = open_file(tls.key);
  if (!key_file) {
    return bad("TLS_KEY", tls.key, "cannot open the file");
  }
  std::unique_ptr<EVP_PKEY, key_freer> key{
      PEM_read_PrivateKey(key_file.get(), nullptr, nullptr, nullptr)};
  if (!key) {
    return bad("TLS_KEY", tls.key,
               "no unencrypted PEM private key in it (" + openssl_reason() + ")");
  }
  if (X509_check_private_key(cert.get(), key.get()) != 1) {
    ERR_clear_error();
    return bad("TLS_KEY", tls.key, "is not the key of the certificate in TLS_CERT " + tls.cert);
  }
  // Chain the certificate to the CA, with the intermediates the certificate file may hold.
  STACK_OF(X509)* chain = sk_X509_new_null();
  while (X509* extra = PEM_read_X509(cert_file.get(), nullptr, nullptr, nullptr)) {
    sk_X509_push(chain, extra);
  }
  ERR_clear_error();  // the loop ends on "no start line"
  std::unique_ptr<X509_STORE_CTX, store_ctx_freer> ctx{X509_STORE_CTX_new()};
  std::string result;
  if (!ctx || X509_STORE_CTX_init(ctx.get(), store.get(), cert.get(), chain) != 1) {
    result = bad("TLS_CERT", tls.cert, "cannot check it (" + openssl_reason() + ")");
  } else if (X509_verify_cert(ctx.get()) != 1) {
    result = bad("TLS_CERT", tls.cert,
                 std::string{"is not signed by TLS_CA "} + tls.ca + " (" +
                     X509_verify_cert_error_string(X509_STORE_CTX_get_error(ctx.get())) + ")");
  }
  sk_X509_pop_free(chain, X509_free);
  ERR_clear_error();
  return result;
}

}  // namespace ck::node
