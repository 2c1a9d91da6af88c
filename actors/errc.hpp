#pragma once

// The actor layer's error vocabulary, registered with CAF as error category "ck" so errors
// cross actor (and later node) boundaries as values. Only http::to_status() maps them to HTTP.
// Do not renumber: the values travel between nodes.

#include <caf/error.hpp>
#include <caf/make_message.hpp>
#include <caf/message.hpp>

#include <cstdint>
#include <string>

namespace ck {

enum class errc : uint8_t {
  none = 0,
  invalid_argument = 1,  // the request itself is wrong (400)
  not_found = 2,         // the thing asked for does not exist (404)
  no_leader = 3,         // no leader/owner can take the request now, retry later (503)
  timeout = 4,           // the request did not finish within its deadline (504)
  storage_failure = 5,   // the disk refused a write or a read failed (500)
  shutting_down = 6,     // the node is stopping (503)
  not_ready = 7,         // the node is not (yet) a working member (503)
  internal = 8,          // a bug: an invariant did not hold (500)
  conflict = 9,          // refused by the current state, e.g. a node id in use elsewhere (409)
  storage_full = 10,     // the leader's disk or LMDB map is full: nothing was written (507)
};

std::string to_string(errc x);

}  // namespace ck

CAF_ERROR_CODE_ENUM(ck::errc, "ck")

namespace ck {

/// The errc carried by `e`, errc::internal for errors of another category, errc::none for none.
errc errc_of(const caf::error& e);

/// The message an error of ours was raised with (make_error(errc, "message")); "" for an error
/// without one (CAF's own errors).
std::string message_of(const caf::error& e);

}  // namespace ck
