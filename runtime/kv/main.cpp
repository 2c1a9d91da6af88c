// clusterkit: one node of a ClusterKit cluster with the built-in KV store. See README.md and
// docs/configuration.md; docs/extending.md shows how to build a node binary of your own.

#include "runtime/kv/kv_module.hpp"
#include "runtime/node/extensions.hpp"

int main(int argc, char** argv) {
  ck::node::extensions ext;
  ck::kv::add_kv_module(ext);
  return ck::node::run(argc, argv, ext);
}
