// The segment log engine's index (storage/log_index.hpp) against the naive model of the Raft
// log store (raft_log_model.hpp): random batches, record_snapshot, compact and drop, with the
// segment number advancing as if the engine rotated segments. Every entry's location is
// derived from the entry itself (a hash of group, index, term and data), so the check needs
// no second copy of the index's logic: the location at index i must be the hash of the
// model's entry i. Plus the requirement checks one by one.

#include "storage/log_index.hpp"

#include "raft_log_model.hpp"
#include "test_support.hpp"

#include <doctest/doctest.h>

#include <map>
#include <string>

namespace ck::storage {
namespace {

uint64_t fingerprint(raft::group_id group, const raft::entry& e) {
  uint64_t h = 1469598103934665603ull;  // FNV-1a
  auto mix = [&h](uint64_t v) {
    for (int i = 0; i < 8; ++i) {
      h = (h ^ ((v >> (8 * i)) & 0xFF)) * 1099511628211ull;
    }
  };
  mix(group);
  mix(e.index);
  mix(e.term);
  for (char c : e.data) {
    h = (h ^ static_cast<uint8_t>(c)) * 1099511628211ull;
  }
  return h;
}

// Where the test "wrote" each entry: its fingerprint as the offset, the current segment.
struct writes {
  uint64_t segment = 1;
  std::map<uint64_t, uint64_t> segment_of;  // fingerprint -> segment it was written in

  std::vector<entry_location> locate(const group_write& change) {
    std::vector<entry_location> out;
    for (const raft::entry& e : change.entries) {
      const uint64_t fp = fingerprint(change.group, e);
      segment_of[fp] = segment;
      out.push_back({segment, fp, static_cast<uint32_t>(e.data.size()), e.term});
    }
    return out;
  }
};

std::string first_difference(const log_index& index, const test::raft_model& model,
                             const writes& written) {
  if (index.groups() != test::model_groups(model)) {
    return "groups() differ: index " + std::to_string(index.groups().size()) + ", model " +
           std::to_string(test::model_groups(model).size());
  }
  uint64_t oldest = written.segment;
  for (const raft::group_id id : test::model_groups(model)) {
    const test::model_group& expected = model.at(id);
    const group_log_index* group = index.find(id);
    const std::string where = "group " + std::to_string(id) + ": ";
    if (group == nullptr) {
      return where + "missing";
    }
    if (group->first != expected.first || group->last() != expected.last()) {
      return where + "bounds [" + std::to_string(group->first) + ", " +
             std::to_string(group->last()) + "], expected [" + std::to_string(expected.first) +
             ", " + std::to_string(expected.last()) + "]";
    }
    if (group->hard != expected.hard) {
      return where + "hard state differs";
    }
    if (group->snapshot.index != expected.snapshot.index ||
        group->snapshot.term != expected.snapshot.term ||
        !(group->snapshot.conf == expected.snapshot.conf)) {
      return where + "snapshot meta differs";
    }
    if (group->term(expected.first - 1) != expected.prev_term ||
        group->term(expected.last() + 1).has_value() ||
        (expected.first >= 2 && group->term(expected.first - 2).has_value())) {
      return where + "terms at the edges differ";
    }
    for (const raft::entry& e : expected.log) {
      const entry_location* at = group->find(e.index);
      const uint64_t fp = fingerprint(id, e);
      if (at == nullptr || at->offset != fp || at->term != e.term ||
          at->bytes != e.data.size() || at->segment != written.segment_of.at(fp)) {
        return where + "location of entry " + std::to_string(e.index) + " differs";
      }
    }
    if (!expected.log.empty()) {
      oldest = std::min(oldest, written.segment_of.at(fingerprint(id, expected.log.front())));
    }
  }
  if (index.oldest_needed_segment(written.segment) != oldest) {
    return "oldest_needed_segment " + std::to_string(index.oldest_needed_segment(written.segment)) +
           ", expected " + std::to_string(oldest);
  }
  if (const auto pinning = index.groups_pinning_below(oldest); !pinning.empty()) {
    return "group " + std::to_string(pinning.front()) + " pins a segment below the oldest needed";
  }
  return "";
}

TEST_CASE("log index: random batches, snapshots, compactions and drops match the naive model") {
  const uint64_t seed = test::env_number("CK_LOG_INDEX_SEED").value_or(test::random_seed());
  INFO("seed=" << seed << "; replay: CK_LOG_INDEX_SEED=" << seed);
  const std::vector<raft::group_id> ids = {0, 1, 2, 3, 1000, 0xFFFFFFFFu};
  test::raft_batch_generator generator(seed, {ids, 5, 8, 40, 0, 12, 6, 3});
  log_index index;
  writes written;
  for (int step = 0; step < 20000; ++step) {
    CAPTURE(step);
    const uint64_t roll = generator.below(100);
    const raft::group_id id = ids[generator.below(ids.size())];
    if (roll < 75) {
      for (const group_write& change : generator.next_batch()) {
        const status st = index.apply(change, written.locate(change));
        REQUIRE_MESSAGE(st.ok(), st.to_string());
      }
    } else if (roll < 78) {
      ++written.segment;  // the engine rotated
    } else if (roll < 80) {
      index.drop(id);
      generator.drop(id);
    } else if (roll < 88) {
      const raft::index_t to = generator.next_compact_index(id);
      const status st = index.compact(id, to);
      REQUIRE_MESSAGE(st.ok(), st.to_string());
    } else if (const std::optional<raft::snapshot_meta> meta = generator.next_recorded_snapshot(id)) {
      const status st = index.record_snapshot(id, *meta);
      REQUIRE_MESSAGE(st.ok(), st.to_string());
    }
    if (step % 50 == 0) {
      const std::string difference = first_difference(index, generator.model(), written);
      REQUIRE_MESSAGE(difference.empty(), difference);
    }
  }
  const std::string difference = first_difference(index, generator.model(), written);
  CHECK_MESSAGE(difference.empty(), difference);
}

// A group with entries 1..5 of term 2, commit 3, snapshot at 2.
log_index five_entries() {
  log_index index;
  group_write change;
  change.group = 7;
  std::vector<entry_location> at;
  for (raft::index_t i = 1; i <= 5; ++i) {
    change.entries.push_back(raft::entry{2, i, raft::entry_type::normal, "x"});
    at.push_back({1, i * 100, 1, 2});
  }
  change.hard = raft::hard_state{2, 1, 3};
  REQUIRE(index.apply(change, at).ok());
  REQUIRE(index.record_snapshot(7, raft::snapshot_meta{2, 2, {}}).ok());
  return index;
}

group_write entries_from(raft::index_t from, raft::index_t to, raft::term_t term) {
  group_write change;
  change.group = 7;
  for (raft::index_t i = from; i <= to; ++i) {
    change.entries.push_back(raft::entry{term, i, raft::entry_type::normal, "y"});
  }
  return change;
}

std::vector<entry_location> locations_of(const group_write& change, uint64_t segment) {
  std::vector<entry_location> at;
  for (const raft::entry& e : change.entries) {
    at.push_back({segment, e.index, 1, e.term});
  }
  return at;
}

TEST_CASE("log index: a change that breaks a requirement is refused and changes nothing") {
  log_index index = five_entries();
  const group_log_index before = *index.find(7);
  auto refused = [&](const group_write& change, const std::vector<entry_location>& at) {
    const status st = index.apply(change, at);
    CHECK(st.code() == code::invalid_argument);
    const group_log_index& now = *index.find(7);
    CHECK(now.first == before.first);
    CHECK(now.last() == before.last());
    CHECK(now.hard == before.hard);
    CHECK(now.entries == before.entries);
  };
  SUBCASE("a gap after the log") { auto c = entries_from(7, 8, 2); refused(c, locations_of(c, 2)); }
  SUBCASE("replacing a committed entry") { auto c = entries_from(3, 4, 3); refused(c, locations_of(c, 2)); }
  SUBCASE("a falling term") { auto c = entries_from(6, 6, 1); refused(c, locations_of(c, 2)); }
  SUBCASE("not consecutive") {
    auto c = entries_from(6, 7, 2);
    c.entries[1].index = 9;
    refused(c, locations_of(c, 2));
  }
  SUBCASE("locations that do not match") {
    auto c = entries_from(6, 7, 2);
    refused(c, locations_of(entries_from(6, 6, 2), 2));
    auto wrong_term = locations_of(c, 2);
    wrong_term[1].term = 9;
    refused(c, wrong_term);
  }
  SUBCASE("a hard state that falls or passes the log") {
    group_write c;
    c.group = 7;
    c.hard = raft::hard_state{2, 1, 2};
    refused(c, {});
    c.hard = raft::hard_state{1, 1, 3};
    refused(c, {});
    c.hard = raft::hard_state{2, 1, 6};
    refused(c, {});
  }
  SUBCASE("a snapshot not above the stored one") {
    group_write c;
    c.group = 7;
    c.snapshot = raft::snapshot_meta{2, 2, {}};
    refused(c, {});
  }
  SUBCASE("snapshot records and compactions out of bounds") {
    CHECK(index.record_snapshot(7, raft::snapshot_meta{4, 2, {}}).code() == code::invalid_argument);  // > commit
    CHECK(index.record_snapshot(7, raft::snapshot_meta{3, 1, {}}).code() == code::invalid_argument);  // term
    CHECK(index.compact(7, 4).code() == code::invalid_argument);  // snapshot covers only 2
    CHECK(index.record_snapshot(9, raft::snapshot_meta{1, 1, {}}).code() == code::invalid_argument);
    CHECK(index.find(7)->first == 1);
  }
}

TEST_CASE("log index: a suffix rewritten in a newer segment; old segments pinned until compacted") {
  log_index index = five_entries();
  CHECK(index.oldest_needed_segment(3) == 1);
  CHECK(index.groups_pinning_below(2) == std::vector<raft::group_id>{7});
  // A new leader's entries from 4 on (above the commit) land in segment 3.
  auto c = entries_from(4, 6, 3);
  REQUIRE(index.apply(c, locations_of(c, 3)).ok());
  const group_log_index& g = *index.find(7);
  CHECK(g.last() == 6);
  CHECK(g.find(3)->segment == 1);
  CHECK(g.find(4)->segment == 3);
  CHECK(g.term(4) == 3);
  // Compacting below 3 keeps entry 3 (segment 1); a snapshot at 3 then lets it go.
  REQUIRE(index.compact(7, 3).ok());
  CHECK(index.oldest_needed_segment(3) == 1);
  REQUIRE(index.record_snapshot(7, raft::snapshot_meta{3, 2, {}}).ok());
  REQUIRE(index.compact(7, 4).ok());
  CHECK(index.find(7)->term(3) == 2);  // the term before the first entry stays known
  CHECK(index.oldest_needed_segment(3) == 3);
  CHECK(index.groups_pinning_below(3).empty());
  // An installed snapshot that does not match the log discards it.
  group_write install;
  install.group = 7;
  install.snapshot = raft::snapshot_meta{10, 4, {}};
  REQUIRE(index.apply(install, {}).ok());
  CHECK(index.find(7)->entries.empty());
  CHECK(index.find(7)->first == 11);
  CHECK(index.oldest_needed_segment(5) == 5);
  index.drop(7);
  CHECK(index.groups().empty());
}

}  // namespace
}  // namespace ck::storage
