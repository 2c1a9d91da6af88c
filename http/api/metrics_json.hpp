#pragma once

// Renders the node's metrics: JSON for /metrics and Prometheus text exposition format 0.0.4
// for /metrics/prometheus (Debian 12 packages no prometheus-cpp; the format is a few lines).

#include "actors/messages.hpp"

#include <nlohmann/json.hpp>

#include <string>

namespace ck::runtime {
struct node_metrics;
}

namespace ck::http::api {

nlohmann::json metrics_json(const runtime::node_metrics& m, const std::string& node_id,
                            const actors::storage_figures& storage);

std::string metrics_prometheus_text(const runtime::node_metrics& m, const std::string& node_id,
                                    const actors::storage_figures& storage);

}  // namespace ck::http::api
