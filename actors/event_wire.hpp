#pragma once

// The cluster event (runtime/cluster/events.hpp) as a CAF message: its `inspect`, in the type's
// namespace so CAF finds it. Registered in actors/type_ids.hpp.

#include "runtime/cluster/events.hpp"

#include <caf/meta/type_name.hpp>

namespace ck::cluster {

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, cluster_event& x) {
  return f(caf::meta::type_name("cluster_event"), x.seq, x.kind, x.unix_ms, x.node, x.partition,
           x.from, x.to, x.term);
}

inline std::string to_string(const cluster_event& e) {
  return std::string{to_string(e.kind)} + "#" + std::to_string(e.seq);
}

}  // namespace ck::cluster
