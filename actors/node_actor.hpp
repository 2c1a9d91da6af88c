#pragma once

// What the cluster API asks the node about the cluster: one cluster_view. Served by the
// cluster member actor (actors/cluster_member.hpp), whose interface includes this one.

#include "actors/type_ids.hpp"

#include <caf/replies_to.hpp>
#include <caf/typed_actor.hpp>

namespace ck::actors {

using node_actor = caf::typed_actor<caf::replies_to<atoms::view_atom>::with<cluster_view>>;

}  // namespace ck::actors
