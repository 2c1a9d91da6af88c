// libFuzzer target: the decoders of what LMDB holds (storage/format): Raft log records, Raft
// state records, KV table entries, machine command envelopes; and the log engine's flush
// records (storage/flush_record). A damaged file must read as
// "corruption", never as a crash. The input is split into a key and a value at its first byte.

#include "runtime/cluster/machine_command.hpp"
#include "storage/flush_record.hpp"
#include "storage/format.hpp"

#include <cstddef>
#include <cstdint>
#include <string_view>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) {
    return 0;
  }
  const std::string_view input{reinterpret_cast<const char*>(data) + 1, size - 1};
  const size_t split = data[0] % (input.size() + 1);
  const std::string_view key = input.substr(0, split);
  const std::string_view value = input.substr(split);
  namespace s = ck::storage;
  ck::raft::entry entry;
  (void)s::raft_entry_decode(key, value, entry);
  (void)s::raft_entry_term(key, value);
  (void)s::raft_log_key_decode(key);
  (void)s::raft_state_key_decode(key);
  (void)s::raft_hard_state_decode(7, value);
  (void)s::raft_snapshot_meta_decode(7, value);
  (void)s::raft_first_index_decode(7, value);
  (void)s::table_key_decode(key);
  (void)s::table_entry_decode(key, value);
  (void)ck::cluster::decode_machine_command(input);
  (void)s::flush_record_decode(input);
  return 0;
}
