#include "storage/journal.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cerrno>
#include <cinttypes>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <vector>

namespace ck::storage {

namespace {

constexpr std::string_view segment_suffix = ".wal";
constexpr size_t segment_digits = 16;

status os_failure(std::string_view what, const std::string& path, int error) {
  return status::io_error(std::string(what) + " " + path + ": " + std::strerror(error));
}

// Makes the directory's entries (files created or deleted in it) durable.
status sync_dir(const std::string& dir) {
  const int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) {
    return os_failure("cannot open journal directory", dir, errno);
  }
  const int synced = ::fsync(fd);
  const int error = errno;
  ::close(fd);
  return synced == 0 ? status::success() : os_failure("cannot sync journal directory", dir, error);
}

// The segment number of a file name, or 0 when the name is not a segment's.
uint64_t segment_number(const std::string& name) {
  if (name.size() != segment_digits + segment_suffix.size() ||
      name.compare(segment_digits, std::string::npos, segment_suffix) != 0) {
    return 0;
  }
  uint64_t number = 0;
  for (size_t k = 0; k < segment_digits; ++k) {
    const char c = name[k];
    uint64_t digit = 0;
    if (c >= '0' && c <= '9') {
      digit = static_cast<uint64_t>(c - '0');
    } else if (c >= 'a' && c <= 'f') {
      digit = static_cast<uint64_t>(c - 'a' + 10);
    } else {
      return 0;
    }
    number = number * 16 + digit;
  }
  return number;
}

// The segment numbers in `dir`, ascending.
result<std::vector<uint64_t>> list_segments(const std::string& dir) {
  std::error_code error;
  std::vector<uint64_t> numbers;
  for (const auto& item : std::filesystem::directory_iterator(dir, error)) {
    if (const uint64_t number = segment_number(item.path().filename().string()); number != 0) {
      numbers.push_back(number);
    }
  }
  if (error) {
    return status::io_error("cannot list journal directory " + dir + ": " + error.message());
  }
  std::sort(numbers.begin(), numbers.end());
  return numbers;
}

// Deletes segment `number` of `dir` (gone already is fine); the caller syncs the directory.
status remove_segment(const std::string& dir, uint64_t number) {
  const std::string path = journal::segment_path(dir, number);
  if (::unlink(path.c_str()) != 0 && errno != ENOENT) {
    return os_failure("cannot delete journal segment", path, errno);
  }
  return status::success();
}

status corrupt(const std::string& dir, const std::string& why) {
  return status::corruption("journal " + dir + ": " + why);
}

}  // namespace

std::string journal::segment_path(const std::string& dir, uint64_t number) {
  char name[segment_digits + 1];
  std::snprintf(name, sizeof name, "%016" PRIx64, number);
  return dir + "/" + name + std::string(segment_suffix);
}

result<std::unique_ptr<journal>> journal::open(
    const std::string& dir, journal_position from,
    const std::function<status(journal_position, std::string_view)>& on_record,
    journal_recovery* found) {
  if (from.segment == 0) {
    return status::invalid_argument("journal positions start at segment 1");
  }
  std::error_code error;
  if (std::filesystem::create_directories(dir, error)) {
    const std::string parent = std::filesystem::path(dir).parent_path().string();
    if (auto st = sync_dir(parent.empty() ? "." : parent); !st.ok()) {
      return st;
    }
  } else if (error) {
    return status::io_error("cannot create journal directory " + dir + ": " + error.message());
  }
  // A spare an earlier run was writing (or had ready) when it stopped: never a segment, and
  // perhaps not all zeros; the next preallocate_segments() makes a new one.
  ::unlink((dir + "/" + spare_name).c_str());
  auto listed = list_segments(dir);
  if (!listed.ok()) {
    return listed.status();
  }
  const std::vector<uint64_t>& numbers = listed.value();
  journal_recovery recovery;

  if (numbers.empty() || numbers.back() < from.segment) {
    // Nothing at or after the checkpoint: a fresh journal, unless the checkpoint names records.
    if (from.offset != 0 || !numbers.empty()) {
      return corrupt(dir, "segment " + std::to_string(from.segment) +
                              ", where the last checkpoint left off, is missing");
    }
    auto writer = segment_writer::create(segment_path(dir, from.segment));
    if (!writer.ok()) {
      return writer.status();
    }
    if (auto st = sync_dir(dir); !st.ok()) {
      return st;
    }
    if (found != nullptr) {
      *found = recovery;
    }
    return std::make_unique<journal>(private_tag{}, dir, from.segment, std::move(writer.value()));
  }

  // Every segment from the checkpoint's to the newest must be there.
  const uint64_t newest = numbers.back();
  auto first = std::lower_bound(numbers.begin(), numbers.end(), from.segment);
  if (*first != from.segment ||
      static_cast<uint64_t>(numbers.end() - first) != newest - from.segment + 1) {
    return corrupt(dir, "segments " + std::to_string(from.segment) + " to " +
                            std::to_string(newest) + " are not all there");
  }

  uint64_t newest_valid = 0;
  for (uint64_t number = from.segment; number <= newest; ++number) {
    const std::string path = segment_path(dir, number);
    const bool checkpoint_segment = number == from.segment;
    bool boundary_seen = !checkpoint_segment || from.offset == 0;
    auto scan = scan_segment(path, [&](uint64_t offset, std::string_view body) {
      if (checkpoint_segment && offset < from.offset) {
        return status::success();
      }
      boundary_seen = boundary_seen || offset == from.offset;
      ++recovery.records;
      return on_record ? on_record({number, offset}, body) : status::success();
    });
    if (!scan.ok()) {
      return scan.status();
    }
    ++recovery.segments;
    const segment_scan& s = scan.value();
    if (number != newest && !s.tail_problem.empty()) {
      return corrupt(dir, "segment " + std::to_string(number) + " is damaged before the newest: " +
                              s.tail_problem);
    }
    boundary_seen = boundary_seen || (checkpoint_segment && from.offset == s.valid_bytes);
    if (!boundary_seen) {
      return corrupt(dir, "the last checkpoint left off at offset " + std::to_string(from.offset) +
                              " of segment " + std::to_string(number) +
                              ", which is not a record boundary of its " +
                              std::to_string(s.valid_bytes) + " valid bytes");
    }
    if (number == newest) {
      newest_valid = s.valid_bytes;
      recovery.torn_bytes = s.file_bytes - s.valid_bytes;
      recovery.torn_tail = s.tail_problem;
    }
  }

  // Replayed: what the checkpoint covers can go, and the torn tail is cut (reopen syncs it).
  auto writer = segment_writer::reopen(segment_path(dir, newest), newest_valid);
  if (!writer.ok()) {
    return writer.status();
  }
  bool deleted = false;
  for (auto it = numbers.begin(); it != first; ++it) {
    if (status removed = remove_segment(dir, *it); !removed.ok()) {
      return removed;
    }
    deleted = true;
  }
  if (deleted) {
    if (auto st = sync_dir(dir); !st.ok()) {
      return st;
    }
  }
  auto opened = std::make_unique<journal>(private_tag{}, dir, newest, std::move(writer.value()));
  opened->oldest_ = from.segment;
  if (found != nullptr) {
    *found = recovery;
  }
  return opened;
}

journal::journal(private_tag, std::string dir, uint64_t segment,
                 std::unique_ptr<segment_writer> writer)
    : dir_(std::move(dir)), segment_(segment), oldest_(segment), writer_(std::move(writer)) {}

journal::~journal() = default;

status journal::append(std::string_view body) {
  if (!failure_.empty()) {
    return status::io_error("journal failed before: " + failure_);
  }
  return writer_->append(body);
}

status journal::sync() {
  if (!failure_.empty()) {
    return status::io_error("journal failed before: " + failure_);
  }
  return writer_->sync();
}

status journal::rotate() {
  if (auto st = sync(); !st.ok()) {
    return st;
  }
  // Before the next segment exists: a crash between the two must not leave a segment that is
  // not the newest ending in preallocated zeros (open would call that damage).
  if (auto st = writer_->seal(); !st.ok()) {
    failure_ = st.to_string();
    return st;
  }
  const std::string next_path = segment_path(dir_, segment_ + 1);
  result<std::unique_ptr<segment_writer>> next = status::io_error("no spare segment");
  if (spare_.valid() && spare_.wait_for(std::chrono::seconds(0)) == std::future_status::ready) {
    const uint64_t zeros = spare_.get();
    if (zeros > 0) {
      next = segment_writer::adopt_spare(spare_path(), next_path, zeros);
    }
  }
  if (!next.ok()) {
    // No spare ready (or it failed): a segment without zeros, at once. Only its syncs pay more.
    next = segment_writer::create(next_path);
  }
  if (!next.ok()) {
    failure_ = next.status().to_string();
    return next.status();
  }
  // The new segment's entry must be durable before a checkpoint can name it.
  if (auto st = sync_dir(dir_); !st.ok()) {
    failure_ = st.to_string();
    return st;
  }
  writer_ = std::move(next.value());
  ++segment_;
  if (!spare_.valid()) {
    prepare_spare();  // for the next rotation
  }
  return status::success();
}

void journal::preallocate_segments(uint64_t bytes) {
  preallocate_bytes_ = bytes;
  if (!spare_.valid()) {
    prepare_spare();
  }
}

void journal::prepare_spare() {
  if (preallocate_bytes_ == 0) {
    return;
  }
  spare_ = std::async(std::launch::async, segment_writer::prepare_spare, spare_path(),
                      preallocate_bytes_);
}

void journal::wait_for_spare() {
  if (spare_.valid()) {
    spare_.wait();
  }
}

std::string journal::spare_path() const { return dir_ + "/" + spare_name; }

status journal::release_below(uint64_t segment) {
  if (segment > segment_) {
    return status::invalid_argument("cannot release the journal below segment " +
                                    std::to_string(segment) + ": the current one is " +
                                    std::to_string(segment_));
  }
  if (segment <= oldest_) {
    return status::success();
  }
  for (uint64_t number = oldest_; number < segment; ++number) {
    if (status removed = remove_segment(dir_, number); !removed.ok()) {
      return removed;
    }
  }
  if (auto st = sync_dir(dir_); !st.ok()) {
    return st;
  }
  oldest_ = segment;
  return status::success();
}

}  // namespace ck::storage
