#include "tests/sim/network.hpp"

#include <cinttypes>
#include <cstdio>

namespace ck::sim {

namespace {

const char* type_name(raft::message_type t) {
  switch (t) {
    case raft::message_type::append:
      return "append";
    case raft::message_type::append_response:
      return "append_resp";
    case raft::message_type::heartbeat:
      return "heartbeat";
    case raft::message_type::heartbeat_response:
      return "heartbeat_resp";
    case raft::message_type::vote:
      return "vote";
    case raft::message_type::vote_response:
      return "vote_resp";
    case raft::message_type::pre_vote:
      return "pre_vote";
    case raft::message_type::pre_vote_response:
      return "pre_vote_resp";
    case raft::message_type::install_snapshot:
      return "install_snapshot";
    case raft::message_type::timeout_now:
      return "timeout_now";
  }
  return "unknown";
}

}  // namespace

std::string describe(const raft::message& m) {
  char buffer[256];
  std::snprintf(buffer, sizeof buffer,
                "%s %" PRIu64 "->%" PRIu64 " t=%" PRIu64 " i=%" PRIu64 " lt=%" PRIu64 " c=%" PRIu64
                " n=%zu%s",
                type_name(m.type), m.from, m.to, m.term, m.index, m.log_term, m.commit,
                m.entries.size(), m.reject ? " reject" : "");
  std::string line = buffer;
  if (m.type == raft::message_type::install_snapshot) {
    line += " snap=" + std::to_string(m.snap.meta.index) + "/" + std::to_string(m.snap.meta.term);
  }
  if (!m.context.empty()) {
    line += " ctx=" + m.context;
  }
  return line;
}

uint64_t network::delivery_step(uint64_t now, rng& random) const {
  if (faults_.delay_steps_max > 0 && random.chance(faults_.delay_per_million)) {
    return now + random.between(1, faults_.delay_steps_max);
  }
  return now;
}

int network::send(raft::message m, uint64_t now, uint64_t sender_incarnation, rng& random,
                  trace& events) {
  const bool lost = random.chance(faults_.loss_per_million);
  int copies = !lost && random.chance(faults_.duplicate_per_million) ? 2 : 1;
  for (int copy = 0; copy < copies; ++copy) {
    if (queue_.size() >= in_flight_max) {
      events.record("net overflow drop " + describe(m));
      return copy;
    }
    envelope e;
    e.deliver_step = delivery_step(now, random);
    e.sequence = next_sequence_++;
    e.sender_incarnation = sender_incarnation;
    e.lost = lost;
    e.msg = m;
    if (copy == 1) {
      events.record("net duplicated " + describe(m));
    }
    queue_.push_back(std::move(e));
  }
  return copies;
}

std::optional<envelope> network::take_deliverable(uint64_t now, rng& random) {
  // Count the candidates first so that the random pick is uniform over deliverable messages.
  size_t deliverable = 0;
  for (const envelope& e : queue_) {
    deliverable += e.deliver_step <= now ? 1 : 0;
  }
  if (deliverable == 0) {
    return std::nullopt;
  }
  size_t pick = faults_.reorder ? static_cast<size_t>(random.below(deliverable)) : 0;
  for (size_t i = 0; i < queue_.size(); ++i) {
    if (queue_[i].deliver_step > now) {
      continue;
    }
    if (pick == 0) {
      envelope taken = std::move(queue_[i]);
      queue_.erase(queue_.begin() + static_cast<std::ptrdiff_t>(i));
      return taken;
    }
    --pick;
  }
  return std::nullopt;  // unreachable: `deliverable` counted at least one
}

std::optional<envelope> network::take_oldest() {
  if (queue_.empty()) {
    return std::nullopt;
  }
  envelope taken = std::move(queue_.front());
  queue_.erase(queue_.begin());
  return taken;
}

}  // namespace ck::sim
