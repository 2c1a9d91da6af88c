#include "storage/identity.hpp"

#include <fmt/format.h>

#include "storage/detail/lmdb_ops.hpp"
#include "storage/environment.hpp"
#include "storage/format.hpp"

namespace ck::storage {

status validate(const node_identity& identity) {
  if (identity.node_id.empty() || identity.node_id.size() > identity_id_bytes_max) {
    return status::invalid_argument(fmt::format("node_identity.node_id has {} bytes, must be 1..{}",
                                                identity.node_id.size(), identity_id_bytes_max));
  }
  if (identity.cluster_id.empty() || identity.cluster_id.size() > identity_id_bytes_max) {
    return status::invalid_argument(
        fmt::format("node_identity.cluster_id has {} bytes, must be 1..{}",
                    identity.cluster_id.size(), identity_id_bytes_max));
  }
  if (identity.partition_count == 0) {
    return status::invalid_argument("node_identity.partition_count must be at least 1");
  }
  if (identity.replication_factor == 0) {
    return status::invalid_argument("node_identity.replication_factor must be at least 1");
  }
  if (identity.meta_raft_id == 0) {
    return status::invalid_argument("node_identity.meta_raft_id must be at least 1");
  }
  return status::success();
}

std::string encode_identity_record(const node_identity& identity) {
  CK_ASSERT(validate(identity).ok());
  std::string record;
  record.reserve(identity_record_fixed_bytes + identity.node_id.size() +
                 identity.cluster_id.size());
  record.push_back(static_cast<char>(identity_record_version));
  append_u32_be(record, static_cast<uint32_t>(identity.node_id.size()));
  record.append(identity.node_id);
  append_u32_be(record, static_cast<uint32_t>(identity.cluster_id.size()));
  record.append(identity.cluster_id);
  append_u32_be(record, identity.partition_count);
  append_u32_be(record, identity.replication_factor);
  append_u64_be(record, identity.created_unix_ms);
  append_u64_be(record, identity.meta_raft_id);
  append_u32_be(record, crc32(record));
  CK_ASSERT_EQ(record.size(), identity_record_fixed_bytes + identity.node_id.size() +
                                          identity.cluster_id.size());
  return record;
}

namespace {

// Reads a length-prefixed string at `offset`, advancing it. Returns nullopt if it does not fit.
std::optional<std::string> read_id(std::string_view record, std::size_t& offset) {
  if (record.size() - offset < sizeof(uint32_t)) {
    return std::nullopt;
  }
  const uint32_t length = get_u32_be(record.data() + offset);
  offset += sizeof(uint32_t);
  if (length > identity_id_bytes_max || record.size() - offset < length) {
    return std::nullopt;
  }
  std::string id(record.substr(offset, length));
  offset += length;
  return id;
}

status record_corruption(std::string_view reason) {
  return status::corruption(fmt::format("node identity record {}", reason));
}

}  // namespace

result<node_identity> decode_identity_record(std::string_view record) {
  if (record.size() < identity_record_v1_fixed_bytes) {
    return record_corruption(fmt::format("is truncated ({} bytes)", record.size()));
  }
  const std::size_t crc_offset = record.size() - sizeof(uint32_t);
  if (crc32(record.substr(0, crc_offset)) != get_u32_be(record.data() + crc_offset)) {
    return record_corruption("fails its checksum");
  }
  const auto version = static_cast<uint8_t>(record[0]);
  if (version != identity_record_version && version != identity_record_v1_version) {
    return record_corruption(fmt::format("has version {}, expected {} or {}", version,
                                         identity_record_v1_version, identity_record_version));
  }
  // After the two strings: partition_count, replication_factor, created_unix_ms and, from
  // version 2 on, meta_raft_id.
  const bool has_meta_raft_id = version == identity_record_version;
  const std::size_t tail_bytes = 4 + 4 + 8 + (has_meta_raft_id ? 8 : 0);
  const std::string_view body = record.substr(0, crc_offset);
  std::size_t offset = 1;
  node_identity identity;
  std::optional<std::string> node_id = read_id(body, offset);
  std::optional<std::string> cluster_id = node_id ? read_id(body, offset) : std::nullopt;
  if (!node_id || !cluster_id || body.size() - offset != tail_bytes) {
    return record_corruption("has inconsistent lengths");
  }
  identity.node_id = std::move(*node_id);
  identity.cluster_id = std::move(*cluster_id);
  identity.partition_count = get_u32_be(body.data() + offset);
  identity.replication_factor = get_u32_be(body.data() + offset + 4);
  identity.created_unix_ms = get_u64_be(body.data() + offset + 8);
  // Version 1 was written only by bootstrapping single-node builds: the meta group's founder.
  identity.meta_raft_id = has_meta_raft_id ? get_u64_be(body.data() + offset + 16) : 1;
  if (status valid = validate(identity); !valid.ok()) {
    return record_corruption(fmt::format("holds invalid fields ({})", valid.message()));
  }
  return identity;
}

result<std::optional<node_identity>> load_identity(environment& env) {
  const std::string& dir = env.options().dir;
  result<std::optional<std::string>> record =
      detail::read_meta(env, meta_key_node_identity, "node identity");
  if (!record.ok()) {
    return record.status();
  }
  if (!record.value().has_value()) {
    return std::optional<node_identity>();
  }
  result<node_identity> identity = decode_identity_record(*record.value());
  if (!identity.ok()) {
    return status::corruption(fmt::format("{} in {}", identity.status().message(), dir));
  }
  return std::optional<node_identity>(std::move(identity).value());
}

status save_identity(environment& env, const node_identity& identity) {
  if (status valid = validate(identity); !valid.ok()) {
    return valid;
  }
  const std::string record = encode_identity_record(identity);
  // Pair assertion: what is written must read back as what was asked for.
  result<node_identity> decoded = decode_identity_record(record);
  CK_ASSERT(decoded.ok());
  CK_ASSERT(decoded.value() == identity);
  return env.write([&record](write_txn& txn) {
    return detail::put(txn, database::meta, meta_key_node_identity, record);
  });
}

result<std::optional<std::string>> load_token_fingerprint(environment& env) {
  return detail::read_meta(env, meta_key_token_fingerprint, "the token fingerprint");
}

status save_token_fingerprint(environment& env, const std::string& fingerprint) {
  return env.write([&fingerprint](write_txn& txn) {
    return detail::put(txn, database::meta, meta_key_token_fingerprint, fingerprint);
  });
}

}  // namespace ck::storage
