#pragma once

// Typed values as the bytes of a service call (actors/messages.hpp service_call::payload).
//
// The built-in control-plane services that cross the node-to-node transport ("ck.join",
// "ck.meta", "ck.probe") ride the same generic named-service relay as user services, so the
// transport needs no relay of its own per request type. Their requests and replies are written
// with CAF's binary serializer and the type's `inspect` (the same encoding the transport uses
// for its frames), which needs no actor system for types without actor handles.

#include "actors/errc.hpp"
#include "runtime/base/assert.hpp"

#include <caf/binary_deserializer.hpp>
#include <caf/binary_serializer.hpp>
#include <caf/expected.hpp>

#include <string>
#include <vector>

namespace ck::actors {

template <class T>
std::string encode_wire(T value) {
  std::vector<char> bytes;
  caf::binary_serializer sink{static_cast<caf::execution_unit*>(nullptr), bytes};
  auto err = sink(value);
  CK_ASSERT(!err);  // writing into a vector cannot fail for these plain types
  return std::string(bytes.begin(), bytes.end());
}

/// The value, or errc::invalid_argument if the bytes are not exactly one T (a peer running
/// another version, or a corrupted call).
template <class T>
caf::expected<T> decode_wire(const std::string& bytes) {
  T value;
  caf::binary_deserializer source{static_cast<caf::execution_unit*>(nullptr), bytes.data(),
                                  bytes.size()};
  if (auto err = source(value); err || source.remaining() != 0) {
    return caf::make_error(errc::invalid_argument, "undecodable service call payload");
  }
  return value;
}

}  // namespace ck::actors
