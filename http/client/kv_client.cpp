#include "http/client/kv_client.hpp"

#include "http/client/http_pool.hpp"
#include "http/client/retry_policy.hpp"
#include "http/client/sse_reader.hpp"
#include "runtime/cluster/partition_hash.hpp"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <stdexcept>
#include <thread>

namespace ck::client {

using json = nlohmann::json;
using clock_type = std::chrono::steady_clock;

const char* to_string(error_kind kind) {
  switch (kind) {
    case error_kind::invalid_argument:
      return "invalid_argument";
    case error_kind::unauthorized:
      return "unauthorized";
    case error_kind::not_found:
      return "not_found";
    case error_kind::conflict:
      return "conflict";
    case error_kind::unavailable:
      return "unavailable";
    case error_kind::outcome_unknown:
      return "outcome_unknown";
    case error_kind::storage_full:
      return "storage_full";
    case error_kind::server:
      return "server";
  }
  return "server";
}

std::vector<std::string> parse_endpoints(std::string_view text) {
  std::vector<std::string> out;
  while (!text.empty()) {
    const size_t comma = text.find(',');
    std::string_view item = text.substr(0, comma);
    text = comma == std::string_view::npos ? std::string_view{} : text.substr(comma + 1);
    if (item.substr(0, 7) == "http://") {
      item.remove_prefix(7);
    }
    while (!item.empty() && item.back() == '/') {
      item.remove_suffix(1);
    }
    if (!item.empty()) {
      out.emplace_back(item);
    }
  }
  return out;
}

std::string url_encode(std::string_view text) {
  static const char hex[] = "0123456789ABCDEF";
  std::string out;
  for (unsigned char ch : text) {
    if ((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
        ch == '-' || ch == '_' || ch == '.' || ch == '~') {
      out += static_cast<char>(ch);
    } else {
      out += '%';
      out += hex[ch >> 4];
      out += hex[ch & 15];
    }
  }
  return out;
}

namespace {

error_kind kind_of_status(int status, request_kind kind) {
  switch (status) {
    case 400:
    case 413:
    case 414:
    case 431:
      return error_kind::invalid_argument;
    case 401:
    case 403:
      return error_kind::unauthorized;
    case 404:
      return error_kind::not_found;
    case 409:
      return error_kind::conflict;
    case 0:
    case 503:
      return error_kind::unavailable;
    case 504:
      return kind == request_kind::write ? error_kind::outcome_unknown : error_kind::unavailable;
    case 507:
      return error_kind::storage_full;
    default:
      return error_kind::server;
  }
}

// The error an answer (or its absence) stands for, with the server's code and message.
error error_of(const http_reply& reply, request_kind kind) {
  error e;
  e.http_status = reply.status;
  e.kind = kind_of_status(reply.status, kind);
  if (reply.status == 0) {
    e.code = "unreachable";
    e.message = reply.error;
    return e;
  }
  json body = json::parse(reply.body, nullptr, false);
  if (body.is_object()) {
    e.code = body.value("code", "");
    e.message = body.value("error", "");
  }
  if (e.message.empty()) {
    e.message = "HTTP " + std::to_string(reply.status);
  }
  return e;
}

uint32_t partition_in(const json& body) {
  uint32_t index = 0;
  cluster::parse_partition_name(body.value("partition", ""), index);
  return index;
}

error unreadable(const std::string& what) {
  return error{error_kind::server, 200, "bad_answer", what};
}

}  // namespace

error api_error(const api_reply& reply) {
  return error_of(http_reply{reply.status, reply.body, {}, false}, request_kind::read);
}

struct kv_client::impl {
  explicit impl(client_options o)
      : options(std::move(o)), http(options.request_timeout, options.token) {
    if (options.endpoints.empty() || options.attempts < 1) {
      throw std::invalid_argument("client_options: endpoints must not be empty, attempts >= 1");
    }
    for (size_t i = 0; i < std::max<size_t>(1, options.async_threads); ++i) {
      workers.emplace_back([this] { work(); });
    }
  }

  ~impl() {
    {
      std::lock_guard<std::mutex> lock(queue_mutex);
      stopping = true;
    }
    queue_ready.notify_all();
    for (auto& w : workers) {
      w.join();
    }
  }

  // --- the async pool -----------------------------------------------------------------------

  void work() {
    for (;;) {
      std::function<void()> job;
      {
        std::unique_lock<std::mutex> lock(queue_mutex);
        queue_ready.wait(lock, [this] { return stopping || !queue.empty(); });
        if (queue.empty()) {
          return;  // stopping, and every queued call ran
        }
        job = std::move(queue.front());
        queue.pop_front();
      }
      job();
    }
  }

  template <class T, class F>
  std::future<result<T>> submit(F call) {
    auto task = std::make_shared<std::packaged_task<result<T>()>>(std::move(call));
    auto future = task->get_future();
    {
      std::lock_guard<std::mutex> lock(queue_mutex);
      queue.emplace_back([task] { (*task)(); });
    }
    queue_ready.notify_one();
    return future;
  }

  // --- the cluster API and the topology -------------------------------------------------------

  result<api_reply> call(const std::string& method, const std::string& target,
                         const std::string& body) {
    size_t first = 0;
    {
      std::lock_guard<std::mutex> lock(mutex);
      first = good_endpoint;
    }
    http_reply last;
    for (size_t k = 0; k < options.endpoints.size(); ++k) {
      const size_t i = (first + k) % options.endpoints.size();
      last = http.request(options.endpoints[i], method, target, body);
      if (last.status != 0) {
        std::lock_guard<std::mutex> lock(mutex);
        good_endpoint = i;
        return api_reply{last.status, std::move(last.body)};
      }
    }
    error e = error_of(last, request_kind::read);
    e.message = "no endpoint answered (" + last.error + ")";
    return e;
  }

  result<topology> current_topology(bool refresh) {
    {
      std::lock_guard<std::mutex> lock(mutex);
      if (!refresh && cached && clock_type::now() - fetched < options.topology_max_age) {
        return *cached;
      }
    }
    auto answer = call("GET", "/cluster", {});
    if (!answer.ok()) {
      return answer.error();
    }
    if (answer.value().status != 200) {
      return api_error(answer.value());
    }
    std::string why;
    auto parsed = topology::parse(answer.value().body, why);
    if (!parsed) {
      return unreadable("GET /cluster: " + why);
    }
    std::lock_guard<std::mutex> lock(mutex);
    cached = *parsed;
    fetched = clock_type::now();
    return *parsed;
  }

  // One request for `key`'s partition (or for `partition` when no key), sent to the
  // partition leader's node, retried per retry_policy. The final answer (any status the
  // policy calls done), or the error that ended the attempts.
  result<http_reply> routed(request_kind kind, const std::string* key, uint32_t partition,
                            const std::string& method, const std::string& target,
                            const std::string& body) {
    auto pause = options.backoff;
    bool refresh = false;
    http_reply last;
    for (int attempt = 0; attempt < options.attempts; ++attempt) {
      if (attempt > 0) {
        std::this_thread::sleep_for(pause);
        pause = std::min<std::chrono::milliseconds>(pause * 2, std::chrono::seconds(1));
      }
      std::string address;
      if (options.route_to_leader) {
        if (auto t = current_topology(refresh); t.ok()) {
          const topology& topo = t.value();
          address = topo.leader_kv_addr(key != nullptr ? topo.partition_of(*key) : partition);
          if (address.empty()) {
            auto alive = topo.alive_kv_addrs();
            if (!alive.empty()) {
              address = alive[static_cast<size_t>(attempt) % alive.size()];
            }
          }
        }
      }
      refresh = false;
      if (address.empty()) {
        // No topology (or no leader routing): the cluster API answers /kv/* too.
        address = options.endpoints[(next_endpoint++ + static_cast<size_t>(attempt)) %
                                    options.endpoints.size()];
      }
      last = http.request(address, method, target, body);
      switch (decide(kind, attempt_outcome{last.status, last.maybe_sent})) {
        case next_step::done:
          return last;
        case next_step::unknown: {
          error e = error_of(last, kind);
          e.kind = error_kind::outcome_unknown;
          return e;
        }
        case next_step::retry:
          refresh = true;
          break;
      }
    }
    return error_of(last, kind);
  }

  // routed(), then a 200 answer's JSON object: the error for any other status, or when the
  // body is not a JSON object (`what` names the call in that message).
  result<json> routed_json(request_kind kind, const std::string* key, uint32_t partition,
                           const std::string& method, const std::string& target,
                           const std::string& body, const char* what) {
    auto r = routed(kind, key, partition, method, target, body);
    if (!r.ok()) {
      return r.error();
    }
    if (r.value().status != 200) {
      return error_of(r.value(), kind);
    }
    json answer = json::parse(r.value().body, nullptr, false);
    if (!answer.is_object()) {
      return unreadable(std::string{what} + ": the answer is not a JSON object");
    }
    return answer;
  }

  client_options options;
  http_pool http;
  std::mutex mutex;  // guards the three below
  std::optional<topology> cached;
  clock_type::time_point fetched;
  size_t good_endpoint = 0;
  std::atomic<size_t> next_endpoint{0};  // spreads unrouted requests over the endpoints

  std::mutex queue_mutex;  // guards the two below
  std::deque<std::function<void()>> queue;
  bool stopping = false;
  std::condition_variable queue_ready;
  std::vector<std::thread> workers;  // last: started after everything they use
};

kv_client::kv_client(client_options options) : impl_(std::make_unique<impl>(std::move(options))) {}

kv_client::~kv_client() = default;

result<std::string> kv_client::get(const std::string& key, consistency c) {
  std::string target = "/kv/get?key=" + url_encode(key);
  if (c == consistency::stale) {
    target += "&consistency=stale";
  }
  auto body = impl_->routed_json(request_kind::read, &key, 0, "GET", target, {}, "GET /kv/get");
  if (!body.ok()) {
    return body.error();
  }
  auto value = body.value().find("value");
  if (value == body.value().end() || !value->is_string()) {
    return unreadable("GET /kv/get: no string value in the answer");
  }
  return value->get<std::string>();
}

result<put_result> kv_client::put(const std::string& key, const std::string& value) {
  const std::string payload = json{{"key", key}, {"value", value}}.dump();
  auto body = impl_->routed_json(request_kind::write, &key, 0, "POST", "/kv/set", payload,
                                 "POST /kv/set");
  if (!body.ok()) {
    return body.error();
  }
  return put_result{partition_in(body.value())};
}

result<delete_result> kv_client::del(const std::string& key) {
  auto body = impl_->routed_json(request_kind::write, &key, 0, "DELETE",
                                 "/kv/delete?key=" + url_encode(key), {}, "DELETE /kv/delete");
  if (!body.ok()) {
    return body.error();
  }
  return delete_result{partition_in(body.value()), body.value().value("existed", false)};
}

result<std::vector<std::string>> kv_client::list(const list_options& options) {
  auto t = impl_->current_topology(false);
  if (!t.ok()) {
    return t.error();
  }
  constexpr size_t page = 1000;
  std::vector<std::string> keys;
  for (uint32_t p = 0; p < t.value().partition_count(); ++p) {
    std::optional<std::string> after;
    for (;;) {
      std::string target =
          "/kv/list?partition=" + std::to_string(p) + "&limit=" + std::to_string(page);
      if (after) {
        target += "&after=" + url_encode(*after);
      }
      auto answer =
          impl_->routed_json(request_kind::read, nullptr, p, "GET", target, {}, "GET /kv/list");
      if (!answer.ok()) {
        return answer.error();
      }
      const json& body = answer.value();
      if (!body.contains("keys") || !body["keys"].is_array()) {
        return unreadable("GET /kv/list: no keys array in the answer");
      }
      for (const json& k : body["keys"]) {
        if (!k.is_string()) {
          continue;
        }
        const std::string& key = k.get_ref<const std::string&>();
        if (key.compare(0, options.prefix.size(), options.prefix) == 0) {
          keys.push_back(key);
          if (options.limit > 0 && keys.size() >= options.limit) {
            return keys;
          }
        }
      }
      const json& next = body.value("next_after", json());
      if (!next.is_string()) {
        break;
      }
      after = next.get<std::string>();
    }
  }
  return keys;
}

std::future<result<std::string>> kv_client::get_async(std::string key, consistency c) {
  return impl_->submit<std::string>([this, key = std::move(key), c] { return get(key, c); });
}

std::future<result<put_result>> kv_client::put_async(std::string key, std::string value) {
  return impl_->submit<put_result>(
      [this, key = std::move(key), value = std::move(value)] { return put(key, value); });
}

std::future<result<delete_result>> kv_client::del_async(std::string key) {
  return impl_->submit<delete_result>([this, key = std::move(key)] { return del(key); });
}

result<watch_positions> kv_client::watch(const watch_options& options,
                                         const std::function<bool(const watch_event&)>& on_event) {
  watch_positions positions = options.from;
  bool stopped = false;
  int failures = 0;
  auto pause = impl_->options.backoff;
  size_t endpoint = 0;
  {
    std::lock_guard<std::mutex> lock(impl_->mutex);
    endpoint = impl_->good_endpoint;
  }
  http_reply last;
  while (!stopped && failures < std::max(1, options.reconnects)) {
    std::string target = std::string{"/kv/watch?"} + (options.prefix ? "prefix=" : "key=") +
                         url_encode(options.key);
    if (!positions.empty()) {
      target += "&from=" + cluster::format_partition_positions(positions);
    }
    sse_reader reader;
    bool delivered = false;  // this attempt streamed something: the next failure starts over
    auto on_data = [&](std::string_view bytes) {
      for (auto& m : reader.feed(bytes)) {
        json data = json::parse(m.data, nullptr, false);
        if (!data.is_object()) {
          continue;
        }
        delivered = true;
        if (m.event == "start") {
          // Positions of partitions this watch has none for yet: where it starts there.
          const json start_positions = data.value("positions", json::object());
          for (const auto& [name, index] : start_positions.items()) {
            uint32_t p = 0;
            if (cluster::parse_partition_name(name, p) && index.is_number_unsigned()) {
              positions.emplace(p, index.get<uint64_t>());
            }
          }
          continue;
        }
        watch_event e;
        cluster::parse_partition_name(data.value("partition", ""), e.partition);
        if (m.event == "gap") {
          e.type = watch_event::kind::gap;
          e.index = data.value("from", uint64_t{0});
        } else if (m.event == "set" || m.event == "delete") {
          e.type = m.event == "set" ? watch_event::kind::set : watch_event::kind::erase;
          e.key = data.value("key", "");
          e.value = data.value("value", "");
          e.index = data.value("index", uint64_t{0});
          auto at = positions.find(e.partition);
          if (at != positions.end() && e.index <= at->second) {
            continue;  // seen before a reconnect
          }
          positions[e.partition] = e.index;
        } else {
          continue;
        }
        if (!on_event(e)) {
          stopped = true;
          return false;
        }
      }
      return true;
    };
    const std::string& address = impl_->options.endpoints[endpoint];
    last = impl_->http.stream(address, target, on_data, options.silence_max);
    if (stopped) {
      break;
    }
    if (last.status >= 400 && last.status != 503) {
      return error_of(last, request_kind::read);  // refused: retrying changes nothing
    }
    failures = delivered ? 1 : failures + 1;
    endpoint = (endpoint + 1) % impl_->options.endpoints.size();
    std::this_thread::sleep_for(pause);
    pause = delivered ? impl_->options.backoff
                      : std::min<std::chrono::milliseconds>(pause * 2, std::chrono::seconds(1));
  }
  if (!stopped) {
    error e = error_of(last, request_kind::read);
    e.message = "watch: no stream after " + std::to_string(failures) + " attempts (" +
                (last.error.empty() ? e.message : last.error) + ")";
    return e;
  }
  return positions;
}

result<topology> kv_client::cluster(bool refresh) { return impl_->current_topology(refresh); }

result<api_reply> kv_client::call(const std::string& method, const std::string& target,
                                  const std::string& body) {
  return impl_->call(method, target, body);
}

}  // namespace ck::client
