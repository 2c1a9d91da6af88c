#include "tests/sim/trace.hpp"

#include "tests/sim/hash.hpp"

#include <cstdarg>

namespace ck::sim {

void trace::record(const std::string& line) {
  std::string full = "s=" + std::to_string(step_) + " " + line;
  digest_ = hash_bytes(full, digest_);
  digest_ = hash_bytes("\n", digest_);
  ++line_count_;
  if (verbose_) {
    std::fprintf(stdout, "%s\n", full.c_str());
  }
  if (tail_.size() == tail_lines_max) {
    tail_.pop_front();
  }
  tail_.push_back(std::move(full));
}

void trace::note(const std::string& line) const {
  if (verbose_) {
    std::fprintf(stdout, "s=%llu   core %s\n", static_cast<unsigned long long>(step_),
                 line.c_str());
  }
}

void trace::recordf(const char* format, ...) {
  char buffer[512];
  va_list args;
  va_start(args, format);
  std::vsnprintf(buffer, sizeof buffer, format, args);
  va_end(args);
  record(buffer);
}

void trace::print_tail(std::FILE* out) const {
  std::fprintf(out, "--- last %zu events ---\n", tail_.size());
  for (const std::string& line : tail_) {
    std::fprintf(out, "  %s\n", line.c_str());
  }
  std::fprintf(out, "--- end of events ---\n");
}

}  // namespace ck::sim
