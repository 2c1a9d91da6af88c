#include "http/client/retry_policy.hpp"

namespace ck::client {

next_step decide(request_kind kind, const attempt_outcome& outcome) {
  const bool read = kind == request_kind::read;
  if (outcome.status == 0) {
    if (!outcome.maybe_sent) {
      return next_step::retry;
    }
    return read ? next_step::retry : next_step::unknown;
  }
  if (outcome.status == 503) {
    return next_step::retry;
  }
  if (outcome.status == 500 || outcome.status == 502 || outcome.status == 504) {
    return read ? next_step::retry : next_step::unknown;
  }
  return next_step::done;
}

}  // namespace ck::client
