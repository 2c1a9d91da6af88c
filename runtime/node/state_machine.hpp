#pragma once

// PUBLIC API: replicated state machines.
//
// A state machine is deterministic code over a key-value store. Register its type once per
// binary (ck::node::extensions::register_state_machine); every partition's Raft group then
// hosts one instance of it beside the other registered machines. A command proposed for "the
// partition of key K" (ck::node::context::propose) is committed by that partition's group and
// applied by every replica's instance, in the same order; the proposer receives the result
// the leader's instance returned.
//
// Guarantees:
// - Durability: a proposal is answered only once its command is committed (on a majority of
//   the partition's replicas, fsynced) and applied on the answering replica. An acknowledged
//   command survives any minority of failed replicas.
// - Atomic batches: the commands of every machine that one Raft ready commits are applied in
//   ONE storage transaction, together with the partition's applied index. A crash never
//   leaves half a batch, and a restart re-applies exactly the commands that are missing.
// - Snapshots, moves, re-replication and restores copy the machine's store; the machine writes
//   no snapshot code. All of its durable state must therefore live in the store.
// - apply() may run more than once for the same command when the transaction is retried
//   (the storage map grew): keep no side effect outside the store.
// - query() runs after a ReadIndex round on the leader (linearizable) or on any replica's
//   current data (stale); it must not change anything.
//
// Example (the counter of examples/counter):
//
//   class counter final : public ck::node::state_machine {
//    public:
//     std::string apply(ck::node::machine_writer& store, std::string_view command) override {
//       auto now = std::stoll(store.get("n").value_or("0")) + std::stoll(std::string{command});
//       store.put("n", std::to_string(now));
//       return std::to_string(now);
//     }
//     std::string query(const ck::node::machine_store& store, std::string_view) override {
//       return store.get("n").value_or("0");
//     }
//   };

#include "runtime/cluster/state_machine.hpp"

namespace ck::node {

using cluster::applied_command;
using cluster::apply_listener;
using cluster::machine_store;
using cluster::machine_writer;
using cluster::state_machine;
using cluster::state_machine_factory;
using cluster::store_page;

}  // namespace ck::node
