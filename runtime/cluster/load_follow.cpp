#include "runtime/cluster/load_follow.hpp"

#include <algorithm>

namespace ck::cluster {

void request_origins::record(std::string_view origin) {
  ++total_;
  for (auto& [node, count] : counts_) {
    if (node == origin) {
      ++count;
      return;
    }
  }
  counts_.emplace_back(std::string{origin}, 1);
}

const load_verdict& request_origins::verdict(int64_t now_ms, const load_follow_options& options) {
  if (window_start_ms_ < 0) {
    window_start_ms_ = now_ms;  // counts before the first tick of a leadership belong to it
  } else if (now_ms - window_start_ms_ >= options.window_ms) {
    close_window(options);
    window_start_ms_ = now_ms;
  }
  return verdict_;
}

void request_origins::close_window(const load_follow_options& options) {
  if (total_ >= options.min_requests && total_ > 0) {
    quiet_windows_ = 0;
    const auto top = std::max_element(counts_.begin(), counts_.end(), [](const auto& a,
                                                                         const auto& b) {
      return a.second < b.second;
    });
    // 100 * count >= percent * total, in integers: no rounding decides a verdict.
    if (top != counts_.end() && top->second * 100 >= options.dominant_percent * total_) {
      verdict_.what = load_verdict::kind::follow;
      verdict_.node = top->first;
    } else {
      verdict_.what = load_verdict::kind::none;
      verdict_.node.clear();
    }
  } else if (verdict_.what != load_verdict::kind::follow ||
             ++quiet_windows_ >= options.quiet_windows_max) {
    verdict_.what = load_verdict::kind::none;  // too little load to say: nothing to follow
    verdict_.node.clear();
  }
  counts_.clear();
  total_ = 0;
}

raft::node_id balance_target(const load_verdict& verdict, raft::node_id followed,
                             raft::node_id placement_preferred, const raft::conf_state& conf) {
  switch (verdict.what) {
    case load_verdict::kind::unknown:
      return raft::no_node;
    case load_verdict::kind::follow:
      if (followed != raft::no_node &&
          std::find(conf.voters.begin(), conf.voters.end(), followed) != conf.voters.end()) {
        return followed;
      }
      return placement_preferred;  // a learner or a non-member originates: balance as usual
    case load_verdict::kind::none:
      return placement_preferred;
  }
  return placement_preferred;
}

void request_origins::reset() {
  counts_.clear();
  total_ = 0;
  window_start_ms_ = -1;
  quiet_windows_ = 0;
  verdict_ = load_verdict{};
}

}  // namespace ck::cluster
