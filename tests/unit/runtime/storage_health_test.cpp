// runtime::storage_health: the full state the log writer sets, and roomy(), which decides
// whether a write may be acknowledged before its apply (raft_group_ready.cpp, plan_applies).

#include "runtime/base/storage_health.hpp"

#include <doctest/doctest.h>

#include <atomic>
#include <chrono>
#include <memory>
#include <thread>

using namespace ck;

namespace {
constexpr uint64_t gib = uint64_t{1} << 30;
}

TEST_CASE("storage health: full until cleared, with the reason") {
  runtime::storage_health health("/nonexistent", [] { return 10 * gib; });
  CHECK_FALSE(health.full());
  CHECK(health.reason().empty());
  health.set_full("No space left on device");
  CHECK(health.full());
  CHECK(health.reason() == "No space left on device");
  health.clear();
  CHECK_FALSE(health.full());
  CHECK(health.reason().empty());
}

TEST_CASE("storage health: roomy while the margin is free and the disk not full") {
  auto free = std::make_shared<std::atomic<uint64_t>>(2 * gib);
  runtime::storage_health health("/nonexistent", [free] { return free->load(); });
  CHECK(health.roomy_margin() == gib);  // a test source: the filesystem size is unknown
  CHECK(health.roomy());

  // A full disk answers at once, without waiting for the next measurement.
  health.set_full("map full");
  CHECK_FALSE(health.roomy());
  health.clear();
  CHECK(health.roomy());

  // Less than the margin free: measured again within roomy_recheck, then not roomy.
  free->store(gib - 1);
  const auto deadline = std::chrono::steady_clock::now() +
                        std::chrono::nanoseconds(runtime::storage_health::roomy_recheck_ns) +
                        std::chrono::seconds(2);
  while (health.roomy() && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  CHECK_FALSE(health.roomy());
}

TEST_CASE("storage health: the margin of a real filesystem is a quarter of it, at most 1 GiB") {
  runtime::storage_health health(".");
  const uint64_t margin = health.roomy_margin();
  CHECK(margin > 0);
  CHECK(margin <= gib);
}
