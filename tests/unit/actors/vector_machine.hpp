#pragma once

// A test state machine shared by the Raft actor tests: appends each command as
// "index:command"; the result is the index as text. Guarded by a mutex because the test thread
// reads it while the group actor applies. With applies_in_writer set it is also a
// log_txn_applier, so its applies take the path of a durable machine's (inside the log
// writer's transaction, which it ignores: it keeps its state in memory).

#include "actors/state_machine.hpp"

#include <atomic>
#include <mutex>
#include <sstream>
#include <string>
#include <vector>

namespace ck::test {

class vector_machine final : public actors::image_state_machine, public actors::log_txn_applier {
 public:
  std::atomic<bool> applies_in_writer{false};
  std::atomic<int> writer_applies{0};  // log_txn_apply calls

  actors::log_txn_applier* txn_applier() override { return applies_in_writer ? this : nullptr; }
  storage::result<std::vector<std::string>> log_txn_apply(
      storage::write_txn& /*txn*/, const std::vector<const raft::entry*>& entries) override {
    ++writer_applies;
    std::vector<std::string> results;
    for (const raft::entry* e : entries) {
      results.push_back(apply(e->index, e->data));
    }
    return results;
  }
  std::string apply_command(raft::index_t index, const std::string& command) override {
    std::lock_guard<std::mutex> lock(mutex_);
    applied_.push_back(std::to_string(index) + ":" + command);
    return std::to_string(index);
  }
  std::string snapshot() override {
    std::lock_guard<std::mutex> lock(mutex_);
    std::string image;
    for (auto& line : applied_) {
      image += line + "\n";
    }
    return image;
  }
  void restore(const std::string& image) override {
    std::lock_guard<std::mutex> lock(mutex_);
    applied_.clear();
    std::istringstream in(image);
    for (std::string line; std::getline(in, line);) {
      applied_.push_back(line);
    }
    ++restores_;
  }
  std::vector<std::string> sequence() const {
    std::lock_guard<std::mutex> lock(mutex_);
    return applied_;
  }
  int restores() const {
    std::lock_guard<std::mutex> lock(mutex_);
    return restores_;
  }

 private:
  mutable std::mutex mutex_;
  std::vector<std::string> applied_;  // "index:command"
  int restores_ = 0;
};

}  // namespace ck::test
