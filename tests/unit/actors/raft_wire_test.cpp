// Every Raft value the actors send between nodes survives caf::binary_serializer and
// caf::binary_deserializer unchanged (a type whose inspect misses a field fails here, not as
// a silent protocol bug between two nodes).

#include "actors/raft_wire.hpp"
#include "actors/type_ids.hpp"

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/binary_deserializer.hpp>
#include <caf/binary_serializer.hpp>
#include <doctest/doctest.h>

#include <vector>

using namespace ck;

namespace {

struct wire_fixture {
  caf::actor_system_config cfg;
  std::unique_ptr<caf::actor_system> sys;
  wire_fixture() {
    cfg.set("scheduler.max-threads", 1);
    actors::register_types(cfg);
    sys = std::make_unique<caf::actor_system>(cfg);
  }

  template <class T>
  T round_trip(T value) {
    std::vector<char> buf;
    caf::binary_serializer sink{*sys, buf};
    auto err = sink(value);
    REQUIRE_MESSAGE(!err, "serialize: " << to_string(err));
    T out;
    caf::binary_deserializer source{*sys, buf};
    err = source(out);
    REQUIRE_MESSAGE(!err, "deserialize: " << to_string(err));
    return out;
  }
};

raft::entry sample_entry(raft::index_t index) {
  return raft::entry{7, index, raft::entry_type::conf_change, std::string("d\0ta", 4)};
}

raft::snapshot sample_snapshot() {
  raft::snapshot snap;
  snap.meta.index = 40;
  snap.meta.term = 6;
  snap.meta.conf.voters = {1, 2, 3};
  snap.meta.conf.learners = {9};
  snap.data = std::string(1000, 'x');
  return snap;
}

raft::message sample_message() {
  raft::message m;
  m.group = 12;
  m.type = raft::message_type::install_snapshot;
  m.from = 1;
  m.to = 2;
  m.term = 8;
  m.log_term = 7;
  m.index = 41;
  m.commit = 40;
  m.entries = {sample_entry(42), sample_entry(43)};
  m.reject = true;
  m.reject_hint = 39;
  m.reject_hint_term = 5;
  m.snap = sample_snapshot();
  m.context = "ck:transfer";
  return m;
}

void check_equal(const raft::message& a, const raft::message& b) {
  CHECK(a.group == b.group);
  CHECK(a.type == b.type);
  CHECK(a.from == b.from);
  CHECK(a.to == b.to);
  CHECK(a.term == b.term);
  CHECK(a.log_term == b.log_term);
  CHECK(a.index == b.index);
  CHECK(a.commit == b.commit);
  CHECK(a.entries == b.entries);
  CHECK(a.reject == b.reject);
  CHECK(a.reject_hint == b.reject_hint);
  CHECK(a.reject_hint_term == b.reject_hint_term);
  CHECK(a.snap.meta.index == b.snap.meta.index);
  CHECK(a.snap.meta.term == b.snap.meta.term);
  CHECK(a.snap.meta.conf == b.snap.meta.conf);
  CHECK(a.snap.data == b.snap.data);
  CHECK(a.context == b.context);
}

}  // namespace

TEST_CASE_FIXTURE(wire_fixture, "raft wire: entry, hard state, conf state and conf change round-trip") {
  CHECK(round_trip(sample_entry(5)) == sample_entry(5));
  raft::hard_state hard{9, 3, 120};
  CHECK(round_trip(hard) == hard);
  raft::conf_state conf{{1, 2, 3}, {4}};
  CHECK(round_trip(conf) == conf);
  auto change = round_trip(raft::conf_change{raft::conf_change_type::remove_node, 5, "addr"});
  CHECK(change.type == raft::conf_change_type::remove_node);
  CHECK(change.node == 5);
  CHECK(change.context == "addr");
}

TEST_CASE_FIXTURE(wire_fixture, "raft wire: snapshot meta and snapshot round-trip") {
  auto snap = sample_snapshot();
  auto meta = round_trip(snap.meta);
  CHECK(meta.index == 40);
  CHECK(meta.term == 6);
  CHECK(meta.conf == snap.meta.conf);
  auto back = round_trip(snap);
  CHECK(back.meta.index == 40);
  CHECK(back.meta.conf == snap.meta.conf);
  CHECK(back.data == snap.data);
}

TEST_CASE_FIXTURE(wire_fixture, "raft wire: message keeps every field") {
  check_equal(round_trip(sample_message()), sample_message());
}

TEST_CASE_FIXTURE(wire_fixture, "raft wire: batch, propose reply and status round-trip") {
  actors::raft_batch batch{"node-1", "cluster-7", {sample_message(), raft::message{}}};
  auto back = round_trip(batch);
  CHECK(back.from_node == "node-1");
  CHECK(back.cluster_id == "cluster-7");
  REQUIRE(back.messages.size() == 2);
  check_equal(back.messages[0], batch.messages[0]);
  check_equal(back.messages[1], batch.messages[1]);
  auto reply = round_trip(actors::raft_propose_reply{17, "ok"});
  CHECK(reply.index == 17);
  CHECK(reply.result == "ok");
  raft::status_info status;
  status.id = 2;
  status.group = 3;
  status.state = raft::role::leader;
  status.term = 4;
  status.commit = 10;
  status.applied = 9;
  status.last_index = 11;
  status.conf = {{1, 2}, {}};
  status.progress = {raft::progress_status{1, 10, 11, "replicate", false, true, 2}};
  auto s = round_trip(status);
  CHECK(s.state == raft::role::leader);
  CHECK(s.applied == 9);
  CHECK(s.conf == status.conf);
  REQUIRE(s.progress.size() == 1);
  CHECK(s.progress[0].state == "replicate");
  CHECK(s.progress[0].inflight == 2);
}
