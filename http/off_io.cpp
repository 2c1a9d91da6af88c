#include "http/off_io.hpp"

#include <caf/actor_system.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/io/broker.hpp>

#include <utility>

namespace ck::http {

void run_off_io(caf::io::broker* self, std::function<void()> work, std::function<void()> then) {
  auto worker = self->system().spawn(
      [work = std::move(work)](caf::event_based_actor* w) mutable -> caf::behavior {
        return {[w, work = std::move(work)](caf::ok_atom) mutable {
          try {
            work();
          } catch (...) {
            // `then` sees no result and answers for it (see the header).
          }
          w->quit();
          return caf::ok_atom::value;
        }};
      });
  // No timeout: the worker always answers (or dies, which fails the request at once).
  self->request(worker, caf::infinite, caf::ok_atom::value)
      .then([then](caf::ok_atom) { then(); }, [then](caf::error&) { then(); });
}

}  // namespace ck::http
