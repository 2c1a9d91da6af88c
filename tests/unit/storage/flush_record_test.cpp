// storage/flush_record: a storage flush survives the round trip exactly; anything but a
// well-formed sequence of items in order decodes to nullopt, never to a partial batch or a
// crash.

#include "storage/flush_record.hpp"

#include <random>
#include <string>
#include <vector>

#include <doctest/doctest.h>

#include "runtime/base/big_endian.hpp"
#include "storage/format.hpp"

namespace ck::storage {
namespace {

raft::entry entry(raft::term_t term, raft::index_t index, std::string data,
                  raft::entry_type type = raft::entry_type::normal) {
  return raft::entry{term, index, type, std::move(data)};
}

std::vector<group_write> sample_batch() {
  std::vector<group_write> batch(4);
  batch[0].group = 7;
  batch[0].entries = {entry(3, 10, "a"), entry(3, 11, ""), entry(4, 12, std::string(5000, 'z'))};
  batch[0].hard = raft::hard_state{4, 2, 11};
  batch[1].group = 0xFFFFFFFFu;  // only a hard state
  batch[1].hard = raft::hard_state{1, 0, 0};
  batch[2].group = 9;  // a snapshot, then the log after it
  batch[2].snapshot = raft::snapshot_meta{100, 5, raft::conf_state{{1, 2, 3}, {4}}};
  batch[2].entries = {entry(5, 101, "conf", raft::entry_type::conf_change)};
  batch[3].group = 7;  // the same group again in the same flush: a truncation
  batch[3].entries = {entry(5, 12, "replaced")};
  return batch;
}

void check_same(const std::vector<group_write>& a, const std::vector<group_write>& b) {
  REQUIRE(a.size() == b.size());
  for (size_t i = 0; i < a.size(); ++i) {
    CAPTURE(i);
    CHECK(a[i].group == b[i].group);
    CHECK(a[i].entries == b[i].entries);
    CHECK(a[i].hard == b[i].hard);
    REQUIRE(a[i].snapshot.has_value() == b[i].snapshot.has_value());
    if (a[i].snapshot) {
      CHECK(a[i].snapshot->index == b[i].snapshot->index);
      CHECK(a[i].snapshot->term == b[i].snapshot->term);
      CHECK(a[i].snapshot->conf == b[i].snapshot->conf);
    }
  }
}

std::string item(uint8_t kind, const std::string& payload) {
  std::string out(1, static_cast<char>(kind));
  runtime::append_u32_be(out, static_cast<uint32_t>(payload.size()));
  return out + payload;
}

std::string begin(raft::group_id group) {
  std::string payload;
  runtime::append_u32_be(payload, group);
  return item(0x01, payload);
}

TEST_CASE("flush_record: a flush comes back exactly, group_writes and their order included") {
  const auto batch = sample_batch();
  const auto decoded = flush_record_decode(flush_record_encode(batch));
  REQUIRE(decoded);
  check_same(*decoded, batch);
  CHECK(flush_record_decode(flush_record_encode({}))->empty());
}

TEST_CASE("flush_record: items out of order or outside a group_write are refused") {
  const std::string hard = raft_hard_state_encode(7, raft::hard_state{1, 0, 0});
  const std::string snap =
      raft_snapshot_meta_encode(7, raft::snapshot_meta{5, 1, raft::conf_state{{1}, {}}});
  const auto one_entry = [] {
    std::string payload;
    const raft::entry e = entry(1, 6, "x");
    runtime::append_u64_be(payload, e.index);
    return item(0x03, payload + raft_entry_header(7, e) + e.data);
  }();
  CHECK(flush_record_decode(begin(7) + item(0x02, snap) + one_entry + item(0x04, hard)));  // control
  CHECK_FALSE(flush_record_decode(item(0x04, hard)));                   // no begin
  CHECK_FALSE(flush_record_decode(begin(7) + one_entry + item(0x02, snap)));  // snapshot late
  CHECK_FALSE(flush_record_decode(begin(7) + item(0x04, hard) + one_entry));  // entry after hard
  CHECK_FALSE(flush_record_decode(begin(7) + item(0x04, hard) + item(0x04, hard)));
  CHECK_FALSE(flush_record_decode(begin(8) + item(0x04, hard)));  // crc keyed by group 7
  CHECK_FALSE(flush_record_decode(begin(7) + item(0x09, "")));    // unknown kind
  CHECK_FALSE(flush_record_decode(item(0x01, "abc")));            // short begin
  std::string zero_index;
  runtime::append_u64_be(zero_index, 0);
  CHECK_FALSE(flush_record_decode(begin(7) + item(0x03, zero_index + "0123456789abc")));
}

TEST_CASE("flush_record: a cut or damaged body decodes to a whole batch or to nothing") {
  const std::string body = flush_record_encode(sample_batch());
  std::mt19937_64 rng(7);
  for (size_t cut = 0; cut < body.size(); cut += 1 + rng() % 97) {
    CAPTURE(cut);
    const auto decoded = flush_record_decode(std::string_view(body).substr(0, cut));
    if (decoded) {  // only at an item boundary: then a prefix of the batch's items
      CHECK(flush_record_encode(*decoded) == body.substr(0, cut));
    }
  }
  for (int round = 0; round < 2000; ++round) {
    std::string damaged = body;
    damaged[rng() % damaged.size()] ^= static_cast<char>(1 + rng() % 255);
    const auto decoded = flush_record_decode(damaged);
    if (decoded) {  // a flipped byte decoded only if the items still encode to these bytes
      CHECK(flush_record_encode(*decoded) == damaged);
    }
  }
}

}  // namespace
}  // namespace ck::storage
