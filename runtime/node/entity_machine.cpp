#include "runtime/node/entity_machine.hpp"

#include "runtime/node/entity.hpp"
#include "runtime/base/big_endian.hpp"

#include <charconv>

namespace ck::node {

namespace {

constexpr uint8_t command_version = 1;
constexpr size_t command_header_bytes = 1 + 8 + 2;

std::string stored_bytes(uint64_t version, std::string_view state) {
  std::string out;
  runtime::append_u64_be(out, version);
  out.append(state);
  return out;
}

}  // namespace

std::string entity_context::encode_save(std::string_view type, std::string_view id,
                                        uint64_t expected_version, std::string_view state) {
  const std::string key = std::string{type} + "/" + std::string{id};
  std::string out(1, static_cast<char>(command_version));
  runtime::append_u64_be(out, expected_version);
  runtime::append_u16_be(out, static_cast<uint16_t>(key.size()));
  out.append(key);
  out.append(state);
  return out;
}

bool entity_context::decode_saved(std::string_view result, uint64_t& version) {
  constexpr std::string_view ok = "ok ";
  if (result.substr(0, ok.size()) != ok) {
    return false;
  }
  const auto digits = result.substr(ok.size());
  return std::from_chars(digits.data(), digits.data() + digits.size(), version).ec == std::errc{};
}

namespace detail {

std::optional<stored_entity> decode_entity_answer(std::string_view answer) {
  if (answer.size() < 9 || answer[0] != '\1') {
    return std::nullopt;
  }
  return stored_entity{runtime::get_u64_be(answer.data() + 1), std::string{answer.substr(9)}};
}

std::string entity_machine::apply(machine_writer& store, std::string_view command) {
  if (command.size() < command_header_bytes ||
      static_cast<uint8_t>(command[0]) != command_version) {
    return "error: not an entity command";
  }
  const uint64_t expected = runtime::get_u64_be(command.data() + 1);
  const size_t key_size = runtime::get_u16_be(command.data() + 9);
  if (command.size() - command_header_bytes < key_size || key_size == 0) {
    return "error: not an entity command";
  }
  const auto key = command.substr(command_header_bytes, key_size);
  const auto state = command.substr(command_header_bytes + key_size);
  uint64_t current = 0;
  if (auto stored = store.get(key); stored && stored->size() >= 8) {
    current = runtime::get_u64_be(stored->data());
  }
  if (current != expected) {
    return "conflict " + std::to_string(current);
  }
  store.put(key, stored_bytes(current + 1, state));
  return "ok " + std::to_string(current + 1);
}

std::string entity_machine::query(const machine_store& store, std::string_view key) {
  auto stored = store.get(key);
  if (!stored || stored->size() < 8) {
    return std::string(1, '\0');
  }
  return '\1' + *stored;
}

}  // namespace detail
}  // namespace ck::node
