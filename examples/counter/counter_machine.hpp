#pragma once

// A replicated counter: named 64-bit counters, each stored under its name in the machine's
// store of the partition that owns the name. Commands and answers are text, so they are easy
// to read in a log:
//   command "add <delta>\n<name>"  -> the counter's new value, or "error: ..." for bad input
//   query   "<name>"               -> the counter's value ("0" when it was never added to)

#include <runtime/node/state_machine.hpp>

#include <cstdint>
#include <string>
#include <string_view>

namespace counter {

inline constexpr std::string_view machine_name = "counter";

std::string encode_add(std::string_view name, int64_t delta);

class counter_machine final : public ck::node::state_machine {
 public:
  std::string apply(ck::node::machine_writer& store, std::string_view command) override;
  std::string query(const ck::node::machine_store& store, std::string_view name) override;
};

}  // namespace counter
