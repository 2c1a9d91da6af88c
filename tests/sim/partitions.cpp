// Partitions: symmetric splits and one-way cuts that form and heal during the chaos phase.

#include "tests/sim/cluster.hpp"

#include <algorithm>
#include <string>

namespace ck::sim {

namespace {

std::string n(uint64_t value) { return std::to_string(value); }

}  // namespace

void cluster::partition_some() {
  std::vector<raft::node_id> ids;
  for (auto& [id, r] : replicas_) {
    ids.push_back(id);
  }
  if (ids.size() < 2) {
    return;
  }
  // Shuffle (Fisher-Yates on our own generator) so the sides are a random split.
  for (size_t i = ids.size() - 1; i > 0; --i) {
    std::swap(ids[i], ids[random_.below(i + 1)]);
  }
  // Half the time the leader goes first, so the cut side (or the one-way cut) holds it.
  replica* leader = random_.below(2) == 0 ? current_leader() : nullptr;
  if (leader != nullptr) {
    std::swap(ids[0], *std::find(ids.begin(), ids.end(), leader->id()));
  }
  const uint64_t kind = random_.below(3);
  stats_.partitions += 1;
  if (kind == 0) {
    // Symmetric: a minority side (1 .. half) is cut from the rest in both directions.
    const size_t side = static_cast<size_t>(random_.between(1, ids.size() / 2));
    for (size_t a = 0; a < side; ++a) {
      for (size_t b = side; b < ids.size(); ++b) {
        net_.block(ids[a], ids[b]);
        net_.block(ids[b], ids[a]);
      }
    }
    events_.record("partition symmetric side=" + n(side) + " first=" + n(ids[0]));
  } else if (kind == 1) {
    net_.block(ids[0], ids[1]);
    events_.record("partition one-way " + n(ids[0]) + "->" + n(ids[1]));
  } else {
    // One node hears everyone but nobody hears it (or the reverse).
    const bool outbound = random_.below(2) == 0;
    for (size_t b = 1; b < ids.size(); ++b) {
      outbound ? net_.block(ids[0], ids[b]) : net_.block(ids[b], ids[0]);
    }
    events_.record(std::string("partition one-way ") + (outbound ? "mute " : "deaf ") + n(ids[0]));
  }
}

void cluster::heal_some() {
  if (net_.blocked_link_count() == 0) {
    return;
  }
  if (random_.below(2) == 0) {
    net_.unblock_all();
    events_.record("heal all");
    return;
  }
  const auto& links = net_.blocked_links();
  auto it = links.begin();
  std::advance(it, static_cast<std::ptrdiff_t>(random_.below(links.size())));
  const auto link = *it;
  net_.unblock(link.first, link.second);
  events_.record("heal " + n(link.first) + "->" + n(link.second));
}

}  // namespace ck::sim
