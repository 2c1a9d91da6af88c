#pragma once

// The state machine that holds sharded entities' durable state ("ck.entities"), keyed by
// "type/id" in the partition of the id. Internal to runtime/node (entity.hpp is the API).
//
//   command = u8 version (1) | u64_be expected version | u16_be n | key (n bytes) | state
//   result  = "ok <new version>" | "conflict <current version>" | "error: ..."
//   stored  = u64_be version | state
//   query   = key ; answer = u8 found | u64_be version | state (when found)

#include "runtime/node/state_machine.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace ck::node::detail {

struct stored_entity {
  uint64_t version = 0;
  std::string state;
};

/// The query answer's entity; nullopt when never saved (or the bytes are no answer).
std::optional<stored_entity> decode_entity_answer(std::string_view answer);

class entity_machine final : public state_machine {
 public:
  std::string apply(machine_writer& store, std::string_view command) override;
  std::string query(const machine_store& store, std::string_view key) override;
};

}  // namespace ck::node::detail
