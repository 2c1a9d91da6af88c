#include "runtime/node/context.hpp"

#include "runtime/cluster/machine_command.hpp"
#include "storage/environment.hpp"
#include "storage/format.hpp"
#include "storage/table.hpp"

#include <algorithm>

namespace ck::node {

bool context::has_machine(std::string_view machine) const {
  return cluster::machine_slot(s_.machines, machine).has_value();
}

bool context::has_entity_type(std::string_view type) const {
  return std::find(s_.entity_types.begin(), s_.entity_types.end(), type) != s_.entity_types.end();
}

std::optional<std::string> context::query_here(std::string_view machine, std::string_view key,
                                              std::string_view query) const {
  if (!s_.local) {
    return std::nullopt;
  }
  const auto replicas = s_.local->current();
  const auto it = replicas->find(partition_of(key));
  if (it == replicas->end()) {
    return std::nullopt;
  }
  auto answer = it->second->query_concurrent(machine, query);
  if (!answer || !answer->ok) {
    return std::nullopt;
  }
  return std::move(answer->value);
}

local_page context::list_local(std::string_view machine, std::optional<uint32_t> partition,
                               const std::optional<std::string>& after, size_t limit) const {
  local_page out;
  const auto slot = cluster::machine_slot(s_.machines, machine);
  if (!slot) {
    out.error = "no state machine named \"" + std::string{machine} + "\"";
    return out;
  }
  const uint32_t last_partition = (1u << storage::table_partition_bits) - 1;
  const storage::table_range range =
      partition ? storage::table_range{storage::machine_table(*slot, *partition),
                                       storage::machine_table(*slot, *partition)}
                : storage::table_range{storage::machine_table(*slot, 0),
                                       storage::machine_table(*slot, last_partition)};
  auto txn = s_.env->begin_read();
  if (!txn.ok()) {
    out.error = txn.status().to_string();
    return out;
  }
  std::optional<storage::table_cursor_position> from;
  if (after) {
    from =
        storage::table_cursor_position{storage::machine_table(*slot, partition_of(*after)), *after};
  }
  auto page = storage::table_list(txn.value(), range, from,
                                  std::clamp<size_t>(limit, 1, storage::table_list_limit_max));
  auto count = storage::table_count_range(txn.value(), range);
  if (!page.ok() || !count.ok()) {
    out.error = (!page.ok() ? page.status() : count.status()).to_string();
    return out;
  }
  out.keys = std::move(page.value().keys);
  if (page.value().next) {
    out.next_after = std::move(page.value().next->key);
  }
  out.count = count.value();
  return out;
}

}  // namespace ck::node
