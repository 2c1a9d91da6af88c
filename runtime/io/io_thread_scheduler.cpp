#include "runtime/io/io_thread_scheduler.hpp"

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/intrusive_ptr.hpp>
#include <caf/io/middleman.hpp>
#include <caf/io/network/default_multiplexer.hpp>
#include <caf/policy/work_sharing.hpp>
#include <caf/scheduler/coordinator.hpp>

#include <atomic>
#include <utility>

namespace ck::io {

namespace {

using multiplexer = caf::io::network::default_multiplexer;

// Runs `job` (made runnable, one reference owned by the caller) on `mpx`'s thread. A job the
// multiplexer drops unrun (it stopped) loses its reference with the function object.
void run_on(multiplexer* mpx, caf::resumable* job) {
  mpx->post([mpx, ptr = caf::intrusive_ptr<caf::resumable>{job, false}]() mutable {
    mpx->resume(std::move(ptr));
  });
}

// CAF's sharing policy, except that while `io` is set every actor goes to that multiplexer.
class io_thread_policy : public caf::policy::work_sharing {
 public:
  struct coordinator_data : caf::policy::work_sharing::coordinator_data {
    explicit coordinator_data(caf::scheduler::abstract_coordinator* owner)
        : caf::policy::work_sharing::coordinator_data(owner) {}
    std::atomic<multiplexer*> io{nullptr};
  };

  template <class Coordinator>
  void central_enqueue(Coordinator* self, caf::resumable* job) {
    route(self, job);
  }
  template <class Worker>
  void external_enqueue(Worker* self, caf::resumable* job) {
    route(self->parent(), job);
  }
  template <class Worker>
  void internal_enqueue(Worker* self, caf::resumable* job) {
    route(self->parent(), job);
  }
  template <class Worker>
  void resume_job_later(Worker* self, caf::resumable* job) {
    route(self->parent(), job);
  }

 private:
  template <class Coordinator>
  void route(Coordinator* self, caf::resumable* job) {
    multiplexer* mpx = self->data().io.load(std::memory_order_acquire);
    if (mpx != nullptr && job->subtype() == caf::resumable::scheduled_actor) {
      run_on(mpx, job);
      return;
    }
    enqueue(self, job);
  }
};

using io_thread_coordinator = caf::scheduler::coordinator<io_thread_policy>;

io_thread_coordinator* coordinator_of(caf::actor_system& sys) {
  return dynamic_cast<io_thread_coordinator*>(&sys.scheduler());
}

}  // namespace

void use_io_thread_scheduler(caf::actor_system_config& cfg) {
  cfg.set("scheduler.max-threads", size_t{1});
  cfg.module_factories.push_back([](caf::actor_system& sys) -> caf::actor_system::module* {
    return new io_thread_coordinator(sys);
  });
}

bool runs_io_thread_scheduler(caf::actor_system& sys) { return coordinator_of(sys) != nullptr; }

io_thread_routing::io_thread_routing(caf::actor_system& sys) : sys_(sys) {
  if (auto* coordinator = coordinator_of(sys_)) {
    auto* mpx = dynamic_cast<multiplexer*>(&sys_.middleman().backend());
    coordinator->data().io.store(mpx, std::memory_order_release);
  }
}

io_thread_routing::~io_thread_routing() {
  if (auto* coordinator = coordinator_of(sys_)) {
    coordinator->data().io.store(nullptr, std::memory_order_release);
  }
}

batched_wakeups::batched_wakeups(caf::actor_system& sys) : caf::execution_unit(&sys) {}

void batched_wakeups::exec_later(caf::resumable* job) { jobs_.push_back(job); }

void batched_wakeups::hand_over() {
  io_thread_coordinator* coordinator = coordinator_of(system());
  multiplexer* mpx =
      coordinator == nullptr ? nullptr : coordinator->data().io.load(std::memory_order_acquire);
  std::vector<caf::intrusive_ptr<caf::resumable>> actors;
  for (caf::resumable* job : jobs_) {
    if (mpx != nullptr && job->subtype() == caf::resumable::scheduled_actor) {
      actors.emplace_back(job, false);
    } else {
      system().scheduler().enqueue(job);  // where a send from this thread would have put it
    }
  }
  jobs_.clear();
  if (actors.empty()) {
    return;
  }
  // One function object for the batch: one pipe write wakes the multiplexer for all of them.
  mpx->post([mpx, actors = std::move(actors)]() mutable {
    for (auto& actor : actors) {
      mpx->resume(std::move(actor));
    }
  });
}

}  // namespace ck::io
