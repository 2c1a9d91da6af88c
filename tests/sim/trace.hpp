#pragma once

// The run's event trace: every simulator event is one line. The trace keeps a digest of all
// lines (two runs of one seed must produce the same digest), the last lines for a failure
// report, and prints every line as it happens in --verbose mode.

#include <cstdint>
#include <cstdio>
#include <deque>
#include <string>

namespace ck::sim {

class trace {
 public:
  static constexpr size_t tail_lines_max = 50;

  explicit trace(bool verbose) : verbose_(verbose) {}

  void set_step(uint64_t step) { step_ = step; }
  uint64_t step() const { return step_; }

  /// Records one event line (without the step prefix, which is added here).
  void record(const std::string& line);
  /// A line from the core's logger: printed in --verbose mode only, not part of the digest
  /// (so verbose and quiet runs of one seed keep the same digest).
  void note(const std::string& line) const;
  /// printf-style convenience for record().
  void recordf(const char* format, ...) __attribute__((format(printf, 2, 3)));

  uint64_t digest() const { return digest_; }
  uint64_t line_count() const { return line_count_; }
  /// Writes the last tail_lines_max lines.
  void print_tail(std::FILE* out) const;

 private:
  bool verbose_ = false;
  uint64_t step_ = 0;
  uint64_t digest_ = 14695981039346656037ull;
  uint64_t line_count_ = 0;
  std::deque<std::string> tail_;  // bounded by tail_lines_max
};

}  // namespace ck::sim
