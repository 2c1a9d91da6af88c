// clusterkit: one node of a ClusterKit cluster. See README.md and docs/configuration.md.

#include "config/node_config.hpp"
#include "runtime/log.hpp"
#include "runtime/node.hpp"

#include <csignal>
#include <cstdio>
#include <cstdlib>

int main(int argc, char** argv) {
  // Block the stop signals before any thread exists, so every thread inherits the mask and
  // the node assembly can take them synchronously with sigwait (no async handler needed).
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGTERM);
  sigaddset(&stop_signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);
  std::signal(SIGPIPE, SIG_IGN);

  auto loaded = ck::config::load(argc, argv, [](const char* name) { return std::getenv(name); });
  switch (loaded.status) {
    case ck::config::load_status::help_printed:
      std::fputs(loaded.message.c_str(), stdout);
      return 0;
    case ck::config::load_status::invalid:
      std::fprintf(stderr, "clusterkit: %s\n", loaded.message.c_str());
      return static_cast<int>(ck::runtime::exit_code::bad_config);
    case ck::config::load_status::ok:
      break;
  }
  if (!ck::log::init(loaded.config.log_level)) {
    std::fprintf(stderr, "clusterkit: invalid log level \"%s\"\n", loaded.config.log_level.c_str());
    return static_cast<int>(ck::runtime::exit_code::bad_config);
  }
  return static_cast<int>(ck::runtime::run_node(loaded.config));
}
