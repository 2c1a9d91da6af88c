#pragma once

// Builders shared by the meta state, codec and membership tests.

#include "runtime/cluster/meta_state.hpp"

#include <doctest/doctest.h>

#include <string>

namespace ck::cluster::test {

inline node_record make_node(const std::string& id, int port_base = 9000) {
  node_record node;
  node.id = id;
  node.name = "name of " + id;
  node.raft_addr = id + ".lan:" + std::to_string(port_base + 1);
  node.http_addr = id + ".lan:" + std::to_string(port_base + 80);
  node.kv_addr = id + ".lan:" + std::to_string(port_base + 90);
  node.services["kv"] = node.kv_addr;
  return node;
}

inline bootstrap_command make_bootstrap(const std::string& first = "node-1") {
  bootstrap_command cmd;
  cmd.cluster_id = "ck-test";
  cmd.cluster_name = "test cluster";
  cmd.partition_count = 8;
  cmd.replication_factor = 3;
  cmd.first = make_node(first);
  cmd.at_unix_ms = 1000;
  return cmd;
}

inline join_command make_join(const std::string& id, int64_t at_unix_ms = 2000) {
  return join_command{make_node(id), at_unix_ms};
}

/// A bootstrapped state with node-1 .. node-<count>, all alive.
inline meta_state make_cluster(int count) {
  meta_state state;
  REQUIRE(ck::cluster::apply(state, make_bootstrap()).outcome == apply_outcome::ok);
  for (int i = 2; i <= count; ++i) {
    REQUIRE(ck::cluster::apply(state, make_join("node-" + std::to_string(i), 1000 + i)).outcome ==
            apply_outcome::joined);
  }
  check_invariants(state);
  return state;
}

}  // namespace ck::cluster::test
