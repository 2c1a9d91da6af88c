#include "tests/sim/replica.hpp"

#include "runtime/base/assert.hpp"
#include "tests/sim/hash.hpp"

#include <string>

namespace ck::sim {

namespace {

std::string n(uint64_t value) { return std::to_string(value); }

std::string summarize(const raft::ready& rd) {
  std::string line;
  if (rd.soft) {
    line += " soft=" + std::string(raft::to_string(rd.soft->state)) + "/" + n(rd.soft->leader);
  }
  if (rd.hard) {
    line += " hard=" + n(rd.hard->term) + "/" + n(rd.hard->vote) + "/" + n(rd.hard->commit);
  }
  if (!rd.entries.empty()) {
    line += " entries=[" + n(rd.entries.front().index) + "," + n(rd.entries.back().index) + "]";
  }
  if (rd.snap && !rd.snap->empty()) {
    line += " snap=" + n(rd.snap->meta.index) + "/" + n(rd.snap->meta.term);
  }
  if (!rd.committed.empty()) {
    line +=
        " committed=[" + n(rd.committed.front().index) + "," + n(rd.committed.back().index) + "]";
  }
  line += " msgs=" + n(rd.messages.size()) + " reads=" + n(rd.reads.size());
  return line + (rd.must_sync ? " sync" : "");
}

}  // namespace

replica::replica(raft::node_id id, const raft::conf_state& bootstrap,
                 const replica_settings& settings)
    : id_(id), settings_(settings), bootstrap_(bootstrap), disk_(bootstrap) {}

bool replica::has_shell_work() const {
  return core_ != nullptr && (phase_ != shell_phase::idle || core_->has_ready());
}

void replica::start(shell_context& ctx) {
  CK_ASSERT(core_ == nullptr);
  ++incarnation_;
  machine_ = state_machine{};
  conf_ = bootstrap_;
  const raft::snapshot snap = disk_.snapshot();
  if (!snap.empty()) {
    if (!state_machine::restore(snap.data, machine_)) {
      throw violation("snapshot image", "node " + n(id_) + " cannot decode its own snapshot");
    }
    conf_ = snap.meta.conf;
    ctx.check.on_restore(id_, machine_.applied_index, machine_.chain);
  }
  raft::config cfg;
  cfg.id = id_;
  cfg.election_ticks = settings_.election_ticks;
  cfg.heartbeat_ticks = settings_.heartbeat_ticks;
  cfg.pre_vote = settings_.pre_vote;
  cfg.check_quorum = settings_.check_quorum;
  cfg.quiesce = settings_.quiesce;
  cfg.defer_commit_broadcast = settings_.defer_commit_broadcast;
  cfg.append_bytes_max = settings_.append_bytes_max;
  cfg.inflight_msgs_max = settings_.inflight_msgs_max;
  cfg.applied = machine_.applied_index;
  // Each life draws its own election timeouts, still a function of the run's seed.
  cfg.seed = hash_mix(settings_.run_seed ^ hash_mix(id_ << 20 | incarnation_));
  if (settings_.verbose) {
    trace* events = &ctx.events;
    cfg.logger = [events](std::string_view line) { events->note(std::string(line)); };
  }
  const std::string invalid = cfg.validate();
  CK_ASSERT(invalid.empty());
  core_ = std::make_unique<raft::node>(cfg, disk_.storage());
  phase_ = shell_phase::idle;
  pending_.reset();
  waiting_reads_.clear();
  ctx.events.record("start n=" + n(id_) + " life=" + n(incarnation_) +
                    " applied=" + n(cfg.applied));
  if (incarnation_ > 1) {
    ctx.check.on_restart(node_view{id_, incarnation_, core_.get()}, disk_.storage());
  }
}

void replica::crash(trace& events) {
  CK_ASSERT(core_ != nullptr);
  const char* phase_name = phase_ == shell_phase::idle      ? "idle"
                           : phase_ == shell_phase::fetched ? "fetched (ready lost)"
                                                            : "persisted (sends lost)";
  events.record("crash n=" + n(id_) + " life=" + n(incarnation_) + " phase=" + phase_name);
  core_.reset();
  pending_.reset();
  phase_ = shell_phase::idle;
  waiting_reads_.clear();
  machine_ = state_machine{};
}

void replica::shell_step(shell_context& ctx) {
  CK_ASSERT(has_shell_work());
  switch (phase_) {
    case shell_phase::idle:
      fetch(ctx);
      break;
    case shell_phase::fetched:
      persist(ctx);
      break;
    case shell_phase::persisted:
      complete(ctx);
      break;
  }
}

void replica::shell_drain(shell_context& ctx) {
  // Three phases per ready; a few readies may chain (applying can produce more work).
  constexpr int steps_max = 64;
  for (int i = 0; i < steps_max && has_shell_work(); ++i) {
    shell_step(ctx);
  }
}

void replica::fetch(shell_context& ctx) {
  pending_ = core_->get_ready();
  phase_ = shell_phase::fetched;
  ctx.events.record("ready n=" + n(id_) + summarize(*pending_));
  if (pending_->send_before_persist) {
    // As the real shell does: a leader's messages leave before its disk write, so a crash
    // between fetch and persist loses entries its followers may already hold.
    send_all(ctx, pending_->messages);
  }
}

void replica::persist(shell_context& ctx) {
  const raft::ready& rd = *pending_;
  uint64_t snapshot_chain = 0;
  if (rd.snap && !rd.snap->empty()) {
    state_machine image;
    if (!state_machine::restore(rd.snap->data, image)) {
      throw violation("snapshot image", "node " + n(id_) + " received an undecodable snapshot");
    }
    snapshot_chain = image.chain;
  }
  const bool snapshot_applied = disk_.persist(rd);
  if (rd.snap && !rd.snap->empty() && !snapshot_applied) {
    throw violation("snapshot order", "node " + n(id_) + " was handed snapshot " +
                                          n(rd.snap->meta.index) + " not newer than its own " +
                                          n(disk_.snapshot().meta.index));
  }
  ctx.check.on_persist(id_, rd, snapshot_chain, disk_.storage());
  phase_ = shell_phase::persisted;
  ctx.events.record("persist n=" + n(id_));
}

}  // namespace ck::sim
