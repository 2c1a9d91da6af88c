#include "http/client/http_pool.hpp"

#include <curl/curl.h>

#include <mutex>

namespace ck::client {

namespace {

void init_curl_once() {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

size_t write_body(char* data, size_t size, size_t count, void* user) {
  static_cast<std::string*>(user)->append(data, size * count);
  return size * count;
}

// Whether a failed transfer may have delivered the request: only when no connection was made
// can we be sure it did not.
bool maybe_sent(CURL* curl, CURLcode rc) {
  if (rc == CURLE_COULDNT_RESOLVE_HOST || rc == CURLE_COULDNT_CONNECT ||
      rc == CURLE_URL_MALFORMAT || rc == CURLE_UNSUPPORTED_PROTOCOL) {
    return false;
  }
  curl_off_t connected_us = 0;
  curl_easy_getinfo(curl, CURLINFO_CONNECT_TIME_T, &connected_us);
  return connected_us > 0;
}

struct header_list {
  curl_slist* list = nullptr;
  ~header_list() { curl_slist_free_all(list); }
  void add(const std::string& line) { list = curl_slist_append(list, line.c_str()); }
};

// What every request sets: the URL, no signals (threads), no Nagle delay, the connect bound,
// and the token. `url` and `headers` must outlive the transfer.
void set_common_options(CURL* curl, const std::string& url, std::chrono::milliseconds timeout,
                        const std::string& token, header_list& headers) {
  curl_easy_setopt(curl, CURLOPT_URL, url.c_str());
  curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(curl, CURLOPT_TCP_NODELAY, 1L);
  curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT_MS, static_cast<long>(timeout.count()));
  if (!token.empty()) {
    headers.add("Authorization: Bearer " + token);
  }
}

// The failure of a transfer that got no answer.
void record_failure(http_reply& reply, CURL* curl, CURLcode rc, const std::string& address) {
  reply.error = address + ": " + curl_easy_strerror(rc);
  reply.maybe_sent = maybe_sent(curl, rc);
}

}  // namespace

http_pool::http_pool(std::chrono::milliseconds timeout, std::string token)
    : timeout_(timeout), token_(std::move(token)) {
  init_curl_once();
}

http_pool::~http_pool() {
  for (auto& [address, handle] : idle_) {
    curl_easy_cleanup(static_cast<CURL*>(handle));
  }
}

void* http_pool::checkout(const std::string& address) {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    auto it = idle_.find(address);
    if (it != idle_.end()) {
      void* handle = it->second;
      idle_.erase(it);
      return handle;
    }
  }
  return curl_easy_init();
}

void http_pool::checkin(const std::string& address, void* handle) {
  std::lock_guard<std::mutex> lock(mutex_);
  if (idle_.count(address) >= idle_per_address_max) {
    curl_easy_cleanup(static_cast<CURL*>(handle));
    return;
  }
  idle_.emplace(address, handle);
}

http_reply http_pool::request(const std::string& address, std::string_view method,
                              const std::string& target, const std::string& body) {
  http_reply reply;
  CURL* curl = static_cast<CURL*>(checkout(address));
  if (curl == nullptr) {
    reply.error = "cannot create a libcurl handle";
    return reply;
  }
  curl_easy_reset(curl);  // keeps the handle's connection cache
  const std::string url = "http://" + address + target;
  const std::string verb(method);
  header_list headers;
  set_common_options(curl, url, timeout_, token_, headers);
  curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, static_cast<long>(timeout_.count()));
  curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, write_body);
  curl_easy_setopt(curl, CURLOPT_WRITEDATA, &reply.body);
  if (verb == "GET") {
    curl_easy_setopt(curl, CURLOPT_HTTPGET, 1L);
  } else {
    curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, verb.c_str());
    curl_easy_setopt(curl, CURLOPT_POSTFIELDS, body.c_str());
    curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(body.size()));
    if (!body.empty()) {
      headers.add("Content-Type: application/json");
    }
    headers.add("Expect:");  // no 100-continue round trip
  }
  curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers.list);
  const CURLcode rc = curl_easy_perform(curl);
  if (rc == CURLE_OK) {
    long status = 0;
    curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
    reply.status = static_cast<int>(status);
  } else {
    record_failure(reply, curl, rc, address);
    reply.body.clear();
  }
  curl_easy_setopt(curl, CURLOPT_HTTPHEADER, nullptr);  // `headers` dies here
  checkin(address, curl);
  return reply;
}

namespace {

struct stream_state {
  const std::function<bool(std::string_view)>* on_data = nullptr;
  std::string* error_body = nullptr;  // a non-2xx answer's body is collected, not streamed
  CURL* curl = nullptr;
};

size_t write_stream(char* data, size_t size, size_t count, void* user) {
  auto* s = static_cast<stream_state*>(user);
  const size_t bytes = size * count;
  long status = 0;
  curl_easy_getinfo(s->curl, CURLINFO_RESPONSE_CODE, &status);
  if (status < 200 || status > 299) {
    s->error_body->append(data, bytes);
    return bytes;
  }
  return (*s->on_data)(std::string_view(data, bytes)) ? bytes : 0;  // 0 stops the transfer
}

}  // namespace

http_reply http_pool::stream(const std::string& address, const std::string& target,
                             const std::function<bool(std::string_view)>& on_data,
                             std::chrono::seconds silence_max) {
  http_reply reply;
  CURL* curl = curl_easy_init();
  if (curl == nullptr) {
    reply.error = "cannot create a libcurl handle";
    return reply;
  }
  const std::string url = "http://" + address + target;
  header_list headers;
  set_common_options(curl, url, timeout_, token_, headers);
  headers.add("Accept: text/event-stream");
  stream_state state{&on_data, &reply.body, curl};
  curl_easy_setopt(curl, CURLOPT_LOW_SPEED_LIMIT, 1L);
  curl_easy_setopt(curl, CURLOPT_LOW_SPEED_TIME, static_cast<long>(silence_max.count()));
  curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, write_stream);
  curl_easy_setopt(curl, CURLOPT_WRITEDATA, &state);
  curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers.list);
  const CURLcode rc = curl_easy_perform(curl);
  long status = 0;
  curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
  reply.status = static_cast<int>(status);
  if (rc != CURLE_OK && rc != CURLE_WRITE_ERROR) {
    record_failure(reply, curl, rc, address);
  }
  curl_easy_cleanup(curl);
  return reply;
}

}  // namespace ck::client
