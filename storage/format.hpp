#pragma once

// Every byte the storage layer persists is laid out here (STYLE rule 15). Changing anything below
// changes the on-disk format: bump `format_version` and write a migration, never reuse a name or
// a layout with a different meaning.
//
// One LMDB environment per node, holding these named databases (created at open):
//
//   "meta"  node-level records; keys are the ASCII names below, values as drawn.
//     "format_version" -> u32_be version                   (4 bytes; must equal format_version)
//     "node_identity"  -> identity record                  (see "Identity record" below)
//
//   "kv"    the KV data of every partition hosted on this node, ordered by (partition, key).
//     key:    +------------------+---------------------------------------------------+
//             | u32_be partition | user key: 0..kv_user_key_bytes_max bytes, any byte |
//             +------------------+---------------------------------------------------+
//             0                  4
//     value:  user value bytes, stored as is (0..kv_value_bytes_max)
//     Big-endian so that LMDB's byte order is numeric partition order: partition 1 < 256.
//
// Reserved for the Raft issue (names taken, not created or read yet):
//   "raft_log"    key: u32_be group_id | u64_be index -> encoded log entry
//   "raft_state"  key: u32_be group_id -> encoded hard state (term, vote, commit index)
//
// Identity record (value of meta/"node_identity"), all integers big-endian:
//   offset  size  field
//   0       1     u8  record version = identity_record_version (1)
//   1       4     u32 node_id length n (1..identity_id_bytes_max)
//   5       n     node_id bytes
//   5+n     4     u32 cluster_id length c (1..identity_id_bytes_max)
//   9+n     c     cluster_id bytes
//   9+n+c   4     u32 partition_count (>= 1)
//   13+n+c  4     u32 replication_factor (>= 1)
//   17+n+c  8     u64 created_unix_ms
//   25+n+c  4     u32 crc32 of bytes [0, 25+n+c)
//   The crc32 (IEEE) covers every byte before it. A record is valid only if its length is exactly
//   identity_record_fixed_bytes + both string lengths, its version is 1, the crc matches, the
//   strings are 1..*_bytes_max long and both counts are >= 1.

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace ck::storage {

// Version of everything drawn above; stored in meta/"format_version" and checked at open.
inline constexpr uint32_t format_version = 1;

// Named databases opened at start. The enumerators index the environment's handle table; only
// the names reach disk. Do not rename a database: the name is its on-disk identity.
enum class database : uint8_t {
  meta = 0,
  kv = 1,
};
inline constexpr std::size_t database_count = 2;

// The on-disk name of `which`.
constexpr std::string_view database_name(database which) noexcept {
  switch (which) {
    case database::meta:
      return "meta";
    case database::kv:
      return "kv";
  }
  return "";
}

// Reserved database names (see above): present so that no one else takes them.
inline constexpr std::string_view database_name_raft_log = "raft_log";
inline constexpr std::string_view database_name_raft_state = "raft_state";

// LMDB's limit on named databases per environment: the two in use, two reserved for Raft, and
// room for four more before the environment must be reopened with a larger value.
inline constexpr uint32_t databases_max = 8;
static_assert(database_count + 2 <= databases_max, "meta, kv, raft_log, raft_state must fit");

// Keys of the "meta" database. Do not rename.
inline constexpr std::string_view meta_key_format_version = "format_version";
inline constexpr std::string_view meta_key_node_identity = "node_identity";

// LMDB's compile-time key size limit of the Debian build (MDB_MAXKEYSIZE); checked against
// mdb_env_get_maxkeysize() at open.
inline constexpr std::size_t lmdb_key_bytes_max = 511;
inline constexpr std::size_t kv_partition_prefix_bytes = 4;
// The longest user key a partition can store.
inline constexpr std::size_t kv_user_key_bytes_max = lmdb_key_bytes_max - kv_partition_prefix_bytes;
// The largest value; caps one put so a single request cannot take the map (LMDB allows ~4 GiB).
inline constexpr std::size_t kv_value_bytes_max = std::size_t{64} << 20;
static_assert(kv_partition_prefix_bytes == sizeof(uint32_t));
static_assert(kv_user_key_bytes_max + kv_partition_prefix_bytes == lmdb_key_bytes_max);

// Identity record limits and layout (see the diagram).
inline constexpr uint8_t identity_record_version = 1;
inline constexpr std::size_t identity_id_bytes_max = 255;  // node_id and cluster_id each
inline constexpr std::size_t identity_record_fixed_bytes = 1 + 4 + 4 + 4 + 4 + 8 + 4;
static_assert(identity_record_fixed_bytes == 29);

// ---- big-endian integers ----------------------------------------------------------------------

// Writes `value` into out[0..4) most significant byte first.
void put_u32_be(char* out, uint32_t value) noexcept;
// Writes `value` into out[0..8) most significant byte first.
void put_u64_be(char* out, uint64_t value) noexcept;
// Reads the big-endian integer at in[0..4) / in[0..8).
uint32_t get_u32_be(const char* in) noexcept;
uint64_t get_u64_be(const char* in) noexcept;
// Append the 4 / 8 big-endian bytes of `value` to `out`.
void append_u32_be(std::string& out, uint32_t value);
void append_u64_be(std::string& out, uint64_t value);

// ---- "kv" keys --------------------------------------------------------------------------------

// The stored key of (partition, user_key). Requires: user_key.size() <= kv_user_key_bytes_max.
std::string kv_key(uint32_t partition, std::string_view user_key);

struct kv_key_parts {
  uint32_t partition = 0;
  std::string_view user_key;  // points into the decoded bytes
};

// Splits a stored "kv" key. Returns nullopt when it is shorter than the partition prefix or its
// user key is longer than kv_user_key_bytes_max (the caller reports corruption).
std::optional<kv_key_parts> kv_key_decode(std::string_view stored) noexcept;

// ---- checksums --------------------------------------------------------------------------------

// CRC-32 (IEEE 802.3, reflected, polynomial 0xEDB88320) of `bytes`; crc32("123456789") is
// 0xCBF43926.
uint32_t crc32(std::string_view bytes) noexcept;

}  // namespace ck::storage
