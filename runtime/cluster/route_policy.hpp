#pragma once

// What the origin of a routed partition request does with each answer (pure: the partition
// host carries the decision out). The rules, and why:
//   - ok: done.
//   - a proposal whose attempt timed out (here or at the remote replica) is answered
//     "outcome unknown" at once and never retried: the first attempt may still be queued and
//     commit later, so a retry could apply the command twice with other commands in between.
//   - a definite failure of the replica (the machine is not registered there, the query failed)
//     is answered as such: another attempt would fail the same way. So is a full disk at the
//     leader: nothing was written, and the caller learns it at once (HTTP 507) instead of
//     after the deadline.
//   - a proposal whose connection broke after it left is "outcome unknown" too, for the same
//     reason (the remote may have proposed it; its answer is what was lost); a read retries.
//   - not leader / not hosted / no connection: try again after a short pause (shorter when
//     the answer named a leader: it is worth trying at once), until the request's deadline;
//     past it the request is answered "no leader" (HTTP 503, safe to retry).

#include <cstdint>

namespace ck::cluster {

/// How one attempt ended, as the origin sees it.
enum class attempt_outcome : uint8_t {
  ok,
  not_leader,   // the replica is not the leader (or not hosted there)
  unreachable,  // no connection to the node, or refused there before it ran: nothing happened
  lost,         // the connection broke while the request was out: it may have run there
  timed_out,    // no answer in time: a proposal may or may not have been applied
  failed,       // a definite failure the replica reported
  storage_full,  // the leader refused the proposal: its disk is full, nothing was written
};

enum class route_action : uint8_t {
  done,            // deliver the result
  answer_unknown,  // fail with "timed out, outcome unknown" (504)
  answer_failed,   // fail with the replica's reason
  answer_storage_full,  // fail with "storage full" (507)
  retry,           // try again after retry_delay_ms
};

struct route_decision {
  route_action action = route_action::retry;
  uint32_t retry_delay_ms = 0;
};

/// Pauses before the next attempt.
inline constexpr uint32_t route_retry_hinted_ms = 5;     // the answer named a leader
inline constexpr uint32_t route_retry_election_ms = 50;  // no leader known: let an election run
inline constexpr uint32_t route_retry_unreachable_ms = 100;

/// What to do after an attempt. `is_proposal`: the request changes state (a timed-out read is
/// simply retried); `leader_hinted`: the answer named a leader this node can reach.
route_decision decide_route(attempt_outcome outcome, bool is_proposal, bool leader_hinted);

}  // namespace ck::cluster
