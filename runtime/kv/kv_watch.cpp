#include "runtime/kv/kv_watch.hpp"

#include "runtime/cluster/partition_hash.hpp"
#include "runtime/kv/kv_machine.hpp"

#include <nlohmann/json.hpp>

namespace ck::kv {

using json = nlohmann::json;

watch_hub::watch_hub(size_t history_per_partition, std::chrono::milliseconds keep_alive_every)
    : history_max_(history_per_partition == 0 ? 1 : history_per_partition) {
  keep_alive_thread_ = std::thread([this, keep_alive_every] {
    std::unique_lock<std::mutex> lock(mutex_);
    while (!stop_.wait_for(lock, keep_alive_every, [this] { return stopping_; })) {
      lock.unlock();
      keep_alive();
      lock.lock();
    }
  });
}

watch_hub::~watch_hub() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stopping_ = true;
  }
  stop_.notify_all();
  keep_alive_thread_.join();
}

std::string watch_hub::message(uint32_t partition, const event& e) {
  const std::string name = cluster::partition_name(partition);
  json data = {{"type", e.set ? "set" : "delete"},
               {"key", e.key},
               {"partition", name},
               {"index", e.index}};
  if (e.set) {
    data["value"] = e.value;
  }
  // Keys and values may hold any bytes: replace invalid UTF-8 instead of failing.
  return "id: " + name + ":" + std::to_string(e.index) + "\nevent: " + (e.set ? "set" : "delete") +
         "\ndata: " + data.dump(-1, ' ', false, json::error_handler_t::replace) + "\n\n";
}

void watch_hub::on_applied(const node::applied_command& c) {
  if (c.reset) {
    // Commands up to c.index were never told here: the history restarts after it.
    std::lock_guard<std::mutex> lock(mutex_);
    auto& h = history_[c.partition];
    if (!h.started || c.index > h.last_index) {
      h.events.clear();
      h.complete_after = c.index;
      h.last_index = c.index;
    }
    h.started = true;
    return;
  }
  const auto command = decode_command(c.command);
  if (!command) {
    return;  // applied as "nothing changed": no event
  }
  event e{c.index, command->op == kv_command::kind::set, std::string{command->key},
          std::string{command->value}};
  std::lock_guard<std::mutex> lock(mutex_);
  auto& h = history_[c.partition];
  if (!h.started) {
    h.complete_after = c.index - 1;  // no reset told where the replica started: from here
    h.started = true;
  }
  if (c.index <= h.last_index) {
    return;  // a replica restarted over a snapshot replays nothing twice, but be sure
  }
  std::string text;  // built for the first matching watcher, shared by the others
  for (auto it = watchers_.begin(); it != watchers_.end();) {
    if (it->filter.matches(e.key)) {
      if (text.empty()) {
        text = message(c.partition, e);
      }
      if (!it->sink.push(text)) {
        it = watchers_.erase(it);
        continue;
      }
    }
    ++it;
  }
  h.last_index = c.index;
  h.events.push_back(std::move(e));
  if (h.events.size() > history_max_) {
    h.complete_after = h.events.front().index;
    h.events.pop_front();
  }
}

void watch_hub::watch(watch_filter filter, const std::map<uint32_t, uint64_t>& from,
                      const std::map<uint32_t, uint64_t>& floor, http::stream_sink sink) {
  std::lock_guard<std::mutex> lock(mutex_);
  json positions = json::object();
  for (const auto& [partition, index] : floor) {
    if (index > 0 && history_.count(partition) == 0) {
      positions[std::to_string(partition)] = index;
    }
  }
  for (const auto& [partition, h] : history_) {
    positions[std::to_string(partition)] = h.last_index;
  }
  sink.push("event: start\ndata: " + json{{"positions", positions}}.dump() + "\n\n");
  for (const auto& [partition, after] : from) {
    auto it = history_.find(partition);
    const bool seen = it != history_.end();
    if ((!seen && after > 0) || (seen && after < it->second.complete_after)) {
      json gap = {{"partition", cluster::partition_name(partition)}, {"from", after}};
      if (seen) {
        gap["complete_after"] = it->second.complete_after;
      }
      sink.push("event: gap\ndata: " + gap.dump() + "\n\n");
    }
    if (!seen) {
      continue;
    }
    for (const auto& e : it->second.events) {
      if (e.index > after && filter.matches(e.key)) {
        sink.push(message(partition, e));
      }
    }
  }
  watchers_.push_back(watcher{std::move(filter), std::move(sink)});
}

void watch_hub::keep_alive() {
  std::lock_guard<std::mutex> lock(mutex_);
  for (auto it = watchers_.begin(); it != watchers_.end();) {
    if (!it->sink.push(": keep-alive\n\n")) {
      it = watchers_.erase(it);
      continue;
    }
    ++it;
  }
}

size_t watch_hub::watchers() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return watchers_.size();
}

}  // namespace ck::kv
