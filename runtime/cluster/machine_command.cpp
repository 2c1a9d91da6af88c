#include "runtime/cluster/machine_command.hpp"

#include "runtime/base/assert.hpp"

#include <algorithm>

namespace ck::cluster {

std::string encode_machine_command(std::string_view machine, std::string_view command) {
  CK_ASSERT(valid_machine_name(machine));
  std::string out;
  out.reserve(2 + machine.size() + command.size());
  out.push_back(static_cast<char>(machine_envelope_version));
  out.push_back(static_cast<char>(machine.size()));
  out.append(machine);
  out.append(command);
  return out;
}

std::string encode_log_command(uint16_t slot, std::string_view machine,
                               std::string_view command) {
  if (slot == 0 && !command.empty() &&
      static_cast<uint8_t>(command[0]) != machine_envelope_version) {
    return std::string{command};
  }
  return encode_machine_command(machine, command);
}

std::optional<machine_command> decode_machine_command(std::string_view data) {
  if (data.empty() || static_cast<uint8_t>(data[0]) != machine_envelope_version) {
    return machine_command{std::string_view{}, data};
  }
  if (data.size() < 2) {
    return std::nullopt;
  }
  const size_t n = static_cast<uint8_t>(data[1]);
  if (n == 0 || data.size() - 2 < n) {
    return std::nullopt;
  }
  return machine_command{data.substr(2, n), data.substr(2 + n)};
}

bool valid_machine_name(std::string_view name) {
  if (name.empty() || name.size() > machine_name_bytes_max) {
    return false;
  }
  return std::all_of(name.begin(), name.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '.' || c == '-';
  });
}

std::optional<uint16_t> machine_slot(const std::vector<std::string>& registered,
                                     std::string_view name) {
  for (size_t i = 0; i < registered.size(); ++i) {
    if (registered[i] == name) {
      return static_cast<uint16_t>(i);
    }
  }
  return std::nullopt;
}

namespace {

std::string joined(const std::vector<std::string>& names) {
  std::string out;
  for (const auto& name : names) {
    out += out.empty() ? name : "," + name;
  }
  return "[" + out + "]";
}

}  // namespace

std::string machine_slots_mismatch(const std::vector<std::string>& stored,
                                   const std::vector<std::string>& registered) {
  const bool prefix = stored.size() <= registered.size() &&
                      std::equal(stored.begin(), stored.end(), registered.begin());
  if (prefix) {
    return "";
  }
  return "DATA_DIR holds data of the state machines " + joined(stored) +
         " but this binary registers " + joined(registered) +
         " (register the same machines in the same order; new ones only at the end)";
}

}  // namespace ck::cluster
