// raft_port_probe HOST PORT [CA CERT KEY]
//
// Tries what an outsider who reaches a node's RAFT_ADDR would: open a CAF (BASP) connection to
// the actor published there, plain or over TLS with the given PEM files. Prints "connected" and
// exits 0 if it got a handle to the node's transport (from which it could send any message the
// transport accepts), else prints "refused: <reason>" and exits 1. The whole attempt is bounded
// by a 10 s alarm (exit 3). Used by test_security.py.

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/io/middleman.hpp>
#include <caf/openssl/manager.hpp>
#include <caf/openssl/remote_actor.hpp>

#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <unistd.h>

int main(int argc, char** argv) {
  if (argc != 3 && argc != 6) {
    std::fprintf(stderr, "usage: %s HOST PORT [CA CERT KEY]\n", argv[0]);
    return 2;
  }
  std::signal(SIGALRM, [](int) {
    const char line[] = "refused: no answer within 10 s\n";
    (void)!write(STDOUT_FILENO, line, sizeof(line) - 1);
    _exit(3);
  });
  alarm(10);
  const std::string host = argv[1];
  const auto port = static_cast<uint16_t>(std::atoi(argv[2]));
  const bool tls = argc == 6;
  caf::actor_system_config cfg;
  cfg.set("logger.verbosity", caf::atom("quiet"));
  cfg.load<caf::io::middleman>();
  if (tls) {
    cfg.load<caf::openssl::manager>();
    cfg.set("openssl.cafile", std::string{argv[3]});
    cfg.set("openssl.certificate", std::string{argv[4]});
    cfg.set("openssl.key", std::string{argv[5]});
  }
  caf::actor_system sys{cfg};
  auto handle = tls ? caf::openssl::remote_actor(sys, host, port)
                    : sys.middleman().remote_actor(host, port);
  if (!handle) {
    std::printf("refused: %s\n", sys.render(handle.error()).c_str());
    std::fflush(stdout);
    _exit(1);  // skip the orderly shutdown: it may wait for the failed connection
  }
  std::printf("connected\n");
  std::fflush(stdout);
  _exit(0);
}
