#pragma once

// The partition replicas this node hosts, readable from any thread: the partition host
// publishes each replica it starts and withdraws it when it stops, and an HTTP handler runs a
// stale query against this node's data without a message to the host (node::context::query).
// Only for machines that declare concurrent_queries(): their query() reads nothing but the
// store, whose read transactions (LMDB, MDB_NOTLS) any thread may open.
//
// Readers take a snapshot of the map (one atomic load, no lock); the host copies it on every
// change (a replica starting or stopping: rare). A reader may still use a replica withdrawn a
// moment ago: its data stays until the host erased it, which happens only after the group
// actor stopped and the log writer dropped its log, and each query is one read transaction,
// so it sees the replica's data whole or not at all.

#include "actors/partition_machines.hpp"

#include <cstdint>
#include <memory>
#include <mutex>
#include <unordered_map>

namespace ck::actors {

class local_replicas {
 public:
  using map = std::unordered_map<uint32_t, std::shared_ptr<partition_machines>>;

  /// This node's replicas now.
  std::shared_ptr<const map> current() const { return std::atomic_load(&map_); }

  void publish(uint32_t partition, std::shared_ptr<partition_machines> replica) {
    update([&](map& next) { next[partition] = std::move(replica); });
  }
  void withdraw(uint32_t partition) {
    update([&](map& next) { next.erase(partition); });
  }
  void clear() {
    update([](map& next) { next.clear(); });
  }

 private:
  // Copy, change, swap in: readers keep whichever map they loaded.
  template <class Change>
  void update(Change change) {
    std::lock_guard<std::mutex> lock(write_mutex_);
    auto next = std::make_shared<map>(*map_);
    change(*next);
    std::atomic_store(&map_, std::shared_ptr<const map>(std::move(next)));
  }

  std::mutex write_mutex_;  // serializes writers; readers never take it
  std::shared_ptr<const map> map_ = std::make_shared<const map>();
};

}  // namespace ck::actors
