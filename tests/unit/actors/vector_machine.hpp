#pragma once

// A test state machine shared by the Raft actor tests: appends each command as
// "index:command"; the result is the index as text. Guarded by a mutex because the test thread
// reads it while the group actor applies.

#include "actors/state_machine.hpp"

#include <mutex>
#include <sstream>
#include <string>
#include <vector>

namespace ck::test {

class vector_machine final : public actors::image_state_machine {
 public:
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
