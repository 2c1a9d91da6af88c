// libFuzzer target: the Raft messages as they arrive from another node (actors/raft_wire.hpp,
// CAF's binary format): a raft_batch and a snapshot_chunk are decoded from the input. The
// decoder must reject or accept any bytes without crashing or allocating what the input only
// claims; a decoded batch encodes back and decodes to the same bytes.

#include "actors/raft_wire.hpp"

#include <caf/binary_deserializer.hpp>
#include <caf/binary_serializer.hpp>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <vector>

namespace {

template <class T>
void round_trip(const uint8_t* data, size_t size) {
  T value;
  caf::binary_deserializer source{static_cast<caf::execution_unit*>(nullptr),
                                  reinterpret_cast<const char*>(data), size};
  if (source(value)) {
    return;  // rejected
  }
  std::vector<char> first;
  caf::binary_serializer sink{static_cast<caf::execution_unit*>(nullptr), first};
  if (sink(value)) {
    std::abort();  // a value we decoded must encode
  }
  T again;
  caf::binary_deserializer reread{static_cast<caf::execution_unit*>(nullptr), first};
  std::vector<char> second;
  caf::binary_serializer resink{static_cast<caf::execution_unit*>(nullptr), second};
  if (reread(again) || resink(again) || first != second) {
    std::abort();
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  round_trip<ck::actors::raft_batch>(data, size);
  round_trip<ck::actors::snapshot_chunk>(data, size);
  return 0;
}
