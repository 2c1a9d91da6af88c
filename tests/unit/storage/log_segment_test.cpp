// storage/log_segment: records come back in order; a torn or damaged tail ends the scan at the
// last good record and reopen() cuts it off; every failure is a status.

#include "storage/log_segment.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <random>
#include <string>
#include <vector>

#include <doctest/doctest.h>

#include "tests/unit/storage/test_support.hpp"

namespace ck::storage {
namespace {

using test::temp_dir;

struct scanned {
  segment_scan scan;
  std::vector<uint64_t> offsets;
  std::vector<std::string> bodies;
};

scanned scan_all(const std::string& path) {
  scanned out;
  auto scan = scan_segment(path, [&](uint64_t offset, std::string_view body) {
    out.offsets.push_back(offset);
    out.bodies.emplace_back(body);
    return status::success();
  });
  REQUIRE_MESSAGE(scan.ok(), scan.status().to_string());
  out.scan = scan.value();
  return out;
}

std::unique_ptr<segment_writer> create(const std::string& path) {
  auto writer = segment_writer::create(path);
  REQUIRE_MESSAGE(writer.ok(), writer.status().to_string());
  return std::move(writer.value());
}

void append_raw(const std::string& path, const std::string& bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::app);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  REQUIRE(out.good());
}

void overwrite_byte(const std::string& path, uint64_t offset, char value) {
  std::fstream f(path, std::ios::binary | std::ios::in | std::ios::out);
  f.seekp(static_cast<std::streamoff>(offset));
  f.put(value);
  REQUIRE(f.good());
}

TEST_CASE("log_segment: records come back in order with their offsets") {
  temp_dir dir;
  const std::string path = dir.sub("seg-1");
  auto writer = create(path);
  const std::vector<std::string> bodies = {"first", "", std::string(70000, 'x'), "last"};
  for (const auto& body : bodies) {
    REQUIRE(writer->append(body).ok());
  }
  REQUIRE(writer->sync().ok());
  const scanned got = scan_all(path);
  CHECK(got.bodies == bodies);
  CHECK(got.offsets == std::vector<uint64_t>{0, 13, 21, 70029});
  CHECK(got.scan.records == 4);
  CHECK(got.scan.valid_bytes == writer->bytes());
  CHECK(got.scan.file_bytes == writer->bytes());
  CHECK(got.scan.tail_problem.empty());
}

namespace {

// A segment at `path` made of a spare of `bytes` zeros, as the journal makes its segments.
std::unique_ptr<segment_writer> preallocated(temp_dir& dir, const std::string& path,
                                             uint64_t bytes) {
  const std::string spare = dir.sub("spare");
  REQUIRE(segment_writer::prepare_spare(spare, bytes) == bytes);
  auto made = segment_writer::adopt_spare(spare, path, bytes);
  REQUIRE_MESSAGE(made.ok(), made.status().to_string());
  CHECK_FALSE(std::filesystem::exists(spare));
  return std::move(made.value());
}

}  // namespace

TEST_CASE("log_segment: a preallocated segment keeps its size; seal cuts the zeros after the records") {
  temp_dir dir;
  const std::string path = dir.sub("seg-1");
  auto writer = preallocated(dir, path, 64 * 1024);
  CHECK(std::filesystem::file_size(path) == 64 * 1024);
  REQUIRE(writer->append("first").ok());
  REQUIRE(writer->append(std::string(1000, 'y')).ok());
  REQUIRE(writer->sync().ok());
  CHECK(std::filesystem::file_size(path) == 64 * 1024);  // written over the zeros
  scanned got = scan_all(path);
  CHECK(got.bodies == std::vector<std::string>{"first", std::string(1000, 'y')});
  CHECK(got.scan.valid_bytes == writer->bytes());
  CHECK_FALSE(got.scan.tail_problem.empty());  // the zeros are no record

  REQUIRE(writer->seal().ok());
  CHECK(std::filesystem::file_size(path) == writer->bytes());
  got = scan_all(path);
  CHECK(got.bodies.size() == 2);
  CHECK(got.scan.tail_problem.empty());

  // Records past the preallocation extend the file as without it.
  auto small = preallocated(dir, dir.sub("seg-2"), 16);
  REQUIRE(small->append(std::string(100, 'z')).ok());
  CHECK(std::filesystem::file_size(dir.sub("seg-2")) == small->bytes());
  CHECK(scan_all(dir.sub("seg-2")).bodies.size() == 1);
}

TEST_CASE("log_segment: a torn tail ends the scan and reopen cuts it off") {
  temp_dir dir;
  const std::string path = dir.sub("seg-1");
  uint64_t good_end = 0;
  {
    auto writer = create(path);
    REQUIRE(writer->append("one").ok());
    REQUIRE(writer->append("two").ok());
    REQUIRE(writer->sync().ok());
    good_end = writer->bytes();
  }
  SUBCASE("a record cut short") {
    // A header announcing 100 bytes followed by only 10 of them.
    append_raw(path, std::string("\0\0\0\x64" "abcd", 8) + std::string(10, 'z'));
    const scanned got = scan_all(path);
    CHECK(got.bodies == std::vector<std::string>{"one", "two"});
    CHECK(got.scan.valid_bytes == good_end);
    CHECK(got.scan.file_bytes == good_end + 18);
    CHECK(got.scan.tail_problem.find("cut short") != std::string::npos);
  }
  SUBCASE("a partial header") {
    append_raw(path, std::string("\0\0", 2));
    const scanned got = scan_all(path);
    CHECK(got.scan.records == 2);
    CHECK(got.scan.tail_problem.find("partial record header") != std::string::npos);
  }
  SUBCASE("zeros (a page the crash left unwritten) fail the crc") {
    append_raw(path, std::string(64, '\0'));
    const scanned got = scan_all(path);
    CHECK(got.scan.records == 2);
    CHECK(got.scan.tail_problem.find("crc") != std::string::npos);
  }
  SUBCASE("an absurd length") {
    append_raw(path, std::string("\xff\xff\xff\xff" "abcd", 8));
    const scanned got = scan_all(path);
    CHECK(got.scan.records == 2);
    CHECK(got.scan.tail_problem.find("record length") != std::string::npos);
  }
  // Continue after the good records: the tail is gone and new records follow.
  auto reopened = segment_writer::reopen(path, scan_all(path).scan.valid_bytes);
  REQUIRE_MESSAGE(reopened.ok(), reopened.status().to_string());
  CHECK(reopened.value()->bytes() == good_end);
  REQUIRE(reopened.value()->append("three").ok());
  REQUIRE(reopened.value()->sync().ok());
  const scanned after = scan_all(path);
  CHECK(after.bodies == std::vector<std::string>{"one", "two", "three"});
  CHECK(after.scan.tail_problem.empty());
  CHECK(after.scan.file_bytes == after.scan.valid_bytes);
}

TEST_CASE("log_segment: a damaged byte anywhere in a record stops the scan before it") {
  temp_dir dir;
  const std::string path = dir.sub("seg-1");
  auto writer = create(path);
  for (const char* body : {"alpha", "bravo", "charlie"}) {
    REQUIRE(writer->append(body).ok());
  }
  REQUIRE(writer->sync().ok());
  // "bravo" starts at 13: damage its length, its crc and its body in turn.
  for (const uint64_t offset : {uint64_t{13 + 3}, uint64_t{13 + 5}, uint64_t{13 + 8 + 2}}) {
    CAPTURE(offset);
    const std::string copy = dir.sub("copy-" + std::to_string(offset));
    std::filesystem::copy_file(path, copy);
    overwrite_byte(copy, offset, '\x5a');
    const scanned got = scan_all(copy);
    CHECK(got.bodies == std::vector<std::string>{"alpha"});
    CHECK(got.scan.valid_bytes == 13);
    CHECK_FALSE(got.scan.tail_problem.empty());
  }
}

TEST_CASE("log_segment: cut at any byte, the scan returns exactly the whole records before it") {
  temp_dir dir;
  const std::string path = dir.sub("seg-1");
  std::mt19937_64 rng(20261203);
  std::vector<std::string> bodies;
  std::vector<uint64_t> ends;
  {
    auto writer = create(path);
    for (int i = 0; i < 40; ++i) {
      bodies.emplace_back(rng() % 300, static_cast<char>('a' + i % 26));
      REQUIRE(writer->append(bodies.back()).ok());
      ends.push_back(writer->bytes());
    }
    REQUIRE(writer->sync().ok());
  }
  const auto size = std::filesystem::file_size(path);
  for (int round = 0; round < 200; ++round) {
    const uint64_t cut = rng() % (size + 1);
    CAPTURE(cut);
    const std::string copy = dir.sub("cut");
    std::filesystem::remove(copy);
    std::filesystem::copy_file(path, copy);
    std::filesystem::resize_file(copy, cut);
    size_t whole = 0;
    while (whole < ends.size() && ends[whole] <= cut) {
      ++whole;
    }
    const scanned got = scan_all(copy);
    REQUIRE(got.scan.records == whole);
    CHECK(got.scan.valid_bytes == (whole == 0 ? 0 : ends[whole - 1]));
    CHECK(got.scan.tail_problem.empty() == (got.scan.valid_bytes == cut));
    CHECK(std::equal(got.bodies.begin(), got.bodies.end(), bodies.begin()));
  }
}

TEST_CASE("log_segment: misuse and missing files are statuses") {
  temp_dir dir;
  const std::string path = dir.sub("seg-1");
  CHECK(scan_segment(path, {}).status().code() == code::not_found);
  CHECK(segment_writer::reopen(path, 0).status().code() == code::not_found);
  auto writer = create(path);
  REQUIRE(writer->append("x").ok());
  CHECK(segment_writer::create(path).status().code() == code::io_error);  // never overwrites
  CHECK(segment_writer::reopen(path, writer->bytes() + 1).status().code() ==
        code::invalid_argument);
  CHECK(writer->append(std::string(segment_record_bytes_max + 1, 'x')).code() ==
        code::invalid_argument);
  // A failing callback stops the scan with its status.
  auto stopped = scan_segment(path, [](uint64_t, std::string_view) {
    return status::corruption("not what the caller expected");
  });
  CHECK(stopped.status().code() == code::corruption);
}

}  // namespace
}  // namespace ck::storage
