// The failure detector (state diagram in the header).

#include "runtime/cluster/liveness.hpp"

#include "runtime/base/assert.hpp"

#include <algorithm>
#include <utility>

namespace ck::cluster {

std::string liveness_config::validate() const {
  if (suspect_after_ms <= 0) {
    return "liveness suspect_after_ms must be > 0";
  }
  if (dead_after_ms <= suspect_after_ms) {
    return "liveness dead_after_ms must be greater than suspect_after_ms";
  }
  if (peers_max == 0) {
    return "liveness peers_max must be >= 1";
  }
  return "";
}

liveness_detector::liveness_detector(std::string self, liveness_config config)
    : self_(std::move(self)), config_(config) {
  CK_ASSERT(config_.validate().empty());
  CK_ASSERT(!self_.empty());
}

liveness_detector::peer* liveness_detector::find_or_track(const std::string& node, int64_t now_ms) {
  if (node == self_) {
    return nullptr;  // a node never reports itself
  }
  if (auto found = peers_.find(node); found != peers_.end()) {
    return &found->second;
  }
  if (peers_.size() >= config_.peers_max) {
    return nullptr;
  }
  peer& p = peers_[node];
  p.heard_ms = now_ms;
  return &p;
}

bool liveness_detector::track(const std::string& node, int64_t now_ms) {
  return find_or_track(node, now_ms) != nullptr;
}

bool liveness_detector::record_heartbeat(const std::string& node, int64_t now_ms) {
  peer* p = find_or_track(node, now_ms);
  if (p == nullptr) {
    return false;
  }
  // Messages from different connections may be stamped slightly out of order: the latest wins.
  p->heard_ms = std::max(p->heard_ms, now_ms);
  if (p->disconnected && now_ms >= p->disconnected_ms) {
    p->disconnected = false;  // reconnected; a heartbeat stamped before the loss is no proof
  }
  return true;
}

bool liveness_detector::record_disconnect(const std::string& node, int64_t now_ms) {
  peer* p = find_or_track(node, now_ms);
  if (p == nullptr) {
    return false;
  }
  if (now_ms >= p->heard_ms) {
    p->disconnected = true;  // a heartbeat stamped at or after this clears it again
    p->disconnected_ms = std::max(p->disconnected_ms, now_ms);
  }
  return true;
}

void liveness_detector::forget(const std::string& node) { peers_.erase(node); }

node_status liveness_detector::target_status(const peer& p, int64_t now_ms) const {
  const int64_t silent = now_ms - p.heard_ms;
  if (silent >= config_.dead_after_ms) {
    return node_status::dead;
  }
  if (p.disconnected || silent >= config_.suspect_after_ms) {
    return node_status::suspect;
  }
  return node_status::alive;
}

std::vector<status_change> liveness_detector::evaluate(int64_t now_ms) {
  CK_ASSERT_GE(now_ms, evaluated_ms_);
  evaluated_ms_ = now_ms;
  std::vector<status_change> changes;
  for (auto& [node, p] : peers_) {
    const node_status target = target_status(p, now_ms);
    if (target == p.reported) {
      continue;
    }
    changes.push_back(status_change{node, p.reported, target, now_ms});
    p.reported = target;
  }
  CK_ASSERT_LE(changes.size(), peers_.size());
  return changes;
}

std::optional<node_status> liveness_detector::status_of(const std::string& node) const {
  const auto found = peers_.find(node);
  if (found == peers_.end()) {
    return std::nullopt;
  }
  return found->second.reported;
}

std::optional<int64_t> liveness_detector::silent_ms(const std::string& node, int64_t now_ms) const {
  const auto found = peers_.find(node);
  if (found == peers_.end()) {
    return std::nullopt;
  }
  return now_ms - found->second.heard_ms;
}

std::optional<node_status> replicated_status_change(node_status replicated,
                                                    std::optional<node_status> detected,
                                                    bool heard_since_leading) {
  if (replicated == node_status::leaving || !detected || *detected == replicated) {
    return std::nullopt;
  }
  switch (*detected) {
    case node_status::alive:
      return heard_since_leading ? std::optional{node_status::alive} : std::nullopt;
    case node_status::suspect:
      return replicated == node_status::alive ? std::optional{node_status::suspect}
                                              : std::nullopt;
    case node_status::dead:
      return node_status::dead;
    case node_status::leaving:
      return std::nullopt;  // the detector never reports it
  }
  return std::nullopt;
}

}  // namespace ck::cluster
