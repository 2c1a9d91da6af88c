#include "actors/meta_state_machine.hpp"

#include "runtime/base/big_endian.hpp"

#include "runtime/base/assert.hpp"

#include <algorithm>
#include <utility>

namespace ck::actors {

namespace {

void put_u8(std::string& out, uint8_t value) {
  out.push_back(static_cast<char>(value));
}


constexpr auto outcome_max = static_cast<uint8_t>(cluster::apply_outcome::not_bootstrapped);

}  // namespace

std::string encode_meta_apply_result(const cluster::apply_result& result) {
  const size_t message_bytes = std::min(result.message.size(), meta_result_message_bytes_max);
  std::string out;
  out.reserve(meta_result_fixed_bytes + message_bytes);
  put_u8(out, meta_result_version);
  put_u8(out, static_cast<uint8_t>(result.outcome));
  runtime::append_u64_be(out, result.raft_id);
  runtime::append_u32_be(out, static_cast<uint32_t>(message_bytes));
  out.append(result.message, 0, message_bytes);
  CK_ASSERT_EQ(out.size(), meta_result_fixed_bytes + message_bytes);
  return out;
}

bool decode_meta_apply_result(std::string_view bytes, cluster::apply_result& out,
                              std::string& error) {
  if (bytes.size() < meta_result_fixed_bytes) {
    error = "meta apply result: " + std::to_string(bytes.size()) + " bytes, below the " +
            std::to_string(meta_result_fixed_bytes) + " of the fixed part";
    return false;
  }
  const auto version = static_cast<uint8_t>(bytes[0]);
  if (version != meta_result_version) {
    error = "meta apply result: unknown version " + std::to_string(version);
    return false;
  }
  const auto outcome = static_cast<uint8_t>(bytes[1]);
  if (outcome > outcome_max) {
    error = "meta apply result: unknown outcome " + std::to_string(outcome);
    return false;
  }
  const uint64_t raft_id = runtime::get_u64_be(bytes.data() + 2);
  const uint64_t message_bytes = runtime::get_u32_be(bytes.data() + 10);
  if (message_bytes > meta_result_message_bytes_max) {
    error = "meta apply result: message of " + std::to_string(message_bytes) + " bytes";
    return false;
  }
  if (bytes.size() != meta_result_fixed_bytes + message_bytes) {
    error = "meta apply result: " + std::to_string(bytes.size()) + " bytes, expected " +
            std::to_string(meta_result_fixed_bytes + message_bytes);
    return false;
  }
  out.outcome = static_cast<cluster::apply_outcome>(outcome);
  out.raft_id = raft_id;
  out.message.assign(bytes.substr(meta_result_fixed_bytes));
  return true;
}

std::string meta_state_machine::apply_command(raft::index_t index, const std::string& command) {
  cluster::command decoded;
  std::string error;
  const bool valid = cluster::decode_command(command, decoded, error);
  cluster::apply_result result;
  std::vector<std::string> placement_before;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    CK_ASSERT_GT(index, applied_index_);
    applied_index_ = index;
    if (valid) {
      if (const auto* placed = std::get_if<cluster::set_placement_command>(&decoded);
          placed != nullptr && placed->index < state_.placement.size()) {
        placement_before = state_.placement[placed->index].replicas;
      }
      result = cluster::apply(state_, decoded);
      if (state_.version != view_->version) {
        view_ = std::make_shared<const cluster::meta_state>(state_);
      }
    } else {
      result.outcome = cluster::apply_outcome::invalid;
      result.message = "not a meta command: " + error;
    }
  }
  if (on_applied_) {
    // The applying thread is the state's only writer: reading it here without the lock is safe.
    on_applied_(index, valid ? &decoded : nullptr, result, state_, placement_before);
  }
  return encode_meta_apply_result(result);
}

std::string meta_state_machine::snapshot() {
  std::lock_guard<std::mutex> lock(mutex_);
  return cluster::encode_snapshot(state_);
}

void meta_state_machine::restore(const std::string& image) {
  cluster::meta_state decoded;
  std::string error;
  const bool valid = cluster::decode_snapshot(image, decoded, error);
  std::lock_guard<std::mutex> lock(mutex_);
  if (!valid) {
    last_restore_error_ = error.empty() ? "corrupt meta snapshot" : error;
    ++restore_failures_;
    return;
  }
  state_ = std::move(decoded);
  view_ = std::make_shared<const cluster::meta_state>(state_);
  last_restore_error_.clear();
}

cluster::meta_state meta_state_machine::current() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return state_;
}

std::shared_ptr<const cluster::meta_state> meta_state_machine::view() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return view_;
}

raft::index_t meta_state_machine::applied_index() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return applied_index_;
}

std::string meta_state_machine::last_restore_error() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return last_restore_error_;
}

uint64_t meta_state_machine::restore_failures() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return restore_failures_;
}

}  // namespace ck::actors
