#pragma once

// The KV service: the one actor the KV API asks. It answers reads from short LMDB read
// transactions and hands writes to the storage writer, which answers the requester directly
// once the write is durable. (On a single node every partition is local; the partition
// actors of the replicated cluster take this actor's place behind the same interface.)

#include "actors/storage_writer.hpp"
#include "actors/type_ids.hpp"

#include <caf/fwd.hpp>
#include <caf/replies_to.hpp>
#include <caf/typed_actor.hpp>

#include <memory>
#include <string>

namespace ck::actors {

using kv_service_actor = caf::typed_actor<
    caf::replies_to<atoms::kv_set_atom, kv_set_request>::with<kv_write_reply>,
    caf::replies_to<atoms::kv_del_atom, kv_delete_request>::with<kv_write_reply>,
    caf::replies_to<atoms::kv_get_atom, kv_get_request>::with<kv_get_reply>,
    caf::replies_to<atoms::kv_list_atom, kv_list_request>::with<kv_list_reply>,
    caf::replies_to<atoms::kv_stats_atom>::with<kv_stats_reply>>;

struct kv_service_options {
  uint32_t partition_count = 64;
  std::string data_dir;
  uint32_t list_limit_max = 10000;
};

/// Spawns the service. `env` and `metrics` must outlive the actor.
kv_service_actor spawn_kv_service(caf::actor_system& sys, kv_service_options options,
                                  std::shared_ptr<storage::environment> env,
                                  storage_writer_actor writer, runtime::node_metrics* metrics);

}  // namespace ck::actors
