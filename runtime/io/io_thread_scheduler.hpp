#pragma once

// One thread for a node's actors: CAF's network I/O thread (the middleman's multiplexer) runs
// every event-based actor, not only the brokers. The node uses it when runtime.threads is 1
// (THREADS=1, what nodes sharing a machine are told to use; docs/configuration.md).
//
// Why: a write's path goes back and forth between brokers (HTTP servers, the node transport's
// wire hub), which CAF runs on the multiplexer thread, and the Raft group actors, which ran on a
// scheduler worker. Each crossing woke the other thread (a futex towards the worker, a pipe write
// towards the multiplexer) and switched context; a write crossed about ten times (3 nodes, 64
// connections: 14.5 futex calls and 21.8 context switches per write). With both kinds on one
// thread a message from a broker to a group, and back, is a call in the same loop turn.
// Measured (bench/ab.sh, 3 nodes on 2 cores, THREADS=1 before and after): docs/performance.md,
// "One thread per node (session 18)".
//
// How (CAF 0.17 internals, as runtime/io/eager_socket.hpp): a scheduler policy that hands every
// actor made runnable to the multiplexer (one function object per wake-up: queued in the same
// turn on the multiplexer's thread, a pipe write from any other thread), once routing is on
// (io_thread_routing, for as long as the multiplexer runs). Everything else (the scheduler's
// shutdown jobs, and every job while routing is off) goes to the one worker as CAF's sharing
// policy does; the worker sleeps otherwise. Detached actors keep their own threads: the Raft log
// writer still blocks on fsync off the I/O thread. Timers fire on CAF's clock thread and reach
// their actors through the pipe.
//
// Cost: everything a node's actors compute runs on one thread, so a node uses one core for its
// actors (plus its log writer). That suits nodes sharing a machine, or a small machine; a node
// alone on many cores keeps the default (one worker per core).

#include <caf/execution_unit.hpp>
#include <caf/fwd.hpp>

#include <vector>

namespace ck::io {

/// Makes `cfg`'s actor system use the I/O-thread scheduler (one worker, idle while routing is
/// on). Call before the actor system is created, after loading the middleman.
void use_io_thread_scheduler(caf::actor_system_config& cfg);

/// Whether `sys` runs the I/O-thread scheduler.
bool runs_io_thread_scheduler(caf::actor_system& sys);

/// While it lives, the I/O-thread scheduler of `sys` routes actors to the multiplexer thread (a
/// no-op for other schedulers). Create it after the actor system; destroy it before (it is, when
/// declared after it): a job handed to a multiplexer that has stopped would never run.
class io_thread_routing {
 public:
  explicit io_thread_routing(caf::actor_system& sys);
  ~io_thread_routing();
  io_thread_routing(const io_thread_routing&) = delete;
  io_thread_routing& operator=(const io_thread_routing&) = delete;

 private:
  caf::actor_system& sys_;
};

/// An execution unit for a detached actor that answers many actors in one turn (the Raft log
/// writer): set it as the actor's context while it sends, then hand_over() the actors its sends
/// made runnable in one go. Under the I/O-thread scheduler that is one wake-up of the
/// multiplexer for the whole batch instead of one per answer (1.14-1.29x writes with it, 0.90-
/// 1.11x without: the pipe write per answer cost more than the crossings saved); otherwise each
/// goes to the scheduler as a send would have put it.
class batched_wakeups final : public caf::execution_unit {
 public:
  explicit batched_wakeups(caf::actor_system& sys);
  void exec_later(caf::resumable* job) override;
  void hand_over();

 private:
  std::vector<caf::resumable*> jobs_;
};

}  // namespace ck::io
