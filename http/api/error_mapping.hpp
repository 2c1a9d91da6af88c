#pragma once

// The one place where the actor layer's errors become HTTP statuses (STYLE rule 13).

#include "http/response.hpp"

#include <caf/fwd.hpp>

namespace ck::http::api {

/// 503 no_leader/shutting_down/not_ready (with Retry-After), 504 timeout, 400
/// invalid_argument, 404 not_found, 500 storage_failure/internal.
response error_response(const caf::error& error);

}  // namespace ck::http::api
