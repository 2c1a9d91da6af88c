#include "runtime/base/storage_health.hpp"

#include <sys/statvfs.h>

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

}  // namespace ck::runtime
