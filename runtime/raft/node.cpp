// raft::node: construction, the public API (forwarding to node::impl), log lines, status.

#include "runtime/raft/node_impl.hpp"

#include "runtime/base/assert.hpp"
#include "runtime/base/splitmix64.hpp"

#include <cinttypes>
#include <cstdarg>
#include <cstdio>
#include <utility>

namespace ck::raft {

namespace {

// A programmer error: the shell validates its configuration before building nodes.
config validated(config c) {
  const std::string problem = c.validate();
  if (!problem.empty()) {
    std::fprintf(stderr, "clusterkit: raft config: %s\n", problem.c_str());
  }
  CK_ASSERT(problem.empty());
  return c;
}

// Spreads seeds so nodes sharing config::seed still draw different election timeouts. The seed
// is hashed before the id is mixed in: a caller deriving the seed from the id (id * K + group)
// must not cancel the id out, or every replica of a group draws the same timeouts and their
// elections split again and again (the meta group once did, for seconds on end).
uint64_t mix_seed(uint64_t seed, node_id id) {
  return runtime::splitmix64(runtime::splitmix64(seed) ^ id);
}

}  // namespace

node::impl::impl(config c, const log_storage& s)
    : cfg(validated(std::move(c))),
      storage(s),
      log(s),
      tracker(cfg.inflight_msgs_max, cfg.inflight_bytes_max),
      reads(cfg.pending_reads_max),
      random(mix_seed(cfg.seed, cfg.id)) {
  const hard_state persisted = storage.initial_hard_state();
  if (!persisted.empty()) {
    // A commit index below the snapshot is stale (the snapshot was persisted first).
    term = persisted.term;
    vote = persisted.vote;
    log.commit_to(persisted.commit);
  }
  if (cfg.applied > log.applied()) {
    log.applied_to(cfg.applied);  // asserts applied <= commit: apply follows persistence
  }
  restore_membership(storage.initial_conf_state());
  become_follower(term, no_node);
  prev_hard = persisted;
  prev_soft = soft();
  log_line("started: commit %" PRIu64 " applied %" PRIu64 " last %" PRIu64 " voters %zu",
           log.committed(), log.applied(), log.last_index(), tracker.conf().voters.size());
}

void node::impl::log_line(const char* format, ...) const {
  if (!cfg.logger) {
    return;
  }
  char line[512];
  const int prefix = std::snprintf(
      line, sizeof line, "[g=%" PRIu32 " n=%" PRIu64 " t=%" PRIu64 "] ", cfg.group, cfg.id, term);
  CK_ASSERT(prefix > 0);
  va_list args;
  va_start(args, format);
  std::vsnprintf(line + prefix, sizeof line - static_cast<size_t>(prefix), format, args);
  va_end(args);
  cfg.logger(line);
}

message node::impl::make_message(message_type type, node_id to) const {
  message m;
  m.group = cfg.group;
  m.type = type;
  m.from = cfg.id;
  m.to = to;
  m.term = term;
  return m;
}

status_info node::impl::status() const {
  status_info s;
  s.id = cfg.id;
  s.group = cfg.group;
  s.state = state;
  s.term = term;
  s.vote = vote;
  s.leader = leader;
  s.commit = log.committed();
  s.applied = log.applied();
  s.last_index = log.last_index();
  s.conf = tracker.conf();
  s.quiescent = quiescent;
  if (state != role::leader) {
    return s;
  }
  for (const progress& pr : tracker.members()) {
    s.progress.push_back(progress_status{pr.id, pr.match, pr.next, std::string(to_string(pr.state)),
                                         pr.learner, pr.recent_active, pr.window.count()});
  }
  return s;
}

// --- the public API ----------------------------------------------------------------------

node::node(config cfg, const log_storage& storage)
    : impl_(std::make_unique<impl>(std::move(cfg), storage)) {}

node::~node() = default;

void node::tick() {
  if (impl_->state == role::leader) {
    impl_->tick_heartbeat();
  } else {
    impl_->tick_election();
  }
  if (impl_->cfg.check_invariants_each_step) {
    impl_->check_invariants();
  }
}

void node::step(const message& m) {
  impl_->step(m);
  if (impl_->cfg.check_invariants_each_step) {
    impl_->check_invariants();
  }
}

propose_result node::propose(std::string data) {
  impl_->wake_for_work();
  return impl_->propose(std::move(data));
}

propose_result node::propose_conf_change(const conf_change& change) {
  impl_->wake_for_work();
  return impl_->propose_conf_change(change);
}

propose_result node::read_index(std::string context) {
  impl_->wake_for_work();
  return impl_->read_index(std::move(context));
}

propose_result node::transfer_leadership(node_id to) {
  impl_->wake_for_work();
  return impl_->transfer_leadership(to);
}

void node::forget_leader() {
  impl_->forget_leader();
  if (impl_->cfg.check_invariants_each_step) {
    impl_->check_invariants();
  }
}

bool node::quiescent() const { return impl_->quiescent; }

conf_state node::apply_conf_change(const conf_change& change) {
  return impl_->apply_conf_change(change);
}

void node::report_unreachable(node_id to) { impl_->report_unreachable(to); }

void node::report_snapshot(node_id to, bool ok) { impl_->report_snapshot(to, ok); }

bool node::has_ready() const { return impl_->has_ready(); }

ready node::get_ready() { return impl_->get_ready(); }

void node::advance() { impl_->advance(); }

status_info node::status() const { return impl_->status(); }

void node::check_invariants() const { impl_->check_invariants(); }

}  // namespace ck::raft
