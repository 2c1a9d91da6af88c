#include "runtime/raft/quorum.hpp"

#include "runtime/base/assert.hpp"

#include <algorithm>
#include <functional>

namespace ck::raft {

size_t quorum_size(size_t voter_count) {
  CK_ASSERT_GE(voter_count, 1u);
  return voter_count / 2 + 1;
}

index_t majority_index(std::vector<index_t>& matches) {
  if (matches.empty()) {
    return 0;
  }
  // The quorum_size-th largest match: that many voters stored at least this index.
  const size_t position = quorum_size(matches.size()) - 1;
  const auto nth = matches.begin() + static_cast<std::ptrdiff_t>(position);
  std::nth_element(matches.begin(), nth, matches.end(), std::greater<index_t>());
  return *nth;
}

vote_result tally(size_t voter_count, size_t granted, size_t rejected) {
  CK_ASSERT_LE(granted + rejected, voter_count);
  const size_t quorum = quorum_size(voter_count);
  if (granted >= quorum) {
    return vote_result::won;
  }
  if (voter_count - rejected < quorum) {
    return vote_result::lost;
  }
  return vote_result::pending;
}

}  // namespace ck::raft
