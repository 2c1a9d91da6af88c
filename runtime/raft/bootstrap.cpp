#include "runtime/raft/bootstrap.hpp"

namespace ck::raft {

namespace {

entry bootstrap_entry(index_t index, conf_change_type type, node_id id) {
  conf_change change;
  change.type = type;
  change.node = id;
  entry e;
  e.term = 1;
  e.index = index;
  e.type = entry_type::conf_change;
  e.data = encode_conf_change(change);
  return e;
}

}  // namespace

bootstrap_state make_bootstrap(const conf_state& founding) {
  bootstrap_state state;
  if (founding.voters.empty() && founding.learners.empty()) {
    return state;
  }
  for (const node_id id : founding.voters) {
    state.entries.push_back(
        bootstrap_entry(state.entries.size() + 1, conf_change_type::add_voter, id));
  }
  for (const node_id id : founding.learners) {
    state.entries.push_back(
        bootstrap_entry(state.entries.size() + 1, conf_change_type::add_learner, id));
  }
  state.hard = hard_state{1, no_node, state.entries.size()};
  state.conf = founding;
  return state;
}

}  // namespace ck::raft
