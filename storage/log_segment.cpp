#include "storage/log_segment.hpp"

#include <algorithm>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <vector>

#include "runtime/base/big_endian.hpp"
#include "storage/format.hpp"

namespace ck::storage {

namespace {

std::string describe(std::string_view what, const std::string& path, int error) {
  return std::string(what) + " " + path + ": " + std::strerror(error);
}

status os_failure(std::string_view what, const std::string& path, int error) {
  return status::io_error(describe(what, path, error));
}

uint32_t record_crc(const char* length_bytes, std::string_view body) {
  return crc32_extend(crc32(std::string_view(length_bytes, 4)), body);
}

// Reads exactly `size` bytes at `offset` (fewer only at the end of the file); -1 on error.
ssize_t read_at(int fd, char* out, size_t size, uint64_t offset) {
  size_t done = 0;
  while (done < size) {
    const ssize_t got = ::pread(fd, out + done, size - done, static_cast<off_t>(offset + done));
    if (got < 0 && errno == EINTR) {
      continue;
    }
    if (got < 0) {
      return -1;
    }
    if (got == 0) {
      break;
    }
    done += static_cast<size_t>(got);
  }
  return static_cast<ssize_t>(done);
}

// Writes all of `data` at `offset`; false with errno set when a write fails.
bool write_all_at(int fd, const char* data, size_t size, uint64_t offset) {
  size_t done = 0;
  while (done < size) {
    const ssize_t wrote =
        ::pwrite(fd, data + done, size - done, static_cast<off_t>(offset + done));
    if (wrote < 0 && errno == EINTR) {
      continue;
    }
    if (wrote < 0) {
      return false;
    }
    done += static_cast<size_t>(wrote);
  }
  return true;
}

// An open segment and its size at the time.
struct open_file {
  int fd = -1;
  uint64_t size = 0;
};

// Opens an existing segment with `flags`: not_found when it does not exist, io_error else.
result<open_file> open_existing(const std::string& path, int flags) {
  const int fd = ::open(path.c_str(), flags | O_CLOEXEC);
  if (fd < 0) {
    return errno == ENOENT ? status::not_found("no segment " + path)
                           : os_failure("cannot open segment", path, errno);
  }
  struct stat info {};
  if (::fstat(fd, &info) != 0) {
    const int error = errno;
    ::close(fd);
    return os_failure("cannot stat segment", path, error);
  }
  return open_file{fd, static_cast<uint64_t>(info.st_size)};
}

}  // namespace

result<segment_scan> scan_segment(
    const std::string& path, const std::function<status(uint64_t, std::string_view)>& on_record) {
  auto opened = open_existing(path, O_RDONLY);
  if (!opened.ok()) {
    return opened.status();
  }
  const int fd = opened.value().fd;
  segment_scan scan;
  scan.file_bytes = opened.value().size;
  std::vector<char> body;
  char header[segment_record_header_bytes];
  status outcome;
  while (scan.valid_bytes < scan.file_bytes) {
    const uint64_t offset = scan.valid_bytes;
    const uint64_t left = scan.file_bytes - offset;
    if (left < segment_record_header_bytes) {
      scan.tail_problem = "a partial record header at offset " + std::to_string(offset);
      break;
    }
    if (read_at(fd, header, sizeof header, offset) != static_cast<ssize_t>(sizeof header)) {
      outcome = os_failure("cannot read segment", path, errno);
      break;
    }
    const uint32_t length = runtime::get_u32_be(header);
    if (length > segment_record_bytes_max) {
      scan.tail_problem = "a record length of " + std::to_string(length) + " bytes at offset " +
                          std::to_string(offset) + " (at most " +
                          std::to_string(segment_record_bytes_max) + ")";
      break;
    }
    if (left - segment_record_header_bytes < length) {
      scan.tail_problem = "a record cut short at offset " + std::to_string(offset);
      break;
    }
    body.resize(length);
    if (read_at(fd, body.data(), length, offset + segment_record_header_bytes) !=
        static_cast<ssize_t>(length)) {
      outcome = os_failure("cannot read segment", path, errno);
      break;
    }
    const std::string_view view(body.data(), length);
    if (record_crc(header, view) != runtime::get_u32_be(header + 4)) {
      scan.tail_problem = "a record failing its crc at offset " + std::to_string(offset);
      break;
    }
    if (on_record) {
      outcome = on_record(offset, view);
      if (!outcome.ok()) {
        break;
      }
    }
    ++scan.records;
    scan.valid_bytes = offset + segment_record_header_bytes + length;
  }
  ::close(fd);
  if (!outcome.ok()) {
    return outcome;
  }
  return scan;
}

namespace {

// Fills a new file with `bytes` zeros and syncs them; returns the size it reached (0 when
// the disk had no room: the zeros are cut again).
uint64_t preallocate(int fd, uint64_t bytes) {
  const std::string zeros(1u << 20, '\0');
  uint64_t done = 0;
  while (done < bytes) {
    const size_t chunk = static_cast<size_t>(std::min<uint64_t>(zeros.size(), bytes - done));
    if (!write_all_at(fd, zeros.data(), chunk, done)) {
      break;
    }
    done += chunk;
  }
  if (done < bytes || ::fdatasync(fd) != 0) {
    // Appending then extends the file as without preallocation; a failed cut leaves zeros the
    // first append writes over all the same.
    return ::ftruncate(fd, 0) == 0 ? 0 : done;
  }
  return done;
}

}  // namespace

result<std::unique_ptr<segment_writer>> segment_writer::create(const std::string& path) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) {
    return os_failure("cannot create segment", path, errno);
  }
  return std::make_unique<segment_writer>(private_tag{}, fd, path, 0, 0);
}

uint64_t segment_writer::prepare_spare(const std::string& path, uint64_t bytes) {
  ::unlink(path.c_str());  // a leftover of an earlier run (or a failed rename): made afresh
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) {
    return 0;
  }
  const uint64_t done = preallocate(fd, bytes);
  ::close(fd);
  if (done < bytes) {
    ::unlink(path.c_str());
    return 0;
  }
  return done;
}

result<std::unique_ptr<segment_writer>> segment_writer::adopt_spare(const std::string& spare,
                                                                   const std::string& path,
                                                                   uint64_t spare_bytes) {
  // Open first: once renamed, the file must be usable (a segment that exists but could not
  // be written would stop rotate() from making another under that name).
  const int fd = ::open(spare.c_str(), O_WRONLY | O_CLOEXEC);
  if (fd < 0) {
    return os_failure("cannot open the spare segment", spare, errno);
  }
  if (::rename(spare.c_str(), path.c_str()) != 0) {
    const int error = errno;
    ::close(fd);
    return os_failure("cannot rename the spare segment to", path, error);
  }
  return std::make_unique<segment_writer>(private_tag{}, fd, path, 0, spare_bytes);
}

result<std::unique_ptr<segment_writer>> segment_writer::reopen(const std::string& path,
                                                               uint64_t valid_bytes) {
  auto opened = open_existing(path, O_WRONLY);
  if (!opened.ok()) {
    return opened.status();
  }
  const int fd = opened.value().fd;
  if (opened.value().size < valid_bytes) {
    ::close(fd);
    return status::invalid_argument("segment " + path + " is shorter than the " +
                                    std::to_string(valid_bytes) + " valid bytes to keep");
  }
  if (opened.value().size > valid_bytes &&
      (::ftruncate(fd, static_cast<off_t>(valid_bytes)) != 0 || ::fdatasync(fd) != 0)) {
    const int error = errno;
    ::close(fd);
    return os_failure("cannot cut the torn tail of segment", path, error);
  }
  return std::make_unique<segment_writer>(private_tag{}, fd, path, valid_bytes, valid_bytes);
}

segment_writer::segment_writer(private_tag, int fd, std::string path, uint64_t bytes,
                               uint64_t file_bytes)
    : fd_(fd), path_(std::move(path)), bytes_(bytes), file_bytes_(file_bytes) {}

segment_writer::~segment_writer() {
  if (fd_ >= 0) {
    ::close(fd_);
  }
}

status segment_writer::broken(std::string what) {
  failure_ = std::move(what);
  return status::io_error(failure_);
}

status segment_writer::append(std::string_view body) {
  if (!failure_.empty()) {
    return status::io_error("segment writer failed before: " + failure_);
  }
  if (body.size() > segment_record_bytes_max) {
    return status::invalid_argument("a record of " + std::to_string(body.size()) +
                                    " bytes (at most " +
                                    std::to_string(segment_record_bytes_max) + ")");
  }
  frame_.resize(segment_record_header_bytes);
  runtime::put_u32_be(frame_.data(), static_cast<uint32_t>(body.size()));
  runtime::put_u32_be(frame_.data() + 4, record_crc(frame_.data(), body));
  frame_.append(body);
  if (!write_all_at(fd_, frame_.data(), frame_.size(), bytes_)) {
    return broken(describe("cannot write segment", path_, errno));
  }
  bytes_ += frame_.size();
  file_bytes_ = std::max(file_bytes_, bytes_);
  return status::success();
}

status segment_writer::seal() {
  if (!failure_.empty()) {
    return status::io_error("segment writer failed before: " + failure_);
  }
  if (file_bytes_ > bytes_) {
    if (::ftruncate(fd_, static_cast<off_t>(bytes_)) != 0 || ::fsync(fd_) != 0) {
      return broken(describe("cannot cut the preallocated tail of segment", path_, errno));
    }
    file_bytes_ = bytes_;
  }
  return status::success();
}

status segment_writer::sync() {
  if (!failure_.empty()) {
    return status::io_error("segment writer failed before: " + failure_);
  }
  if (::fdatasync(fd_) != 0) {
    return broken(describe("cannot sync segment", path_, errno));
  }
  return status::success();
}

}  // namespace ck::storage
