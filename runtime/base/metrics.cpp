#include "runtime/base/metrics.hpp"

#include "runtime/base/assert.hpp"

#include <cmath>

namespace ck::runtime {

namespace {

// Bucket i holds latencies up to 2^(i/4) microseconds.
size_t bucket_of(uint64_t micros) noexcept {
  if (micros <= 1) {
    return 0;
  }
  const double index = std::ceil(std::log2(static_cast<double>(micros)) * 4.0);
  const auto clamped = std::min(index, static_cast<double>(latency_histogram::bucket_count - 1));
  return static_cast<size_t>(clamped);
}

}  // namespace

double latency_histogram::bucket_upper_us(size_t index) noexcept {
  return std::exp2(static_cast<double>(index) / 4.0);
}

void latency_histogram::record(std::chrono::nanoseconds latency) noexcept {
  const auto micros = static_cast<uint64_t>(std::max<int64_t>(latency.count() / 1000, 0));
  buckets_[bucket_of(micros)].fetch_add(1, std::memory_order_relaxed);
  count_.fetch_add(1, std::memory_order_relaxed);
  sum_us_.fetch_add(micros, std::memory_order_relaxed);
  auto seen = max_us_.load(std::memory_order_relaxed);
  while (micros > seen && !max_us_.compare_exchange_weak(seen, micros)) {
  }
}

latency_histogram::summary latency_histogram::summarize() const noexcept {
  summary out;
  std::array<uint64_t, bucket_count> snapshot{};
  for (size_t i = 0; i < bucket_count; ++i) {
    snapshot[i] = buckets_[i].load(std::memory_order_relaxed);
    out.count += snapshot[i];
  }
  out.sum_ms = static_cast<double>(sum_us_.load(std::memory_order_relaxed)) / 1000.0;
  out.max_ms = static_cast<double>(max_us_.load(std::memory_order_relaxed)) / 1000.0;
  if (out.count == 0) {
    return out;
  }
  auto percentile_ms = [&](double fraction) {
    const auto rank = static_cast<uint64_t>(std::ceil(fraction * static_cast<double>(out.count)));
    uint64_t seen = 0;
    for (size_t i = 0; i < bucket_count; ++i) {
      seen += snapshot[i];
      if (seen >= rank) {
        return std::min(bucket_upper_us(i) / 1000.0, out.max_ms);
      }
    }
    return out.max_ms;
  };
  out.p50_ms = percentile_ms(0.50);
  out.p90_ms = percentile_ms(0.90);
  out.p99_ms = percentile_ms(0.99);
  return out;
}

double node_metrics::uptime_seconds() const noexcept {
  const auto elapsed = std::chrono::steady_clock::now() - started;
  return std::chrono::duration<double>(elapsed).count();
}

counter& metrics_section::add_counter(std::string json_name, std::string prometheus_name,
                                     std::string help) {
  counters_.push_back(entry<counter>{std::move(json_name), std::move(prometheus_name),
                                     std::move(help), std::make_unique<counter>()});
  return *counters_.back().value;
}

latency_histogram& metrics_section::add_latency(std::string json_name,
                                                std::string prometheus_name, std::string help) {
  latencies_.push_back(entry<latency_histogram>{std::move(json_name), std::move(prometheus_name),
                                                std::move(help),
                                                std::make_unique<latency_histogram>()});
  return *latencies_.back().value;
}

void metrics_section::add_gauge(std::string json_name, std::string prometheus_name,
                                std::string help, std::function<double()> read) {
  gauges_.push_back(
      gauge{std::move(json_name), std::move(prometheus_name), std::move(help), std::move(read)});
}

metrics_section& node_metrics::add_section(std::string name) {
  for (const auto& section : sections) {
    CK_ASSERT(section->name() != name);
  }
  sections.push_back(std::make_unique<metrics_section>(std::move(name)));
  return *sections.back();
}

}  // namespace ck::runtime
