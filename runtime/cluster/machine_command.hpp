#pragma once

// How a command for one of a partition's state machines is carried in a Raft entry, and how a
// machine's name maps to its table slot. Persisted in Raft logs: frozen (change only with a new
// envelope version).
//
//   entry data = u8 envelope_version (0xCE) | u8 n (1..machine_name_bytes_max) | name (n bytes)
//                | command (the rest: the machine's own bytes, any length)
//
// Entries without the envelope (first byte != 0xCE) belong to the machine in slot 0. That is how
// the KV store's commands were written before machines existed, and how slot 0's commands are
// still written when they can be (encode_log_command): a node of the previous version (no
// machines, KV only) then reads the log of a mixed cluster exactly as before, so a rolling
// upgrade never makes replicas apply different commands.

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace ck::cluster {

inline constexpr uint8_t machine_envelope_version = 0xCE;
/// Longest machine name (also what the name check at registration allows).
inline constexpr size_t machine_name_bytes_max = 64;
/// Most machines one node registers (bounds the table slots of storage/format.hpp).
inline constexpr size_t machine_slots_max = 64;

struct machine_command {
  /// The machine's name; empty for a pre-envelope entry (slot 0).
  std::string_view machine;
  std::string_view command;
};

/// Wraps `command` for `machine`. Requires: valid_machine_name(machine).
std::string encode_machine_command(std::string_view machine, std::string_view command);

/// What a Raft entry carries for `command` of the machine in `slot` named `machine`: the bare
/// command for slot 0 when that cannot be mistaken for an envelope (non-empty, first byte not
/// 0xCE; an empty entry is a leader's no-op), else the envelope.
std::string encode_log_command(uint16_t slot, std::string_view machine, std::string_view command);

/// Splits entry data; nullopt for an envelope that is cut short. Views point into `data`.
std::optional<machine_command> decode_machine_command(std::string_view data);

/// A name is 1..machine_name_bytes_max bytes of [a-z0-9_.-].
bool valid_machine_name(std::string_view name);

/// The slot of `name` in `registered` (registration order), nullopt when not registered.
std::optional<uint16_t> machine_slot(const std::vector<std::string>& registered,
                                     std::string_view name);

/// Why `registered` cannot run over a DATA_DIR whose data was written with the machines
/// `stored` (slots are positions, so `stored` must be a prefix of `registered`); "" when it
/// can.
std::string machine_slots_mismatch(const std::vector<std::string>& stored,
                                   const std::vector<std::string>& registered);

}  // namespace ck::cluster
