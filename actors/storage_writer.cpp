#include "actors/storage_writer.hpp"

#include "runtime/assert.hpp"
#include "runtime/log.hpp"
#include "runtime/metrics.hpp"
#include "storage/environment.hpp"
#include "storage/kv_table.hpp"

#include <caf/actor_system.hpp>
#include <caf/typed_event_based_actor.hpp>
#include <caf/typed_response_promise.hpp>

#include <variant>
#include <vector>

namespace ck::actors {

namespace {

struct pending_write {
  std::variant<kv_set_request, kv_delete_request> operation;
  caf::typed_response_promise<kv_write_reply> promise;
  kv_write_reply reply;
};

struct writer_state {
  static inline const char* name = "storage_writer";
  std::shared_ptr<storage::environment> env;
  runtime::node_metrics* metrics = nullptr;
  std::vector<pending_write> pending;
  bool flush_scheduled = false;
};

using writer_pointer = storage_writer_actor::stateful_pointer<writer_state>;

// Applies `batch` inside one write transaction; fills each entry's reply.
storage::status apply_batch(storage::write_txn& txn, std::vector<pending_write>& batch) {
  for (auto& write : batch) {
    if (auto* set = std::get_if<kv_set_request>(&write.operation)) {
      auto st = storage::kv_put(txn, set->partition, set->key, set->value);
      if (!st.ok()) {
        return st;
      }
    } else {
      auto& del = std::get<kv_delete_request>(write.operation);
      auto existed = storage::kv_erase(txn, del.partition, del.key);
      if (!existed.ok()) {
        return existed.status();
      }
      write.reply.existed = existed.value();
    }
  }
  return storage::status::success();
}

void flush(writer_pointer self) {
  auto& st = self->state;
  st.flush_scheduled = false;
  if (st.pending.empty()) {
    return;
  }
  const size_t take = std::min(st.pending.size(), write_batch_ops_max);
  std::vector<pending_write> batch;
  batch.reserve(take);
  std::move(st.pending.begin(), st.pending.begin() + static_cast<std::ptrdiff_t>(take),
            std::back_inserter(batch));
  st.pending.erase(st.pending.begin(), st.pending.begin() + static_cast<std::ptrdiff_t>(take));
  if (!st.pending.empty()) {
    st.flush_scheduled = true;
    self->send(self, atoms::flush_atom_v);
  }
  auto status = st.env->write([&](storage::write_txn& txn) { return apply_batch(txn, batch); });
  st.metrics->storage_batches.add();
  st.metrics->storage_batched_ops.add(batch.size());
  if (!status.ok()) {
    CK_LOG_ERROR("storage: write batch of {} ops failed: {}", batch.size(), status.to_string());
    for (auto& write : batch) {
      write.promise.deliver(caf::make_error(errc::storage_failure, status.to_string()));
    }
    return;
  }
  for (auto& write : batch) {
    write.promise.deliver(write.reply);
  }
}

template <class Request>
caf::typed_response_promise<kv_write_reply> enqueue(writer_pointer self, Request&& request) {
  auto promise = self->make_response_promise<kv_write_reply>();
  self->state.pending.push_back({std::forward<Request>(request), promise, {}});
  if (!self->state.flush_scheduled) {
    // The flush message queues behind every write already in the mailbox, so all of them
    // join this batch: group commit without a timer.
    self->state.flush_scheduled = true;
    self->send(self, atoms::flush_atom_v);
  }
  return promise;
}

storage_writer_actor::behavior_type writer(writer_pointer self,
                                           std::shared_ptr<storage::environment> env,
                                           runtime::node_metrics* metrics) {
  CK_ASSERT(env != nullptr);
  CK_ASSERT(metrics != nullptr);
  self->state.env = std::move(env);
  self->state.metrics = metrics;
  // A stop request still commits what was accepted: those writers wait for an answer.
  self->set_exit_handler([=](caf::exit_msg& msg) {
    while (!self->state.pending.empty()) {
      flush(self);
    }
    self->quit(msg.reason);
  });
  return {
      [=](atoms::kv_set_atom, kv_set_request& request) {
        return enqueue(self, std::move(request));
      },
      [=](atoms::kv_del_atom, kv_delete_request& request) {
        return enqueue(self, std::move(request));
      },
      [=](atoms::flush_atom) { flush(self); },
  };
}

}  // namespace

storage_writer_actor spawn_storage_writer(caf::actor_system& sys,
                                          std::shared_ptr<storage::environment> env,
                                          runtime::node_metrics* metrics) {
  return sys.spawn<caf::detached>(writer, std::move(env), metrics);
}

}  // namespace ck::actors
