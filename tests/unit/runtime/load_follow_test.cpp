// Leadership follows the workload: a leader's window of request origins names a node only
// when that node sent enough of enough requests; a window with too few keeps the verdict; a
// new leadership holds (no verdict) until its first window ends; balancing goes to the
// followed node only when it is a voter.

#include "runtime/cluster/load_follow.hpp"

#include <doctest/doctest.h>

using namespace ck::cluster;

namespace {

load_follow_options options() {
  load_follow_options o;
  o.window_ms = 1000;
  o.min_requests = 32;
  o.dominant_percent = 75;
  return o;
}

void record(request_origins& origins, const char* node, int times) {
  for (int i = 0; i < times; ++i) {
    origins.record(node);
  }
}

}  // namespace

TEST_CASE("no verdict until the first window of a leadership ends") {
  request_origins origins;
  record(origins, "node-1", 100);
  CHECK(origins.verdict(0, options()).what == load_verdict::kind::unknown);
  CHECK(origins.verdict(999, options()).what == load_verdict::kind::unknown);
  const auto& v = origins.verdict(1000, options());
  CHECK(v.what == load_verdict::kind::follow);
  CHECK(v.node == "node-1");
}

TEST_CASE("a dominant origin needs its share of enough requests") {
  SUBCASE("75 % of 100 follows") {
    request_origins origins;
    origins.verdict(0, options());
    record(origins, "node-2", 75);
    record(origins, "node-1", 25);
    const auto& v = origins.verdict(1000, options());
    CHECK(v.what == load_verdict::kind::follow);
    CHECK(v.node == "node-2");
  }
  SUBCASE("74 % of 100 does not") {
    request_origins origins;
    origins.verdict(0, options());
    record(origins, "node-2", 74);
    record(origins, "node-1", 13);
    record(origins, "node-3", 13);
    CHECK(origins.verdict(1000, options()).what == load_verdict::kind::none);
  }
  SUBCASE("spread load names nobody") {
    request_origins origins;
    origins.verdict(0, options());
    for (int i = 0; i < 300; ++i) {
      origins.record(i % 3 == 0 ? "node-1" : i % 3 == 1 ? "node-2" : "node-3");
    }
    CHECK(origins.verdict(1000, options()).what == load_verdict::kind::none);
  }
  SUBCASE("31 requests from one node are too few to judge") {
    request_origins origins;
    origins.verdict(0, options());
    record(origins, "node-2", 31);
    CHECK(origins.verdict(1000, options()).what == load_verdict::kind::none);
  }
}

TEST_CASE("a quiet window keeps the verdict; a busy one changes it") {
  request_origins origins;
  origins.verdict(0, options());
  record(origins, "node-2", 40);
  REQUIRE(origins.verdict(1000, options()).node == "node-2");
  record(origins, "node-3", 10);  // an intermittent client elsewhere: too few to judge
  CHECK(origins.verdict(2000, options()).node == "node-2");
  record(origins, "node-3", 40);
  CHECK(origins.verdict(3000, options()).node == "node-3");
  for (int i = 0; i < 60; ++i) {
    origins.record(i % 2 == 0 ? "node-1" : "node-3");
  }
  CHECK(origins.verdict(4000, options()).what == load_verdict::kind::none);
}

TEST_CASE("quiet_windows_max quiet windows in a row end a verdict") {
  request_origins origins;
  origins.verdict(0, options());
  record(origins, "node-2", 40);
  REQUIRE(origins.verdict(1000, options()).node == "node-2");
  int64_t now = 1000;
  for (uint32_t i = 1; i < options().quiet_windows_max; ++i) {
    record(origins, "node-2", 5);
    now += 1000;
    REQUIRE_MESSAGE(origins.verdict(now, options()).node == "node-2", "quiet window ", i);
  }
  record(origins, "node-2", 40);  // load again: the count of quiet windows starts over
  now += 1000;
  REQUIRE(origins.verdict(now, options()).node == "node-2");
  for (uint32_t i = 1; i < options().quiet_windows_max; ++i) {
    now += 1000;
    REQUIRE(origins.verdict(now, options()).node == "node-2");
  }
  now += 1000;
  const auto& v = origins.verdict(now, options());
  CHECK(v.what == load_verdict::kind::none);
  CHECK(v.node.empty());
}

TEST_CASE("counts belong to one window") {
  request_origins origins;
  origins.verdict(0, options());
  record(origins, "node-2", 30);
  CHECK(origins.verdict(500, options()).what == load_verdict::kind::unknown);  // still open
  record(origins, "node-2", 2);  // 32 in the window now
  CHECK(origins.verdict(1000, options()).node == "node-2");
  record(origins, "node-1", 31);
  CHECK(origins.verdict(2000, options()).node == "node-2");  // 31 new ones: too few
}

TEST_CASE("reset forgets a leadership") {
  request_origins origins;
  origins.verdict(0, options());
  record(origins, "node-2", 50);
  REQUIRE(origins.verdict(1000, options()).what == load_verdict::kind::follow);
  origins.reset();
  CHECK(origins.verdict(5000, options()).what == load_verdict::kind::unknown);
  CHECK(origins.verdict(6000, options()).what == load_verdict::kind::none);
}

TEST_CASE("balance_target: follow a voter, else the placement; hold while unknown") {
  ck::raft::conf_state conf;
  conf.voters = {1, 2, 3};
  conf.learners = {4};
  load_verdict follow{load_verdict::kind::follow, "node-2"};
  CHECK(balance_target(follow, 2, 1, conf) == 2);
  CHECK(balance_target(follow, 4, 1, conf) == 1);  // a learner: the placement decides
  CHECK(balance_target(follow, ck::raft::no_node, 1, conf) == 1);  // an unknown node
  CHECK(balance_target(load_verdict{load_verdict::kind::none, ""}, 2, 3, conf) == 3);
  CHECK(balance_target(load_verdict{}, 2, 3, conf) == ck::raft::no_node);
}
