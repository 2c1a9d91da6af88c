#pragma once

// Work a route handler must not do on CAF's one I/O thread. Every HTTP broker runs there,
// together with all node-to-node traffic (caf-notes 3): a handler that parses a large body
// or computes for milliseconds delays every Raft message of the node meanwhile, and long
// enough stalls make followers elect new leaders. run_off_io hands such work to a short-lived
// actor on a scheduler thread (a thread of its own under runtime/io/io_thread_scheduler.hpp,
// where the scheduler runs actors on the I/O thread) and resumes the handler in its broker when
// it is done.

#include <functional>

namespace caf::io {
class broker;
}  // namespace caf::io

namespace ck::http {

/// Runs `work` on a scheduler thread, then `then` in `self` (the handler's broker, as a
/// continuation of any request would run). `work` must not touch the broker or anything only
/// the I/O thread may use; share its result through state both lambdas capture (a
/// shared_ptr). An exception out of `work` is swallowed: `then` runs either way and must check
/// that the result is there. Costs one actor spawn and two messages: use it for bodies or
/// computations of tens of kilobytes or milliseconds, not for every request.
void run_off_io(caf::io::broker* self, std::function<void()> work, std::function<void()> then);

}  // namespace ck::http
