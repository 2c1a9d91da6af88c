#include "runtime/raft/tracker.hpp"

#include "runtime/base/assert.hpp"

#include <algorithm>

namespace ck::raft {

namespace {

bool contains(const std::vector<node_id>& ids, node_id id) {
  return std::binary_search(ids.begin(), ids.end(), id);
}

void insert_sorted(std::vector<node_id>& ids, node_id id) {
  const auto at = std::lower_bound(ids.begin(), ids.end(), id);
  if (at == ids.end() || *at != id) {
    ids.insert(at, id);
  }
}

// The progress of `id` in a list sorted by id (const or not), or nullptr.
template <class Progresses>
auto find_in(Progresses& list, node_id id) -> decltype(list.data()) {
  const auto at = std::lower_bound(list.begin(), list.end(), id,
                                   [](const progress& pr, node_id key) { return pr.id < key; });
  return at != list.end() && at->id == id ? &*at : nullptr;
}

void erase_sorted(std::vector<node_id>& ids, node_id id) {
  const auto at = std::lower_bound(ids.begin(), ids.end(), id);
  if (at != ids.end() && *at == id) {
    ids.erase(at);
  }
}

}  // namespace

progress_tracker::progress_tracker(uint32_t inflight_msgs_max, uint64_t inflight_bytes_max)
    : inflight_msgs_max_(inflight_msgs_max), inflight_bytes_max_(inflight_bytes_max) {}

void progress_tracker::reset(const conf_state& conf, index_t next_index) {
  conf_ = {};
  progress_.clear();
  votes_.clear();
  for (const node_id id : conf.voters) {
    insert_sorted(conf_.voters, id);
  }
  for (const node_id id : conf.learners) {
    if (!contains(conf_.voters, id)) {  // a node is in one list at most: voter wins
      insert_sorted(conf_.learners, id);
    }
  }
  for (const node_id id : conf_.voters) {
    add_progress(id, false, next_index);
  }
  for (const node_id id : conf_.learners) {
    add_progress(id, true, next_index);
  }
}

void progress_tracker::reset_progress(index_t next_index) {
  for (progress& pr : progress_) {
    pr = progress(pr.id, next_index, pr.learner, inflight_msgs_max_, inflight_bytes_max_);
  }
}

bool progress_tracker::is_voter(node_id id) const { return contains(conf_.voters, id); }

bool progress_tracker::is_learner(node_id id) const { return contains(conf_.learners, id); }

progress* progress_tracker::find(node_id id) { return find_in(progress_, id); }

const progress* progress_tracker::find(node_id id) const { return find_in(progress_, id); }

void progress_tracker::add_progress(node_id id, bool learner, index_t next_index) {
  const auto at = std::lower_bound(progress_.begin(), progress_.end(), id,
                                   [](const progress& pr, node_id key) { return pr.id < key; });
  CK_ASSERT(at == progress_.end() || at->id != id);
  progress_.insert(at, progress(id, next_index, learner, inflight_msgs_max_, inflight_bytes_max_));
}

conf_check progress_tracker::check_change(const conf_change& change) const {
  if (change.node == no_node) {
    return conf_check::node_missing;
  }
  const bool sole_voter = conf_.voters.size() == 1 && conf_.voters.front() == change.node;
  if (sole_voter && change.type != conf_change_type::add_voter) {
    return conf_check::last_voter;  // remove_node or a demotion to learner
  }
  return conf_check::ok;
}

void progress_tracker::apply_change(const conf_change& change, index_t next_index) {
  CK_ASSERT(check_change(change) == conf_check::ok);
  const node_id id = change.node;
  switch (change.type) {
    case conf_change_type::add_voter:
      erase_sorted(conf_.learners, id);
      insert_sorted(conf_.voters, id);
      break;
    case conf_change_type::add_learner:
      erase_sorted(conf_.voters, id);
      insert_sorted(conf_.learners, id);
      break;
    case conf_change_type::remove_node:
      erase_sorted(conf_.voters, id);
      erase_sorted(conf_.learners, id);
      votes_.erase(std::remove_if(votes_.begin(), votes_.end(),
                                  [id](const auto& vote) { return vote.first == id; }),
                   votes_.end());
      if (progress* pr = find(id)) {
        progress_.erase(progress_.begin() + (pr - progress_.data()));
      }
      return;
  }
  if (progress* pr = find(id)) {
    pr->learner = change.type == conf_change_type::add_learner;
  } else {
    add_progress(id, change.type == conf_change_type::add_learner, next_index);
    find(id)->recent_active = true;  // a new member is not a reason to lose the quorum
  }
}

index_t progress_tracker::committed_index() const {
  match_scratch_.clear();
  for (const node_id id : conf_.voters) {
    match_scratch_.push_back(find(id)->match);
  }
  return majority_index(match_scratch_);
}

bool progress_tracker::quorum_active() const {
  if (conf_.voters.empty()) {
    return false;
  }
  size_t active = 0;
  for (const node_id id : conf_.voters) {
    active += find(id)->recent_active ? 1u : 0u;
  }
  return active >= quorum_size(conf_.voters.size());
}

void progress_tracker::reset_recent_active(node_id self) {
  for (progress& pr : progress_) {
    pr.recent_active = pr.id == self;
  }
}

void progress_tracker::record_vote(node_id id, bool granted) {
  if (!is_voter(id)) {
    return;  // learners (and strangers) are never counted
  }
  for (const auto& vote : votes_) {
    if (vote.first == id) {
      return;  // a voter's first answer in an election stands
    }
  }
  votes_.emplace_back(id, granted);
}

vote_result progress_tracker::vote_outcome() const {
  if (conf_.voters.empty()) {
    return vote_result::lost;
  }
  size_t granted = 0;
  for (const auto& vote : votes_) {
    granted += vote.second ? 1u : 0u;
  }
  return tally(conf_.voters.size(), granted, votes_.size() - granted);
}

vote_result progress_tracker::tally_acks(const std::vector<node_id>& acks) const {
  if (conf_.voters.empty()) {
    return vote_result::lost;
  }
  size_t granted = 0;
  for (const node_id id : conf_.voters) {
    granted += std::find(acks.begin(), acks.end(), id) != acks.end() ? 1u : 0u;
  }
  return tally(conf_.voters.size(), granted, 0);
}

void progress_tracker::check_invariants(index_t last_index, bool check_progress) const {
  CK_ASSERT(std::is_sorted(conf_.voters.begin(), conf_.voters.end()));
  CK_ASSERT(std::is_sorted(conf_.learners.begin(), conf_.learners.end()));
  CK_ASSERT_EQ(progress_.size(), conf_.voters.size() + conf_.learners.size());
  for (const progress& pr : progress_) {
    CK_ASSERT(pr.learner ? is_learner(pr.id) && !is_voter(pr.id) : is_voter(pr.id));
    if (check_progress) {
      pr.check_invariants(last_index);
    }
  }
  for (const auto& vote : votes_) {
    CK_ASSERT(is_voter(vote.first));
  }
}

}  // namespace ck::raft
