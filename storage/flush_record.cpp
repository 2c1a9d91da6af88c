#include "storage/flush_record.hpp"

#include "runtime/base/big_endian.hpp"
#include "storage/format.hpp"

namespace ck::storage {

namespace {

enum class item_kind : uint8_t { begin = 0x01, snapshot = 0x02, entry = 0x03, hard = 0x04 };

constexpr size_t item_header_bytes = 5;
constexpr size_t begin_payload_bytes = 4;
constexpr size_t entry_index_bytes = 8;

void append_item(std::string& out, item_kind kind, std::string_view payload) {
  out.push_back(static_cast<char>(kind));
  runtime::append_u32_be(out, static_cast<uint32_t>(payload.size()));
  out.append(payload);
}

// Where the decoder is inside the current group_write: items must come in this order.
enum class stage { outside, begun, snapshot, entries, hard };

}  // namespace

std::string flush_record_encode(const std::vector<group_write>& batch) {
  std::string out;
  std::string payload;
  for (const group_write& write : batch) {
    payload.clear();
    runtime::append_u32_be(payload, write.group);
    append_item(out, item_kind::begin, payload);
    if (write.snapshot) {
      append_item(out, item_kind::snapshot, raft_snapshot_meta_encode(write.group, *write.snapshot));
    }
    for (const raft::entry& entry : write.entries) {
      payload.clear();
      runtime::append_u64_be(payload, entry.index);
      payload += raft_entry_header(write.group, entry);
      payload += entry.data;
      append_item(out, item_kind::entry, payload);
    }
    if (write.hard) {
      append_item(out, item_kind::hard, raft_hard_state_encode(write.group, *write.hard));
    }
  }
  return out;
}

std::optional<std::vector<group_write>> flush_record_decode(std::string_view body) {
  std::vector<group_write> batch;
  stage at = stage::outside;
  while (!body.empty()) {
    if (body.size() < item_header_bytes) {
      return std::nullopt;
    }
    const auto kind = static_cast<item_kind>(body[0]);
    const uint32_t length = runtime::get_u32_be(body.data() + 1);
    if (body.size() - item_header_bytes < length) {
      return std::nullopt;
    }
    const std::string_view payload = body.substr(item_header_bytes, length);
    body.remove_prefix(item_header_bytes + length);
    if (kind == item_kind::begin) {
      if (payload.size() != begin_payload_bytes) {
        return std::nullopt;
      }
      batch.emplace_back();
      batch.back().group = runtime::get_u32_be(payload.data());
      at = stage::begun;
      continue;
    }
    if (at == stage::outside) {
      return std::nullopt;
    }
    group_write& write = batch.back();
    switch (kind) {
      case item_kind::snapshot: {
        if (at != stage::begun) {
          return std::nullopt;
        }
        write.snapshot = raft_snapshot_meta_decode(write.group, payload);
        if (!write.snapshot) {
          return std::nullopt;
        }
        at = stage::snapshot;
        break;
      }
      case item_kind::entry: {
        if (at == stage::hard || payload.size() < entry_index_bytes) {
          return std::nullopt;
        }
        const raft::index_t index = runtime::get_u64_be(payload.data());
        raft::entry entry;
        if (index == 0 ||
            !raft_entry_decode(raft_log_key(write.group, index),
                               payload.substr(entry_index_bytes), entry)) {
          return std::nullopt;
        }
        write.entries.push_back(std::move(entry));
        at = stage::entries;
        break;
      }
      case item_kind::hard: {
        if (at == stage::hard) {
          return std::nullopt;
        }
        write.hard = raft_hard_state_decode(write.group, payload);
        if (!write.hard) {
          return std::nullopt;
        }
        at = stage::hard;
        break;
      }
      default:
        return std::nullopt;
    }
  }
  return batch;
}

}  // namespace ck::storage
