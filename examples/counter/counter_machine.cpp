#include "counter_machine.hpp"

#include <charconv>

namespace counter {

std::string encode_add(std::string_view name, int64_t delta) {
  return "add " + std::to_string(delta) + "\n" + std::string{name};
}

// Deterministic, and all of its state is in the store: every replica reaches the same value.
std::string counter_machine::apply(ck::node::machine_writer& store, std::string_view command) {
  const auto newline = command.find('\n');
  if (command.substr(0, 4) != "add " || newline == std::string_view::npos) {
    return "error: unknown command";  // a committed command is answered, never a crash
  }
  int64_t delta = 0;
  const auto digits = command.substr(4, newline - 4);
  if (std::from_chars(digits.data(), digits.data() + digits.size(), delta).ec != std::errc{}) {
    return "error: bad delta";
  }
  const auto name = command.substr(newline + 1);
  int64_t value = 0;
  if (auto stored = store.get(name)) {
    std::from_chars(stored->data(), stored->data() + stored->size(), value);
  }
  value += delta;
  store.put(name, std::to_string(value));
  return std::to_string(value);
}

std::string counter_machine::query(const ck::node::machine_store& store, std::string_view name) {
  return store.get(name).value_or("0");
}

}  // namespace counter
