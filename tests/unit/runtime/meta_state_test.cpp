// The meta state machine: every command outcome, raft id assignment (never reused), and the
// invariants after every step. Method: apply commands to a fresh state and inspect it.

#include "runtime/base/host_port.hpp"
#include "runtime/cluster/meta_state.hpp"

#include "meta_test_support.hpp"

#include <doctest/doctest.h>

using namespace ck::cluster;
using ck::cluster::test::make_bootstrap;
using ck::cluster::test::make_cluster;
using ck::cluster::test::make_join;
using ck::cluster::test::make_node;

TEST_CASE("bootstrap creates the cluster with its first node as raft id 1") {
  meta_state state;
  const auto result = ck::cluster::apply(state, make_bootstrap());
  CHECK(result.outcome == apply_outcome::ok);
  CHECK(result.raft_id == 1);
  CHECK(state.cluster_id == "ck-test");
  CHECK(state.partition_count == 8);
  CHECK(state.placement.size() == 8);
  CHECK(state.placement[7].index == 7);
  CHECK(state.next_raft_id == 2);
  CHECK(state.version == 1);
  const auto& node = state.nodes.at("node-1");
  CHECK(node.status == node_status::alive);
  CHECK(node.joined_unix_ms == 1000);
  CHECK(node.raft_id == 1);
  CHECK(find_invariant_violation(state).empty());
}

TEST_CASE("a second bootstrap is a conflict and changes nothing") {
  meta_state state = make_cluster(1);
  const meta_state before = state;
  CHECK(ck::cluster::apply(state, make_bootstrap("other")).outcome == apply_outcome::conflict);
  CHECK(state == before);
}

TEST_CASE("a bootstrap with bad settings is invalid") {
  for (auto mutate : {+[](bootstrap_command& c) { c.cluster_id = "bad id"; },
                      +[](bootstrap_command& c) { c.partition_count = 0; },
                      +[](bootstrap_command& c) { c.replication_factor = 8; },
                      +[](bootstrap_command& c) { c.first.raft_addr = "nohost"; }}) {
    meta_state state;
    auto cmd = make_bootstrap();
    mutate(cmd);
    CHECK(ck::cluster::apply(state, cmd).outcome == apply_outcome::invalid);
    CHECK(state == meta_state{});
  }
}

TEST_CASE("commands before bootstrap are refused as not bootstrapped") {
  meta_state state;
  CHECK(ck::cluster::apply(state, make_join("node-2")).outcome == apply_outcome::not_bootstrapped);
  CHECK(ck::cluster::apply(state, remove_node_command{"node-2"}).outcome ==
        apply_outcome::not_bootstrapped);
  CHECK(state == meta_state{});
}

TEST_CASE("a new node joins with the next raft id") {
  meta_state state = make_cluster(1);
  const auto result = ck::cluster::apply(state, make_join("node-2", 5000));
  CHECK(result.outcome == apply_outcome::joined);
  CHECK(result.raft_id == 2);
  CHECK(state.nodes.at("node-2").joined_unix_ms == 5000);
  CHECK(state.nodes.at("node-2").name == "name of node-2");
  CHECK(state.next_raft_id == 3);
}

TEST_CASE("joining twice from the same address is an idempotent rejoin") {
  meta_state state = make_cluster(2);
  const meta_state before = state;
  for (int i = 0; i < 2; ++i) {
    const auto result = ck::cluster::apply(state, make_join("node-2", 9000 + i));
    CHECK(result.outcome == apply_outcome::rejoined);
    CHECK(result.raft_id == 2);
    CHECK(state == before);  // not even the version moves
  }
  CHECK(state.nodes.size() == 2);
}

TEST_CASE("a rejoin refreshes addresses and services and brings the node back to alive") {
  meta_state state = make_cluster(2);
  REQUIRE(
      ck::cluster::apply(state, set_status_command{"node-2", node_status::dead, 3000}).outcome ==
      apply_outcome::ok);
  auto join = make_join("node-2", 4000);
  join.node.http_addr = "node-2.lan:18080";
  join.node.services["metrics"] = "node-2.lan:9100";
  const uint64_t version = state.version;
  CHECK(ck::cluster::apply(state, join).outcome == apply_outcome::rejoined);
  const auto& node = state.nodes.at("node-2");
  CHECK(node.status == node_status::alive);
  CHECK(node.status_changed_unix_ms == 4000);
  CHECK(node.http_addr == "node-2.lan:18080");
  CHECK(node.services.size() == 2);
  CHECK(node.raft_id == 2);
  CHECK(state.version == version + 1);
}

TEST_CASE("a rejoin does not cancel a leave") {
  meta_state state = make_cluster(4);
  REQUIRE(
      ck::cluster::apply(state, set_status_command{"node-2", node_status::leaving, 3000}).outcome ==
      apply_outcome::ok);
  CHECK(ck::cluster::apply(state, make_join("node-2")).outcome == apply_outcome::rejoined);
  CHECK(state.nodes.at("node-2").status == node_status::leaving);
}

TEST_CASE("the same id from another address is a conflict while the node is alive or suspect") {
  for (const auto status : {node_status::alive, node_status::suspect, node_status::leaving}) {
    meta_state state = make_cluster(2);
    ck::cluster::apply(state, set_status_command{"node-2", status, 3000});
    const meta_state before = state;
    const auto result = ck::cluster::apply(state, join_command{make_node("node-2", 7000), 4000});
    CHECK(result.outcome == apply_outcome::conflict);
    CHECK(result.message.find("node-2.lan:9001") != std::string::npos);
    CHECK(state == before);
  }
}

TEST_CASE("the same id from another address replaces a dead node with a fresh raft id") {
  meta_state state = make_cluster(3);
  REQUIRE(
      ck::cluster::apply(state, set_status_command{"node-2", node_status::dead, 3000}).outcome ==
      apply_outcome::ok);
  const auto result = ck::cluster::apply(state, join_command{make_node("node-2", 7000), 4000});
  CHECK(result.outcome == apply_outcome::replaced);
  CHECK(result.raft_id == 4);
  const auto& node = state.nodes.at("node-2");
  CHECK(node.raft_addr == "node-2.lan:7001");
  CHECK(node.status == node_status::alive);
  CHECK(node.joined_unix_ms == 4000);
  CHECK(find_by_raft_id(state, 2) == nullptr);  // the old incarnation's id is retired
  CHECK(state.nodes.size() == 3);
  check_invariants(state);
}

TEST_CASE("node_id_of and raft_id_of translate between node ids and raft ids") {
  const meta_state state = make_cluster(3);
  const auto raft_id = state.nodes.at("node-2").raft_id;
  CHECK(ck::cluster::node_id_of(state, raft_id) == "node-2");
  CHECK(ck::cluster::raft_id_of(state, "node-2") == raft_id);
  CHECK(ck::cluster::node_id_of(state, ck::raft::no_node).empty());
  CHECK(ck::cluster::node_id_of(state, 99).empty());
  CHECK(ck::cluster::raft_id_of(state, "node-9") == ck::raft::no_node);
}

TEST_CASE("invalid ids, addresses, names and services are refused without a change") {
  meta_state state = make_cluster(1);
  const meta_state before = state;
  for (const std::string& id :
       std::vector<std::string>{"", "bad id", "slash/no", "é", std::string(65, 'a')}) {
    auto join = make_join("x");
    join.node.id = id;
    CHECK_MESSAGE(ck::cluster::apply(state, join).outcome == apply_outcome::invalid, id);
  }
  for (const std::string addr : {"", "host", ":9001", "host:", "host:0", "host:65536", "host:12a",
                                 "ho st:1", "[]:1", "[zz]:1"}) {
    auto join = make_join("node-2");
    join.node.raft_addr = addr;
    CHECK_MESSAGE(ck::cluster::apply(state, join).outcome == apply_outcome::invalid, addr);
  }
  auto long_name = make_join("node-2");
  long_name.node.name = std::string(129, 'n');
  CHECK(ck::cluster::apply(state, long_name).outcome == apply_outcome::invalid);
  auto many = make_join("node-2");
  for (int i = 0; i < 65; ++i) {
    many.node.services["s" + std::to_string(i)] = "h:1";
  }
  CHECK(ck::cluster::apply(state, many).outcome == apply_outcome::invalid);
  CHECK(state == before);
}

TEST_CASE("addresses accept names, IPv4 and bracketed IPv6 hosts") {
  CHECK(is_valid_address("node-1.example.com:9001"));
  CHECK(is_valid_address("127.0.0.1:1"));
  CHECK(is_valid_address("[::1]:65535"));
  CHECK(is_valid_node_id("Node_1.a-b"));
  CHECK(is_valid_node_id(std::string(64, 'z')));
}

// The meta state's address rule is frozen (replicated entries depend on it) while the node's
// parser (runtime/base/host_port.hpp) may evolve: every dialable address the parser produces
// must stay acceptable in a join command.
TEST_CASE("addresses: everything parse_host_port produces with a host is a valid meta address") {
  const std::string host_chars = "aZ09._-";
  std::vector<std::string> hosts{"n", "node-1.example.com", "127.0.0.1", "::1", "fe80::1:2",
                                 "::ffff:10.0.0.1", std::string(253, 'h'),
                                 "ffff:ffff:ffff:ffff:ffff:ffff:255.255.255.255"};
  for (char c : host_chars) {
    hosts.push_back(std::string(1, c) + "x" + std::string(1, c));
  }
  size_t checked = 0;
  for (const auto& host : hosts) {
    for (const char* port : {"1", "80", "9001", "65535"}) {
      const bool ipv6 = host.find(':') != std::string::npos;
      const std::string text = (ipv6 ? "[" + host + "]" : host) + ":" + port;
      auto parsed = ck::runtime::parse_host_port(text);
      REQUIRE_MESSAGE(parsed, text);
      CHECK_MESSAGE(is_valid_address(parsed->to_string()), parsed->to_string());
      ++checked;
    }
  }
  CHECK(checked == hosts.size() * 4);
  // The parser refuses what the node could not dial; so does the meta rule.
  for (const char* bad : {"host", "host:0", "host:99999", "::1:80", "a b:80", "[::1]80"}) {
    CHECK_FALSE(ck::runtime::parse_host_port(bad));
    CHECK_FALSE(is_valid_address(bad));
  }
}

TEST_CASE("set_status changes a status once and reports no-ops and unknown nodes") {
  meta_state state = make_cluster(2);
  CHECK(
      ck::cluster::apply(state, set_status_command{"node-2", node_status::suspect, 3000}).outcome ==
      apply_outcome::ok);
  CHECK(state.nodes.at("node-2").status_changed_unix_ms == 3000);
  const uint64_t version = state.version;
  CHECK(
      ck::cluster::apply(state, set_status_command{"node-2", node_status::suspect, 3500}).outcome ==
      apply_outcome::unchanged);
  CHECK(state.version == version);
  CHECK(state.nodes.at("node-2").status_changed_unix_ms == 3000);
  CHECK(ck::cluster::apply(state, set_status_command{"nobody", node_status::dead, 1}).outcome ==
        apply_outcome::not_found);
}

TEST_CASE("a live node may leave only while the others can hold every replica") {
  meta_state state = make_cluster(3);  // replication factor 3
  const auto version = state.version;
  const apply_result refused =
      ck::cluster::apply(state, set_status_command{"node-3", node_status::leaving, 3000});
  CHECK(refused.outcome == apply_outcome::conflict);
  CHECK(refused.message.find("add a node first") != std::string::npos);
  CHECK(state.nodes.at("node-3").status == node_status::alive);
  CHECK(state.version == version);
  // A dead node hosts nothing any more: it may leave (and then be removed).
  REQUIRE(ck::cluster::apply(state, set_status_command{"node-3", node_status::dead, 3100}).outcome ==
          apply_outcome::ok);
  CHECK(ck::cluster::apply(state, set_status_command{"node-3", node_status::leaving, 3200}).outcome ==
        apply_outcome::ok);
  // With a fourth live node, a live node may leave.
  meta_state four = make_cluster(4);
  CHECK(ck::cluster::apply(four, set_status_command{"node-2", node_status::leaving, 3000}).outcome ==
        apply_outcome::ok);
}

TEST_CASE("remove_node refuses unknown nodes, the last node and nodes hosting replicas") {
  meta_state state = make_cluster(2);
  CHECK(ck::cluster::apply(state, remove_node_command{"nobody"}).outcome ==
        apply_outcome::not_found);
  REQUIRE(ck::cluster::apply(state, set_placement_command{3, {"node-1", "node-2"}}).outcome ==
          apply_outcome::ok);
  CHECK(ck::cluster::apply(state, remove_node_command{"node-2"}).outcome ==
        apply_outcome::conflict);
  REQUIRE(ck::cluster::apply(state, set_placement_command{3, {"node-1"}}).outcome ==
          apply_outcome::ok);
  CHECK(ck::cluster::apply(state, remove_node_command{"node-2"}).outcome == apply_outcome::ok);
  CHECK(state.nodes.count("node-2") == 0);
  CHECK(ck::cluster::apply(state, remove_node_command{"node-1"}).outcome ==
        apply_outcome::conflict);
}

TEST_CASE("raft ids are never reused after a remove and the join of a new id") {
  meta_state state = make_cluster(3);
  REQUIRE(ck::cluster::apply(state, remove_node_command{"node-3"}).outcome == apply_outcome::ok);
  CHECK(ck::cluster::apply(state, make_join("node-4")).raft_id == 4);
  CHECK(ck::cluster::apply(state, make_join("node-3")).raft_id ==
        5);  // the same name, a new incarnation
  CHECK(state.next_raft_id == 6);
  check_invariants(state);
}

TEST_CASE("set_placement validates index, count, duplicates and membership") {
  meta_state state = make_cluster(3);
  CHECK(ck::cluster::apply(state, set_placement_command{8, {"node-1"}}).outcome ==
        apply_outcome::invalid);
  CHECK(ck::cluster::apply(state, set_placement_command{0, {}}).outcome == apply_outcome::invalid);
  CHECK(ck::cluster::apply(state, set_placement_command{0, {"node-1", "node-1"}}).outcome ==
        apply_outcome::invalid);
  CHECK(ck::cluster::apply(state, set_placement_command{0, {"node-1", "node-9"}}).outcome ==
        apply_outcome::not_found);
  std::vector<std::string> eight(8, "node-1");
  CHECK(ck::cluster::apply(state, set_placement_command{0, eight}).outcome ==
        apply_outcome::invalid);
  CHECK(
      ck::cluster::apply(state, set_placement_command{0, {"node-2", "node-1", "node-3"}}).outcome ==
      apply_outcome::ok);
  CHECK(state.placement[0].replicas.front() == "node-2");
  CHECK(
      ck::cluster::apply(state, set_placement_command{0, {"node-2", "node-1", "node-3"}}).outcome ==
      apply_outcome::unchanged);
}

TEST_CASE("the invariant checker names broken states") {
  meta_state state = make_cluster(2);
  CHECK(find_invariant_violation(state).empty());
  auto twin = state;
  twin.nodes.at("node-2").raft_id = 1;
  CHECK_FALSE(find_invariant_violation(twin).empty());
  auto ahead = state;
  ahead.next_raft_id = 2;
  CHECK_FALSE(find_invariant_violation(ahead).empty());
  auto ghost = state;
  ghost.placement[1].replicas = {"ghost"};
  CHECK_FALSE(find_invariant_violation(ghost).empty());
  auto status = state;
  status.nodes.at("node-1").status = static_cast<node_status>(9);
  CHECK_FALSE(find_invariant_violation(status).empty());
}

TEST_CASE("node status words round-trip") {
  for (const auto s :
       {node_status::alive, node_status::suspect, node_status::dead, node_status::leaving}) {
    node_status parsed = node_status::alive;
    CHECK(parse_node_status(to_string(s), parsed));
    CHECK(parsed == s);
  }
  node_status unchanged = node_status::dead;
  CHECK_FALSE(parse_node_status("Alive", unchanged));
  CHECK(unchanged == node_status::dead);
}
