#include "storage/log_segment.hpp"

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

result<std::unique_ptr<segment_writer>> segment_writer::create(const std::string& path) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_APPEND | O_CLOEXEC, 0600);
  if (fd < 0) {
    return os_failure("cannot create segment", path, errno);
  }
  return std::make_unique<segment_writer>(private_tag{}, fd, path, 0);
}

result<std::unique_ptr<segment_writer>> segment_writer::reopen(const std::string& path,
                                                               uint64_t valid_bytes) {
  auto opened = open_existing(path, O_WRONLY | O_APPEND);
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
  return std::make_unique<segment_writer>(private_tag{}, fd, path, valid_bytes);
}

segment_writer::segment_writer(private_tag, int fd, std::string path, uint64_t bytes)
    : fd_(fd), path_(std::move(path)), bytes_(bytes) {}

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
  size_t done = 0;
  while (done < frame_.size()) {
    const ssize_t wrote = ::write(fd_, frame_.data() + done, frame_.size() - done);
    if (wrote < 0 && errno == EINTR) {
      continue;
    }
    if (wrote < 0) {
      return broken(describe("cannot write segment", path_, errno));
    }
    done += static_cast<size_t>(wrote);
  }
  bytes_ += frame_.size();
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
