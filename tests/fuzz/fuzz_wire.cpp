// libFuzzer target: the node-to-node port's first bytes (runtime/wire): the frame reader and
// the handshake, on both sides, fed whatever a stranger sends, cut into reads at the sizes the
// input's first byte picks. No frame beyond the bound is handed out, the reader never holds
// more than one frame plus a read, and a side that has not seen a valid proof never admits.

#include "runtime/wire/frame.hpp"
#include "runtime/wire/handshake.hpp"

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>

namespace {

using namespace ck::wire;

void run(const uint8_t* data, size_t size, bool dialer) {
  const size_t read_bytes = size == 0 ? 1 : std::max<size_t>(1, data[0]);
  nonce mine{};
  mine.fill(7);
  handshake_options options{"node-1", "cluster", "secret", ""};
  handshake side = dialer ? handshake::dialer(options, "node-2", mine)
                          : handshake::acceptor(options, mine);
  frame_reader reader(handshake_body_bytes_max);
  for (size_t pos = 1; pos < size; pos += read_bytes) {
    const size_t n = std::min(read_bytes, size - pos);
    reader.feed(reinterpret_cast<const char*>(data + pos), n);
    if (reader.buffered() > frame_header_bytes + handshake_body_bytes_max + n) {
      std::abort();  // the reader holds more than a frame and a read
    }
    frame f;
    while (reader.next(f) == frame_reader::status::frame) {
      if (f.body.size() > handshake_body_bytes_max) {
        std::abort();
      }
      std::string out;
      if (side.on_frame(f, out) == handshake::state::done && !dialer) {
        // The acceptor admits only a proof made with the token: the stranger's input cannot
        // hold one for a nonce it never saw (7s, but the MAC also binds the names).
        std::abort();
      }
    }
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  run(data, size, false);
  run(data, size, true);
  return 0;
}
