#pragma once

// The two clocks the node's shells read (the pure logic in runtime/raft and runtime/cluster
// reads none: times are passed in). Milliseconds as int64.

#include <chrono>
#include <cstdint>

namespace ck::runtime {

/// Milliseconds of the steady clock: for durations and timeouts (the failure detector).
inline int64_t steady_now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

/// Milliseconds since the Unix epoch: for times that are recorded (joined, status changed).
inline int64_t unix_now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

}  // namespace ck::runtime
