// The node-to-node wire format: frames cut at any byte boundary, the length bounds checked
// before anything is allocated, and the handshake that admits only holders of the cluster token.

#include "runtime/wire/frame.hpp"
#include "runtime/wire/handshake.hpp"

#include <doctest/doctest.h>

#include <iterator>
#include <string>
#include <vector>

using namespace ck::wire;

namespace {

std::vector<frame> read_all(frame_reader& reader) {
  std::vector<frame> out;
  frame f;
  while (reader.next(f) == frame_reader::status::frame) {
    out.push_back(f);
  }
  return out;
}

nonce filled(uint8_t value) {
  nonce n{};
  n.fill(value);
  return n;
}

handshake_options options(std::string name, std::string token, std::string cluster = "c1") {
  return handshake_options{std::move(name), std::move(cluster), std::move(token), ""};
}

// Runs a handshake between the two sides, frame by frame through frame_readers as a socket
// would; returns after both finished or one failed.
void run(handshake& dialer, handshake& acceptor) {
  frame_reader to_acceptor(handshake_body_bytes_max);
  frame_reader to_dialer(handshake_body_bytes_max);
  std::string bytes = dialer.opening();
  to_acceptor.feed(bytes.data(), bytes.size());
  for (int round = 0; round < 4; ++round) {  // a handshake is three frames
    frame f;
    std::string out;
    while (acceptor.current() == handshake::state::waiting &&
           to_acceptor.next(f) == frame_reader::status::frame) {
      acceptor.on_frame(f, out);
    }
    to_dialer.feed(out.data(), out.size());
    out.clear();
    while (dialer.current() == handshake::state::waiting &&
           to_dialer.next(f) == frame_reader::status::frame) {
      dialer.on_frame(f, out);
    }
    to_acceptor.feed(out.data(), out.size());
  }
}

}  // namespace

TEST_CASE("wire frames: many frames, fed one byte at a time, come out whole and in order") {
  std::string stream;
  append_frame(stream, frame_type::batch, "first");
  append_frame(stream, frame_type::request, "");
  append_frame(stream, frame_type::response, std::string(3000, 'x'));
  frame_reader reader(4096);
  std::vector<frame> got;
  for (char c : stream) {
    reader.feed(&c, 1);
    auto more = read_all(reader);
    got.insert(got.end(), more.begin(), more.end());
  }
  REQUIRE(got.size() == 3);
  CHECK(got[0].type == frame_type::batch);
  CHECK(got[0].body == "first");
  CHECK(got[1].type == frame_type::request);
  CHECK(got[1].body.empty());
  CHECK(got[2].body == std::string(3000, 'x'));
  CHECK(reader.buffered() == 0);
}

TEST_CASE("wire frames: a large body arriving in pieces comes out whole, frames around it too") {
  std::string large(3 * frame_reader::large_body_bytes + 17, '\0');
  for (size_t k = 0; k < large.size(); ++k) {
    large[k] = static_cast<char>('a' + k % 23);
  }
  std::string stream;
  append_frame(stream, frame_type::request, "before");
  append_frame(stream, frame_type::batch, large);
  append_frame(stream, frame_type::response, "after");
  append_frame(stream, frame_type::batch, large);
  frame_reader reader(1u << 20);
  std::vector<frame> got;
  size_t fed = 0;
  const size_t pieces[] = {3, 4000, 65536, 1, 100000, 7};  // then the rest in 9999s
  size_t turn = 0;
  while (fed < stream.size()) {
    const size_t n =
        std::min(stream.size() - fed, turn < std::size(pieces) ? pieces[turn] : size_t{9999});
    reader.feed(stream.data() + fed, n);
    fed += n;
    ++turn;
    auto more = read_all(reader);
    got.insert(got.end(), more.begin(), more.end());
    size_t out = 0;
    for (const frame& f : got) {
      out += frame_header_bytes + f.body.size();
    }
    REQUIRE(reader.buffered() <= fed - out);  // held: what came, less what was handed out
    REQUIRE(reader.buffered() + frame_header_bytes * 4 >= fed - out);
  }
  REQUIRE(got.size() == 4);
  CHECK(got[0].body == "before");
  CHECK(got[1].type == frame_type::batch);
  CHECK(got[1].body == large);
  CHECK(got[2].type == frame_type::response);
  CHECK(got[2].body == "after");
  CHECK(got[3].body == large);
  CHECK(reader.buffered() == 0);
}

TEST_CASE("wire frames: a header declaring more than the bound fails before its body arrives") {
  // The 4 GiB header of issue 13: refused on its 5 header bytes, nothing allocated for it.
  const char huge[] = {'\xff', '\xff', '\xff', '\xff', '\x10'};
  frame_reader reader(handshake_body_bytes_max);
  reader.feed(huge, sizeof huge);
  frame f;
  CHECK(reader.next(f) == frame_reader::status::error);
  CHECK(reader.why().find("4294967295") != std::string::npos);
  CHECK(reader.buffered() == sizeof huge);
  reader.feed("more", 4);  // broken for good: nothing more is buffered
  CHECK(reader.buffered() == sizeof huge);
  CHECK(reader.next(f) == frame_reader::status::error);
}

TEST_CASE("wire frames: an unknown type fails; the bound can be raised after the handshake") {
  const char unknown[] = {0, 0, 0, 0, 99};
  frame_reader bad(1024);
  bad.feed(unknown, sizeof unknown);
  frame f;
  CHECK(bad.next(f) == frame_reader::status::error);

  std::string stream;
  append_frame(stream, frame_type::batch, std::string(2000, 'b'));
  frame_reader reader(handshake_body_bytes_max);
  reader.feed(stream.data(), 7);
  CHECK(reader.next(f) == frame_reader::status::error);  // 2000 > 1024
  frame_reader raised(handshake_body_bytes_max);
  raised.set_max_body_bytes(1 << 20);
  raised.feed(stream.data(), stream.size());
  CHECK(raised.next(f) == frame_reader::status::frame);
  CHECK(f.body.size() == 2000);
}

TEST_CASE("wire handshake: two holders of the token authenticate each other") {
  auto dialer = handshake::dialer(options("node1", "secret"), "node2", filled(1));
  auto acceptor = handshake::acceptor(options("node2", "secret"), filled(2));
  run(dialer, acceptor);
  REQUIRE(dialer.current() == handshake::state::done);
  REQUIRE(acceptor.current() == handshake::state::done);
  CHECK(dialer.peer() == "node2");
  CHECK(acceptor.peer() == "node1");
  CHECK(acceptor.peer_cluster() == "c1");
}

TEST_CASE("wire handshake: a wrong token is refused at the hello; a forged proof too") {
  auto stranger = handshake::dialer(options("evil", "guess"), "", filled(1));
  auto node = handshake::acceptor(options("node2", "secret"), filled(2));
  run(stranger, node);
  // The stranger offers no key the acceptor holds: refused before any MAC is computed.
  CHECK(node.current() == handshake::state::failed);
  CHECK(node.why() == "evil holds none of this node's tokens");
  CHECK(stranger.current() == handshake::state::waiting);  // the transport's deadline ends it

  // A stranger that replays a member's hello (its key id) but cannot make the proof.
  auto node2 = handshake::acceptor(options("node2", "secret"), filled(2));
  std::string hello = handshake::dialer(options("node1", "secret"), "", filled(1)).opening();
  frame_reader reader(handshake_body_bytes_max);
  reader.feed(hello.data(), hello.size());
  frame f;
  REQUIRE(reader.next(f) == frame_reader::status::frame);
  std::string out;
  CHECK(node2.on_frame(f, out) == handshake::state::waiting);
  CHECK_FALSE(out.empty());  // its challenge
  std::string forged;
  append_frame(forged, frame_type::proof, std::string(32, '\0'));
  reader.feed(forged.data(), forged.size());
  REQUIRE(reader.next(f) == frame_reader::status::frame);
  CHECK(node2.on_frame(f, out) == handshake::state::failed);
  CHECK(node2.why() == "node1 does not hold this cluster's token");
}

TEST_CASE("wire handshake: while the token changes, old and new nodes still talk") {
  auto rotated = [](const char* name) {
    auto o = options(name, "new");
    o.previous_token = "old";
    return o;
  };
  // A restarted node (new, previous old) and one not yet restarted (old), either way round.
  auto d1 = handshake::dialer(rotated("node1"), "node2", filled(1));
  auto a1 = handshake::acceptor(options("node2", "old"), filled(2));
  run(d1, a1);
  CHECK(d1.current() == handshake::state::done);
  CHECK(a1.current() == handshake::state::done);
  auto d2 = handshake::dialer(options("node1", "old"), "node2", filled(1));
  auto a2 = handshake::acceptor(rotated("node2"), filled(2));
  run(d2, a2);
  CHECK(a2.current() == handshake::state::done);
  // Two restarted nodes use the new token; a node with only the new one meets an old one: no.
  auto d3 = handshake::dialer(rotated("node1"), "node2", filled(1));
  auto a3 = handshake::acceptor(rotated("node2"), filled(2));
  run(d3, a3);
  CHECK(a3.current() == handshake::state::done);
  auto d4 = handshake::dialer(options("node1", "new"), "node2", filled(1));
  auto a4 = handshake::acceptor(options("node2", "old"), filled(2));
  run(d4, a4);
  CHECK(a4.current() == handshake::state::failed);
}

TEST_CASE("wire handshake: a proof recorded from one connection does not open another") {
  // Capture a genuine dialer's proof for the acceptor's first nonce ...
  auto dialer = handshake::dialer(options("node1", "secret"), "", filled(1));
  auto first = handshake::acceptor(options("node2", "secret"), filled(2));
  run(dialer, first);
  REQUIRE(first.current() == handshake::state::done);
  // ... and replay hello and proof to an acceptor with a fresh nonce.
  auto again = handshake::dialer(options("node1", "secret"), "", filled(1));
  auto recorder = handshake::acceptor(options("node2", "secret"), filled(2));
  frame_reader r1(handshake_body_bytes_max);
  std::string hello = again.opening();
  r1.feed(hello.data(), hello.size());
  frame f;
  REQUIRE(r1.next(f) == frame_reader::status::frame);
  std::string challenge;
  recorder.on_frame(f, challenge);
  frame_reader r2(handshake_body_bytes_max);
  r2.feed(challenge.data(), challenge.size());
  REQUIRE(r2.next(f) == frame_reader::status::frame);
  std::string proof;
  again.on_frame(f, proof);  // the proof for nonce 2

  auto fresh = handshake::acceptor(options("node2", "secret"), filled(3));
  frame_reader r3(handshake_body_bytes_max);
  std::string stream = hello + proof;
  r3.feed(stream.data(), stream.size());
  std::string ignored;
  REQUIRE(r3.next(f) == frame_reader::status::frame);
  fresh.on_frame(f, ignored);
  REQUIRE(r3.next(f) == frame_reader::status::frame);
  CHECK(fresh.on_frame(f, ignored) == handshake::state::failed);
}

TEST_CASE("wire handshake: the wrong node, another cluster, another version, disorder") {
  auto dialer = handshake::dialer(options("node1", "t"), "node3", filled(1));
  auto acceptor = handshake::acceptor(options("node2", "t"), filled(2));
  run(dialer, acceptor);
  CHECK(dialer.current() == handshake::state::failed);
  CHECK(dialer.why() == "reached node2 instead of node3");

  auto other = handshake::dialer(options("node1", "t", "c2"), "", filled(1));
  auto mine = handshake::acceptor(options("node2", "t", "c1"), filled(2));
  run(other, mine);
  CHECK(mine.current() == handshake::state::failed);
  CHECK(mine.why() == "node1 is a node of cluster c2, this node is in c1");

  // A node not yet joined (no cluster id) may connect to any.
  auto joining = handshake::dialer(options("node4", "t", ""), "", filled(1));
  auto member = handshake::acceptor(options("node2", "t", "c1"), filled(2));
  run(joining, member);
  CHECK(member.current() == handshake::state::done);

  auto acceptor2 = handshake::acceptor(options("node2", "t"), filled(2));
  frame bad_version{frame_type::hello, std::string(1, '\x07')};
  std::string out;
  CHECK(acceptor2.on_frame(bad_version, out) == handshake::state::failed);
  CHECK(acceptor2.why() == "wire version 7 (this node speaks 1)");

  auto acceptor3 = handshake::acceptor(options("node2", "t"), filled(2));
  frame early{frame_type::batch, ""};
  CHECK(acceptor3.on_frame(early, out) == handshake::state::failed);
  CHECK(out.empty());

  auto acceptor4 = handshake::acceptor(options("node2", "t"), filled(2));
  frame truncated{frame_type::hello, std::string("\x01\x00\x05no", 5)};
  CHECK(acceptor4.on_frame(truncated, out) == handshake::state::failed);
  CHECK(acceptor4.why() == "a malformed hello");
}
