// The pure pieces of the extension API: the machine command envelope and slot rules, the
// routing policy, and the cluster events derived from meta commands.

#include "runtime/cluster/events.hpp"
#include "runtime/cluster/machine_command.hpp"
#include "runtime/cluster/partition_status.hpp"
#include "runtime/cluster/placement.hpp"
#include "runtime/cluster/route_policy.hpp"
#include "tests/unit/runtime/meta_test_support.hpp"

#include <doctest/doctest.h>

using namespace ck::cluster;

TEST_CASE("machine command: the envelope round-trips; older entries belong to slot 0") {
  const auto data = encode_machine_command("counter", std::string("add 1\n\0x", 8));
  const auto decoded = decode_machine_command(data);
  REQUIRE(decoded.has_value());
  CHECK(decoded->machine == "counter");
  CHECK(decoded->command == std::string_view("add 1\n\0x", 8));
  const auto legacy = decode_machine_command(std::string("\x01\x01\x00\x00\x00\x01kv", 8));
  REQUIRE(legacy.has_value());
  CHECK(legacy->machine.empty());
  CHECK(legacy->command.size() == 8);
  CHECK_FALSE(decode_machine_command(std::string("\xce", 1)).has_value());
  CHECK_FALSE(decode_machine_command(std::string("\xce\x05" "abc", 5)).has_value());
  CHECK_FALSE(decode_machine_command(std::string("\xce\x00", 2)).has_value());
  CHECK(encode_machine_command("x", "").size() == 3);
}

TEST_CASE("machine command: slot 0 is written bare when that is unambiguous (rolling upgrades)") {
  CHECK(encode_log_command(0, "kv", "\x01\x01rest") == "\x01\x01rest");
  CHECK(encode_log_command(1, "counter", "add") == encode_machine_command("counter", "add"));
  CHECK(encode_log_command(0, "kv", "") == encode_machine_command("kv", ""));  // empty = no-op
  const std::string marker("\xce" "x", 2);
  CHECK(encode_log_command(0, "kv", marker) == encode_machine_command("kv", marker));
  for (const auto& [slot, command] : {std::pair<uint16_t, std::string>{0, "abc"},
                                      {0, marker}, {3, "abc"}}) {
    const auto name = slot == 0 ? std::string{"kv"} : std::string{"other"};
    const std::string entry = encode_log_command(slot, name, command);  // decoded views point here
    const auto decoded = decode_machine_command(entry);
    REQUIRE(decoded.has_value());
    CHECK(decoded->command == command);
    CHECK((decoded->machine.empty() ? 0 : (decoded->machine == name ? slot : 99)) == slot);
  }
}

TEST_CASE("machine command: names and slots") {
  CHECK(valid_machine_name("kv"));
  CHECK(valid_machine_name("rate-limiter.v2_x"));
  CHECK_FALSE(valid_machine_name(""));
  CHECK_FALSE(valid_machine_name("Upper"));
  CHECK_FALSE(valid_machine_name(std::string(65, 'a')));
  CHECK(machine_slot({"kv", "counter"}, "counter") == std::optional<uint16_t>(1));
  CHECK_FALSE(machine_slot({"kv"}, "counter").has_value());
  CHECK(machine_slots_mismatch({"kv"}, {"kv", "counter"}).empty());   // added at the end
  CHECK(machine_slots_mismatch({}, {"kv"}).empty());
  CHECK_FALSE(machine_slots_mismatch({"kv", "counter"}, {"counter", "kv"}).empty());
  CHECK_FALSE(machine_slots_mismatch({"kv", "counter"}, {"kv"}).empty());
}

TEST_CASE("route policy: a timed-out proposal is never retried; reads and redirects are") {
  auto d = decide_route(attempt_outcome::timed_out, true, false);
  CHECK(d.action == route_action::answer_unknown);
  d = decide_route(attempt_outcome::timed_out, false, false);
  CHECK(d.action == route_action::retry);
  d = decide_route(attempt_outcome::not_leader, true, true);
  CHECK(d.action == route_action::retry);
  CHECK(d.retry_delay_ms == route_retry_hinted_ms);
  d = decide_route(attempt_outcome::not_leader, true, false);
  CHECK(d.retry_delay_ms == route_retry_election_ms);
  CHECK(decide_route(attempt_outcome::unreachable, true, false).action == route_action::retry);
  // A connection that broke while a proposal was out: the remote may have applied it.
  CHECK(decide_route(attempt_outcome::lost, true, false).action == route_action::answer_unknown);
  CHECK(decide_route(attempt_outcome::lost, false, false).action == route_action::retry);
  CHECK(decide_route(attempt_outcome::failed, false, false).action == route_action::answer_failed);
  // A full disk at the leader: nothing was written, retrying elsewhere reaches the same leader.
  CHECK(decide_route(attempt_outcome::storage_full, true, true).action ==
        route_action::answer_storage_full);
  CHECK(decide_route(attempt_outcome::ok, true, false).action == route_action::done);
}

TEST_CASE("events: meta commands become node and placement events") {
  auto state = test::make_cluster(3);
  apply_result ok;
  auto events = meta_events(test::make_join("node-4"), apply_result{apply_outcome::joined, "", 4}, {});
  REQUIRE(events.size() == 1);
  CHECK(events[0].kind == event_kind::node_joined);
  CHECK(events[0].node == "node-4");
  events = meta_events(test::make_join("node-2"), apply_result{apply_outcome::rejoined, "", 2}, {});
  REQUIRE(events.size() == 1);
  CHECK(events[0].kind == event_kind::node_rejoined);
  CHECK(meta_events(test::make_join("node-2"), apply_result{apply_outcome::conflict, "", 0}, {})
            .empty());
  events = meta_events(set_status_command{"node-3", node_status::dead, 5}, ok, {});
  REQUIRE(events.size() == 1);
  CHECK(events[0].kind == event_kind::node_dead);
  events = meta_events(remove_node_command{"node-3"}, ok, {});
  CHECK(events.at(0).kind == event_kind::node_left);
  events = meta_events(set_placement_command{7, {"node-1", "node-4"}}, ok, {"node-1", "node-3"});
  REQUIRE(events.size() == 1);
  CHECK(events[0].kind == event_kind::partition_moved);
  CHECK(events[0].partition == 7);
  CHECK(events[0].from == std::vector<std::string>{"node-1", "node-3"});
  CHECK(events[0].to == std::vector<std::string>{"node-1", "node-4"});
  CHECK(meta_events(set_placement_command{7, {"a"}}, ok, {"a"}).empty());  // no change
  CHECK(to_string(event_kind::rebalance_finished) == "rebalance_finished");
}

TEST_CASE("events: a rebalance is pending while the placement differs from the plan") {
  auto state = test::make_cluster(3);
  CHECK_FALSE(rebalance_pending(meta_state{}));
  // Bring the placement to the plan, then a new node makes moves pending again.
  for (const auto& target : plan_placement(state)) {
    REQUIRE(apply(state, set_placement_command{target.index, target.replicas}).outcome !=
            apply_outcome::invalid);
  }
  CHECK_FALSE(rebalance_pending(state));
  REQUIRE(apply(state, test::make_join("node-4")).outcome == apply_outcome::joined);
  CHECK(rebalance_pending(state));
}

TEST_CASE("partition status: hosted and placed partitions are classified like the API says") {
  CHECK(classify_hosted(false, 3, 0, 3, 3) == partition_health::no_leader);
  CHECK(classify_hosted(true, 3, 1, 3, 3) == partition_health::moving);
  CHECK(classify_hosted(true, 2, 0, 3, 3) == partition_health::moving);
  CHECK(classify_hosted(true, 2, 0, 2, 3) == partition_health::under_replicated);
  CHECK(classify_hosted(true, 3, 0, 3, 3) == partition_health::healthy);
  CHECK(classify_placed(0, 3) == partition_health::no_leader);
  CHECK(classify_placed(2, 3) == partition_health::under_replicated);
  CHECK(classify_placed(3, 3) == partition_health::healthy);
  CHECK(to_string(partition_health::under_replicated) == "under_replicated");
}

TEST_CASE("partition summary: hosted replicas report their group, others the placement") {
  partition_placement placement{4, {"node-1", "node-2", "node-3"}};
  replica_view hosted;
  hosted.leader = "node-2";
  hosted.term = 7;
  hosted.commit_index = 42;
  hosted.voters = {"node-1", "node-2", "node-3"};
  auto s = summarize_partition(placement, hosted, "", "node-1", 3);
  CHECK(s.leader == "node-2");
  CHECK(s.replicas == std::vector<std::string>{"node-1", "node-3"});
  CHECK(s.term == 7);
  CHECK(s.health == partition_health::healthy);
  // Not hosted: a usable guess wins over the preferred leader; a stale or own guess does not.
  s = summarize_partition(placement, std::nullopt, "node-3", "node-1", 3);
  CHECK(s.leader == "node-3");
  CHECK(s.replicas == std::vector<std::string>{"node-1", "node-2"});
  CHECK(summarize_partition(placement, std::nullopt, "node-9", "node-1", 3).leader == "node-1");
  CHECK(summarize_partition(placement, std::nullopt, "node-1", "node-1", 3).leader == "node-1");
  CHECK(summarize_partition(partition_placement{5, {}}, std::nullopt, "", "node-1", 3).health ==
        partition_health::no_leader);
}

TEST_CASE("leaders from claims: the highest term wins; silence from every placed node means none") {
  // Partitions 0..3 placed on nodes 2-4 (this node, node-1, hosts none of them).
  std::vector<partition_placement> placement;
  for (uint32_t p = 0; p < 4; ++p) {
    placement.push_back({p, {"node-2", "node-3", "node-4"}});
  }
  const std::vector<uint32_t> wanted{0, 1, 2, 3};
  std::vector<leader_claims> answers{
      {"node-2", {{0, 5}, {1, 3}}},  // still believes it leads 1 (term 3)
      {"node-3", {{1, 4}}},          // ... which node-3 took over in term 4
      {"node-4", {{9, 1}}},          // a partition nobody asked about
  };
  auto leaders = leaders_from_claims(answers, placement, wanted);
  CHECK(leaders.at(0) == "node-2");
  CHECK(leaders.at(1) == "node-3");
  CHECK(leaders.at(2).empty());  // every placed node answered, none leads: an election
  CHECK(leaders.at(3).empty());
  CHECK(leaders.count(9) == 0);
  // node-4 did not answer: partitions nobody claims stay unknown (keep the old guess).
  answers.pop_back();
  leaders = leaders_from_claims(answers, placement, wanted);
  CHECK(leaders.at(0) == "node-2");
  CHECK(leaders.count(2) == 0);
  CHECK(leaders.count(3) == 0);
  // Only the partitions asked about, and only those the placement knows.
  leaders = leaders_from_claims(answers, placement, {1, 7});
  CHECK(leaders.size() == 1);
  CHECK(leaders.at(1) == "node-3");
}
