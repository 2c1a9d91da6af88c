// runtime/io/eager_socket.hpp: a broker's flushes go straight to the socket while it has room,
// and queue behind CAF's stream once it has not, so the peer reads every byte in write order.

#include "runtime/io/eager_socket.hpp"

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/io/broker.hpp>
#include <caf/io/middleman.hpp>
#include <caf/send.hpp>

#include <doctest/doctest.h>

#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstdint>
#include <cstring>
#include <string>
#include <future>
#include <memory>
#include <vector>

namespace {

using namespace std::chrono_literals;

constexpr uint32_t chunk_count = 100;
constexpr size_t chunk_bytes = 64 * 1024;  // more than the socket holds

using next_chunk_atom = caf::atom_constant<caf::atom("nextchunk")>;

// Chunk i is its index repeated: a reordered, lost or doubled byte shows.
std::vector<char> chunk(uint32_t i) {
  std::vector<char> bytes(chunk_bytes);
  for (size_t at = 0; at + sizeof i <= bytes.size(); at += sizeof i) {
    std::memcpy(bytes.data() + at, &i, sizeof i);
  }
  return bytes;
}

// Drains what the socket holds without waiting.
void drain(int fd, std::string& into) {
  char buf[4096];
  ssize_t n = 0;
  while ((n = ::recv(fd, buf, sizeof buf, MSG_DONTWAIT)) > 0) {
    into.append(buf, static_cast<size_t>(n));
  }
}

// Writes two chunks a turn and empties the peer's end of the socket after each flush, in the
// same turn: the second flush then finds room in the socket while CAF's stream still holds the
// first chunk's tail (an eager send then would overtake it). Reading here, on the multiplexer
// thread, fixes the order of reads and writes; the pause between turns lets the multiplexer
// write what its stream holds (a broker's messages to itself do not return to the poller).
caf::behavior writer(caf::io::broker* self, int fd, int peer,
                     std::shared_ptr<std::promise<std::string>> done) {
  const auto hdl = ck::io::add_eager_scribe(self, fd);
  auto got = std::make_shared<std::string>();
  self->send(self, next_chunk_atom::value, uint32_t{0});
  return {
      [=](next_chunk_atom, uint32_t i) {
        for (uint32_t c = i; c < i + 2 && c < chunk_count; ++c) {
          const auto bytes = chunk(c);
          self->write(hdl, bytes.size(), bytes.data());
          self->flush(hdl);
          drain(peer, *got);
        }
        drain(peer, *got);
        // Bounded: the rest of the bytes arrive within 10,000 more turns (2 s) or never.
        if (got->size() >= chunk_count * chunk_bytes || i > chunk_count + 20'000) {
          done->set_value(*got);
          return;
        }
        self->delayed_send(self, std::chrono::microseconds(200), next_chunk_atom::value, i + 2);
      },
      [](const caf::io::connection_closed_msg&) {},
      [](const caf::io::new_data_msg&) {},
  };
}

}  // namespace

TEST_CASE("eager socket: a flushing broker's bytes all arrive, in order, past a full socket") {
  int fds[2];
  REQUIRE(::socketpair(AF_UNIX, SOCK_STREAM, 0, fds) == 0);
  const int small = 16 * 1024;  // a chunk does not fit: its tail goes CAF's way
  REQUIRE(::setsockopt(fds[0], SOL_SOCKET, SO_SNDBUF, &small, sizeof small) == 0);

  caf::actor_system_config cfg;
  cfg.load<caf::io::middleman>();
  cfg.set("logger.verbosity", caf::atom("quiet"));
  caf::actor_system sys{cfg};
  auto done = std::make_shared<std::promise<std::string>>();
  auto result = done->get_future();
  auto broker = sys.middleman().spawn_broker(writer, fds[0], fds[1], done);
  REQUIRE_MESSAGE(result.wait_for(20s) == std::future_status::ready, "the writer hangs");
  const std::string got = result.get();
  caf::anon_send_exit(broker, caf::exit_reason::user_shutdown);
  ::close(fds[1]);

  REQUIRE(got.size() == chunk_count * chunk_bytes);
  for (uint32_t i = 0; i < chunk_count; ++i) {
    const auto expected = chunk(i);
    const bool same = std::memcmp(got.data() + i * chunk_bytes, expected.data(), chunk_bytes) == 0;
    REQUIRE_MESSAGE(same, "chunk " << i << " differs");
  }
}
