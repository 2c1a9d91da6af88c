#include "actors/messages.hpp"

namespace ck::actors {

cluster::node_record node_record_of(const join_request& request) {
  cluster::node_record node;
  node.id = request.id;
  node.name = request.name;
  node.raft_addr = request.raft_addr;
  node.http_addr = request.http_addr;
  node.kv_addr = request.kv_addr;
  node.services = request.services;
  return node;
}

}  // namespace ck::actors
