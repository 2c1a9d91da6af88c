// libFuzzer target: the meta group's command and snapshot decoders (runtime/cluster), which
// read Raft log entries and snapshot chunks received from other nodes. A decoded command
// encodes back to the same bytes; a decoded snapshot holds every invariant of meta_state.

#include "runtime/cluster/meta_state.hpp"

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view bytes{reinterpret_cast<const char*>(data), size};
  std::string error;
  ck::cluster::command cmd;
  if (ck::cluster::decode_command(bytes, cmd, error)) {
    if (ck::cluster::encode_command(cmd) != bytes) {
      std::abort();  // two encodings of one command: replicas could disagree on bytes
    }
  }
  ck::cluster::meta_state state;
  if (ck::cluster::decode_snapshot(bytes, state, error)) {
    if (!ck::cluster::find_invariant_violation(state).empty()) {
      std::abort();
    }
  }
  return 0;
}
