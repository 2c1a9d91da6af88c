#pragma once

// The one registry of every message type and atom the actors exchange. Every node calls
// `register_types(cfg)` before its actor system starts, so all nodes announce the same types
// under the same names (CAF 0.17 silently drops messages of unannounced types).

#include "actors/errc.hpp"
#include "actors/messages.hpp"

#include <caf/atom.hpp>
#include <caf/type_id.hpp>

CAF_BEGIN_TYPE_ID_BLOCK(clusterkit, caf::first_custom_type_id)
  CAF_ADD_TYPE_ID(clusterkit, (ck::actors::kv_set_request))
  CAF_ADD_TYPE_ID(clusterkit, (ck::actors::kv_delete_request))
  CAF_ADD_TYPE_ID(clusterkit, (ck::actors::kv_get_request))
  CAF_ADD_TYPE_ID(clusterkit, (ck::actors::kv_write_reply))
  CAF_ADD_TYPE_ID(clusterkit, (ck::actors::kv_get_reply))
  CAF_ADD_TYPE_ID(clusterkit, (ck::actors::kv_list_request))
  CAF_ADD_TYPE_ID(clusterkit, (ck::actors::kv_list_reply))
  CAF_ADD_TYPE_ID(clusterkit, (ck::actors::kv_stats_reply))
  CAF_ADD_TYPE_ID(clusterkit, (ck::actors::node_view))
  CAF_ADD_TYPE_ID(clusterkit, (ck::actors::partition_view))
  CAF_ADD_TYPE_ID(clusterkit, (ck::actors::cluster_view))

  CAF_ADD_ATOM(clusterkit, ck::atoms, kv_set_atom, "kv_set")
  CAF_ADD_ATOM(clusterkit, ck::atoms, kv_del_atom, "kv_del")
  CAF_ADD_ATOM(clusterkit, ck::atoms, kv_get_atom, "kv_get")
  CAF_ADD_ATOM(clusterkit, ck::atoms, kv_list_atom, "kv_list")
  CAF_ADD_ATOM(clusterkit, ck::atoms, kv_stats_atom, "kv_stats")
  CAF_ADD_ATOM(clusterkit, ck::atoms, flush_atom, "flush")
  CAF_ADD_ATOM(clusterkit, ck::atoms, view_atom, "view")
CAF_END_TYPE_ID_BLOCK(clusterkit)

namespace caf {
class actor_system_config;
}

namespace ck::actors {

/// Announces every message type and the "ck" error category.
void register_types(caf::actor_system_config& cfg);

}  // namespace ck::actors
