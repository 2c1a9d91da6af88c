#pragma once

// Process-wide counters and latency histograms of one node. Updated from any thread (actors,
// the I/O thread) with relaxed atomics and read by the metrics endpoints; no locks, no
// allocation on the update path.

#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace ck::runtime {

class counter {
 public:
  void add(uint64_t n = 1) noexcept { value_.fetch_add(n, std::memory_order_relaxed); }
  uint64_t value() const noexcept { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<uint64_t> value_{0};
};

/// A latency histogram with logarithmic buckets (4 per power of two) from 1 us to ~70 min.
/// Percentiles are reported as the upper bound of the bucket that holds them, so they are
/// at most 19% above the true value.
class latency_histogram {
 public:
  static constexpr size_t bucket_count = 128;

  struct summary {
    uint64_t count = 0;
    double sum_ms = 0;
    double p50_ms = 0;
    double p90_ms = 0;
    double p99_ms = 0;
    double max_ms = 0;
  };

  void record(std::chrono::nanoseconds latency) noexcept;
  summary summarize() const noexcept;

  /// Upper bound of bucket `index` in microseconds.
  static double bucket_upper_us(size_t index) noexcept;
  uint64_t bucket_value(size_t index) const noexcept {
    return buckets_[index].load(std::memory_order_relaxed);
  }

 private:
  std::array<std::atomic<uint64_t>, bucket_count> buckets_{};
  std::atomic<uint64_t> count_{0};
  std::atomic<uint64_t> sum_us_{0};
  std::atomic<uint64_t> max_us_{0};
};

/// The figures one module of the node reports: /metrics shows them as the JSON object `name`,
/// /metrics/prometheus with the names given at registration. Defined before the node serves
/// (ck::node::extensions::add_metrics); values are updated from any thread.
class metrics_section {
 public:
  template <class Value>
  struct entry {
    std::string json_name;        // key inside the section's JSON object
    std::string prometheus_name;  // full metric name, e.g. clusterkit_kv_sets_total
    std::string help;
    std::unique_ptr<Value> value;
  };
  struct gauge {
    std::string json_name;
    std::string prometheus_name;
    std::string help;
    std::function<double()> read;  // called by the metrics endpoints (any thread)
  };

  explicit metrics_section(std::string name) : name_(std::move(name)) {}
  metrics_section(const metrics_section&) = delete;
  metrics_section& operator=(const metrics_section&) = delete;

  const std::string& name() const { return name_; }
  /// Adds a counter; the reference stays valid as long as the section.
  counter& add_counter(std::string json_name, std::string prometheus_name, std::string help);
  /// Adds a latency histogram (JSON: count and percentiles; Prometheus: a histogram).
  latency_histogram& add_latency(std::string json_name, std::string prometheus_name,
                                 std::string help);
  /// Adds a gauge whose value `read` computes when the metrics are rendered.
  void add_gauge(std::string json_name, std::string prometheus_name, std::string help,
                 std::function<double()> read);

  const std::vector<entry<counter>>& counters() const { return counters_; }
  const std::vector<entry<latency_histogram>>& latencies() const { return latencies_; }
  const std::vector<gauge>& gauges() const { return gauges_; }

 private:
  std::string name_;
  std::vector<entry<counter>> counters_;
  std::vector<entry<latency_histogram>> latencies_;
  std::vector<gauge> gauges_;
};

/// Every figure a node reports. Fields are named for what they count; the HTTP layer renders
/// them as JSON (/metrics) and Prometheus text (/metrics/prometheus).
struct node_metrics {
  std::chrono::steady_clock::time_point started = std::chrono::steady_clock::now();

  counter http_requests;         // every request answered, both APIs
  counter http_errors_client;    // answered 4xx
  counter http_errors_server;    // answered 5xx
  latency_histogram http_latency;

  // Raft, summed over every group replica of this node (the meta group and the partitions).
  counter raft_proposals;        // commands and conf changes a leader here accepted into its log
  counter raft_commits;          // committed entries applied here (every replica, not only leaders)
  counter raft_elections_won;    // times a replica here became leader
  counter raft_snapshots_sent;   // streamed snapshot transfers completed from a leader here
  counter raft_snapshots_installed;  // streamed snapshots swapped in here

  counter storage_batches;       // apply batches of the partitions' state machines
  counter storage_batched_ops;   // commands inside them (ops / batches = apply batching factor)
  counter storage_table_flushes;         // journal mode: overlay flushes into LMDB
  counter storage_table_flushed_changes; // the keys they wrote (each key once per flush)

  /// The modules' own figures (the KV module's "kv" section, extensions' sections), added
  /// before the node serves and never removed: readers need no lock.
  std::vector<std::unique_ptr<metrics_section>> sections;

  /// Adds a section. Requires: called before the node serves; `name` not added yet.
  metrics_section& add_section(std::string name);

  double uptime_seconds() const noexcept;
};

}  // namespace ck::runtime
