#pragma once

// JSON shapes of the cluster API, built from a cluster_view. The field names are the API
// contract (API.md); `/cluster` also carries the original ClusterKit clients' shape.

#include "actors/messages.hpp"

#include <nlohmann/json.hpp>

namespace ck::http::api {

nlohmann::json node_json(const actors::node_view& node);
nlohmann::json partition_json(const actors::cluster_view& view, const actors::partition_view& p);
nlohmann::json cluster_json(const actors::cluster_view& view);
nlohmann::json partition_stats_json(const actors::cluster_view& view);

}  // namespace ck::http::api
