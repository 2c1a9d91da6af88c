#pragma once

// One storage flush (the batch of raft_log_store::write: every group's part of a ready) as the
// body of one log segment record (storage/log_segment.hpp): a journal record
// (storage/journaled_log.hpp).
//
//   body := item*
//   item := u8 kind | u32_be length | payload (length bytes)
//     kind 0x01 begin     u32_be group                      a group_write starts
//     kind 0x02 snapshot  raft_snapshot_meta_encode(group, meta)
//     kind 0x03 entry     u64_be index | raft_entry_header(group, entry) | entry data
//     kind 0x04 hard      raft_hard_state_encode(group, hard)
//
// Inside one group_write: begin, then at most one snapshot, the entries, at most one hard
// state, in that order (the order raft_log_store::write applies them). The payloads are the
// LMDB records of storage/format.hpp, so they carry their own crc keyed by the group: an item
// moved to another group_write fails to decode. The segment's crc covers the whole body; the
// decoder checks the structure so that a body that passed it still cannot make the engine
// read past an item or accept items out of order.

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "storage/raft_log_store.hpp"

namespace ck::storage {

// The record body of `batch`. Requires what raft_log_store::write requires of entries and
// snapshot metas (index >= 1, data within raft_entry_data_bytes_max, node lists within
// raft_conf_nodes_max).
std::string flush_record_encode(const std::vector<group_write>& batch);

// The batch, or nullopt when the body is not exactly a sequence of well-formed items in the
// order above (unknown kind, an item running past the end, an item outside a group_write or
// out of order, a payload that fails its format's checks).
std::optional<std::vector<group_write>> flush_record_decode(std::string_view body);

}  // namespace ck::storage
