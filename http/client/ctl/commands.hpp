#pragma once

// clusterkit-ctl's commands, each run against a kv_client; each returns the process's exit
// code (output.hpp) after printing its answer (stdout) or one error line (stderr).

#include "http/client/ctl/output.hpp"
#include "http/client/kv_client.hpp"

#include <chrono>
#include <string>

namespace ck::ctl {

struct wait_options {
  bool wait = false;
  std::chrono::seconds timeout{600};
};

int get(client::kv_client& kv, format f, const std::string& key, bool stale);
int put(client::kv_client& kv, format f, const std::string& key, const std::string& value);
int del(client::kv_client& kv, format f, const std::string& key);
int list(client::kv_client& kv, format f, const client::list_options& options);
int cluster_status(client::kv_client& kv, format f);
int members(client::kv_client& kv, format f);
int leave(client::kv_client& kv, format f, const std::string& node, const wait_options& w);
int rebalance(client::kv_client& kv, format f, const wait_options& w);
int partition(client::kv_client& kv, format f, const std::string& key);
/// Prints changes as they happen until `count` were printed (0: until interrupted).
int watch(client::kv_client& kv, format f, const client::watch_options& options, size_t count);

}  // namespace ck::ctl
