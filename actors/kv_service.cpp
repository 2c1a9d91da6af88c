#include "actors/kv_service.hpp"

#include "runtime/assert.hpp"
#include "runtime/metrics.hpp"
#include "storage/environment.hpp"
#include "storage/kv_table.hpp"

#include <caf/actor_system.hpp>
#include <caf/typed_event_based_actor.hpp>

namespace ck::actors {

namespace {

struct kv_service_state {
  static inline const char* name = "kv_service";
  kv_service_options options;
  std::shared_ptr<storage::environment> env;
  storage_writer_actor writer;
  runtime::node_metrics* metrics = nullptr;
};

using service_pointer = kv_service_actor::stateful_pointer<kv_service_state>;

caf::error storage_error(const storage::status& st) {
  return caf::make_error(errc::storage_failure, st.to_string());
}

caf::result<kv_get_reply> get(service_pointer self, const kv_get_request& request) {
  auto txn = self->state.env->begin_read();
  if (!txn.ok()) {
    return storage_error(txn.status());
  }
  auto value = storage::kv_get(txn.value(), request.partition, request.key);
  if (!value.ok()) {
    return storage_error(value.status());
  }
  kv_get_reply reply;
  if (value.value()) {
    reply.found = true;
    reply.value = std::move(*value.value());
  }
  return reply;
}

caf::result<kv_list_reply> list(service_pointer self, const kv_list_request& request) {
  auto txn = self->state.env->begin_read();
  if (!txn.ok()) {
    return storage_error(txn.status());
  }
  std::optional<uint32_t> only;
  if (request.has_partition) {
    only = request.partition;
  }
  std::optional<storage::kv_cursor_position> after;
  if (request.has_after) {
    after = storage::kv_cursor_position{request.after_partition, request.after_key};
  }
  const auto limit = std::clamp<uint32_t>(request.limit, 1, self->state.options.list_limit_max);
  auto page = storage::kv_list(txn.value(), only, after, limit);
  auto count = only ? storage::kv_count_partition(txn.value(), *only)
                    : storage::kv_count(txn.value());
  if (!page.ok()) {
    return storage_error(page.status());
  }
  if (!count.ok()) {
    return storage_error(count.status());
  }
  kv_list_reply reply;
  reply.count = count.value();
  reply.keys = std::move(page.value().keys);
  if (page.value().next) {
    reply.has_next = true;
    reply.next_after = page.value().next->key;
  }
  return reply;
}

caf::result<kv_stats_reply> stats(service_pointer self) {
  auto& st = self->state;
  auto txn = st.env->begin_read();
  if (!txn.ok()) {
    return storage_error(txn.status());
  }
  auto count = storage::kv_count(txn.value());
  if (!count.ok()) {
    return storage_error(count.status());
  }
  kv_stats_reply reply;
  reply.local_keys = count.value();
  reply.partitions_hosted = st.options.partition_count;
  reply.partitions_led = st.options.partition_count;
  reply.sets = st.metrics->kv_sets.value();
  reply.gets = st.metrics->kv_gets.value();
  reply.deletes = st.metrics->kv_deletes.value();
  const auto figures = st.env->stats();
  reply.data_dir = st.options.data_dir;
  reply.used_bytes = figures.used_bytes;
  reply.map_size_bytes = figures.map_size_bytes;
  reply.commits = figures.commit_count;
  reply.fsyncs = figures.fsync_count;
  reply.bytes_written = figures.written_bytes;
  return reply;
}

kv_service_actor::behavior_type service(service_pointer self, kv_service_options options,
                                        std::shared_ptr<storage::environment> env,
                                        storage_writer_actor writer,
                                        runtime::node_metrics* metrics) {
  CK_ASSERT(env != nullptr);
  CK_ASSERT(metrics != nullptr);
  CK_ASSERT_GT(options.partition_count, 0u);
  auto& st = self->state;
  st.options = std::move(options);
  st.env = std::move(env);
  st.writer = std::move(writer);
  st.metrics = metrics;
  return {
      [=](atoms::kv_set_atom atom, kv_set_request& request) {
        return self->delegate(self->state.writer, atom, std::move(request));
      },
      [=](atoms::kv_del_atom atom, kv_delete_request& request) {
        return self->delegate(self->state.writer, atom, std::move(request));
      },
      [=](atoms::kv_get_atom, const kv_get_request& request) { return get(self, request); },
      [=](atoms::kv_list_atom, const kv_list_request& request) { return list(self, request); },
      [=](atoms::kv_stats_atom) { return stats(self); },
  };
}

}  // namespace

kv_service_actor spawn_kv_service(caf::actor_system& sys, kv_service_options options,
                                  std::shared_ptr<storage::environment> env,
                                  storage_writer_actor writer, runtime::node_metrics* metrics) {
  return sys.spawn(service, std::move(options), std::move(env), std::move(writer), metrics);
}

}  // namespace ck::actors
