#include "storage/journaled_log.hpp"

#include <fmt/format.h>

#include "storage/detail/lmdb_ops.hpp"
#include "storage/flush_record.hpp"
#include "storage/format.hpp"

namespace ck::storage {

namespace {

// A segment past this size is left for a new one at the next checkpoint, so that released
// segments give their space back: the journal keeps about this much on disk plus what it holds
// since the last checkpoint. New segments are preallocated with this many zeros (records then
// overwrite them: an fdatasync writes no inode size, storage/log_segment.hpp).
constexpr uint64_t journal_segment_rotate_bytes = uint64_t{4} << 20;

// Room kept free in the map after each checkpoint: the open transaction cannot grow the map,
// and a map_full inside it breaks the log. A checkpoint's transaction dirties about one page
// per changed key and log tail, so this covers tens of thousands of writes between checkpoints
// (the map is sparse: the room costs address space, not disk).
constexpr uint64_t map_free_bytes_min = uint64_t{64} << 20;

std::string encode_checkpoint(journal_position at) {
  std::string out(journal_checkpoint_bytes, '\0');
  put_u64_be(out.data(), at.segment);
  put_u64_be(out.data() + 8, at.offset);
  return out;
}

// Begins a write transaction into `txn` unless one is open there already.
status begin_if_needed(environment& env, std::optional<write_txn>& txn) {
  if (txn) {
    return status::success();
  }
  result<write_txn> begun = env.begin_write();
  if (!begun.ok()) {
    return begun.status();
  }
  txn.emplace(std::move(begun).value());
  return status::success();
}

}  // namespace

result<journal_position> load_journal_checkpoint(environment& env) {
  result<std::optional<std::string>> record =
      detail::read_meta(env, meta_key_journal_checkpoint, "the journal checkpoint");
  if (!record.ok()) {
    return record.status();
  }
  if (!record.value()) {
    return journal_position{};
  }
  const std::string& bytes = *record.value();
  if (bytes.size() != journal_checkpoint_bytes || get_u64_be(bytes.data()) == 0) {
    return status::corruption(
        fmt::format("the journal checkpoint record in {} is malformed ({} bytes)",
                    env.options().dir, bytes.size()));
  }
  return journal_position{get_u64_be(bytes.data()), get_u64_be(bytes.data() + 8)};
}

result<std::unique_ptr<journaled_log>> journaled_log::open(environment& env,
                                                           raft_log_store& store,
                                                           const std::string& dir,
                                                           journal_recovery* found) {
  result<journal_position> from = load_journal_checkpoint(env);
  if (!from.ok()) {
    return from.status();
  }
  // The replay goes into one transaction, which cannot grow the map itself.
  if (status room = env.reserve(map_free_bytes_min); !room.ok()) {
    return room;
  }
  std::optional<write_txn> replay;
  auto wal = journal::open(
      dir, from.value(),
      [&](journal_position at, std::string_view body) -> status {
        std::optional<std::vector<group_write>> batch = flush_record_decode(body);
        if (!batch) {
          return status::corruption(fmt::format(
              "journal {}: the record at offset {} of segment {} is not a flush record", dir,
              at.offset, at.segment));
        }
        if (status begun = begin_if_needed(env, replay); !begun.ok()) {
          return begun;
        }
        if (status staged = store.stage(*replay, *batch); !staged.ok()) {
          return status::corruption(fmt::format(
              "journal {}: the record at offset {} of segment {} cannot be replayed: {}", dir,
              at.offset, at.segment, staged.to_string()));
        }
        return status::success();
      },
      found);
  if (!wal.ok()) {
    return wal.status();
  }
  wal.value()->preallocate_segments(journal_segment_rotate_bytes);
  auto opened = std::make_unique<journaled_log>(private_tag{}, env, store, std::move(wal).value());
  if (replay) {
    opened->txn_ = std::move(replay);
    if (status st = opened->checkpoint(); !st.ok()) {
      return st;
    }
  }
  return opened;
}

journaled_log::journaled_log(private_tag, environment& env, raft_log_store& store,
                             std::unique_ptr<journal> wal)
    : env_(env), store_(store), wal_(std::move(wal)) {}

journaled_log::~journaled_log() = default;

status journaled_log::broken(status failure) {
  if (failure_.ok()) {
    failure_ = failure;
  }
  txn_.reset();  // aborts: the journal holds what was acknowledged
  return failure;
}

status journaled_log::stage(const std::vector<group_write>& batch,
                            const std::function<status(write_txn&)>& also) {
  if (!failure_.ok()) {
    return failure_;
  }
  if (status begun = begin_if_needed(env_, txn_); !begun.ok()) {
    return broken(begun);
  }
  if (status staged = store_.stage(*txn_, batch); !staged.ok()) {
    // The store's size checks refuse before writing anything: the transaction is intact.
    return staged.code() == code::invalid_argument ? staged : broken(staged);
  }
  if (also) {
    if (status applied = also(*txn_); !applied.ok()) {
      return broken(applied);
    }
  }
  return status::success();
}

status journaled_log::write(const std::vector<group_write>& batch, bool sync,
                            const std::function<status(write_txn&)>& also) {
  if (status staged = stage(batch, also); !staged.ok()) {
    return staged;
  }
  if (!batch.empty()) {
    const std::string body = flush_record_encode(batch);
    if (status appended = wal_->append(body); !appended.ok()) {
      return broken(appended);
    }
    bytes_since_checkpoint_ += segment_record_header_bytes + body.size();
  }
  if (sync) {
    if (status synced = wal_->sync(); !synced.ok()) {
      return broken(synced);
    }
  }
  return status::success();
}

status journaled_log::checkpoint() {
  if (!failure_.ok()) {
    return failure_;
  }
  if (!txn_) {
    return status::success();
  }
  // The position recorded below must not claim records a crash could still take away.
  if (status synced = wal_->sync(); !synced.ok()) {
    return broken(synced);
  }
  if (wal_->end().offset >= journal_segment_rotate_bytes) {
    if (status rotated = wal_->rotate(); !rotated.ok()) {
      return broken(rotated);
    }
  }
  const journal_position covered = wal_->end();
  if (status put = detail::put(*txn_, database::meta, meta_key_journal_checkpoint,
                               encode_checkpoint(covered));
      !put.ok()) {
    return broken(put);
  }
  status committed = txn_->commit();
  txn_.reset();
  if (!committed.ok()) {
    return broken(committed);
  }
  store_.checkpointed();
  if (status synced = env_.sync_now(); !synced.ok()) {
    return broken(synced);
  }
  if (status released = wal_->release_below(covered.segment); !released.ok()) {
    return broken(released);
  }
  if (status room = env_.reserve(map_free_bytes_min); !room.ok()) {
    return broken(room);
  }
  bytes_since_checkpoint_ = 0;
  return status::success();
}

}  // namespace ck::storage
