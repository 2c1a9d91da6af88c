#pragma once

// HTTP/1.1 requests to ClusterKit nodes with keep-alive: libcurl easy handles kept per
// address and reused, so consecutive requests to one node share a connection. Thread-safe: a
// handle is used by one request at a time (checked out, then returned).

#include <chrono>
#include <cstddef>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <string_view>

namespace ck::client {

struct http_reply {
  int status = 0;           // 0: no HTTP answer (see error, maybe_sent)
  std::string body;
  std::string error;        // why there is no answer (one line)
  bool maybe_sent = false;  // with status 0: the request may have reached the node
};

class http_pool {
 public:
  /// `timeout` bounds each request (connect included); `token` ("" for none) is sent as
  /// "Authorization: Bearer <token>".
  http_pool(std::chrono::milliseconds timeout, std::string token);
  ~http_pool();
  http_pool(const http_pool&) = delete;
  http_pool& operator=(const http_pool&) = delete;

  /// One request to http://<address><target>. A JSON body is sent with its content type.
  http_reply request(const std::string& address, std::string_view method, const std::string& target,
                     const std::string& body = {});

  /// A streaming GET (server-sent events): `on_data` gets the body as it arrives and returns
  /// false to stop. No overall timeout: the connect timeout, and a stream that delivers no
  /// byte for `silence_max` (the server's keep-alives stopped) is given up. Returns when the
  /// stream ends, fails or is stopped (status: the answer's, 0 if none).
  http_reply stream(const std::string& address, const std::string& target,
                    const std::function<bool(std::string_view)>& on_data,
                    std::chrono::seconds silence_max);

  /// Idle connections kept per address beyond which a returned one is closed.
  static constexpr size_t idle_per_address_max = 16;

 private:
  void* checkout(const std::string& address);
  void checkin(const std::string& address, void* handle);

  const std::chrono::milliseconds timeout_;
  const std::string token_;
  std::mutex mutex_;
  std::multimap<std::string, void*> idle_;  // CURL* per address, guarded by mutex_
};

}  // namespace ck::client
