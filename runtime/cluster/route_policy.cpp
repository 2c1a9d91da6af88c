#include "runtime/cluster/route_policy.hpp"

namespace ck::cluster {

route_decision decide_route(attempt_outcome outcome, bool is_proposal, bool leader_hinted) {
  switch (outcome) {
    case attempt_outcome::ok:
      return {route_action::done, 0};
    case attempt_outcome::failed:
      return {route_action::answer_failed, 0};
    case attempt_outcome::storage_full:
      return {route_action::answer_storage_full, 0};
    case attempt_outcome::timed_out:
      if (is_proposal) {
        return {route_action::answer_unknown, 0};
      }
      return {route_action::retry, route_retry_election_ms};
    case attempt_outcome::lost:
      if (is_proposal) {
        return {route_action::answer_unknown, 0};
      }
      return {route_action::retry, route_retry_unreachable_ms};
    case attempt_outcome::unreachable:
      return {route_action::retry, route_retry_unreachable_ms};
    case attempt_outcome::not_leader:
      return {route_action::retry, leader_hinted ? route_retry_hinted_ms : route_retry_election_ms};
  }
  return {route_action::retry, route_retry_election_ms};
}

}  // namespace ck::cluster
