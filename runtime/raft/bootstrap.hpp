#pragma once

// Founding a group (etcd's RawNode.Bootstrap): the founding membership is written into the
// log itself, as one committed conf_change entry per member, so a node that joins later
// learns it by replaying the log like everything else (or from a snapshot). Without these
// entries a joiner of a group that never took a snapshot could not learn who the founders
// are.

#include "runtime/raft/types.hpp"

#include <vector>

namespace ck::raft {

/// What a founding replica persists before its first start.
struct bootstrap_state {
  /// Index 1..n, term 1: add_voter for each voter, then add_learner for each learner, in
  /// the order given. Applying them again on a founder changes nothing.
  std::vector<entry> entries;
  /// {term 1, no vote, commit n}: the entries are committed by construction, since every
  /// founder holds the same ones.
  hard_state hard;
  /// The membership after the entries (= `founding`).
  conf_state conf;
};

/// Every founder must be given the same `founding`, so their logs are identical. A node
/// that joins an existing group persists nothing and starts with an empty membership.
/// Empty `founding`: an empty result.
bootstrap_state make_bootstrap(const conf_state& founding);

}  // namespace ck::raft
