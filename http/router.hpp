#pragma once

// Maps method + exact path to a handler. CAF-free apart from a forward declaration: handlers
// receive the connection's broker so they can ask other actors without blocking a thread.

#include "http/request.hpp"
#include "http/responder.hpp"
#include "http/response.hpp"

#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace caf::io {
class broker;
}  // namespace caf::io

namespace ck::http {

// A handler replies exactly once through `reply`, now or later (after asking other actors).
// `self` is the connection's broker: use self->request(actor, timeout, ...).then(...) to wait on
// other actors without blocking a thread; the continuation runs in the broker. Handlers run on
// CAF's single I/O thread (shared with all cluster traffic): decode, ask, reply; never block or
// compute for long there. `req` is valid only during the call: move out or copy what a
// continuation needs. A handler that throws gets a 500 "internal" answer for its request.
using handler = std::function<void(caf::io::broker* self, request& req, responder reply)>;

class router {
public:
  // The outcome of routing one request: `target` is set when a handler matches; otherwise
  // `rejection` holds the answer (404 unknown path, 405 known path with another method).
  struct match {
    const handler* target = nullptr;
    std::optional<response> rejection;
  };

  // Registers `h` for `method` (e.g. "GET", upper case as sent on the wire) on exactly `path`
  // (decoded, e.g. "/kv/get"). Requires: the pair is not registered yet, `h` is not empty.
  router& add(std::string method, std::string path, handler h);

  // Returns the handler for `method` on `path` or the error response to send instead:
  // 404 `{"error":"not found: <path>","code":"not_found"}`, or 405 with `Allow` listing the
  // methods registered for `path` in registration order. HEAD is not implied by GET.
  // The handler pointer lives as long as this router.
  match route(std::string_view method, std::string_view path) const;

  // The methods registered for `path` in registration order; empty for an unknown path.
  std::vector<std::string> allowed_methods(std::string_view path) const;

private:
  using method_handlers = std::vector<std::pair<std::string, handler>>;
  std::map<std::string, method_handlers, std::less<>> routes_;
};

}  // namespace ck::http
