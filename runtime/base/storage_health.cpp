#include "runtime/base/storage_health.hpp"

#include <sys/statvfs.h>

#include <algorithm>
#include <chrono>
#include <limits>

namespace ck::runtime {

std::string storage_health::reason() const {
  std::lock_guard<std::mutex> lock{mutex_};
  return reason_;
}

void storage_health::set_full(std::string reason) {
  std::lock_guard<std::mutex> lock{mutex_};
  reason_ = std::move(reason);
  full_.store(true, std::memory_order_release);
}

void storage_health::clear() {
  std::lock_guard<std::mutex> lock{mutex_};
  reason_.clear();
  full_.store(false, std::memory_order_release);
}

uint64_t storage_health::free_bytes() const {
  if (free_bytes_source_) {
    return free_bytes_source_();
  }
  struct statvfs fs {};
  if (::statvfs(dir_.c_str(), &fs) != 0) {
    return std::numeric_limits<uint64_t>::max();
  }
  return static_cast<uint64_t>(fs.f_bavail) * fs.f_frsize;
}

bool storage_health::looks_full(bool map_full, const std::string& message) const {
  return map_full || message.find("No space left") != std::string::npos ||
         free_bytes() < nearly_full_bytes;
}

uint64_t storage_health::roomy_margin() const {
  constexpr uint64_t margin_max = uint64_t{1} << 30;
  if (free_bytes_source_) {
    return margin_max;
  }
  struct statvfs fs {};
  if (::statvfs(dir_.c_str(), &fs) != 0) {
    return margin_max;
  }
  return std::min(margin_max, static_cast<uint64_t>(fs.f_blocks) * fs.f_frsize / 4);
}

bool storage_health::roomy() const {
  if (full()) {
    return false;
  }
  const int64_t now = std::chrono::duration_cast<std::chrono::nanoseconds>(
                          std::chrono::steady_clock::now().time_since_epoch())
                          .count();
  if (now - roomy_checked_ns_.load(std::memory_order_relaxed) < roomy_recheck_ns) {
    return roomy_.load(std::memory_order_relaxed);
  }
  // Racing callers may all measure: harmless, and rarer than one per recheck period.
  roomy_checked_ns_.store(now, std::memory_order_relaxed);
  const bool room = free_bytes() >= roomy_margin();
  roomy_.store(room, std::memory_order_relaxed);
  return room;
}

}  // namespace ck::runtime
