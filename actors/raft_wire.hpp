#pragma once

// The Raft core's values on the wire: CAF `inspect` overloads for the types of
// runtime/raft/types.hpp (declared here, in namespace ck::raft for argument-dependent lookup,
// so runtime/raft stays free of CAF), and the messages the Raft actors exchange. Every type is
// registered in actors/type_ids.hpp; tests/unit/actors/raft_wire_test.cpp round-trips each one.

#include "runtime/raft/node.hpp"
#include "runtime/raft/types.hpp"

#include <caf/meta/type_name.hpp>

#include <string>
#include <vector>

namespace ck::raft {

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, entry& x) {
  return f(caf::meta::type_name("ck::raft::entry"), x.term, x.index, x.type, x.data);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, hard_state& x) {
  return f(caf::meta::type_name("ck::raft::hard_state"), x.term, x.vote, x.commit);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, conf_state& x) {
  return f(caf::meta::type_name("ck::raft::conf_state"), x.voters, x.learners);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, conf_change& x) {
  return f(caf::meta::type_name("ck::raft::conf_change"), x.type, x.node, x.context);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, snapshot_meta& x) {
  return f(caf::meta::type_name("ck::raft::snapshot_meta"), x.index, x.term, x.conf);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, snapshot& x) {
  return f(caf::meta::type_name("ck::raft::snapshot"), x.meta, x.data);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, message& x) {
  return f(caf::meta::type_name("ck::raft::message"), x.group, x.type, x.from, x.to, x.term,
           x.log_term, x.index, x.commit, x.entries, x.reject, x.reject_hint, x.reject_hint_term,
           x.snap, x.context);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, progress_status& x) {
  return f(caf::meta::type_name("ck::raft::progress_status"), x.id, x.match, x.next, x.state,
           x.learner, x.recent_active, x.inflight);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, status_info& x) {
  return f(caf::meta::type_name("ck::raft::status_info"), x.id, x.group, x.state, x.term, x.vote,
           x.leader, x.commit, x.applied, x.last_index, x.conf, x.progress, x.quiescent);
}

}  // namespace ck::raft

namespace ck::actors {

/// Raft messages of many groups from one node to one peer, coalesced: the transport sends one
/// of these per peer per flush instead of one network message per Raft message.
struct raft_batch {
  std::string from_node;  // the sending node's name (for the transport's bookkeeping)
  /// The sender's cluster ("" while it does not know it yet, e.g. a node still joining). A
  /// receiver that knows its own drops batches of another cluster: nodes of an old cluster
  /// still running on the same addresses (or a node pointed at the wrong seed) must not feed
  /// their Raft messages to this one's groups.
  std::string cluster_id;
  std::vector<raft::message> messages;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, raft_batch& x) {
  return f(caf::meta::type_name("ck::actors::raft_batch"), x.from_node, x.cluster_id,
           x.messages);
}

/// The answer to a proposal, sent once the entry is committed and applied on the leader.
struct raft_propose_reply {
  raft::index_t index = 0;
  std::string result;  // what replicated_state_machine::apply returned for the entry
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, raft_propose_reply& x) {
  return f(caf::meta::type_name("ck::actors::raft_propose_reply"), x.index, x.result);
}

/// One piece of a snapshot on its way from a group's leader to one follower (see
/// actors/raft_group.hpp): chunks of one transfer share `session` and arrive with seq 0, 1, ...
/// (the leader sends the next only after the previous was acknowledged); the last one has
/// `last` set. Every chunk repeats the Raft snapshot it belongs to and the index its data
/// reflects, so the follower can check them without remembering the first.
struct snapshot_chunk {
  raft::group_id group = 0;
  raft::node_id from = 0;
  raft::node_id to = 0;
  uint64_t session = 0;
  uint64_t seq = 0;
  bool last = false;
  raft::snapshot_meta meta;
  raft::index_t data_applied = 0;
  std::string data;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, snapshot_chunk& x) {
  return f(caf::meta::type_name("ck::actors::snapshot_chunk"), x.group, x.from, x.to, x.session,
           x.seq, x.last, x.meta, x.data_applied, x.data);
}

}  // namespace ck::actors
