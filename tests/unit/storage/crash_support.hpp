#pragma once

// Shared by the kill -9 crash tests: the child's acknowledgement channel (u64 sequence numbers
// over a pipe), the parent's owner of the child's PID (SIGKILL and a bounded reap on every
// path), seed mixing and environment-variable knobs.

#include "runtime/base/splitmix64.hpp"

#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <optional>
#include <string>

#include "storage/format.hpp"

namespace ck::storage::test {

using crash_clock = std::chrono::steady_clock;

inline constexpr std::chrono::milliseconds reap_wait_max{5'000};

// Child side: reports acknowledgement `number` (0 = ready, then 1, 2, ...).
inline bool send_ack(int fd, uint64_t number) {
  char bytes[8];
  put_u64_be(bytes, number);
  // 8 bytes < PIPE_BUF: the write is atomic; EINTR cannot happen (no handlers installed).
  return write(fd, bytes, sizeof bytes) == static_cast<ssize_t>(sizeof bytes);
}

// Owns the child's PID: SIGKILLs and reaps it on every path out of a round.
class child_process {
 public:
  explicit child_process(pid_t pid) : pid_(pid) {}
  child_process(const child_process&) = delete;
  child_process& operator=(const child_process&) = delete;
  ~child_process() {
    if (pid_ > 0) {
      kill_and_reap();
    }
  }

  // SIGKILLs the child and waits for it (bounded). Returns its wait status, nullopt on timeout.
  std::optional<int> kill_and_reap() {
    kill(pid_, SIGKILL);
    const crash_clock::time_point deadline = crash_clock::now() + reap_wait_max;
    while (crash_clock::now() < deadline) {
      int wait_status = 0;
      const pid_t reaped = waitpid(pid_, &wait_status, WNOHANG);
      if (reaped == pid_) {
        pid_ = -1;
        return wait_status;
      }
      if (reaped < 0 && errno != EINTR) {
        pid_ = -1;  // not our child any more: nothing left to reap
        return std::nullopt;
      }
      const timespec pause{0, 1'000'000};  // poll the child's exit every millisecond
      nanosleep(&pause, nullptr);
    }
    return std::nullopt;
  }

 private:
  pid_t pid_;
};

// Reads the acknowledgements of the child from a non-blocking pipe.
class ack_reader {
 public:
  explicit ack_reader(int fd) : fd_(fd) {}
  ack_reader(const ack_reader&) = delete;
  ack_reader& operator=(const ack_reader&) = delete;
  ~ack_reader() { close(fd_); }

  // Reads until `deadline`, EOF, or (when stop_at_first) the first acknowledgement.
  // Returns false on a read error or an acknowledgement out of sequence.
  bool read_until(crash_clock::time_point deadline, bool stop_at_first) {
    while (!eof_ && !(stop_at_first && last_.has_value())) {
      const auto remaining = deadline - crash_clock::now();
      if (remaining <= crash_clock::duration::zero()) {
        return true;
      }
      const auto remaining_ns = std::chrono::duration_cast<std::chrono::nanoseconds>(remaining);
      const timespec timeout{static_cast<time_t>(remaining_ns.count() / 1'000'000'000),
                             static_cast<long>(remaining_ns.count() % 1'000'000'000)};
      pollfd descriptor{fd_, POLLIN, 0};
      const int ready = ppoll(&descriptor, 1, &timeout, nullptr);
      if (ready < 0 && errno != EINTR) {
        return false;
      }
      if (ready > 0 && !consume()) {
        return false;
      }
    }
    return true;
  }

  bool eof() const { return eof_; }
  // The last acknowledged transaction; nullopt before "ready" (0).
  std::optional<uint64_t> last() const { return last_; }

 private:
  bool consume() {
    char buffer[4096];
    const ssize_t got = read(fd_, buffer, sizeof buffer);
    if (got == 0) {
      eof_ = true;
      return true;
    }
    if (got < 0) {
      return errno == EAGAIN || errno == EINTR;
    }
    pending_.append(buffer, static_cast<std::size_t>(got));
    std::size_t offset = 0;
    for (; pending_.size() - offset >= 8; offset += 8) {
      const uint64_t number = get_u64_be(pending_.data() + offset);
      const uint64_t expected = last_ ? *last_ + 1 : 0;
      if (number != expected) {
        return false;
      }
      last_ = number;
    }
    pending_.erase(0, offset);
    return true;
  }

  int fd_;
  bool eof_ = false;
  std::string pending_;
  std::optional<uint64_t> last_;
};

using runtime::splitmix64;

// Parent side of one round, shared by both crash tests: waits for the child's "ready" (unless
// the round kills it before that), lets it run for `kill_delay_us`, SIGKILLs it, drains the
// acknowledgements it sent. Sets `last_ack` to the last acknowledged number; returns "" or
// what went wrong with the harness itself (not with the storage under test).
inline std::string kill_after_delay(ack_reader& acks, child_process& child, bool early_kill,
                                    uint64_t kill_delay_us, std::optional<uint64_t>& last_ack) {
  constexpr std::chrono::milliseconds child_ready_wait_max{10'000};
  constexpr std::chrono::milliseconds drain_wait_max{5'000};
  if (!early_kill) {
    if (!acks.read_until(crash_clock::now() + child_ready_wait_max, true) || !acks.last()) {
      return "child did not report ready";
    }
  }
  const crash_clock::time_point kill_at =
      crash_clock::now() + std::chrono::microseconds(kill_delay_us);
  const bool read_ok = acks.read_until(kill_at, false);
  const std::optional<int> wait_status = child.kill_and_reap();
  const bool drained = acks.read_until(crash_clock::now() + drain_wait_max, false) && acks.eof();
  last_ack = acks.last();
  if (!read_ok || !drained) {
    return "acknowledgements unreadable or out of sequence";
  }
  if (!wait_status) {
    return "child could not be reaped";
  }
  if (!(WIFSIGNALED(*wait_status) && WTERMSIG(*wait_status) == SIGKILL) &&
      !(WIFEXITED(*wait_status) && WEXITSTATUS(*wait_status) == 0)) {
    return "child failed by itself (see its stderr), wait status " + std::to_string(*wait_status);
  }
  return "";
}

}  // namespace ck::storage::test
