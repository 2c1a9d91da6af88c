// The "raft_log" and "raft_state" encodings drawn in storage/format.hpp (declared there, with
// the rest of the on-disk format; kept in their own file so format.cpp stays small).

#include <string>
#include <string_view>

#include "runtime/base/assert.hpp"
#include "storage/format.hpp"

namespace ck::storage {

namespace {

constexpr bool known_entry_type(uint8_t type) noexcept {
  return type == static_cast<uint8_t>(raft::entry_type::normal) ||
         type == static_cast<uint8_t>(raft::entry_type::conf_change);
}

constexpr bool known_state_kind(uint8_t kind) noexcept {
  return kind == static_cast<uint8_t>(raft_state_kind::hard_state) ||
         kind == static_cast<uint8_t>(raft_state_kind::snapshot_meta) ||
         kind == static_cast<uint8_t>(raft_state_kind::first_index);
}

// crc32 of key | head | tail: the checksum every raft record carries.
uint32_t record_crc(std::string_view key, std::string_view head, std::string_view tail) noexcept {
  return crc32_extend(crc32_extend(crc32(key), head), tail);
}

// Appends the crc of (key of group/kind) | body to body: the last step of every state encoder.
void seal_state_record(raft::group_id group, raft_state_kind kind, std::string& body) {
  const uint32_t crc = record_crc(raft_state_key(group, kind), body, {});
  append_u32_be(body, crc);
}

// Whether the trailing crc of a state record of (group, kind) matches the bytes before it.
bool state_crc_matches(raft::group_id group, raft_state_kind kind,
                       std::string_view stored) noexcept {
  if (stored.size() < 4) {
    return false;
  }
  char key[raft_state_key_bytes];
  put_u32_be(key, group);
  key[raft_group_prefix_bytes] = static_cast<char>(kind);
  const std::string_view body = stored.substr(0, stored.size() - 4);
  const uint32_t expected = get_u32_be(stored.data() + body.size());
  return record_crc(std::string_view(key, sizeof key), body, {}) == expected;
}

}  // namespace

std::string raft_log_key(raft::group_id group, raft::index_t index) {
  CK_ASSERT_GE(index, raft::index_t{1});
  std::string stored;
  stored.reserve(raft_log_key_bytes);
  append_u32_be(stored, group);
  append_u64_be(stored, index);
  return stored;
}

std::string raft_group_first_key(raft::group_id group) {
  std::string stored;
  append_u32_be(stored, group);
  return stored;
}

std::optional<raft_log_key_parts> raft_log_key_decode(std::string_view stored_key) noexcept {
  if (stored_key.size() != raft_log_key_bytes) {
    return std::nullopt;
  }
  const raft_log_key_parts parts{get_u32_be(stored_key.data()),
                                 get_u64_be(stored_key.data() + raft_group_prefix_bytes)};
  if (parts.index == 0) {
    return std::nullopt;
  }
  return parts;
}

std::string raft_entry_header(raft::group_id group, const raft::entry& entry) {
  CK_ASSERT_LE(entry.data.size(), raft_entry_data_bytes_max);
  CK_ASSERT(known_entry_type(static_cast<uint8_t>(entry.type)));
  std::string header;
  header.reserve(raft_entry_header_bytes);
  append_u64_be(header, entry.term);
  header.push_back(static_cast<char>(entry.type));
  const uint32_t crc = record_crc(raft_log_key(group, entry.index), header, entry.data);
  append_u32_be(header, crc);
  CK_ASSERT_EQ(header.size(), raft_entry_header_bytes);
  return header;
}

namespace {

// The checked parts of an entry record, viewing into the stored key and value.
struct entry_view {
  raft::index_t index = 0;
  raft::term_t term = 0;
  raft::entry_type type = raft::entry_type::normal;
  std::string_view data;
};

std::optional<entry_view> check_entry(std::string_view stored_key,
                                      std::string_view stored_value) noexcept {
  const std::optional<raft_log_key_parts> key = raft_log_key_decode(stored_key);
  if (!key || stored_value.size() < raft_entry_header_bytes ||
      stored_value.size() - raft_entry_header_bytes > raft_entry_data_bytes_max) {
    return std::nullopt;
  }
  const auto type = static_cast<uint8_t>(stored_value[8]);
  if (!known_entry_type(type)) {
    return std::nullopt;
  }
  const std::string_view checked_head = stored_value.substr(0, 9);
  const std::string_view data = stored_value.substr(raft_entry_header_bytes);
  if (record_crc(stored_key, checked_head, data) != get_u32_be(stored_value.data() + 9)) {
    return std::nullopt;
  }
  return entry_view{key->index, get_u64_be(stored_value.data()), raft::entry_type{type}, data};
}

}  // namespace

bool raft_entry_decode(std::string_view stored_key, std::string_view stored_value,
                       raft::entry& out) {
  const std::optional<entry_view> checked = check_entry(stored_key, stored_value);
  if (!checked) {
    return false;
  }
  out.index = checked->index;
  out.term = checked->term;
  out.type = checked->type;
  out.data.assign(checked->data);
  return true;
}

std::optional<raft::term_t> raft_entry_term(std::string_view stored_key,
                                            std::string_view stored_value) noexcept {
  const std::optional<entry_view> checked = check_entry(stored_key, stored_value);
  if (!checked) {
    return std::nullopt;
  }
  return checked->term;
}

std::string raft_state_key(raft::group_id group, raft_state_kind kind) {
  std::string stored;
  stored.reserve(raft_state_key_bytes);
  append_u32_be(stored, group);
  stored.push_back(static_cast<char>(kind));
  return stored;
}

std::optional<raft_state_key_parts> raft_state_key_decode(std::string_view stored_key) noexcept {
  if (stored_key.size() != raft_state_key_bytes) {
    return std::nullopt;
  }
  const auto kind = static_cast<uint8_t>(stored_key[raft_group_prefix_bytes]);
  if (!known_state_kind(kind)) {
    return std::nullopt;
  }
  return raft_state_key_parts{get_u32_be(stored_key.data()), raft_state_kind{kind}};
}

std::string raft_hard_state_encode(raft::group_id group, const raft::hard_state& value) {
  std::string body;
  body.reserve(raft_hard_state_record_bytes);
  append_u64_be(body, value.term);
  append_u64_be(body, value.vote);
  append_u64_be(body, value.commit);
  seal_state_record(group, raft_state_kind::hard_state, body);
  CK_ASSERT_EQ(body.size(), raft_hard_state_record_bytes);
  return body;
}

std::optional<raft::hard_state> raft_hard_state_decode(raft::group_id group,
                                                       std::string_view stored) noexcept {
  if (stored.size() != raft_hard_state_record_bytes ||
      !state_crc_matches(group, raft_state_kind::hard_state, stored)) {
    return std::nullopt;
  }
  raft::hard_state value;
  value.term = get_u64_be(stored.data());
  value.vote = get_u64_be(stored.data() + 8);
  value.commit = get_u64_be(stored.data() + 16);
  return value;
}

std::string raft_snapshot_meta_encode(raft::group_id group, const raft::snapshot_meta& meta) {
  CK_ASSERT_GE(meta.index, raft::index_t{1});
  CK_ASSERT_LE(meta.conf.voters.size(), raft_conf_nodes_max);
  CK_ASSERT_LE(meta.conf.learners.size(), raft_conf_nodes_max);
  std::string body;
  body.reserve(raft_snapshot_meta_fixed_bytes +
               8 * (meta.conf.voters.size() + meta.conf.learners.size()));
  append_u64_be(body, meta.index);
  append_u64_be(body, meta.term);
  for (const std::vector<raft::node_id>* nodes : {&meta.conf.voters, &meta.conf.learners}) {
    append_u32_be(body, static_cast<uint32_t>(nodes->size()));
    for (const raft::node_id node : *nodes) {
      append_u64_be(body, node);
    }
  }
  seal_state_record(group, raft_state_kind::snapshot_meta, body);
  return body;
}

namespace {

// Reads a u32 count and that many u64 node ids at `offset`, advancing it. False when the count
// is over raft_conf_nodes_max or the ids run past `body`.
bool read_nodes(std::string_view body, std::size_t& offset, std::vector<raft::node_id>& out) {
  if (body.size() - offset < 4) {
    return false;
  }
  const std::size_t count = get_u32_be(body.data() + offset);
  offset += 4;
  if (count > raft_conf_nodes_max || (body.size() - offset) / 8 < count) {
    return false;
  }
  out.reserve(count);
  for (std::size_t i = 0; i < count; ++i, offset += 8) {
    out.push_back(get_u64_be(body.data() + offset));
  }
  return true;
}

}  // namespace

std::optional<raft::snapshot_meta> raft_snapshot_meta_decode(raft::group_id group,
                                                             std::string_view stored) {
  if (stored.size() < raft_snapshot_meta_fixed_bytes ||
      !state_crc_matches(group, raft_state_kind::snapshot_meta, stored)) {
    return std::nullopt;
  }
  const std::string_view body = stored.substr(0, stored.size() - 4);
  raft::snapshot_meta meta;
  meta.index = get_u64_be(body.data());
  meta.term = get_u64_be(body.data() + 8);
  std::size_t offset = 16;
  if (meta.index == 0 || !read_nodes(body, offset, meta.conf.voters) ||
      !read_nodes(body, offset, meta.conf.learners) || offset != body.size()) {
    return std::nullopt;
  }
  return meta;
}

std::string raft_first_index_encode(raft::group_id group, const raft_first_index& value) {
  CK_ASSERT_GE(value.first_index, raft::index_t{1});
  std::string body;
  body.reserve(raft_first_index_record_bytes);
  append_u64_be(body, value.first_index);
  append_u64_be(body, value.prev_term);
  seal_state_record(group, raft_state_kind::first_index, body);
  CK_ASSERT_EQ(body.size(), raft_first_index_record_bytes);
  return body;
}

std::optional<raft_first_index> raft_first_index_decode(raft::group_id group,
                                                        std::string_view stored) noexcept {
  if (stored.size() != raft_first_index_record_bytes ||
      !state_crc_matches(group, raft_state_kind::first_index, stored)) {
    return std::nullopt;
  }
  const raft_first_index value{get_u64_be(stored.data()), get_u64_be(stored.data() + 8)};
  if (value.first_index == 0) {
    return std::nullopt;
  }
  return value;
}

}  // namespace ck::storage
