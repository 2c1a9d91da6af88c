#include "http/api/metrics_json.hpp"

#include "runtime/base/metrics.hpp"

#include <fmt/format.h>

namespace ck::http::api {

using nlohmann::json;

namespace {

json latency_json(const runtime::latency_histogram& h) {
  const auto s = h.summarize();
  return {{"count", s.count}, {"p50_ms", s.p50_ms}, {"p90_ms", s.p90_ms},
          {"p99_ms", s.p99_ms}, {"max_ms", s.max_ms}};
}

}  // namespace

json metrics_json(const runtime::node_metrics& m, const std::string& node_id,
                  const actors::storage_figures& storage) {
  const auto batches = m.storage_batches.value();
  const double ops_per_batch =
      batches == 0 ? 0.0
                   : static_cast<double>(m.storage_batched_ops.value()) /
                         static_cast<double>(batches);
  json out = {
      {"node_id", node_id},
      {"uptime_seconds", m.uptime_seconds()},
      {"requests",
       {{"total", m.http_requests.value()},
        {"errors_4xx", m.http_errors_client.value()},
        {"errors_5xx", m.http_errors_server.value()},
        {"latency", latency_json(m.http_latency)}}},
      // Aliases the original ClusterKit reported (always 0 there).
      {"request_count", m.http_requests.value()},
      {"error_count", m.http_errors_client.value() + m.http_errors_server.value()},
      {"raft",
       {{"proposals", m.raft_proposals.value()},
        {"commits", m.raft_commits.value()},
        {"elections", m.raft_elections_won.value()},
        {"snapshots_sent", m.raft_snapshots_sent.value()},
        {"snapshots_installed", m.raft_snapshots_installed.value()}}},
      {"storage",
       {{"commits", storage.commits},
        {"fsyncs", storage.fsyncs},
        {"bytes_written", storage.bytes_written},
        {"used_bytes", storage.used_bytes},
        {"map_size_bytes", storage.map_size_bytes},
        {"write_batches", batches},
        {"ops_per_batch", ops_per_batch},
        {"table_flushes", m.storage_table_flushes.value()},
        {"table_flushed_changes", m.storage_table_flushed_changes.value()}}},
  };
  for (const auto& section : m.sections) {
    json figures = json::object();
    for (const auto& c : section->counters()) {
      figures[c.json_name] = c.value->value();
    }
    for (const auto& l : section->latencies()) {
      figures[l.json_name] = latency_json(*l.value);
    }
    for (const auto& g : section->gauges()) {
      figures[g.json_name] = g.read();
    }
    out[section->name()] = std::move(figures);
  }
  return out;
}

namespace {

void add_counter(std::string& out, const char* name, const char* help, const std::string& labels,
                 uint64_t value) {
  fmt::format_to(std::back_inserter(out), "# HELP {} {}\n# TYPE {} counter\n{}{{{}}} {}\n", name,
                 help, name, name, labels, value);
}

void add_gauge(std::string& out, const char* name, const char* help, const std::string& labels,
               double value) {
  fmt::format_to(std::back_inserter(out), "# HELP {} {}\n# TYPE {} gauge\n{}{{{}}} {}\n", name,
                 help, name, name, labels, value);
}

void add_histogram(std::string& out, const char* name, const char* help,
                   const std::string& labels, const runtime::latency_histogram& h) {
  fmt::format_to(std::back_inserter(out), "# HELP {} {}\n# TYPE {} histogram\n", name, help,
                 name);
  uint64_t cumulative = 0;
  // Every 4th bucket (powers of two) keeps the exposition short; +Inf closes it.
  for (size_t i = 0; i < runtime::latency_histogram::bucket_count; ++i) {
    cumulative += h.bucket_value(i);
    if (i % 4 == 0 && i <= 4 * 26) {
      fmt::format_to(std::back_inserter(out), "{}_bucket{{{},le=\"{}\"}} {}\n", name, labels,
                     runtime::latency_histogram::bucket_upper_us(i) / 1e6, cumulative);
    }
  }
  const auto s = h.summarize();
  fmt::format_to(std::back_inserter(out), "{}_bucket{{{},le=\"+Inf\"}} {}\n", name, labels,
                 cumulative);
  fmt::format_to(std::back_inserter(out), "{}_sum{{{}}} {}\n{}_count{{{}}} {}\n", name, labels,
                 s.sum_ms / 1000.0, name, labels, s.count);
}

}  // namespace

std::string metrics_prometheus_text(const runtime::node_metrics& m, const std::string& node_id,
                                    const actors::storage_figures& storage) {
  const std::string labels = fmt::format("node=\"{}\"", node_id);
  std::string out;
  add_gauge(out, "clusterkit_uptime_seconds", "Seconds since the node started.", labels,
            m.uptime_seconds());
  add_counter(out, "clusterkit_http_requests_total", "HTTP requests answered.", labels,
              m.http_requests.value());
  add_counter(out, "clusterkit_http_errors_4xx_total", "HTTP requests answered 4xx.", labels,
              m.http_errors_client.value());
  add_counter(out, "clusterkit_http_errors_5xx_total", "HTTP requests answered 5xx.", labels,
              m.http_errors_server.value());
  for (const auto& section : m.sections) {
    for (const auto& c : section->counters()) {
      add_counter(out, c.prometheus_name.c_str(), c.help.c_str(), labels, c.value->value());
    }
  }
  const struct {
    const char* name;
    const char* help;
    uint64_t value;
  } raft_counters[] = {
      {"clusterkit_raft_proposals_total",
       "Commands and conf changes accepted by a leader replica on this node.",
       m.raft_proposals.value()},
      {"clusterkit_raft_commits_total", "Committed Raft entries applied by the replicas on this node.",
       m.raft_commits.value()},
      {"clusterkit_raft_elections_total", "Times a replica on this node became leader.",
       m.raft_elections_won.value()},
      {"clusterkit_raft_snapshots_sent_total",
       "Streamed snapshots sent by leader replicas on this node.", m.raft_snapshots_sent.value()},
      {"clusterkit_raft_snapshots_installed_total",
       "Streamed snapshots installed by replicas on this node.",
       m.raft_snapshots_installed.value()},
  };
  for (const auto& c : raft_counters) {
    add_counter(out, c.name, c.help, labels, c.value);
  }
  for (const auto& section : m.sections) {
    for (const auto& g : section->gauges()) {
      add_gauge(out, g.prometheus_name.c_str(), g.help.c_str(), labels, g.read());
    }
  }
  add_counter(out, "clusterkit_storage_commits_total", "LMDB write transactions committed.",
              labels, storage.commits);
  add_counter(out, "clusterkit_storage_fsyncs_total", "Commits that were fsynced.", labels,
              storage.fsyncs);
  add_counter(out, "clusterkit_storage_bytes_written_total", "Key and value bytes written.",
              labels, storage.bytes_written);
  add_counter(out, "clusterkit_storage_table_flushes_total",
              "Flushes of the applied changes into LMDB (journal mode).", labels,
              m.storage_table_flushes.value());
  add_counter(out, "clusterkit_storage_table_flushed_changes_total",
              "Keys those flushes wrote (each key once per flush).", labels,
              m.storage_table_flushed_changes.value());
  add_gauge(out, "clusterkit_storage_used_bytes", "Bytes used in the LMDB map.", labels,
            static_cast<double>(storage.used_bytes));
  add_histogram(out, "clusterkit_http_request_duration_seconds", "HTTP request latency.", labels,
                m.http_latency);
  for (const auto& section : m.sections) {
    for (const auto& l : section->latencies()) {
      add_histogram(out, l.prometheus_name.c_str(), l.help.c_str(), labels, *l.value);
    }
  }
  return out;
}

}  // namespace ck::http::api
