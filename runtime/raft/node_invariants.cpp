// check_invariants: the LogCabin-style executable checker of one node's state. Its cost is
// bounded by the unstable tail and the number of members, so it can run after every step.

#include "runtime/raft/node_impl.hpp"

#include "runtime/base/assert.hpp"

namespace ck::raft {

void node::impl::check_invariants() const {
  log.check_invariants();
  tracker.check_invariants(log.last_index(), state == role::leader);
  // No entry can come from a term this node has not reached.
  CK_ASSERT_LE(log.last_term(), term);
  if (vote != no_node) {
    CK_ASSERT_GT(term, 0u);
  }
  CK_ASSERT_GE(randomized_election_ticks, cfg.election_ticks);
  CK_ASSERT_LT(randomized_election_ticks, 2 * cfg.election_ticks);
  if (quiescent) {
    CK_ASSERT(state == role::leader || state == role::follower);
    if (state == role::leader) {
      CK_ASSERT_EQ(transferee, no_node);
      CK_ASSERT_EQ(reads.pending_count(), 0u);
      CK_ASSERT(reads_waiting.empty());
    }
  }
  switch (state) {
    case role::leader: {
      CK_ASSERT(step_role == &impl::step_leader);
      CK_ASSERT_EQ(leader, cfg.id);  // a leader names itself leader ...
      CK_ASSERT_EQ(vote, cfg.id);    // ... and voted for itself
      CK_ASSERT(tracker.is_voter(cfg.id));
      CK_ASSERT(!log.unstable().pending_snapshot());
      CK_ASSERT_LE(pending_conf_index, log.last_index());
      const progress* self = tracker.find(cfg.id);
      CK_ASSERT(self != nullptr);
      CK_ASSERT_LE(self->match, log.stable_last_index());
      if (transferee != no_node) {
        CK_ASSERT(tracker.is_voter(transferee));
      }
      break;
    }
    case role::candidate:
      CK_ASSERT(step_role == &impl::step_candidate);
      CK_ASSERT_EQ(vote, cfg.id);
      CK_ASSERT_EQ(leader, no_node);
      break;
    case role::pre_candidate:
      CK_ASSERT(step_role == &impl::step_candidate);
      CK_ASSERT_EQ(leader, no_node);
      break;
    case role::follower:
      CK_ASSERT(step_role == &impl::step_follower);
      CK_ASSERT_NE(leader, cfg.id);
      break;
  }
  if (state != role::follower) {
    // reset() clears it on every transition, become_pre_candidate() (which skips reset()) too.
    CK_ASSERT_EQ(transfer_campaign_ticks, 0u);
  }
  CK_ASSERT_LE(transfer_campaign_ticks, cfg.election_ticks);
  if (state != role::leader) {
    // Leader-only state is cleared on every transition.
    CK_ASSERT_EQ(transferee, no_node);
    CK_ASSERT_EQ(reads.pending_count(), 0u);
    CK_ASSERT(reads_waiting.empty());
    CK_ASSERT_EQ(uncommitted_bytes, 0u);
  }
}

}  // namespace ck::raft
