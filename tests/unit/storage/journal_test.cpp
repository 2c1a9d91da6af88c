// storage/journal: records come back in order from the checkpoint position on, across
// segments; only the newest segment may lose a torn tail; anything else that lost
// acknowledged records is corruption; released segments are gone.

#include "storage/journal.hpp"

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

struct replayed {
  std::vector<journal_position> positions;
  std::vector<std::string> bodies;
  journal_recovery recovery;
};

result<std::unique_ptr<journal>> open_journal(const std::string& dir, journal_position from,
                                              replayed& out) {
  out = {};
  return journal::open(
      dir, from,
      [&](journal_position at, std::string_view body) {
        out.positions.push_back(at);
        out.bodies.emplace_back(body);
        return status::success();
      },
      &out.recovery);
}

std::unique_ptr<journal> must_open(const std::string& dir, journal_position from, replayed& out) {
  auto opened = open_journal(dir, from, out);
  REQUIRE_MESSAGE(opened.ok(), opened.status().to_string());
  return std::move(opened.value());
}

void must(const status& st) { REQUIRE_MESSAGE(st.ok(), st.to_string()); }

void write_raw_at(const std::string& path, uint64_t offset, const std::string& bytes) {
  std::fstream f(path, std::ios::binary | std::ios::in | std::ios::out);
  f.seekp(static_cast<std::streamoff>(offset));
  f.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  REQUIRE(f.good());
}

void append_raw(const std::string& path, const std::string& bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::app);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  REQUIRE(out.good());
}

uint64_t file_size(const std::string& path) { return std::filesystem::file_size(path); }

TEST_CASE("journal: a fresh directory starts empty; records come back in order after a reopen") {
  temp_dir tmp;
  const std::string dir = tmp.sub("wal");
  replayed seen;
  auto j = must_open(dir, {}, seen);
  CHECK(seen.bodies.empty());
  CHECK(j->end() == journal_position{1, 0});
  must(j->append("one"));
  must(j->append("two"));
  must(j->sync());
  const journal_position after_two = j->end();
  CHECK(after_two.segment == 1);
  CHECK(after_two.offset == 2 * segment_record_header_bytes + 6);
  j.reset();

  j = must_open(dir, {}, seen);
  CHECK(seen.bodies == std::vector<std::string>{"one", "two"});
  CHECK(seen.positions[0] == journal_position{1, 0});
  CHECK(seen.positions[1] == journal_position{1, segment_record_header_bytes + 3});
  CHECK(seen.recovery.torn_tail.empty());
  CHECK(j->end() == after_two);  // appends continue after the records, in the same segment
  must(j->append("three"));
  must(j->sync());
  j.reset();

  must_open(dir, after_two, seen);  // a checkpoint covering "one" and "two"
  CHECK(seen.bodies == std::vector<std::string>{"three"});
  CHECK(seen.recovery.records == 1);
}

TEST_CASE("journal: rotation spreads records over segments; a checkpoint releases the older") {
  uint64_t preallocate = 0;
  SUBCASE("segments grow as records are appended") {}
  SUBCASE("segments are preallocated") { preallocate = 4096; }
  temp_dir tmp;
  const std::string dir = tmp.sub("wal");
  replayed seen;
  auto j = must_open(dir, {}, seen);
  j->preallocate_segments(preallocate);
  const std::string spare = dir + "/" + journal::spare_name;
  must(j->append("a"));
  j->wait_for_spare();  // written by a helper thread; rotate() would not wait for it
  CHECK(std::filesystem::exists(spare) == (preallocate > 0));
  must(j->rotate());
  CHECK(j->end() == journal_position{2, 0});
  must(j->append("b"));
  j->wait_for_spare();  // the next one, begun by the rotation
  must(j->rotate());
  must(j->append("c"));
  must(j->sync());
  const journal_position checkpoint{2, 0};
  // Segments left behind end with their last record (sealed); the newest keeps its zeros.
  CHECK(std::filesystem::file_size(journal::segment_path(dir, 2)) ==
        segment_record_header_bytes + 1);
  CHECK(std::filesystem::file_size(journal::segment_path(dir, 3)) ==
        std::max<uint64_t>(preallocate, segment_record_header_bytes + 1));
  j.reset();  // waits for the spare the last rotation began
  CHECK(std::filesystem::exists(spare) == (preallocate > 0));

  j = must_open(dir, {}, seen);
  CHECK_FALSE(std::filesystem::exists(spare));  // never a segment; the next run makes its own
  CHECK(seen.bodies == std::vector<std::string>{"a", "b", "c"});
  CHECK(seen.recovery.segments == 3);
  CHECK(seen.positions[2] == journal_position{3, 0});

  must(j->release_below(checkpoint.segment));
  CHECK_FALSE(std::filesystem::exists(journal::segment_path(dir, 1)));
  CHECK(std::filesystem::exists(journal::segment_path(dir, 2)));
  CHECK(j->release_below(4).code() == code::invalid_argument);  // beyond the current segment
  j.reset();

  j = must_open(dir, checkpoint, seen);
  CHECK(seen.bodies == std::vector<std::string>{"b", "c"});
  j.reset();
  // Opening after a later checkpoint deletes what it covers.
  must_open(dir, {3, 0}, seen);
  CHECK(seen.bodies == std::vector<std::string>{"c"});
  CHECK_FALSE(std::filesystem::exists(journal::segment_path(dir, 2)));
}

TEST_CASE("journal: a torn tail of the newest segment is cut, and appends go on after it") {
  temp_dir tmp;
  const std::string dir = tmp.sub("wal");
  replayed seen;
  auto j = must_open(dir, {}, seen);
  must(j->append("kept"));
  must(j->sync());
  const journal_position end = j->end();
  j.reset();
  const std::string path = journal::segment_path(dir, 1);
  append_raw(path, std::string("\x00\x00\x00\x10garbage", 11));

  j = must_open(dir, {}, seen);
  CHECK(seen.bodies == std::vector<std::string>{"kept"});
  CHECK(seen.recovery.torn_bytes == 11);
  CHECK_FALSE(seen.recovery.torn_tail.empty());
  CHECK(file_size(path) == end.offset);
  CHECK(j->end() == end);
  must(j->append("next"));
  must(j->sync());
  j.reset();
  must_open(dir, {}, seen);
  CHECK(seen.bodies == std::vector<std::string>{"kept", "next"});
  CHECK(seen.recovery.torn_tail.empty());
}

TEST_CASE("journal: lost acknowledged records are corruption, not a quiet start") {
  temp_dir tmp;
  const std::string dir = tmp.sub("wal");
  replayed seen;
  {
    auto j = must_open(dir, {}, seen);
    must(j->append("a"));
    must(j->rotate());
    must(j->append("b"));
    must(j->rotate());
    must(j->append("c"));
    must(j->sync());
  }

  SUBCASE("damage in a segment before the newest") {
    append_raw(journal::segment_path(dir, 2), "xx");
    auto opened = open_journal(dir, {}, seen);
    REQUIRE_FALSE(opened.ok());
    CHECK(opened.status().code() == code::corruption);
    CHECK(opened.status().to_string().find("segment 2") != std::string::npos);
  }
  SUBCASE("a segment missing in the middle") {
    std::filesystem::remove(journal::segment_path(dir, 2));
    auto opened = open_journal(dir, {}, seen);
    REQUIRE_FALSE(opened.ok());
    CHECK(opened.status().code() == code::corruption);
  }
  SUBCASE("the checkpoint's segment missing") {
    std::filesystem::remove(journal::segment_path(dir, 1));
    auto opened = open_journal(dir, {1, 0}, seen);
    REQUIRE_FALSE(opened.ok());
    CHECK(opened.status().code() == code::corruption);
  }
  SUBCASE("a checkpoint beyond every segment") {
    auto opened = open_journal(dir, {7, 0}, seen);
    REQUIRE_FALSE(opened.ok());
    CHECK(opened.status().code() == code::corruption);
  }
  SUBCASE("a checkpoint offset inside a record or past what survived") {
    auto inside = open_journal(dir, {3, 2}, seen);
    REQUIRE_FALSE(inside.ok());
    CHECK(inside.status().code() == code::corruption);
    auto past = open_journal(dir, {3, 100}, seen);
    REQUIRE_FALSE(past.ok());
    CHECK(past.status().code() == code::corruption);
    CHECK(std::filesystem::exists(journal::segment_path(dir, 1)));  // nothing deleted
  }
  SUBCASE("a checkpoint at the end of the newest segment replays nothing") {
    const journal_position end{3, segment_record_header_bytes + 1};
    auto opened = open_journal(dir, end, seen);
    REQUIRE_MESSAGE(opened.ok(), opened.status().to_string());
    CHECK(seen.bodies.empty());
    CHECK(opened.value()->end() == end);
  }
  SUBCASE("a fresh start named by no checkpoint while segments exist") {
    std::filesystem::remove(journal::segment_path(dir, 3));
    std::filesystem::remove(journal::segment_path(dir, 2));
    auto opened = open_journal(dir, {2, 0}, seen);
    REQUIRE_FALSE(opened.ok());
    CHECK(opened.status().code() == code::corruption);
  }
}

TEST_CASE("journal: a failing replay callback stops the open and changes nothing") {
  temp_dir tmp;
  const std::string dir = tmp.sub("wal");
  replayed seen;
  {
    auto j = must_open(dir, {}, seen);
    must(j->append("a"));
    must(j->append("b"));
    must(j->sync());
  }
  append_raw(journal::segment_path(dir, 1), "torn");
  const uint64_t before = file_size(journal::segment_path(dir, 1));
  int calls = 0;
  auto opened = journal::open(dir, {}, [&](journal_position, std::string_view) {
    ++calls;
    return status::corruption("bad flush record");
  });
  REQUIRE_FALSE(opened.ok());
  CHECK(opened.status().to_string().find("bad flush record") != std::string::npos);
  CHECK(calls == 1);
  CHECK(file_size(journal::segment_path(dir, 1)) == before);  // the tail was not cut
}

TEST_CASE("journal: other files in the directory are left alone") {
  temp_dir tmp;
  const std::string dir = tmp.sub("wal");
  std::filesystem::create_directories(dir);
  append_raw(dir + "/notes.txt", "hello");
  append_raw(dir + "/00000000000000zz.wal", "x");
  replayed seen;
  auto j = must_open(dir, {}, seen);
  CHECK(j->end() == journal_position{1, 0});
  CHECK(std::filesystem::exists(dir + "/notes.txt"));
}

// Crashes at random moments: after each, the newest segment keeps everything synced plus any
// part of the unsynced tail (cut at a random byte, maybe followed by junk), and a reopen from
// the last checkpoint must replay exactly the synced records after it plus the unsynced ones
// that survived whole, in order.
TEST_CASE("journal: random crashes keep every synced record and nothing out of order") {
  const uint64_t seed = test::env_number("CK_JOURNAL_SEED").value_or(test::random_seed());
  INFO("replay with CK_JOURNAL_SEED=" << seed);
  std::mt19937_64 rng(seed);
  temp_dir tmp;
  const std::string dir = tmp.sub("wal");
  replayed seen;
  // Half the seeds preallocate the segments rotate() makes (zeros the records overwrite).
  const uint64_t preallocate = rng() % 2 == 0 ? 0 : 512 + rng() % 4096;
  INFO("preallocate " << preallocate);
  auto j = must_open(dir, {}, seen);
  j->preallocate_segments(preallocate);
  journal_position checkpoint{};
  // Records after the checkpoint, with their positions and whether a sync covered them.
  struct record {
    journal_position at;
    std::string body;
    bool synced = false;
  };
  std::vector<record> live;
  uint64_t next_body = 0;
  for (int round = 0; round < 60; ++round) {
    const int steps = static_cast<int>(rng() % 12);
    for (int step = 0; step < steps; ++step) {
      switch (rng() % 6) {
        case 0:
        case 1:
        case 2: {
          const journal_position at = j->end();
          std::string body = "r" + std::to_string(next_body++) + std::string(rng() % 300, 'x');
          must(j->append(body));
          live.push_back({at, std::move(body), false});
          break;
        }
        case 3:
          must(j->sync());
          for (auto& r : live) {
            r.synced = true;
          }
          break;
        case 4:
          must(j->rotate());  // syncs first
          for (auto& r : live) {
            r.synced = true;
          }
          break;
        case 5: {  // a checkpoint covering everything synced so far
          size_t covered = 0;
          while (covered < live.size() && live[covered].synced) {
            ++covered;
          }
          checkpoint = covered < live.size() ? live[covered].at : j->end();
          live.erase(live.begin(), live.begin() + static_cast<std::ptrdiff_t>(covered));
          must(j->release_below(checkpoint.segment));
          break;
        }
      }
    }
    // Crash: the unsynced tail of the newest segment is cut at a random byte, maybe with junk.
    const journal_position end = j->end();
    j.reset();
    // Everything before the checkpoint was synced, and so was every record marked so.
    uint64_t synced_end = checkpoint.segment == end.segment ? checkpoint.offset : 0;
    for (const auto& r : live) {
      if (r.synced && r.at.segment == end.segment) {
        synced_end = r.at.offset + segment_record_header_bytes + r.body.size();
      }
    }
    const std::string path = journal::segment_path(dir, end.segment);
    const uint64_t keep = synced_end + rng() % (end.offset - synced_end + 1);
    const std::string junk =
        rng() % 2 == 0 ? std::string(1 + rng() % 20, static_cast<char>(rng() % 256)) : "";
    if (std::filesystem::file_size(path) > end.offset) {
      // Preallocated: the lost bytes are zeros again, junk lands over them, the size stays.
      write_raw_at(path, keep, std::string(end.offset - keep, '\0'));
      write_raw_at(path, keep, junk);
    } else {
      std::filesystem::resize_file(path, keep);
      append_raw(path, junk);
    }
    std::vector<std::string> expected;
    std::vector<record> survivors;
    for (const auto& r : live) {
      const bool whole = r.at.segment < end.segment ||
                         r.at.offset + segment_record_header_bytes + r.body.size() <= keep;
      if (!whole) {
        break;
      }
      expected.push_back(r.body);
      survivors.push_back(r);
    }
    j = must_open(dir, checkpoint, seen);
    j->preallocate_segments(preallocate);
    // Junk may happen to extend nothing: a record only counts when its crc matches, and the
    // chance that random junk forms one is nil at these sizes.
    REQUIRE(seen.bodies == expected);
    for (auto& r : survivors) {
      r.synced = true;  // on disk now, and the reopen synced the cut
    }
    live = std::move(survivors);
  }
}

}  // namespace
}  // namespace ck::storage
