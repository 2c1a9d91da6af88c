#include "tests/sim/disk.hpp"

#include "runtime/base/assert.hpp"

namespace ck::sim {

disk::disk(const raft::conf_state& bootstrap) : storage_(bootstrap) {}

bool disk::persist(const raft::ready& rd) {
  bool snapshot_applied = false;
  if (rd.snap && !rd.snap->empty()) {
    snapshot_applied = storage_.apply_snapshot(*rd.snap);
  }
  storage_.append(rd.entries);
  if (rd.hard) {
    storage_.set_hard_state(*rd.hard);
  }
  return snapshot_applied;
}

bool disk::take_snapshot(raft::index_t index, const raft::conf_state& conf, std::string image,
                         raft::index_t compact_index) {
  CK_ASSERT_LE(compact_index, index);
  if (!storage_.create_snapshot(index, conf, std::move(image))) {
    return false;
  }
  // The durable state machine is the snapshot, so the durable membership is its membership;
  // a restart re-applies (and re-announces) every conf change after it, as etcd's shell does.
  storage_.set_conf_state(conf);
  if (compact_index >= storage_.first_index()) {
    storage_.compact(compact_index);
  }
  return true;
}

}  // namespace ck::sim
