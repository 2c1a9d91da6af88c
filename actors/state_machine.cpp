#include "actors/state_machine.hpp"

#include <algorithm>
#include <utility>

namespace ck::actors {

namespace {

// Slices of one image, taken when the snapshot was opened.
class image_source final : public snapshot_source {
 public:
  image_source(std::string image, raft::index_t applied)
      : image_(std::move(image)), applied_(applied) {}
  raft::index_t applied() const override { return applied_; }
  std::string next_chunk(size_t max_bytes) override {
    const size_t n = std::min(max_bytes, image_.size() - at_);
    std::string chunk = image_.substr(at_, n);
    at_ += n;
    started_ = true;
    return chunk;
  }
  bool done() const override { return started_ && at_ == image_.size(); }

 private:
  std::string image_;
  raft::index_t applied_;
  size_t at_ = 0;
  bool started_ = false;  // an empty image is still one (empty) chunk
};

class image_sink final : public snapshot_sink {
 public:
  explicit image_sink(std::shared_ptr<std::string> staged) : staged_(std::move(staged)) {}
  bool write(const std::string& chunk) override {
    staged_->append(chunk);
    return true;
  }

 private:
  std::shared_ptr<std::string> staged_;
};

}  // namespace

std::vector<std::string> replicated_state_machine::apply_batch(
    const std::vector<const raft::entry*>& entries) {
  std::vector<std::string> results;
  results.reserve(entries.size());
  for (const raft::entry* e : entries) {
    results.push_back(apply(e->index, e->data));
  }
  return results;
}

std::string image_state_machine::apply(raft::index_t index, const std::string& command) {
  last_applied_ = index;
  return apply_command(index, command);
}

std::unique_ptr<snapshot_source> image_state_machine::read_snapshot() {
  return std::make_unique<image_source>(snapshot(), last_applied_);
}

std::unique_ptr<snapshot_sink> image_state_machine::begin_restore() {
  staged_ = std::make_shared<std::string>();
  return std::make_unique<image_sink>(staged_);
}

bool image_state_machine::install_restored(raft::index_t applied) {
  if (staged_) {
    restore(*staged_);
    staged_.reset();
  }
  last_applied_ = applied;
  return true;
}

}  // namespace ck::actors
