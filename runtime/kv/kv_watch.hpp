#pragma once

// The KV store's watch streams (GET /kv/watch): every set and delete applied on this node's
// replicas, fed by the KV machine's apply listener (runtime/node/state_machine.hpp), kept per
// partition in a bounded history and pushed to the watchers whose key or prefix matches.
//
// Positions: an event is named by (partition, Raft log index). Every replica applies the same
// commands at the same indexes, so a client that saw events up to index I of partition P on one
// node resumes on any node hosting P with from P:I and gets exactly the later events: a leader
// change or the loss of the node it watched loses and repeats nothing. Each stream starts with
// a `start` event holding a position per hosted partition (the last index of an event seen, or
// the replica's commit index where none was seen): a watcher that resumes with those
// positions, advanced by the events it got, misses nothing that happened after it started.
//
// The history is bounded (history_per_partition events) and held in memory since the node
// started: a resume from before what is retained (or, for a partition this node has seen no
// event of, from any index above 0) gets a `gap` event for that partition instead: events may
// be missing there, re-read the keys.
//
// Thread safety: on_applied runs on the partitions' replicas (many threads); watch() on HTTP
// I/O threads. One mutex; a push to a watcher is a message to its connection, never a wait.

#include "http/responder.hpp"
#include "runtime/node/state_machine.hpp"

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <list>
#include <map>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>

namespace ck::kv {

struct watch_filter {
  std::string text;     // the key, or the prefix
  bool prefix = false;  // text is a prefix ("" with prefix: every key)
  bool matches(std::string_view key) const {
    return prefix ? key.compare(0, text.size(), text) == 0 : key == text;
  }
};

class watch_hub {
 public:
  /// Starts the keep-alive thread: every `keep_alive_every` a comment goes to each watcher
  /// (proxies and clients see a live stream; watchers whose client left are dropped).
  explicit watch_hub(size_t history_per_partition = 4096,
                     std::chrono::milliseconds keep_alive_every = std::chrono::seconds(15));
  ~watch_hub();
  watch_hub(const watch_hub&) = delete;
  watch_hub& operator=(const watch_hub&) = delete;

  /// The KV machine's apply listener.
  void on_applied(const node::applied_command& c);

  /// Starts a watcher on `sink`: first the `start` event, then for every partition the retained
  /// events after from[partition] (only for partitions named in `from`; a `gap` event where
  /// the history does not reach back), then every new matching event as it is applied.
  /// `floor`: for partitions this hub has seen no event of, an index no later event can be at
  /// or below (the replica's commit index): the start event reports it as their position.
  void watch(watch_filter filter, const std::map<uint32_t, uint64_t>& from,
             const std::map<uint32_t, uint64_t>& floor, http::stream_sink sink);

  /// Sends a keep-alive comment to every watcher and drops those whose client left.
  void keep_alive();

  size_t watchers() const;

 private:
  struct event {
    uint64_t index = 0;
    bool set = true;
    std::string key;
    std::string value;
  };
  struct partition_history {
    std::deque<event> events;  // increasing index
    uint64_t complete_after = 0;  // every event after this index is in `events` or was sent
    uint64_t last_index = 0;      // the last event's index (or the last reset's)
    bool started = false;         // a reset or an event fixed complete_after
  };
  struct watcher {
    watch_filter filter;
    http::stream_sink sink;
  };

  static std::string message(uint32_t partition, const event& e);

  const size_t history_max_;
  mutable std::mutex mutex_;  // guards the three below
  std::map<uint32_t, partition_history> history_;
  std::list<watcher> watchers_;
  bool stopping_ = false;
  std::condition_variable stop_;
  std::thread keep_alive_thread_;  // last: started once the rest exists
};

}  // namespace ck::kv
