#pragma once

// The storage writer: the one actor that writes to the node's LMDB environment. It runs on
// its own thread (detached) because a commit blocks on fsync, and it commits in groups: every
// write that arrives while a commit is in progress joins the next transaction, so one fsync
// covers many writes (the batch grows with the load, up to write_batch_ops_max).
//
// Contract: a reply (kv_write_reply) is sent only after the write's transaction committed
// (and was fsynced when the sync policy is on). On a storage error every write of that batch
// is answered with errc::storage_failure and nothing of the batch is visible.

#include "actors/type_ids.hpp"

#include <caf/fwd.hpp>
#include <caf/replies_to.hpp>
#include <caf/typed_actor.hpp>

#include <memory>

namespace ck::storage {
class environment;
}
namespace ck::runtime {
struct node_metrics;
}

namespace ck::actors {

using storage_writer_actor = caf::typed_actor<
    caf::replies_to<atoms::kv_set_atom, kv_set_request>::with<kv_write_reply>,
    caf::replies_to<atoms::kv_del_atom, kv_delete_request>::with<kv_write_reply>,
    caf::reacts_to<atoms::flush_atom>>;

/// Operations committed in one transaction at most; the rest wait for the next one. Bounds
/// the latency a huge burst adds to the writes at its head.
constexpr size_t write_batch_ops_max = 4096;

/// Spawns the writer (detached). `env` and `metrics` must outlive the actor.
storage_writer_actor spawn_storage_writer(caf::actor_system& sys,
                                          std::shared_ptr<storage::environment> env,
                                          runtime::node_metrics* metrics);

}  // namespace ck::actors
