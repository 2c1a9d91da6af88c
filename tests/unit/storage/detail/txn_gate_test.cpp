// Goal: the gate that replaces a shared_mutex admits readers and one writer, lets growth wait
// for them, gives growth priority, and bounds every wait. Method: single-threaded sequences
// (timeouts of a few ms), plus one thread that leaves a transaction the main thread entered.

#include "storage/detail/txn_gate.hpp"

#include <thread>

#include <doctest/doctest.h>

namespace ck::storage::detail {
namespace {

constexpr std::chrono::milliseconds wait_ms{10};

TEST_CASE("txn_gate: readers and one writer enter together; a second writer times out") {
  txn_gate gate(wait_ms);
  REQUIRE(gate.enter_read());
  REQUIRE(gate.enter_read());
  REQUIRE(gate.enter_write());
  CHECK(gate.open_count() == 3);
  CHECK_FALSE(gate.enter_write());
  gate.leave_write();
  CHECK(gate.enter_write());
  gate.leave_write();
  gate.leave_read();
  gate.leave_read();
  CHECK(gate.open_count() == 0);
}

TEST_CASE("txn_gate: growth waits for open transactions and gives up after the wait limit") {
  txn_gate gate(wait_ms);
  REQUIRE(gate.enter_read());
  CHECK_FALSE(gate.begin_exclusive());
  CHECK(gate.enter_read());  // a failed growth lets entries in again
  gate.leave_read();
  gate.leave_read();
  REQUIRE(gate.begin_exclusive());
  CHECK_FALSE(gate.enter_read());  // entries wait behind growth
  CHECK_FALSE(gate.enter_write());
  CHECK_FALSE(gate.begin_exclusive());
  gate.end_exclusive();
  CHECK(gate.enter_write());
  gate.leave_write();
}

TEST_CASE("txn_gate: a transaction may leave from another thread, releasing a waiting growth") {
  txn_gate gate(std::chrono::milliseconds(10'000));
  REQUIRE(gate.enter_read());
  std::thread other([&] { gate.leave_read(); });
  CHECK(gate.begin_exclusive());  // returns as soon as the other thread left
  other.join();
  gate.end_exclusive();
  CHECK(gate.open_count() == 0);
}

}  // namespace
}  // namespace ck::storage::detail
