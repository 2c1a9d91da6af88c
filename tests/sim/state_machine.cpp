#include "tests/sim/state_machine.hpp"

#include "runtime/base/assert.hpp"
#include "tests/sim/hash.hpp"

#include <cinttypes>
#include <cstdio>

namespace ck::sim {

void state_machine::apply(const raft::entry& e) {
  CK_ASSERT_EQ(e.index, applied_index + 1);
  CK_ASSERT_GE(e.term, applied_term);
  chain = chain_extend(chain, e);
  applied_index = e.index;
  applied_term = e.term;
  ++applied_count;
}

std::string state_machine::image() const {
  char buffer[96];
  std::snprintf(buffer, sizeof buffer, "sm1 %" PRIu64 " %" PRIu64 " %" PRIu64, applied_index,
                applied_term, chain);
  return buffer;
}

bool state_machine::restore(const std::string& bytes, state_machine& out) {
  uint64_t index = 0;
  uint64_t term = 0;
  uint64_t chain_hash = 0;
  if (std::sscanf(bytes.c_str(), "sm1 %" SCNu64 " %" SCNu64 " %" SCNu64, &index, &term,
                  &chain_hash) != 3) {
    return false;
  }
  out.applied_index = index;
  out.applied_term = term;
  out.chain = chain_hash;
  return true;
}

}  // namespace ck::sim
