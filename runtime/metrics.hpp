#pragma once

// Process-wide counters and latency histograms of one node. Updated from any thread (actors,
// the I/O thread) with relaxed atomics and read by the metrics endpoints; no locks, no
// allocation on the update path.

#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
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

/// Every figure a node reports. Fields are named for what they count; the HTTP layer renders
/// them as JSON (/metrics) and Prometheus text (/metrics/prometheus).
struct node_metrics {
  std::chrono::steady_clock::time_point started = std::chrono::steady_clock::now();

  counter http_requests;         // every request answered, both APIs
  counter http_errors_client;    // answered 4xx
  counter http_errors_server;    // answered 5xx
  latency_histogram http_latency;

  counter kv_sets;
  counter kv_gets;
  counter kv_get_misses;
  counter kv_deletes;
  counter kv_lists;
  counter kv_failures;  // set/get/delete answered with an error
  latency_histogram kv_set_latency;
  latency_histogram kv_get_latency;

  // Raft, summed over every group replica of this node (the meta group and the partitions).
  counter raft_proposals;        // commands and conf changes a leader here accepted into its log
  counter raft_commits;          // committed entries applied here (every replica, not only leaders)
  counter raft_elections_won;    // times a replica here became leader
  counter raft_snapshots_sent;   // streamed snapshot transfers completed from a leader here
  counter raft_snapshots_installed;  // streamed snapshots swapped in here

  counter storage_batches;       // write transactions committed by the storage writer
  counter storage_batched_ops;   // operations inside them (ops / batches = group-commit factor)

  double uptime_seconds() const noexcept;
};

}  // namespace ck::runtime
