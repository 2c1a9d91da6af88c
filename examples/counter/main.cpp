// counter-node: a ClusterKit node that serves replicated counters (and the built-in KV store).
// Run three of them exactly like the stock clusterkit binary (same settings,
// docs/configuration.md).

#include "counter_machine.hpp"
#include "counter_routes.hpp"

#include <runtime/kv/kv_module.hpp>
#include <runtime/node/extensions.hpp>

int main(int argc, char** argv) {
  ck::node::extensions ext;
  ck::kv::add_kv_module(ext);  // optional: keeps /kv/* (and the cluster tests' habits) working
  ext.register_state_machine(std::string{counter::machine_name}, [](uint32_t /*partition*/) {
    return std::make_unique<counter::counter_machine>();
  });
  counter::add_routes(ext);
  return ck::node::run(argc, argv, ext);
}
