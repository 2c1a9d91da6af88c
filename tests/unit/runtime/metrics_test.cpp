#include "runtime/base/metrics.hpp"

#include <doctest/doctest.h>

#include <thread>
#include <vector>

using ck::runtime::counter;
using ck::runtime::latency_histogram;
using namespace std::chrono_literals;

TEST_CASE("latency_histogram percentiles bound the true value within one bucket") {
  latency_histogram h;
  for (int i = 1; i <= 100; ++i) {
    h.record(std::chrono::microseconds(i * 100));  // 0.1 ms .. 10 ms
  }
  const auto s = h.summarize();
  CHECK(s.count == 100);
  CHECK(s.max_ms == doctest::Approx(10.0));
  // p50 is 5 ms, p99 is 9.9 ms; buckets are 2^(1/4) wide (19%).
  CHECK(s.p50_ms >= 5.0);
  CHECK(s.p50_ms <= 5.0 * 1.19);
  CHECK(s.p99_ms >= 9.9);
  CHECK(s.p99_ms <= 10.0);
  CHECK(s.sum_ms == doctest::Approx(505.0));
}

TEST_CASE("latency_histogram of nothing reports zeros") {
  latency_histogram h;
  const auto s = h.summarize();
  CHECK(s.count == 0);
  CHECK(s.p99_ms == 0.0);
}

TEST_CASE("latency_histogram clamps huge and negative latencies into its buckets") {
  latency_histogram h;
  h.record(std::chrono::hours(24 * 365));
  h.record(std::chrono::nanoseconds(-5));
  CHECK(h.summarize().count == 2);
}

TEST_CASE("counter adds from many threads without losing increments") {
  counter c;
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&c] {
      for (int i = 0; i < 10000; ++i) {
        c.add();
      }
    });
  }
  for (auto& t : threads) {
    t.join();
  }
  CHECK(c.value() == 40000);
}
