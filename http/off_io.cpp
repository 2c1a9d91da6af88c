#include "http/off_io.hpp"

#include <caf/actor_system.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/io/broker.hpp>

#include "runtime/io/io_thread_scheduler.hpp"

#include <utility>

namespace ck::http {

void run_off_io(caf::io::broker* self, std::function<void()> work, std::function<void()> then) {
  auto body = [work = std::move(work)](caf::event_based_actor* w) mutable -> caf::behavior {
    return {[w, work = std::move(work)](caf::ok_atom) mutable {
      try {
        work();
      } catch (...) {
        // `then` sees no result and answers for it (see the header).
      }
      w->quit();
      return caf::ok_atom::value;
    }};
  };
  // Under the I/O-thread scheduler every scheduled actor runs on the I/O thread: the work gets
  // a thread of its own instead.
  auto worker = io::runs_io_thread_scheduler(self->system())
                    ? self->system().spawn<caf::detached>(std::move(body))
                    : self->system().spawn(std::move(body));
  // No timeout: the worker always answers (or dies, which fails the request at once).
  self->request(worker, caf::infinite, caf::ok_atom::value)
      .then([then](caf::ok_atom) { then(); }, [then](caf::error&) { then(); });
}

}  // namespace ck::http
