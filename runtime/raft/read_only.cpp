#include "runtime/raft/read_only.hpp"

#include "runtime/base/assert.hpp"

#include <algorithm>
#include <utility>

namespace ck::raft {

read_only::read_only(uint32_t pending_max) : pending_max_(pending_max) {
  CK_ASSERT_GE(pending_max, 1u);
}

read_only::request* read_only::find(const std::string& context) {
  for (request& r : queue_) {
    if (r.context == context) {
      return &r;
    }
  }
  return nullptr;
}

bool read_only::add_request(index_t commit_index, const std::string& context, node_id self) {
  if (queue_.size() >= pending_max_ || find(context) != nullptr) {
    return false;
  }
  if (!queue_.empty()) {
    CK_ASSERT_LE(queue_.back().index, commit_index);  // the commit index never falls
  }
  queue_.push_back(request{commit_index, context, {self}});
  return true;
}

const std::vector<node_id>* read_only::receive_ack(node_id from, const std::string& context) {
  request* r = find(context);
  if (r == nullptr) {
    return nullptr;
  }
  if (std::find(r->acks.begin(), r->acks.end(), from) == r->acks.end()) {
    r->acks.push_back(from);
  }
  return &r->acks;
}

void read_only::release_through(const std::string& context, std::vector<read_state>& out) {
  if (find(context) == nullptr) {
    return;
  }
  // Bounded by the queue, which holds `context`.
  while (!queue_.empty()) {
    request& r = queue_.front();
    const bool last = r.context == context;
    out.push_back(read_state{r.index, std::move(r.context)});
    queue_.pop_front();
    if (last) {
      return;
    }
  }
}

const std::string& read_only::last_pending_context() const {
  static const std::string none;
  return queue_.empty() ? none : queue_.back().context;
}

}  // namespace ck::raft
