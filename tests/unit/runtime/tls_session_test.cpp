// TLS for the node-to-node port as bytes in and bytes out (runtime/wire/tls_session.hpp): two
// sessions pump bytes into each other as two sockets would. Certificates come from the
// project's own scripts/gen-certs.sh (openssl CLI), one CA for the cluster and one for a
// stranger.

#include "runtime/wire/tls_session.hpp"

#include <doctest/doctest.h>

#include <cstdlib>
#include <filesystem>
#include <string>

using namespace ck::wire;

namespace {

namespace fs = std::filesystem;

struct certs {
  fs::path dir;
  certs() {
    char pattern[] = "/tmp/ck-tls-test-XXXXXX";
    dir = ::mkdtemp(pattern);
    for (const char* ca : {"cluster", "stranger"}) {
      const std::string command = std::string{"bash "} + CK_GEN_CERTS + " " +
                                  (dir / ca).string() + " node-1 node-2 > /dev/null 2>&1";
      REQUIRE_MESSAGE(std::system(command.c_str()) == 0, "gen-certs.sh failed: " << command);
    }
  }
  ~certs() { fs::remove_all(dir); }

  std::shared_ptr<tls_context> context(const char* ca_dir, const char* cert_dir,
                                       const char* node) {
    std::string error;
    auto ctx = tls_context::load((dir / ca_dir / "ca.pem").string(),
                                 (dir / cert_dir / (std::string{node} + ".pem")).string(),
                                 (dir / cert_dir / (std::string{node} + ".key")).string(), error);
    REQUIRE_MESSAGE(ctx, error);
    return ctx;
  }
};

// Pumps bytes between the two sessions until neither has anything to send; returns false as
// soon as one fails. Plaintext each received is appended to *_plain.
bool pump(tls_session& client, tls_session& server, std::string& to_server,
          std::string& client_plain, std::string& server_plain) {
  std::string to_client;
  for (int round = 0; round < 20 && !(to_server.empty() && to_client.empty()); ++round) {
    std::string out;
    if (!to_server.empty()) {
      const bool ok = server.on_ciphertext(to_server.data(), to_server.size(), server_plain, out);
      to_server.clear();
      to_client += out;
      if (!ok) {
        return false;
      }
    }
    out.clear();
    if (!to_client.empty()) {
      const bool ok = client.on_ciphertext(to_client.data(), to_client.size(), client_plain, out);
      to_client.clear();
      to_server += out;
      if (!ok) {
        return false;
      }
    }
  }
  return true;
}

// The client's first flight, then both ways until done: false when either side refused.
bool handshake(tls_session& client, tls_session& server) {
  std::string to_server;
  REQUIRE(client.start(to_server));
  std::string client_plain;
  std::string server_plain;
  const bool ok = pump(client, server, to_server, client_plain, server_plain);
  CHECK(server_plain.empty());
  return ok;
}

}  // namespace

TEST_CASE("tls session: two members connect and carry bytes both ways") {
  certs c;
  tls_session client(c.context("cluster", "cluster", "node-1"), false);
  tls_session server(c.context("cluster", "cluster", "node-2"), true);
  std::string to_server;
  REQUIRE(client.start(to_server));
  CHECK_FALSE(to_server.empty());  // the ClientHello
  std::string early;
  REQUIRE(client.write("written before the handshake", early));  // held back
  CHECK(early.empty());
  std::string client_plain;
  std::string server_plain;
  REQUIRE(pump(client, server, to_server, client_plain, server_plain));
  CHECK(client.established());
  CHECK(server.established());
  CHECK(server_plain == "written before the handshake");
  std::string reply;
  REQUIRE(server.write(std::string(100000, 'r'), reply));
  std::string out;
  REQUIRE(client.on_ciphertext(reply.data(), reply.size(), client_plain, out));
  CHECK(client_plain == std::string(100000, 'r'));
}

TEST_CASE("tls session: a certificate of another CA is refused by the server") {
  certs c;
  tls_session stranger(c.context("cluster", "stranger", "node-1"), false);
  tls_session server(c.context("cluster", "cluster", "node-2"), true);
  CHECK_FALSE(handshake(stranger, server));
  CHECK_FALSE(server.why().empty());
}

TEST_CASE("tls session: a server of another CA is refused by the client") {
  certs c;
  tls_session client(c.context("cluster", "cluster", "node-1"), false);
  tls_session impostor(c.context("stranger", "stranger", "node-2"), true);
  CHECK_FALSE(handshake(client, impostor));
  CHECK(client.why().find("certificate") != std::string::npos);
}

TEST_CASE("tls session: garbage instead of a handshake fails; unusable files are named") {
  certs c;
  tls_session server(c.context("cluster", "cluster", "node-2"), true);
  const std::string basp(32, '\0');
  std::string plain;
  std::string out;
  CHECK_FALSE(server.on_ciphertext(basp.data(), basp.size(), plain, out));
  std::string error;
  CHECK_FALSE(tls_context::load("/nonexistent/ca.pem", "x", "y", error));
  CHECK(error.rfind("TLS_CA /nonexistent/ca.pem", 0) == 0);
}
