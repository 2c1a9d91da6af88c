#pragma once

// The cluster API (HTTP_ADDR): health, readiness, cluster/node/partition views, consensus
// figures and metrics, per the API contract.

#include "http/api/api_context.hpp"
#include "http/router.hpp"

#include <memory>

namespace ck::http::api {

void add_cluster_routes(router& routes, std::shared_ptr<const api_context> context);

}  // namespace ck::http::api
