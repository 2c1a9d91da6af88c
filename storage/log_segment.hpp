#pragma once

// One file of an append-only log: records appended in order, made durable by sync(), read back
// in order at restart. The building block of the node log engine planned for issue 12 (one
// sequential write and one fdatasync per storage flush instead of LMDB's scattered pages; see
// docs/performance.md, "Writes: what 2x etcd would take")..
//
// Format: a sequence of records, nothing else (no file header: a segment's identity is its
// name, chosen by the caller):
//
//   offset 0  4            8
//          | u32_be n   | u32_be crc | body (n bytes)                                   |
//
// crc is crc32 (storage/format.hpp) of the 4 length bytes followed by the body, so a length
// damaged into another plausible value fails too. n is at most segment_record_bytes_max.
//
// Crash model (why scan stops at the first bad record): a record is acknowledged only after a
// sync() that covered it, and records are only ever written after the last one (extending the
// file, or over the zeros a preallocated segment starts with), so every acknowledged record
// lies before every record a crash could have left torn. After a crash the bytes past the last
// sync may be any mix of complete, partial, zeroed or stale data, so everything from the first
// record that is short or fails its crc is the unsynced tail: scan reports where it starts
// and reopen() cuts it off. Damage inside the synced part looks the same to the scan; telling
// them apart needs the caller's knowledge (e.g. only the newest segment may have a torn tail).

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "storage/status.hpp"

namespace ck::storage {

inline constexpr uint32_t segment_record_header_bytes = 8;
inline constexpr uint32_t segment_record_bytes_max = 64u << 20;

// What scan_segment found.
struct segment_scan {
  uint64_t records = 0;      // good records, in order from offset 0
  uint64_t valid_bytes = 0;  // the end of the last good record
  uint64_t file_bytes = 0;   // the file's size; more than valid_bytes: a tail that is not a record
  std::string tail_problem;  // why the bytes at valid_bytes are not a record ("" when none)
};

// Reads the segment at `path` from the start and calls on_record(offset, body) for every good
// record in order, stopping at the first bad one (see the crash model above) or when
// on_record fails (its status is returned). Returns the scan; not_found when the file does
// not exist; io_error when it cannot be read.
result<segment_scan> scan_segment(
    const std::string& path, const std::function<status(uint64_t, std::string_view)>& on_record);

// Appends records to one segment. One writer per file; not thread-safe.
class segment_writer {
  struct private_tag {};

 public:
  // Creates a new, empty segment (fails with io_error if `path` exists, so a log never
  // overwrites a segment it did not scan).
  static result<std::unique_ptr<segment_writer>> create(const std::string& path);
  // A preallocated segment is made in two steps. prepare_spare() fills `path` (a leftover file
  // there is replaced) with `bytes` zero bytes and syncs them; it returns the bytes it holds, 0
  // when there is no spare (no room, or an error: the file is then removed). Blocking, for a
  // helper thread: the writer's thread then does not spend the zero write (a stall of up to
  // tens of milliseconds per rotation here) in its path.
  // Records then overwrite the zeros in place: an fdatasync writes the records alone, where an
  // append also writes the inode's new size (a quarter of its CPU here, docs/performance.md).
  // Zeros fail the record crc, so a scan ends where the records do, as at a torn tail.
  static uint64_t prepare_spare(const std::string& path, uint64_t bytes);
  // adopt_spare() turns the spare at `spare` (prepare_spare's, `spare_bytes` > 0) into the new,
  // empty segment `path` (a rename: the caller syncs the directory) and opens it for appending
  // over its zeros. Fails with io_error when `spare` cannot be opened or renamed (nothing
  // changed).
  static result<std::unique_ptr<segment_writer>> adopt_spare(const std::string& spare,
                                                             const std::string& path,
                                                             uint64_t spare_bytes);
  // Continues the segment at `path` after `valid_bytes` (scan_segment's valid_bytes): the tail
  // beyond is cut off and synced away first, so a later crash cannot bring it back between
  // new records.
  static result<std::unique_ptr<segment_writer>> reopen(const std::string& path,
                                                        uint64_t valid_bytes);

  segment_writer(private_tag, int fd, std::string path, uint64_t bytes, uint64_t file_bytes);
  segment_writer(const segment_writer&) = delete;
  segment_writer& operator=(const segment_writer&) = delete;
  ~segment_writer();

  // Writes one record (not yet durable). invalid_argument when the body is over
  // segment_record_bytes_max (nothing written); io_error (ENOSPC included) when the write
  // fails: the writer is then broken (every later call fails), as the file may end in part of
  // this record; reopen after a scan to continue.
  status append(std::string_view body);
  // Makes every appended record durable (fdatasync). io_error breaks the writer as above: after
  // a failed fdatasync the kernel may have dropped the dirty pages, so nothing since the last
  // good sync may be counted as durable.
  status sync();
  // Cuts the preallocated zeros after the last record off the file and syncs that, for a
  // segment no record will follow in (a journal rotating: only the newest segment may end in
  // something that is not a record). Failures break the writer.
  status seal();

  // Bytes in the file, the records appended included.
  uint64_t bytes() const noexcept { return bytes_; }
  const std::string& path() const noexcept { return path_; }

 private:
  status broken(std::string what);

  int fd_ = -1;
  std::string path_;
  uint64_t bytes_ = 0;
  uint64_t file_bytes_ = 0;  // the file's size: bytes_, or more while preallocated zeros follow
  std::string failure_;  // set once a write or sync failed
  std::string frame_;    // reused buffer: header + body
};

}  // namespace ck::storage
