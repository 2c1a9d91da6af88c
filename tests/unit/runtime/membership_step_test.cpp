// A leader's next membership step toward a plan: promotion waits until the learner caught up,
// a change that would demote or remove the leader becomes a transfer to the most caught-up
// other voter, and leader balancing hands over only to a caught-up voter.

#include "runtime/cluster/membership_step.hpp"

#include <doctest/doctest.h>

using namespace ck::cluster;
using ck::raft::conf_change_type;
using ck::raft::progress_status;
using ck::raft::role;
using ck::raft::status_info;

namespace {

status_info leader_status(std::vector<uint64_t> voters, std::vector<uint64_t> learners,
                          std::vector<std::pair<uint64_t, uint64_t>> matches, uint64_t last) {
  status_info s;
  s.id = 1;
  s.state = role::leader;
  s.last_index = last;
  s.conf.voters = std::move(voters);
  s.conf.learners = std::move(learners);
  for (auto [id, match] : matches) {
    progress_status p;
    p.id = id;
    p.match = match;
    s.progress.push_back(p);
  }
  return s;
}

}  // namespace

TEST_CASE("a learner is promoted only once its match is within the allowed lag") {
  meta_voter_plan plan{{1, 2}, {}};
  auto behind = leader_status({1}, {2}, {{1, 500}, {2, 100}}, 500);
  CHECK_FALSE(next_membership_step(behind, plan, 64).change);
  CHECK(next_membership_step(behind, plan, 64).transfer_to == ck::raft::no_node);
  auto close = leader_status({1}, {2}, {{1, 500}, {2, 450}}, 500);
  auto step = next_membership_step(close, plan, 64);
  REQUIRE(step.change);
  CHECK(step.change->type == conf_change_type::add_voter);
  CHECK(step.change->node == 2);
}

TEST_CASE("a learner of a short log is promoted only once it holds 90% of it") {
  // A partition's data in a few large entries: every lag is within the count.
  meta_voter_plan plan{{1, 2}, {}};
  CHECK_FALSE(next_membership_step(leader_status({1}, {2}, {{1, 70}, {2, 0}}, 70), plan, 256).change);
  CHECK_FALSE(next_membership_step(leader_status({1}, {2}, {{1, 70}, {2, 62}}, 70), plan, 256).change);
  auto step = next_membership_step(leader_status({1}, {2}, {{1, 70}, {2, 63}}, 70), plan, 256);
  REQUIRE(step.change);
  CHECK(step.change->type == conf_change_type::add_voter);
}

TEST_CASE("a new planned member is added as a learner first") {
  meta_voter_plan plan{{1, 2, 3}, {}};
  auto s = leader_status({1, 2}, {}, {{1, 9}, {2, 9}}, 9);
  auto step = next_membership_step(s, plan, 64);
  REQUIRE(step.change);
  CHECK(step.change->type == conf_change_type::add_learner);
  CHECK(step.change->node == 3);
}

TEST_CASE("removing the leader itself becomes a transfer to the most caught-up other voter") {
  meta_voter_plan plan{{2, 3}, {}};
  auto s = leader_status({1, 2, 3}, {}, {{1, 50}, {2, 40}, {3, 48}}, 50);
  auto step = next_membership_step(s, plan, 64);
  CHECK_FALSE(step.change);
  CHECK(step.transfer_to == 3);
}

TEST_CASE("leader balancing hands over only to a caught-up voter other than itself") {
  auto s = leader_status({1, 2, 3}, {4}, {{1, 50}, {2, 50}, {3, 49}, {4, 50}}, 50);
  CHECK(leader_balance_transfer(s, 2) == 2);
  CHECK(leader_balance_transfer(s, 3) == ck::raft::no_node);  // one entry behind
  CHECK(leader_balance_transfer(s, 4) == ck::raft::no_node);  // a learner
  CHECK(leader_balance_transfer(s, 1) == ck::raft::no_node);  // itself
  s.state = role::follower;
  CHECK(leader_balance_transfer(s, 2) == ck::raft::no_node);  // only a leader transfers
}

TEST_CASE("conf changes are described for log lines") {
  CHECK(describe({conf_change_type::add_learner, 4, ""}) == "add learner 4");
  CHECK(describe({conf_change_type::add_voter, 4, ""}) == "add voter 4");
  CHECK(describe({conf_change_type::remove_node, 4, ""}) == "remove 4");
}
