#pragma once

// clusterkit-ctl's output: aligned tables for people, JSON for scripts (-o json), one-line
// errors on stderr, and the exit codes scripts rely on (docs/cli.md).

#include "http/client/kv_client.hpp"

#include <cstddef>
#include <string>
#include <vector>

namespace ck::ctl {

/// Exit codes (documented in docs/cli.md; stable).
enum exit_code : int {
  exit_ok = 0,
  exit_failed = 1,       // a server error or an unreadable answer
  exit_usage = 2,        // bad command line
  exit_not_found = 3,    // no such key / node
  exit_unavailable = 4,  // no node reachable, no leader: nothing happened, retry later
  exit_unknown = 5,      // a write that may or may not have been applied
  exit_refused = 6,      // the request was refused (bad argument, token, conflict, disk full)
};

enum class format { table, json };

/// Prints "clusterkit-ctl: <what>: <message> (<code>)" on stderr; returns the exit code of
/// the error's kind.
int report(const std::string& what, const client::error& e);
/// Prints "clusterkit-ctl: <message>" on stderr; returns `code`.
int fail(const std::string& message, int code);

/// Columns padded to their widest cell, two spaces apart, header first.
std::string render_table(const std::vector<std::string>& header,
                         const std::vector<std::vector<std::string>>& rows);

/// Progress of a long wait: a redrawn bar on a terminal, a line per change otherwise.
class progress {
 public:
  explicit progress(std::string label);
  void update(size_t done, size_t total);
  void finish();

 private:
  std::string label_;
  bool tty_;
  size_t last_done_ = SIZE_MAX;
  size_t last_total_ = SIZE_MAX;
};

}  // namespace ck::ctl
