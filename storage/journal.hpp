#pragma once

// The write-ahead journal planned for issue 12 (docs/performance.md, "A journal in front of
// LMDB"): a directory of numbered log segments (storage/log_segment.hpp) holding the storage
// flushes made since the last checkpoint of the node's LMDB environment. A flush is durable
// once its record is appended and synced here (one sequential write and one fdatasync); LMDB
// takes the same changes in a transaction that is committed and synced only now and then (a
// checkpoint, which names the journal position it covers), and a restart replays the records
// after that position..
//
// Files: <dir>/<16 lowercase hex digits>.wal, numbered from 1 without gaps; other names are
// ignored. A position is (segment, byte offset of a record in it).
//
// Crash model: a record counts (is acknowledged by the caller) only after a sync() that
// covered it, and rotate() syncs the segment it leaves and the directory entry of the one it
// starts before anything is appended there. So after a crash only the newest segment can end
// in a torn tail (unsynced bytes: partial, zeroed or stale); open() cuts it off. A bad record
// anywhere else, a segment missing between the checkpoint's and the newest, or a checkpoint
// position that is not a record boundary within what survived, is corruption: acknowledged
// records may be gone, and the node must not start as if they were not.

#include <cstdint>
#include <functional>
#include <future>
#include <memory>
#include <string>
#include <string_view>

#include "storage/log_segment.hpp"
#include "storage/status.hpp"

namespace ck::storage {

struct journal_position {
  uint64_t segment = 1;
  uint64_t offset = 0;

  friend bool operator==(const journal_position& a, const journal_position& b) {
    return a.segment == b.segment && a.offset == b.offset;
  }
  friend bool operator<(const journal_position& a, const journal_position& b) {
    return a.segment != b.segment ? a.segment < b.segment : a.offset < b.offset;
  }
};

// What open() found on disk.
struct journal_recovery {
  uint64_t records = 0;        // records replayed (at or after the checkpoint position)
  uint64_t segments = 0;       // segments read
  uint64_t torn_bytes = 0;     // bytes cut off the newest segment's tail
  std::string torn_tail;       // why they were not a record ("" when nothing was cut)
};

class journal {
  struct private_tag {};

 public:
  // Opens the journal in `dir` (created when missing) after a checkpoint that covers every
  // record before `from`: deletes the segments numbered below from.segment, calls
  // on_record(position, body) for every record at or after `from`, in order, cuts a torn tail
  // off the newest segment, and continues appending at its end. A directory without segments
  // starts with segment from.segment (which must then be at offset 0).
  // Returns the journal, or: corruption (see the crash model above); the status of on_record
  // when it fails (nothing is cut or deleted then); io_error.
  static result<std::unique_ptr<journal>> open(
      const std::string& dir, journal_position from,
      const std::function<status(journal_position, std::string_view)>& on_record,
      journal_recovery* found = nullptr);

  // Use open().
  journal(private_tag, std::string dir, uint64_t segment,
          std::unique_ptr<segment_writer> writer);
  journal(const journal&) = delete;
  journal& operator=(const journal&) = delete;
  ~journal();

  // Appends one record (not yet durable). Failures as segment_writer::append: an io_error
  // breaks the journal (every later call fails; reopen to continue).
  status append(std::string_view body);
  // Makes every appended record durable (fdatasync).
  status sync();
  // Syncs the current segment and starts the next one (its directory entry synced too); the
  // one it leaves is sealed (segment_writer::seal) first.
  status rotate();
  // Segments rotate() starts from now on are preallocated with `bytes` zeros, written ahead by
  // a helper thread into a spare file (segment_writer::prepare_spare; spare_name, which open()
  // deletes): rotate() renames the spare when it is ready, and otherwise starts a segment
  // without zeros rather than wait. 0: none.
  void preallocate_segments(uint64_t bytes);
  // Blocks until the spare being written (if any) is ready: for tests that need to know which
  // kind of segment the next rotate() starts.
  void wait_for_spare();
  // The spare's file name in the journal's directory (not a segment name).
  static constexpr const char* spare_name = "spare.zeros";
  // Deletes the segments numbered below `segment` (at most the current one) and syncs the
  // directory: the caller's checkpoint covers every record in them.
  status release_below(uint64_t segment);

  // Where the next record goes: a checkpoint that covers everything appended so far names it.
  journal_position end() const { return {segment_, writer_->bytes()}; }
  const std::string& dir() const { return dir_; }

  // The file name of segment `number` in `dir`.
  static std::string segment_path(const std::string& dir, uint64_t number);

 private:
  std::string dir_;
  uint64_t preallocate_bytes_ = 0;
  uint64_t segment_;
  uint64_t oldest_;  // the oldest segment still on disk
  std::unique_ptr<segment_writer> writer_;
  std::string failure_;  // set once rotate() or release_below() failed half way
  // The spare segment a helper thread writes: the bytes it holds once ready (0: none).
  std::future<uint64_t> spare_;

  void prepare_spare();
  std::string spare_path() const;
};

}  // namespace ck::storage
