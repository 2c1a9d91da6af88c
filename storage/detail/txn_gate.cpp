#include "storage/detail/txn_gate.hpp"

#include "runtime/base/assert.hpp"

namespace ck::storage::detail {

txn_gate::txn_gate(std::chrono::milliseconds wait_max) noexcept : wait_max_(wait_max) {}

bool txn_gate::enter_read() {
  std::unique_lock<std::mutex> lock(mutex_);
  if (!changed_.wait_for(lock, wait_max_, [this] { return !exclusive_; })) {
    return false;
  }
  ++readers_open_;
  return true;
}

void txn_gate::leave_read() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    CK_ASSERT_GE(readers_open_, 1u);
    --readers_open_;
  }
  changed_.notify_all();
}

bool txn_gate::enter_write() {
  std::unique_lock<std::mutex> lock(mutex_);
  const auto admissible = [this] { return !exclusive_ && !writer_open_; };
  if (writer_open_ && write_wanted_) {
    // Called without the mutex: the hook may take locks of its own (a CAF mailbox).
    const std::function<void()> wanted = write_wanted_;
    lock.unlock();
    wanted();
    lock.lock();
  }
  if (!changed_.wait_for(lock, wait_max_, admissible)) {
    return false;
  }
  writer_open_ = true;
  return true;
}

void txn_gate::set_write_wanted(std::function<void()> hook) {
  std::lock_guard<std::mutex> lock(mutex_);
  write_wanted_ = std::move(hook);
}

void txn_gate::leave_write() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    CK_ASSERT(writer_open_);
    writer_open_ = false;
  }
  changed_.notify_all();
}

bool txn_gate::begin_exclusive() {
  std::unique_lock<std::mutex> lock(mutex_);
  // Another growth first: at most one exclusive section at a time.
  if (!changed_.wait_for(lock, wait_max_, [this] { return !exclusive_; })) {
    return false;
  }
  exclusive_ = true;
  if (changed_.wait_for(lock, wait_max_, [this] { return readers_open_ == 0 && !writer_open_; })) {
    return true;
  }
  exclusive_ = false;
  lock.unlock();
  changed_.notify_all();
  return false;
}

void txn_gate::end_exclusive() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    CK_ASSERT(exclusive_);
    CK_ASSERT_EQ(readers_open_, 0u);
    CK_ASSERT(!writer_open_);
    exclusive_ = false;
  }
  changed_.notify_all();
}

uint32_t txn_gate::open_count() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return readers_open_ + (writer_open_ ? 1u : 0u);
}

}  // namespace ck::storage::detail
