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
//     "applied:" u32_be group -> u64_be index   the last Raft index of a partition group whose
//                                               command the "kv" data reflects (8 bytes)
//
//   "kv"    the KV data of every partition hosted on this node, ordered by (partition, form, body).
//     key:    +------------------+---------+------------------------------------------+
//             | u32_be partition | u8 form | body                                     |
//             +------------------+---------+------------------------------------------+
//             0                  4         5
//     Big-endian so that LMDB's byte order is numeric partition order: partition 1 < 256.
//     User partitions are < table_staging_partition_flag (0x8000'0000; config caps partitions at
//     4096). A partition id with that bit set, table_staging_partition(p), is the STAGING area of
//     partition p: a snapshot being received is written there, then moved over p in one write
//     transaction. Staging keys sort after every user partition's keys, and are invisible to
//     listing all partitions and to counting all entries (storage/table.hpp).
//     The form depends only on the user key's length n (0..table_user_key_bytes_max):
//
//     form 0x00 "inline", n <= table_inline_key_bytes_max (506 = 511 - 5):
//       body:   the user key, any byte                              (n bytes; key is 5+n <= 511)
//       value:  the user value, stored as is                        (0..table_value_bytes_max)
//
//     form 0x01 "hashed", table_inline_key_bytes_max < n <= table_user_key_bytes_max:
//       body:   SHA-256 of the user key                             (32 bytes; key is 37 bytes)
//       value:  +-------------+---------------+------------------+
//               | u32_be n    | user key      | user value       |
//               +-------------+---------------+------------------+
//               0             4               4+n
//
//     So within a partition every inline key sorts before every hashed key, inline keys in
//     unsigned byte order of the user key, hashed keys in the (stable, arbitrary) order of their
//     digests. An entry is valid only if: the key has the 4-byte prefix and a known form byte; an
//     inline body has at most 506 bytes; a hashed body has exactly 32 bytes, its value holds at
//     least 4 + n bytes with 506 < n <= table_user_key_bytes_max, and SHA-256 of the embedded user
//     key equals the body. A key of at most 506 bytes is never stored hashed (one form per key).
//
//   "raft_log"  every Raft group's log entries, ordered by (group, index).
//     key:    +------------------+------------------+
//             | u32_be group     | u64_be index     |                       (12 bytes)
//             +------------------+------------------+
//             0                  4                  12
//     value:  +------------+---------+-------------+------------------------+
//             | u64_be term| u8 type | u32_be crc  | data                   |
//             +------------+---------+-------------+------------------------+
//             0            8         9             13                       13+n
//     type is a raft::entry_type (0 normal, 1 conf_change); data is the entry's payload
//     (0..raft_entry_data_bytes_max bytes, any byte). crc is crc32 of the 12 key bytes, then
//     value bytes [0, 9), then data: a record that was torn, garbled or moved to another key
//     fails it. The entry's index is the key's; index >= 1.
//     A group's entries are exactly the contiguous range [first index, last index] of that
//     group (see "first index" below; last index is the highest key of the group): appending
//     at an existing index deletes every later index of the group in the same transaction.
//
//   "raft_state"  per-group Raft records, ordered by (group, kind).
//     key:    +------------------+---------+
//             | u32_be group     | u8 kind |                                 (5 bytes)
//             +------------------+---------+
//             0                  4         5
//     kind 0x01 "hard state" (28 bytes):
//             +------------+------------+---------------+------------+
//             | u64_be term| u64_be vote| u64_be commit | u32_be crc |
//             +------------+------------+---------------+------------+
//             0            8            16              24           28
//     kind 0x02 "snapshot meta" (28 + 8v + 8l bytes; the snapshot's data is not stored here,
//     the state machine's tables hold it):
//             +-------------+------------+------------+--------------+
//             | u64_be index| u64_be term| u32_be v   | v x u64_be   |
//             +-------------+------------+------------+--------------+
//             0             8            16           20
//             +------------+--------------+------------+
//             | u32_be l   | l x u64_be   | u32_be crc |
//             +------------+--------------+------------+
//             20+8v        24+8v          24+8v+8l     28+8v+8l
//       index >= 1; v voters then l learners (node ids), each count <= raft_conf_nodes_max.
//     kind 0x03 "first index" (20 bytes): where the group's log starts, and the term of the
//     entry just before it (the one the snapshot or a compaction removed):
//             +--------------------+------------------------+------------+
//             | u64_be first index | u64_be term(first - 1) | u32_be crc |
//             +--------------------+------------------------+------------+
//             0                    8                        16           20
//       first index >= 1. Absent: the log starts at 1 and term(0) is 0.
//     In every kind, crc is crc32 of the 5 key bytes followed by the value bytes before it.
//     A record is valid only if its length is exactly the one drawn and its crc matches.
//     Across kinds: a snapshot meta exists iff a first index record does (they are written in
//     one transaction), and first index - 1 <= snapshot index.
//
// Identity record (value of meta/"node_identity"), all integers big-endian. Version 2, the only
// one written:
//   offset  size  field
//   0       1     u8  record version = identity_record_version (2)
//   1       4     u32 node_id length n (1..identity_id_bytes_max)
//   5       n     node_id bytes
//   5+n     4     u32 cluster_id length c (1..identity_id_bytes_max)
//   9+n     c     cluster_id bytes
//   9+n+c   4     u32 partition_count (>= 1)
//   13+n+c  4     u32 replication_factor (>= 1)
//   17+n+c  8     u64 created_unix_ms
//   25+n+c  8     u64 meta_raft_id (>= 1): this node's replica id in the meta Raft group
//   33+n+c  4     u32 crc32 of bytes [0, 33+n+c)
//   The crc32 (IEEE) covers every byte before it. A record is valid only if its length is exactly
//   identity_record_fixed_bytes + both string lengths, its version is 2, the crc matches, the
//   strings are 1..*_bytes_max long and the counts and meta_raft_id are >= 1.
// Version 1 (identity_record_v1_version) is still read: the same layout without meta_raft_id, so
//   its crc32 sits at 25+n+c and its length is identity_record_v1_fixed_bytes + both string
//   lengths. Only bootstrapping single-node builds wrote it, and such a node founded the meta
//   group, so decoding it yields meta_raft_id = 1. Because the record carries its own version
//   and both versions decode, format_version stays 1.

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "runtime/base/big_endian.hpp"
#include "runtime/raft/types.hpp"

namespace ck::storage {

// Version of everything drawn above; stored in meta/"format_version" and checked at open. The
// kv key forms (inline / hashed) were introduced into version 1 in place, before any deployment:
// no store with the earlier form-less kv keys exists.
inline constexpr uint32_t format_version = 1;

// Named databases opened at start. The enumerators index the environment's handle table; only
// the names reach disk. Do not rename a database: the name is its on-disk identity.
enum class database : uint8_t {
  meta = 0,
  kv = 1,
  raft_log = 2,
  raft_state = 3,
};
inline constexpr std::size_t database_count = 4;

inline constexpr std::string_view database_name_raft_log = "raft_log";
inline constexpr std::string_view database_name_raft_state = "raft_state";

// The on-disk name of `which`.
constexpr std::string_view database_name(database which) noexcept {
  switch (which) {
    case database::meta:
      return "meta";
    case database::kv:
      return "kv";
    case database::raft_log:
      return database_name_raft_log;
    case database::raft_state:
      return database_name_raft_state;
  }
  return "";
}

// LMDB's limit on named databases per environment: the four in use and room for four more
// before the environment must be reopened with a larger value.
inline constexpr uint32_t databases_max = 8;
static_assert(database_count <= databases_max, "meta, kv, raft_log, raft_state must fit");

// Keys of the "meta" database. Do not rename.
inline constexpr std::string_view meta_key_format_version = "format_version";
inline constexpr std::string_view meta_key_node_identity = "node_identity";
// meta/"token_fingerprint": the SHA-256 of the HTTP token this node runs its cluster with
// (runtime/node/token_check.hpp), or an empty value for "no token". Absent in a DATA_DIR older
// than the record (then the token of the next start is taken).
inline constexpr std::string_view meta_key_token_fingerprint = "token_fingerprint";
// meta/"journal_checkpoint": u64_be segment | u64_be offset, the position of the write-ahead
// journal (storage/journal.hpp) the environment holds everything before (written with each
// checkpoint of storage/journaled_log.hpp). Absent: nothing was journaled; replay from {1, 0}.
inline constexpr std::string_view meta_key_journal_checkpoint = "journal_checkpoint";
inline constexpr std::size_t journal_checkpoint_bytes = 16;

// The partition-id bit that marks a staging area (see the "kv" layout above). Every user
// partition id is below it; table_staging_partition(p) holds the snapshot being received for p.
inline constexpr uint32_t table_staging_partition_flag = 0x8000'0000u;

// The staging partition of `partition`: partition | table_staging_partition_flag. Invisible to
// table_list(all partitions) and table_count. Requires: partition < table_staging_partition_flag (a user
// partition; a staging id maps to itself).
constexpr uint32_t table_staging_partition(uint32_t partition) noexcept {
  return partition | table_staging_partition_flag;
}

// The partition ids of the "kv" database are TABLE ids: the data of state machine slot s
// (runtime/cluster/machine_command.hpp: registration order) in partition p lives in table
// (s << 16) | p, so slot 0 (the KV store of the stock binary) keeps the plain partition ids it
// was written under, and each slot's tables sort together. Partitions are < 2^16 (config caps
// them at 4096), slots < 2^15 (the staging bit stays free).
inline constexpr uint32_t table_partition_bits = 16;
inline constexpr uint32_t table_slots_max = 1u << 15;
constexpr uint32_t machine_table(uint32_t slot, uint32_t partition) noexcept {
  return (slot << table_partition_bits) | partition;
}

// meta/"machines": the state machine names this DATA_DIR's tables were written for, in slot
// order: u32_be count | (u8 n | n name bytes)*. Absent in a DATA_DIR older than the record
// (then only slot 0 can hold data). A binary may add machines at the end, never reorder.
inline constexpr std::string_view meta_key_machines = "machines";

// Keys of the "meta" database named per group: prefix + u32_be group.
inline constexpr std::string_view meta_key_applied_prefix = "applied:";

// LMDB's compile-time key size limit of the Debian build (MDB_MAXKEYSIZE); checked against
// mdb_env_get_maxkeysize() at open.
inline constexpr std::size_t lmdb_key_bytes_max = 511;
inline constexpr std::size_t table_partition_prefix_bytes = 4;
inline constexpr std::size_t table_form_bytes = 1;
inline constexpr std::size_t table_key_header_bytes = table_partition_prefix_bytes + table_form_bytes;
// The longest user key stored as is in the LMDB key (form 0x00); longer keys are hashed.
inline constexpr std::size_t table_inline_key_bytes_max = lmdb_key_bytes_max - table_key_header_bytes;
// SHA-256 digest: the body of a hashed key.
inline constexpr std::size_t table_hashed_body_bytes = 32;
// The u32_be user key length that opens the value of a hashed entry.
inline constexpr std::size_t table_hashed_value_header_bytes = 4;
// The longest user key a partition can store (64 KiB); longer keys are invalid_argument. Kept
// small enough that a hashed entry's key copy costs little next to table_value_bytes_max.
inline constexpr std::size_t table_user_key_bytes_max = std::size_t{64} << 10;
// The largest value; caps one put so a single request cannot take the map (LMDB allows ~4 GiB).
inline constexpr std::size_t table_value_bytes_max = std::size_t{64} << 20;
static_assert(table_partition_prefix_bytes == sizeof(uint32_t));
static_assert(table_hashed_value_header_bytes == sizeof(uint32_t));
static_assert(table_inline_key_bytes_max == 506);
static_assert(table_inline_key_bytes_max + table_key_header_bytes == lmdb_key_bytes_max);
static_assert(table_key_header_bytes + table_hashed_body_bytes <= lmdb_key_bytes_max);
static_assert(table_inline_key_bytes_max < table_user_key_bytes_max);
static_assert(table_user_key_bytes_max <= uint32_t{0xFFFFFFFFu});
static_assert(table_hashed_value_header_bytes + table_user_key_bytes_max + table_value_bytes_max <=
                  uint32_t{0xFFFFFFFFu},
              "a hashed entry's value must fit LMDB's 32-bit data size");

// The form byte at offset 4 of every stored "kv" key. On disk: do not renumber.
enum class table_key_form : uint8_t {
  inline_key = 0x00,  // body is the user key (at most table_inline_key_bytes_max bytes)
  hashed_key = 0x01,  // body is SHA-256 of the user key; the value embeds the user key
};

// Identity record limits and layout (see the diagram). Do not reuse a version number.
inline constexpr uint8_t identity_record_version = 2;      // written and read
inline constexpr uint8_t identity_record_v1_version = 1;   // read only
inline constexpr std::size_t identity_id_bytes_max = 255;  // node_id and cluster_id each
inline constexpr std::size_t identity_record_fixed_bytes = 1 + 4 + 4 + 4 + 4 + 8 + 8 + 4;
inline constexpr std::size_t identity_record_v1_fixed_bytes = 1 + 4 + 4 + 4 + 4 + 8 + 4;
static_assert(identity_record_fixed_bytes == 37);
static_assert(identity_record_v1_fixed_bytes + 8 == identity_record_fixed_bytes);

// ---- big-endian integers ----------------------------------------------------------------------

// The big-endian codec every layer shares (runtime/base/big_endian.hpp).
using runtime::append_u16_be;
using runtime::append_u32_be;
using runtime::append_u64_be;
using runtime::get_u16_be;
using runtime::get_u32_be;
using runtime::get_u64_be;
using runtime::put_u32_be;
using runtime::put_u64_be;

// ---- "kv" keys --------------------------------------------------------------------------------

// The form a user key of `user_key_bytes` is stored in: inline up to table_inline_key_bytes_max.
constexpr table_key_form table_form_of(std::size_t user_key_bytes) noexcept {
  return user_key_bytes <= table_inline_key_bytes_max ? table_key_form::inline_key
                                                   : table_key_form::hashed_key;
}

// The stored key of (partition, user_key), in the form table_form_of(user_key.size()); 5 + n bytes
// inline, 37 bytes hashed. Requires: user_key.size() <= table_user_key_bytes_max.
std::string table_key(uint32_t partition, std::string_view user_key);

// The smallest stored key of `partition`: every key of the partition is >= it and every key of
// a lower partition is < it (the 4-byte prefix alone).
std::string table_partition_first_key(uint32_t partition);

// What a stored value holds before the user value: nothing for an inline key, u32_be n | user
// key for a hashed one. table_put writes this prefix and the user value into the map page in place
// (no joined copy of a large value). Requires: user_key.size() <= table_user_key_bytes_max.
std::string table_value_prefix(std::string_view user_key);

struct table_key_parts {
  uint32_t partition = 0;
  table_key_form form = table_key_form::inline_key;
  std::string_view body;  // points into the decoded key
};

// Splits a stored "kv" key, checking only the key: nullopt when it is shorter than the header,
// has an unknown form byte, an inline body over table_inline_key_bytes_max or a hashed body that
// is not table_hashed_body_bytes long (the caller reports corruption).
std::optional<table_key_parts> table_key_decode(std::string_view stored_key) noexcept;

struct table_entry_parts {
  uint32_t partition = 0;
  std::string_view user_key;    // points into the stored key (inline) or value (hashed)
  std::string_view user_value;  // points into the stored value
};

// Decodes a stored "kv" entry (key and value as LMDB holds them) into the user's key and value.
// Returns nullopt when the key is malformed (as table_key_decode), or for a hashed entry when the
// value is shorter than its header, the embedded length n is not in
// (table_inline_key_bytes_max, table_user_key_bytes_max] or exceeds the value, or SHA-256 of the
// embedded key differs from the body (the caller reports corruption).
std::optional<table_entry_parts> table_entry_decode(std::string_view stored_key,
                                              std::string_view stored_value) noexcept;

// ---- "raft_log" and "raft_state" --------------------------------------------------------------

inline constexpr std::size_t raft_group_prefix_bytes = 4;
inline constexpr std::size_t raft_log_key_bytes = raft_group_prefix_bytes + 8;
inline constexpr std::size_t raft_state_key_bytes = raft_group_prefix_bytes + 1;
// term, type, crc: the bytes of an entry record before its data.
inline constexpr std::size_t raft_entry_header_bytes = 8 + 1 + 4;
inline constexpr std::size_t raft_hard_state_record_bytes = 8 + 8 + 8 + 4;
inline constexpr std::size_t raft_first_index_record_bytes = 8 + 8 + 4;
// index, term, both counts, crc: a snapshot meta record without its node ids.
inline constexpr std::size_t raft_snapshot_meta_fixed_bytes = 8 + 8 + 4 + 4 + 4;
// The largest entry payload: a KV command carries a value of up to table_value_bytes_max plus its
// key and framing. Larger entries are invalid_argument before anything is written.
inline constexpr std::size_t raft_entry_data_bytes_max =
    table_value_bytes_max + (std::size_t{1} << 20);
// Voters and learners each, in a snapshot meta record.
inline constexpr std::size_t raft_conf_nodes_max = 1024;
static_assert(raft_log_key_bytes == 12 && raft_state_key_bytes == 5);
static_assert(raft_entry_header_bytes == 13);
static_assert(raft_hard_state_record_bytes == 28);
static_assert(raft_first_index_record_bytes == 20);
static_assert(raft_snapshot_meta_fixed_bytes == 28);
static_assert(raft_entry_header_bytes + raft_entry_data_bytes_max <= uint32_t{0xFFFFFFFFu},
              "an entry record must fit LMDB's 32-bit data size");
static_assert(sizeof(raft::group_id) == raft_group_prefix_bytes);
static_assert(static_cast<uint8_t>(raft::entry_type::conf_change) == 1,
              "entry types are stored as drawn");

// The kind byte at offset 4 of every "raft_state" key. On disk: do not renumber.
enum class raft_state_kind : uint8_t {
  hard_state = 0x01,
  snapshot_meta = 0x02,
  first_index = 0x03,
};

// The "first index" record: the log of the group starts at first_index, and the entry before it
// had term prev_term (the entry a snapshot or compaction removed; 0 before index 1).
struct raft_first_index {
  raft::index_t first_index = 1;
  raft::term_t prev_term = 0;

  friend bool operator==(const raft_first_index& a, const raft_first_index& b) {
    return a.first_index == b.first_index && a.prev_term == b.prev_term;
  }
};

// The stored key of entry `index` of `group` (12 bytes). Requires: index >= 1.
std::string raft_log_key(raft::group_id group, raft::index_t index);
// The 4-byte group prefix: every key of `group` in either database is >= it and every key of a
// lower group is < it.
std::string raft_group_first_key(raft::group_id group);

struct raft_log_key_parts {
  raft::group_id group = 0;
  raft::index_t index = 0;
};
// Splits a stored "raft_log" key; nullopt unless it has exactly 12 bytes and index >= 1.
std::optional<raft_log_key_parts> raft_log_key_decode(std::string_view stored_key) noexcept;

// The 13 bytes that precede the data in the record of `entry` stored under
// raft_log_key(group, entry.index), crc included. Requires: entry.index >= 1, entry.data.size()
// <= raft_entry_data_bytes_max, entry.type is a known raft::entry_type.
std::string raft_entry_header(raft::group_id group, const raft::entry& entry);

// Decodes a stored "raft_log" record (key and value as LMDB holds them) into `out` (index from
// the key). Returns false (the caller reports corruption) when the key is malformed, the value
// is shorter than the header or its data longer than raft_entry_data_bytes_max, the type byte
// is unknown, or the crc does not match.
bool raft_entry_decode(std::string_view stored_key, std::string_view stored_value,
                       raft::entry& out);
// The term of a stored record, checking the same as raft_entry_decode (crc included).
std::optional<raft::term_t> raft_entry_term(std::string_view stored_key,
                                            std::string_view stored_value) noexcept;

// The stored "raft_state" key of (group, kind) (5 bytes).
std::string raft_state_key(raft::group_id group, raft_state_kind kind);

struct raft_state_key_parts {
  raft::group_id group = 0;
  raft_state_kind kind = raft_state_kind::hard_state;
};
// Splits a stored "raft_state" key; nullopt unless it has exactly 5 bytes and a known kind.
std::optional<raft_state_key_parts> raft_state_key_decode(std::string_view stored_key) noexcept;

// Record encoders: the value stored under raft_state_key(group, kind) for each kind, crc
// included (the crc covers the key, so the group is an argument).
// Requires (snapshot meta): meta.index >= 1; each node list has at most raft_conf_nodes_max ids.
// Requires (first index): value.first_index >= 1.
std::string raft_hard_state_encode(raft::group_id group, const raft::hard_state& value);
std::string raft_snapshot_meta_encode(raft::group_id group, const raft::snapshot_meta& meta);
std::string raft_first_index_encode(raft::group_id group, const raft_first_index& value);

// Record decoders: nullopt (the caller reports corruption) unless the record has exactly the
// length drawn, its crc matches for `group`, and (snapshot meta) index >= 1 and both counts
// <= raft_conf_nodes_max, or (first index) first_index >= 1.
std::optional<raft::hard_state> raft_hard_state_decode(raft::group_id group,
                                                       std::string_view stored) noexcept;
std::optional<raft::snapshot_meta> raft_snapshot_meta_decode(raft::group_id group,
                                                             std::string_view stored);
std::optional<raft_first_index> raft_first_index_decode(raft::group_id group,
                                                        std::string_view stored) noexcept;

// ---- checksums --------------------------------------------------------------------------------

// CRC-32 (IEEE 802.3, reflected, polynomial 0xEDB88320) of `bytes`; crc32("123456789") is
// 0xCBF43926.
uint32_t crc32(std::string_view bytes) noexcept;
// Continues a CRC-32 over more bytes: crc32_extend(crc32(a), b) == crc32(a + b), and
// crc32_extend(0, b) == crc32(b).
uint32_t crc32_extend(uint32_t crc, std::string_view bytes) noexcept;

// SHA-256 of `bytes` (OpenSSL EVP, the digest fetched once per process); sha256("abc") starts
// ba7816bf. An OpenSSL failure (no SHA-256 provider, no memory) aborts: nothing sensible can be
// stored without it.
using sha256_digest = std::array<uint8_t, table_hashed_body_bytes>;
sha256_digest sha256(std::string_view bytes) noexcept;

}  // namespace ck::storage
