#include "runtime/kv/kv_machine.hpp"

#include "runtime/base/big_endian.hpp"

namespace ck::kv {

namespace {

constexpr uint8_t command_version = 1;
constexpr uint8_t op_set = 1;
constexpr uint8_t op_delete = 2;
constexpr size_t command_header_bytes = 6;

std::string encode(uint8_t op, std::string_view key, std::string_view value) {
  std::string out;
  out.reserve(command_header_bytes + key.size() + value.size());
  out.push_back(static_cast<char>(command_version));
  out.push_back(static_cast<char>(op));
  runtime::append_u32_be(out, static_cast<uint32_t>(key.size()));
  out.append(key);
  out.append(value);
  return out;
}

}  // namespace

std::string encode_set(std::string_view key, std::string_view value) {
  return encode(op_set, key, value);
}

std::string encode_delete(std::string_view key) { return encode(op_delete, key, {}); }

std::optional<bool> decode_existed(std::string_view result) {
  if (result.size() != 1 || static_cast<uint8_t>(result[0]) > 1) {
    return std::nullopt;
  }
  return result[0] == 1;
}

std::optional<std::string> decode_get(std::string_view answer) {
  if (answer.empty() || answer[0] != '\1') {
    return std::nullopt;
  }
  return std::string{answer.substr(1)};
}

std::optional<kv_command> decode_command(std::string_view command) {
  const bool well_formed =
      command.size() >= command_header_bytes &&
      static_cast<uint8_t>(command[0]) == command_version &&
      runtime::get_u32_be(command.data() + 2) <= command.size() - command_header_bytes;
  if (!well_formed) {
    return std::nullopt;
  }
  const uint8_t op = static_cast<uint8_t>(command[1]);
  if (op != op_set && op != op_delete) {
    return std::nullopt;
  }
  const size_t key_size = runtime::get_u32_be(command.data() + 2);
  kv_command out;
  out.op = op == op_set ? kv_command::kind::set : kv_command::kind::erase;
  out.key = command.substr(command_header_bytes, key_size);
  if (op == op_set) {
    out.value = command.substr(command_header_bytes + key_size);
  }
  return out;
}

std::string kv_machine::apply(node::machine_writer& store, std::string_view command) {
  const auto decoded = decode_command(command);
  if (!decoded) {
    return std::string(1, '\0');
  }
  bool existed = false;
  if (decoded->op == kv_command::kind::set) {
    existed = store.get(decoded->key).has_value();
    store.put(decoded->key, decoded->value);
  } else {
    existed = store.erase(decoded->key);
  }
  return std::string(1, existed ? '\1' : '\0');
}

std::string kv_machine::query(const node::machine_store& store, std::string_view key) {
  auto value = store.get(key);
  if (!value) {
    return std::string(1, '\0');
  }
  return '\1' + *value;
}

}  // namespace ck::kv
