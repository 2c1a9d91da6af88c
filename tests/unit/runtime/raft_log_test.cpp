// The log pieces: memory_log_storage, raft_log (stable + unstable tail), the conf change
// encoding, bootstrap and config validation.

#include "runtime/raft/bootstrap.hpp"
#include "runtime/raft/memory_log_storage.hpp"
#include "runtime/raft/node.hpp"
#include "runtime/raft/raft_log.hpp"

#include <doctest/doctest.h>

using namespace ck::raft;

namespace {

std::vector<entry> entries_of(index_t first, const std::vector<term_t>& terms) {
  std::vector<entry> out;
  for (size_t k = 0; k < terms.size(); ++k) {
    out.push_back(entry{terms[k], first + k, entry_type::normal, "d" + std::to_string(k)});
  }
  return out;
}

std::vector<term_t> terms_of(const raft_log& log) {
  std::vector<term_t> out;
  for (index_t i = log.first_index(); i <= log.last_index(); ++i) {
    out.push_back(log.term_or_zero(i));
  }
  return out;
}

}  // namespace

TEST_CASE("memory_log_storage: append replaces a conflicting suffix") {
  memory_log_storage storage;
  storage.append(entries_of(1, {1, 1, 2, 2}));

  storage.append(entries_of(3, {3}));

  CHECK(storage.last_index() == 3);
  term_t t = 0;
  REQUIRE(storage.term(3, t) == log_error::none);
  CHECK(t == 3);
  CHECK(storage.term(4, t) == log_error::unavailable);
}

TEST_CASE("memory_log_storage: snapshot and compaction keep the boundary term") {
  memory_log_storage storage;
  storage.append(entries_of(1, {1, 1, 2, 2, 3}));
  REQUIRE(storage.create_snapshot(3, conf_state{{1, 2}, {}}, "image"));
  CHECK_FALSE(storage.create_snapshot(3, conf_state{}, "again"));

  REQUIRE(storage.compact(3));

  CHECK(storage.first_index() == 4);
  term_t t = 0;
  REQUIRE(storage.term(3, t) == log_error::none);
  CHECK(t == 2);
  CHECK(storage.term(2, t) == log_error::compacted);
  std::vector<entry> out;
  CHECK(storage.entries(3, 5, 1000, out) == log_error::compacted);
  CHECK(storage.current_snapshot().meta.index == 3);
  CHECK(storage.current_snapshot().data == "image");
  CHECK_FALSE(storage.compact(2));
  // Entries the snapshot covers are skipped on append.
  storage.append(entries_of(2, {1, 2, 2, 3, 4}));
  CHECK(storage.last_index() == 6);
}

TEST_CASE("memory_log_storage: entries respects bytes_max but returns at least one") {
  memory_log_storage storage;
  storage.append(entries_of(1, {1, 1, 1, 1}));
  std::vector<entry> out;

  REQUIRE(storage.entries(1, 5, 1, out) == log_error::none);
  CHECK(out.size() == 1);
  out.clear();
  REQUIRE(storage.entries(1, 5, 2 * entry_bytes(entry{1, 1, entry_type::normal, "d0"}), out) ==
          log_error::none);
  CHECK(out.size() == 2);
  out.clear();
  CHECK(storage.entries(1, 6, 1000, out) == log_error::unavailable);
}

TEST_CASE("memory_log_storage: apply_snapshot replaces the log and the membership") {
  memory_log_storage storage(conf_state{{1, 2, 3}, {}});
  REQUIRE(storage.last_index() == 3);  // the founding entries
  snapshot snap;
  snap.meta = snapshot_meta{10, 4, conf_state{{1, 2}, {5}}};

  REQUIRE(storage.apply_snapshot(snap));

  CHECK(storage.first_index() == 11);
  CHECK(storage.last_index() == 10);
  CHECK(storage.initial_conf_state() == snap.meta.conf);
  CHECK_FALSE(storage.apply_snapshot(snap));
}

TEST_CASE("bootstrap: founders persist one committed conf change per member") {
  const bootstrap_state founded = make_bootstrap(conf_state{{1, 2}, {3}});

  REQUIRE(founded.entries.size() == 3);
  CHECK(founded.hard == hard_state{1, no_node, 3});
  conf_change change;
  REQUIRE(decode_conf_change(founded.entries[2].data, change));
  CHECK(change.type == conf_change_type::add_learner);
  CHECK(change.node == 3);
  CHECK(make_bootstrap(conf_state{}).entries.empty());
}

TEST_CASE("raft_log: maybe_append finds the first conflict and truncates the unstable tail") {
  memory_log_storage storage;
  storage.append(entries_of(1, {1, 1}));
  raft_log log(storage);
  REQUIRE(log.maybe_append(2, 1, 0, entries_of(3, {2, 2, 2})) == index_t{5});
  REQUIRE(log.unstable().offset() == 3);

  // Index 3 matches, 4 conflicts: 4 and 5 go, the new ones follow.
  const auto last = log.maybe_append(2, 1, 3, entries_of(3, {2, 3}));

  REQUIRE(last.has_value());
  CHECK(*last == 4);
  CHECK(terms_of(log) == std::vector<term_t>{1, 1, 2, 3});
  CHECK(log.committed() == 3);  // min(leader commit, last new index)
  CHECK(log.find_conflict(entries_of(1, {1, 1, 2, 3})) == 0);
  CHECK(log.find_conflict(entries_of(4, {3, 3})) == 5);  // past the end
  log.check_invariants();
}

TEST_CASE("raft_log: maybe_append refuses when the previous entry does not match") {
  memory_log_storage storage;
  storage.append(entries_of(1, {1, 2}));
  raft_log log(storage);

  CHECK_FALSE(log.maybe_append(2, 3, 0, entries_of(3, {3})).has_value());
  CHECK_FALSE(log.maybe_append(4, 2, 0, {}).has_value());
  CHECK(log.last_index() == 2);
}

TEST_CASE("raft_log: a conflict in the stable part replaces it logically until persisted") {
  memory_log_storage storage;
  storage.append(entries_of(1, {1, 1, 1, 1}));
  raft_log log(storage);

  REQUIRE(log.maybe_append(1, 1, 0, entries_of(2, {2})).has_value());

  CHECK(log.last_index() == 2);  // the storage still holds 3 and 4, which no longer count
  CHECK(log.term_or_zero(2) == 2);
  CHECK(log.term_or_zero(3) == 0);
  CHECK(log.stable_last_index() == 1);
  std::vector<entry> out;
  CHECK(log.slice(3, 4, 1000, out) == log_error::unavailable);
  log.check_invariants();
}

TEST_CASE("raft_log: find_conflict_by_term skips a whole term") {
  memory_log_storage storage;
  storage.append(entries_of(1, {1, 1, 3, 3, 3, 5, 5}));
  raft_log log(storage);

  CHECK(log.find_conflict_by_term(7, 4) == std::pair<index_t, term_t>{5, 3});
  CHECK(log.find_conflict_by_term(7, 2) == std::pair<index_t, term_t>{2, 1});
  CHECK(log.find_conflict_by_term(7, 5) == std::pair<index_t, term_t>{7, 5});
  CHECK(log.find_conflict_by_term(9, 5) == std::pair<index_t, term_t>{9, 0});
  CHECK(log.find_conflict_by_term(7, 0) == std::pair<index_t, term_t>{0, 0});
}

TEST_CASE("raft_log: stable_to ignores a tail that changed after the ready was taken") {
  memory_log_storage storage;
  raft_log log(storage);
  REQUIRE(log.maybe_append(0, 0, 0, entries_of(1, {1, 1, 1})).has_value());
  // A ready hands out 1..3 (term 1); before advance, a new leader replaces 2..3.
  REQUIRE(log.maybe_append(1, 1, 0, entries_of(2, {2})).has_value());

  log.stable_to(3, 1);
  CHECK(log.unstable().offset() == 1);  // nothing marked stable: all handed out again
  log.stable_to(2, 2);
  CHECK(log.unstable().offset() == 3);
}

TEST_CASE("raft_log: entries_to_apply stops at the last stable index") {
  memory_log_storage storage;
  storage.append(entries_of(1, {1, 1}));
  raft_log log(storage);
  REQUIRE(log.maybe_append(2, 1, 4, entries_of(3, {1, 1})).has_value());
  REQUIRE(log.committed() == 4);

  std::vector<entry> out;
  log.entries_to_apply(1 << 20, out);

  REQUIRE(out.size() == 2);  // 3 and 4 are committed but not durable here yet
  CHECK(out.back().index == 2);
  log.applied_to(2);
  CHECK_FALSE(log.has_entries_to_apply());
  storage.append(log.unstable().entries());
  log.stable_to(4, 1);
  CHECK(log.has_entries_to_apply());
}

TEST_CASE("raft_log: restore replaces the log by a snapshot") {
  memory_log_storage storage;
  storage.append(entries_of(1, {1, 1}));
  raft_log log(storage);
  snapshot snap;
  snap.meta = snapshot_meta{20, 3, conf_state{{1}, {}}};

  log.restore(snap);

  CHECK(log.first_index() == 21);
  CHECK(log.last_index() == 20);
  CHECK(log.last_term() == 3);
  CHECK(log.committed() == 20);
  CHECK_FALSE(log.has_entries_to_apply());  // the snapshot goes first
  CHECK(log.unstable().pending_snapshot().has_value());
  log.check_invariants();
}

namespace {

// A storage whose first index moves while the core reads it, as the log writer's thread
// compacts the real one (a snapshot record carried out later) while the group steps: the
// read of term(trigger) compacts through compact_to first.
class compacting_storage final : public log_storage {
 public:
  compacting_storage(memory_log_storage& inner, index_t trigger, index_t compact_to)
      : inner_(inner), trigger_(trigger), compact_to_(compact_to) {}
  hard_state initial_hard_state() const override { return inner_.initial_hard_state(); }
  conf_state initial_conf_state() const override { return inner_.initial_conf_state(); }
  log_error entries(index_t lo, index_t hi, uint64_t bytes_max,
                    std::vector<entry>& out) const override {
    return inner_.entries(lo, hi, bytes_max, out);
  }
  log_error term(index_t i, term_t& out) const override {
    const log_error found = inner_.term(i, out);
    if (i == trigger_ && !compacted_) {
      compacted_ = true;
      REQUIRE(inner_.compact(compact_to_));  // after the answer, before the next read
    }
    return found;
  }
  index_t first_index() const override { return inner_.first_index(); }
  index_t last_index() const override { return inner_.last_index(); }
  snapshot current_snapshot() const override { return inner_.current_snapshot(); }
  bool compacted() const { return compacted_; }

 private:
  memory_log_storage& inner_;
  const index_t trigger_;
  const index_t compact_to_;
  mutable bool compacted_ = false;
};

}  // namespace

TEST_CASE("raft_log: check_invariants holds while the storage is compacted under it") {
  memory_log_storage inner;
  inner.append(entries_of(1, {1, 1, 2, 2, 3, 3}));
  REQUIRE(inner.create_snapshot(2, conf_state{{1}, {}}, "image"));
  REQUIRE(inner.compact(2));
  // The boundary check reads term(first - 1) = term(2), then term(first) = term(3): the
  // compaction through 4 lands between the two reads.
  compacting_storage storage(inner, 2, 4);
  raft_log log(storage);
  log.commit_to(6);
  log.applied_to(6);
  REQUIRE(inner.create_snapshot(5, conf_state{{1}, {}}, "image"));

  log.check_invariants();  // aborted with "1 vs 0" when the two reads straddled the move

  CHECK(storage.compacted());
  CHECK(log.first_index() == 5);
  log.check_invariants();  // and holds again, read without a move
}

TEST_CASE("conf_change: encoding round-trips and garbage is refused") {
  conf_change change;
  change.type = conf_change_type::remove_node;
  change.node = 0x0102030405060708ull;
  change.context = "node-7:4000";

  conf_change decoded;
  REQUIRE(decode_conf_change(encode_conf_change(change), decoded));

  CHECK(decoded.type == change.type);
  CHECK(decoded.node == change.node);
  CHECK(decoded.context == change.context);
  CHECK_FALSE(decode_conf_change("", decoded));
  CHECK_FALSE(decode_conf_change(std::string(10, '\x09'), decoded));  // unknown version
  std::string bad_type = encode_conf_change(change);
  bad_type[1] = 7;
  CHECK_FALSE(decode_conf_change(bad_type, decoded));
}

TEST_CASE("config: validate names the bad field") {
  config c;
  CHECK(c.validate().find("id") != std::string::npos);
  c.id = 1;
  CHECK(c.validate().empty());
  c.election_ticks = c.heartbeat_ticks;
  CHECK(c.validate().find("election_ticks") != std::string::npos);
  c.election_ticks = 10;
  c.inflight_msgs_max = 0;
  CHECK(c.validate().find("inflight_msgs_max") != std::string::npos);
  c.inflight_msgs_max = 1;
  c.append_bytes_max = 0;
  CHECK(c.validate().find("append_bytes_max") != std::string::npos);
  c.append_bytes_max = 100;
  c.inflight_bytes_max = 10;
  CHECK(c.validate().find("inflight_bytes_max") != std::string::npos);
  CHECK(to_string(role::pre_candidate) == "pre_candidate");
  CHECK(to_string(message_type::timeout_now) == "timeout_now");
}

TEST_CASE("raft_log: scan visits stable and unstable entries in pages and can stop") {
  memory_log_storage storage;
  storage.append(entries_of(1, {1, 1, 1}));
  raft_log log(storage);
  REQUIRE(log.maybe_append(3, 1, 0, entries_of(4, {2, 2})).has_value());
  std::vector<index_t> seen;

  REQUIRE(log.scan(1, 6, 1, [&seen](const entry& e) {  // one entry per page
    seen.push_back(e.index);
    return e.index < 4;
  }) == log_error::none);

  CHECK(seen == std::vector<index_t>{1, 2, 3, 4});
  CHECK(log.scan(2, 9, 1000, [](const entry&) { return true; }) == log_error::unavailable);
}
