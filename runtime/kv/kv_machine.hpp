#pragma once

// The KV store as a state machine of the public API (runtime/node/state_machine.hpp): one
// instance per partition replica, its data in the machine's store (slot 0 of the stock binary,
// the layout the KV data had before machines existed).
//
// Command encoding (persisted in Raft entries: frozen; change only with a new version byte):
//   command = u8 version (1) | u8 op (1 set, 2 delete) | u32_be key length | key | value (rest)
//   result  = u8 existed (1: the key was there before)
// Query encoding: query = the key; answer = u8 found | value (when found).
// A malformed command changes nothing and answers "not existed".

#include "runtime/node/state_machine.hpp"

#include <optional>
#include <string>
#include <string_view>

namespace ck::kv {

/// The name the KV machine is registered under.
inline constexpr std::string_view machine_name = "kv";

std::string encode_set(std::string_view key, std::string_view value);
std::string encode_delete(std::string_view key);
/// A decoded command (views into the command bytes).
struct kv_command {
  enum class kind { set, erase };
  kind op = kind::set;
  std::string_view key;
  std::string_view value;  // set only
};

/// The command's operation, key and value; nullopt for a malformed command or an unknown op
/// (which the machine applies as "nothing changed").
std::optional<kv_command> decode_command(std::string_view command);

/// The result bytes say whether the key existed; nullopt for bytes that are not a result.
std::optional<bool> decode_existed(std::string_view result);
/// The value of a get answer; nullopt when the key was not found (or the bytes are no answer).
std::optional<std::string> decode_get(std::string_view answer);

class kv_machine final : public node::state_machine {
 public:
  std::string apply(node::machine_writer& store, std::string_view command) override;
  std::string query(const node::machine_store& store, std::string_view key) override;
  bool concurrent_queries() const override { return true; }  // a pure store lookup
};

}  // namespace ck::kv
