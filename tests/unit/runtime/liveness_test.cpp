// The failure detector with injected times: alive -> suspect -> dead and back, each change
// reported once, disconnects, a node never reporting itself, and the config's validation.

#include "runtime/cluster/liveness.hpp"

#include <doctest/doctest.h>

using namespace ck::cluster;

namespace {

liveness_detector make_detector() { return liveness_detector("self", liveness_config{}); }

}  // namespace

TEST_CASE("liveness config requires suspect before dead and positive thresholds") {
  CHECK(liveness_config{}.validate().empty());
  CHECK_FALSE(liveness_config{3000, 3000}.validate().empty());
  CHECK_FALSE(liveness_config{5000, 3000}.validate().empty());
  CHECK_FALSE(liveness_config{0, 3000}.validate().empty());
  CHECK_FALSE(liveness_config{1, 2, 0}.validate().empty());
}

TEST_CASE("a silent peer goes suspect then dead, each change reported once") {
  auto detector = make_detector();
  detector.record_heartbeat("node-2", 0);
  CHECK(detector.evaluate(2999).empty());
  const auto suspect = detector.evaluate(3000);
  REQUIRE(suspect.size() == 1);
  CHECK(suspect[0] == status_change{"node-2", node_status::alive, node_status::suspect, 3000});
  CHECK(detector.evaluate(3001).empty());
  CHECK(detector.evaluate(29999).empty());
  const auto dead = detector.evaluate(30000);
  REQUIRE(dead.size() == 1);
  CHECK(dead[0].from == node_status::suspect);
  CHECK(dead[0].to == node_status::dead);
  CHECK(detector.evaluate(100000).empty());
  CHECK(detector.status_of("node-2") == node_status::dead);
  CHECK(detector.silent_ms("node-2", 100000) == 100000);
}

TEST_CASE("a heartbeat brings a suspect or dead peer back to alive") {
  auto detector = make_detector();
  detector.record_heartbeat("node-2", 0);
  detector.evaluate(40000);
  detector.record_heartbeat("node-2", 41000);
  const auto back = detector.evaluate(41000);
  REQUIRE(back.size() == 1);
  CHECK(back[0].from == node_status::dead);
  CHECK(back[0].to == node_status::alive);
  detector.evaluate(44000);  // suspect again
  detector.record_heartbeat("node-2", 44500);
  const auto again = detector.evaluate(45000);
  REQUIRE(again.size() == 1);
  CHECK(again[0].from == node_status::suspect);
  CHECK(again[0].to == node_status::alive);
}

TEST_CASE("a late evaluate reports alive to dead in one change") {
  auto detector = make_detector();
  detector.record_heartbeat("node-2", 0);
  const auto changes = detector.evaluate(60000);
  REQUIRE(changes.size() == 1);
  CHECK(changes[0].from == node_status::alive);
  CHECK(changes[0].to == node_status::dead);
}

TEST_CASE("a disconnect makes a peer suspect at once and dead only after the silence") {
  auto detector = make_detector();
  detector.record_heartbeat("node-2", 0);
  detector.record_disconnect("node-2", 100);
  const auto suspect = detector.evaluate(100);
  REQUIRE(suspect.size() == 1);
  CHECK(suspect[0].to == node_status::suspect);
  CHECK(detector.evaluate(29999).empty());
  REQUIRE(detector.evaluate(30000).size() == 1);
  CHECK(detector.status_of("node-2") == node_status::dead);
}

TEST_CASE("a heartbeat after a disconnect clears it, an older one does not") {
  auto detector = make_detector();
  detector.record_heartbeat("node-2", 0);
  detector.record_disconnect("node-2", 100);
  detector.record_heartbeat("node-2", 50);  // stamped before the disconnect
  CHECK(detector.evaluate(200).size() == 1);
  detector.record_heartbeat("node-2", 300);  // reconnected
  const auto back = detector.evaluate(300);
  REQUIRE(back.size() == 1);
  CHECK(back[0].to == node_status::alive);
}

TEST_CASE("a flapping peer that recovers between evaluations reports nothing") {
  auto detector = make_detector();
  detector.record_heartbeat("node-2", 0);
  detector.record_disconnect("node-2", 10);
  detector.record_heartbeat("node-2", 20);
  CHECK(detector.evaluate(30).empty());
}

TEST_CASE("a node never reports itself") {
  auto detector = make_detector();
  CHECK_FALSE(detector.record_heartbeat("self", 0));
  CHECK_FALSE(detector.record_disconnect("self", 0));
  CHECK_FALSE(detector.track("self", 0));
  CHECK(detector.evaluate(100000).empty());
  CHECK_FALSE(detector.status_of("self").has_value());
}

TEST_CASE("tracked peers get a grace period and several peers report in id order") {
  auto detector = make_detector();
  detector.track("node-3", 1000);
  detector.track("node-2", 1000);
  detector.track("node-2", 5000);  // already tracked: the first start counts
  const auto changes = detector.evaluate(4000);
  REQUIRE(changes.size() == 2);
  CHECK(changes[0].node == "node-2");
  CHECK(changes[1].node == "node-3");
  detector.forget("node-3");
  CHECK(detector.peer_count() == 1);
  CHECK_FALSE(detector.status_of("node-3").has_value());
}

TEST_CASE("peers beyond peers_max are ignored") {
  liveness_detector detector("self", liveness_config{3000, 30000, 2});
  CHECK(detector.record_heartbeat("a", 0));
  CHECK(detector.record_heartbeat("b", 0));
  CHECK_FALSE(detector.record_heartbeat("c", 0));
  CHECK(detector.record_heartbeat("a", 10));  // known peers still count
  CHECK(detector.peer_count() == 2);
}

TEST_CASE("custom thresholds are honoured") {
  liveness_detector detector("self", liveness_config{100, 200});
  detector.record_heartbeat("node-2", 0);
  CHECK(detector.evaluate(99).empty());
  CHECK(detector.evaluate(100).size() == 1);
  CHECK(detector.evaluate(200).size() == 1);
  CHECK(detector.status_of("node-2") == node_status::dead);
}

TEST_CASE("the meta leader replicates alive only when heard, suspect only from alive") {
  const auto alive = node_status::alive;
  const auto suspect = node_status::suspect;
  const auto dead = node_status::dead;
  const auto leaving = node_status::leaving;
  // Agreement, unknown members and leaving members: nothing to replicate.
  CHECK_FALSE(replicated_status_change(alive, alive, true));
  CHECK_FALSE(replicated_status_change(dead, std::nullopt, true));
  CHECK_FALSE(replicated_status_change(leaving, dead, true));
  // A fresh leader's grace period is no proof of life.
  CHECK_FALSE(replicated_status_change(dead, alive, false));
  CHECK_FALSE(replicated_status_change(suspect, alive, false));
  CHECK(replicated_status_change(dead, alive, true) == alive);
  CHECK(replicated_status_change(suspect, alive, true) == alive);
  // Suspect demotes only an alive member; dead wins from anywhere.
  CHECK(replicated_status_change(alive, suspect, false) == suspect);
  CHECK_FALSE(replicated_status_change(dead, suspect, true));
  CHECK(replicated_status_change(alive, dead, false) == dead);
  CHECK(replicated_status_change(suspect, dead, false) == dead);
}
