// runtime/io/io_thread_scheduler.hpp: while routing is on, event-based actors run on the
// multiplexer's thread; without routing (or before and after it) they run on the one worker;
// a detached actor's sends through batched_wakeups reach every receiver; a system stops with
// actors busy either way.

#include "runtime/io/io_thread_scheduler.hpp"

#include <caf/actor_system.hpp>
#include <caf/after.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/io/middleman.hpp>
#include <caf/io/network/multiplexer.hpp>
#include <caf/scoped_actor.hpp>
#include <caf/send.hpp>

#include <doctest/doctest.h>

#include <chrono>
#include <future>
#include <memory>
#include <optional>
#include <thread>
#include <vector>

namespace {

using namespace std::chrono_literals;

using where_atom = caf::atom_constant<caf::atom("where")>;
using fan_out_atom = caf::atom_constant<caf::atom("fanout")>;

struct io_system_config : caf::actor_system_config {
  io_system_config() {
    load<caf::io::middleman>();
    ck::io::use_io_thread_scheduler(*this);
  }
};

bool on_io_thread(caf::actor_system& sys) {
  return std::this_thread::get_id() == sys.middleman().backend().thread_id();
}

// Answers `where` with whether the handler ran on the multiplexer thread.
caf::behavior reporter(caf::event_based_actor* self) {
  return {[self](where_atom) { return on_io_thread(self->system()); }};
}

bool runs_on_io_thread(caf::actor_system& sys, const caf::actor& who) {
  caf::scoped_actor self{sys};
  std::optional<bool> got;
  self->request(who, 5s, where_atom::value)
      .receive([&](bool on_io) { got = on_io; },
               [&](caf::error& e) { FAIL("no answer: " << sys.render(e)); });
  REQUIRE(got.has_value());
  return *got;
}

// Each phase asks an actor spawned in it: an actor still finishing a turn where it ran when the
// next message arrives carries on there (CAF hands a running actor to no one), so one spawned
// earlier may answer from the other thread once.
TEST_CASE("io_thread_scheduler: actors run on the multiplexer thread only while routing is on") {
  io_system_config cfg;
  caf::actor_system sys{cfg};
  CHECK(ck::io::runs_io_thread_scheduler(sys));
  auto before = sys.spawn(reporter);
  CHECK_FALSE(runs_on_io_thread(sys, before));  // the worker: routing is off
  caf::anon_send_exit(before, caf::exit_reason::user_shutdown);
  {
    const ck::io::io_thread_routing routing{sys};
    auto during = sys.spawn(reporter);
    for (int i = 0; i < 20; ++i) {
      CHECK(runs_on_io_thread(sys, during));
    }
    caf::anon_send_exit(during, caf::exit_reason::user_shutdown);
  }
  auto after = sys.spawn(reporter);
  CHECK_FALSE(runs_on_io_thread(sys, after));
  caf::anon_send_exit(after, caf::exit_reason::user_shutdown);
}

TEST_CASE("io_thread_scheduler: other schedulers are left alone") {
  caf::actor_system_config cfg;
  cfg.load<caf::io::middleman>();
  caf::actor_system sys{cfg};
  CHECK_FALSE(ck::io::runs_io_thread_scheduler(sys));
  const ck::io::io_thread_routing routing{sys};  // a no-op
  auto actor = sys.spawn(reporter);
  CHECK_FALSE(runs_on_io_thread(sys, actor));
  caf::anon_send_exit(actor, caf::exit_reason::user_shutdown);
}

// A detached actor that, on `fanout`, sends `where` to every receiver from a batched_wakeups
// context and hands them over at the end of the turn; the receivers report where they ran.
struct fan_out_state {
  std::unique_ptr<ck::io::batched_wakeups> wakeups;
};

caf::behavior fan_out(caf::stateful_actor<fan_out_state>* self) {
  return {[self](fan_out_atom, const std::vector<caf::actor>& receivers,
                 const caf::actor& collector) {
    auto& st = self->state;
    if (!st.wakeups) {
      st.wakeups = std::make_unique<ck::io::batched_wakeups>(self->system());
    }
    caf::execution_unit* own = self->context();
    self->context(st.wakeups.get());
    for (const auto& r : receivers) {
      self->send(r, where_atom::value, collector);
    }
    self->context(own);
    st.wakeups->hand_over();
  }};
}

// Tells `collector` whether it ran on the multiplexer thread.
caf::behavior relay_where(caf::event_based_actor* self) {
  return {[self](where_atom, const caf::actor& collector) {
    caf::anon_send(collector, on_io_thread(self->system()));
  }};
}

std::vector<bool> fan_out_once(caf::actor_system& sys, size_t receivers_count) {
  std::vector<caf::actor> receivers;
  for (size_t i = 0; i < receivers_count; ++i) {
    receivers.push_back(sys.spawn(relay_where));
  }
  auto sender = sys.spawn<caf::detached>(fan_out);
  caf::scoped_actor self{sys};
  self->send(sender, fan_out_atom::value, receivers, caf::actor{self});
  std::vector<bool> ran_on;
  for (size_t i = 0; i < receivers_count; ++i) {
    self->receive([&](bool on_io) { ran_on.push_back(on_io); },
                  caf::after(5s) >> [&] { FAIL("a receiver never ran (" << i << " did)"); });
  }
  for (const auto& r : receivers) {
    self->send_exit(r, caf::exit_reason::user_shutdown);
  }
  self->send_exit(sender, caf::exit_reason::user_shutdown);
  return ran_on;
}

TEST_CASE("io_thread_scheduler: a batch of wake-ups reaches every receiver") {
  io_system_config cfg;
  caf::actor_system sys{cfg};
  SUBCASE("routing on: all of them run on the multiplexer thread") {
    const ck::io::io_thread_routing routing{sys};
    for (bool on_io : fan_out_once(sys, 50)) {
      CHECK(on_io);
    }
  }
  SUBCASE("routing off: on the worker, as a plain send") {
    for (bool on_io : fan_out_once(sys, 50)) {
      CHECK_FALSE(on_io);
    }
  }
}

TEST_CASE("io_thread_scheduler: a system with busy actors stops (routing ends before it)") {
  io_system_config cfg;
  caf::actor_system sys{cfg};
  const ck::io::io_thread_routing routing{sys};
  // Two actors that message each other until they are told to stop: the exits find them busy.
  auto bounce = [](caf::event_based_actor* self) -> caf::behavior {
    return {[self](where_atom, const caf::actor& other) {
      self->send(other, where_atom::value, caf::actor_cast<caf::actor>(self));
    }};
  };
  auto ping = sys.spawn(bounce);
  auto pong = sys.spawn(bounce);
  caf::anon_send(ping, where_atom::value, pong);
  auto actor = sys.spawn(reporter);
  CHECK(runs_on_io_thread(sys, actor));  // they run meanwhile
  caf::anon_send_exit(actor, caf::exit_reason::user_shutdown);
  caf::anon_send_exit(ping, caf::exit_reason::user_shutdown);
  caf::anon_send_exit(pong, caf::exit_reason::user_shutdown);
}

}  // namespace
