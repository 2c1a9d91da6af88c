#pragma once

// The KV API (KV_ADDR): /kv/set, /kv/get, /kv/delete, /kv/list, /kv/stats, per the API
// contract. Handlers validate, compute the key's partition and ask the KV service actor; they
// never block the I/O thread.

#include "http/api/api_context.hpp"
#include "http/router.hpp"

#include <memory>

namespace ck::http::api {

void add_kv_routes(router& routes, std::shared_ptr<const api_context> context);

}  // namespace ck::http::api
