#include "runtime/node/context.hpp"

#include "runtime/cluster/machine_command.hpp"
#include "storage/environment.hpp"
#include "storage/format.hpp"
#include "storage/table.hpp"
#include "storage/table_overlay.hpp"

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
  std::optional<storage::table_cursor_position> from;
  if (after) {
    from =
        storage::table_cursor_position{storage::machine_table(*slot, partition_of(*after)), *after};
  }
  const size_t page_limit = std::clamp<size_t>(limit, 1, storage::table_list_limit_max);
  // Without an overlay one pass; with one, the overlay's reader protocol
  // (storage/table_overlay.hpp): its committed generation before the transaction, retried
  // while a checkpoint drops changes under the reader (rare: checkpoints are 50 ms apart).
  for (int attempt = 0; attempt < 16; ++attempt) {
    const uint64_t seen = s_.overlay ? s_.overlay->committed_generation() : 0;
    auto txn = s_.env->begin_read();
    if (!txn.ok()) {
      out.error = txn.status().to_string();
      return out;
    }
    auto stored_page = [&](const std::optional<storage::table_cursor_position>& at, size_t n) {
      return storage::table_list(txn.value(), range, at, n);
    };
    auto count = storage::table_count_range(txn.value(), range);
    if (!count.ok()) {
      out.error = count.status().to_string();
      return out;
    }
    std::optional<storage::result<storage::table_page>> page;
    std::optional<storage::result<int64_t>> count_change = storage::result<int64_t>(0);
    if (!s_.overlay) {
      page = stored_page(from, page_limit);
    } else {
      const uint16_t machine_slot = *slot;
      page = s_.overlay->list(range, from, page_limit, seen, stored_page,
                              [this, machine_slot](std::string_view key) {
                                return storage::machine_table(machine_slot, partition_of(key));
                              });
      count_change = s_.overlay->count_change(
          range, seen, [&](uint32_t table, const std::string& key) -> storage::result<bool> {
            auto held = storage::table_get(txn.value(), table, key);
            if (!held.ok()) {
              return held.status();
            }
            return held.value().has_value();
          });
    }
    if (!page || !count_change) {
      continue;  // a checkpoint dropped changes this transaction may predate
    }
    if (!page->ok() || !count_change->ok()) {
      out.error = (!page->ok() ? page->status() : count_change->status()).to_string();
      return out;
    }
    out.keys = std::move(page->value().keys);
    if (page->value().next) {
      out.next_after = std::move(page->value().next->key);
    }
    out.count = static_cast<uint64_t>(static_cast<int64_t>(count.value()) + count_change->value());
    return out;
  }
  out.error = "busy: the listing kept overlapping storage checkpoints; try again";
  return out;
}

}  // namespace ck::node
