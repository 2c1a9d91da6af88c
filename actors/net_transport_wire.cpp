// The node transport over ClusterKit's own frames (runtime/wire, actors/wire_hub.hpp): how
// batches and calls become frames and back, which connection with a peer is used, and the
// calls waiting for their answers. The peers, queues and failure detection are in
// net_transport.cpp.
//
//   batch frame     the serialized raft_batch; its from_node must be the connection's
//                   authenticated peer (else dropped and counted)
//   request frame   u64_be id | u8 kind | the serialized request
//   response frame  u64_be id | u8 ok (1) or error (0) | the serialized reply or caf::error

#include "actors/errc.hpp"
#include "actors/net_transport_state.hpp"
#include "actors/wire_hub.hpp"
#include "runtime/base/big_endian.hpp"
#include "runtime/base/log.hpp"
#include "runtime/base/metrics.hpp"
#include "runtime/wire/frame.hpp"

#include <caf/actor_system.hpp>
#include <caf/binary_deserializer.hpp>
#include <caf/serializer_impl.hpp>
#include <caf/stateful_actor.hpp>

#include <algorithm>
#include <utility>

namespace ck::actors::transport_detail {

namespace {

using namespace std::chrono_literals;

// A relayed call whose connection stays up but that gets no answer is failed after this (the
// callers' own deadlines are far shorter; this only bounds the table).
constexpr auto call_timeout = 60s;

enum class call_kind : uint8_t { partition = 1, service = 2, snapshot_chunk = 3 };

constexpr size_t call_prefix_bytes = 9;  // u64 id | u8 kind (or ok)

// About the bytes `values` serialize to, for sizing a frame up front: an append to a learner
// catching up carries megabytes, and serializing it into a buffer that grows as it goes
// copied it over and over (with the copy into the frame after it, a fifth of the sending
// node's I/O thread during a join's move). Exact for nothing; only the large parts count.
size_t serialized_bytes_about(const raft_batch& batch) {
  size_t bytes = 64 + batch.from_node.size() + batch.cluster_id.size();
  for (const raft::message& m : batch.messages) {
    bytes += 96 + m.context.size() + m.snap.data.size() + 16 * m.snap.meta.conf.voters.size();
    for (const raft::entry& e : m.entries) {
      bytes += 32 + e.data.size();
    }
  }
  return bytes;
}
size_t serialized_bytes_about(const snapshot_chunk& chunk) { return 256 + chunk.data.size(); }
template <class T>
size_t serialized_bytes_about(const T&) {
  return 256;
}

// One frame of `type` in `out`: the header, `prefix`, then `value` serialized with CAF's
// binary serializer straight into the frame (the header is written last, once the body's size
// is known).
template <class T>
bool encode_frame(caf::actor_system& sys, wire::frame_type type, const std::string& prefix,
                  std::string& out, T& value) {
  out.clear();
  out.reserve(wire::frame_header_bytes + prefix.size() + serialized_bytes_about(value));
  out.resize(wire::frame_header_bytes);
  out += prefix;
  caf::serializer_impl<std::string> sink{sys, out};
  if (auto err = sink(value)) {
    return false;
  }
  wire::put_frame_header(out.data(), type, out.size() - wire::frame_header_bytes);
  return true;
}

template <class T>
bool decode(caf::actor_system& sys, const char* data, size_t size, T& out) {
  caf::binary_deserializer source{sys, data, size};
  return !source(out);
}

std::string call_prefix(uint64_t id, uint8_t kind) {
  std::string prefix;
  runtime::append_u64_be(prefix, id);
  prefix.push_back(static_cast<char>(kind));
  return prefix;
}

// The outbox of connection `conn`, or st.outboxes.end().
std::vector<outbox>::iterator find_outbox(net_transport_state& st, const caf::actor& conn) {
  return std::find_if(st.outboxes.begin(), st.outboxes.end(),
                      [&](const outbox& o) { return o.conn == conn; });
}

// A frame at least this large goes to the connection as a message of its own rather than
// being copied behind the small frames waiting for it (a learner's catch-up appends are MBs).
constexpr size_t frame_copy_bytes_max = 64 * 1024;

// Sends what waits for `conn` (emptied), then `frame`: one write when `frame` is small.
void send_with_outbox(pointer self, const caf::actor& conn, std::string&& frame) {
  auto& st = self->state;
  auto box = find_outbox(st, conn);
  if (box != st.outboxes.end()) {
    std::string waiting = std::move(box->bytes);
    st.outboxes.erase(box);
    if (frame.size() < frame_copy_bytes_max) {
      waiting += frame;
      frame = std::move(waiting);
    } else {
      self->send(conn, wire_write_atom::value, std::move(waiting));
    }
  }
  self->send(conn, wire_write_atom::value, std::move(frame));
}

// Queues `frame` for connection `conn` until this burst's flush (schedule_flush): the calls
// and answers of a burst, and its batch frame, leave as one write. A large frame (a snapshot
// chunk) leaves at once instead: a burst of them appended into one outbox grew it by
// reallocation, a copy and fresh pages (page faults) per doubling.
void send_later(pointer self, const caf::actor& conn, std::string&& frame) {
  if (frame.size() >= frame_copy_bytes_max) {
    send_with_outbox(self, conn, std::move(frame));
    return;
  }
  auto& st = self->state;
  auto box = find_outbox(st, conn);
  if (box == st.outboxes.end()) {
    st.outboxes.push_back(outbox{conn, std::move(frame)});
  } else {
    box->bytes += frame;
  }
  schedule_flush(self);
}

template <class Reply, class Request>
caf::result<Reply> relay(pointer self, peer& p, call_kind kind, Request& request) {
  auto& st = self->state;
  const uint64_t id = ++st.next_call;
  std::string frame;
  if (!encode_frame(self->system(), wire::frame_type::request,
                    call_prefix(id, static_cast<uint8_t>(kind)), frame, request)) {
    return caf::make_error(errc::internal, "cannot encode a call for " + p.name);
  }
  auto promise = self->make_response_promise<Reply>();
  pending_call call;
  call.conn = p.handle.address();
  call.deadline = std::chrono::steady_clock::now() + call_timeout;
  call.reply = [self, promise](const char* data, size_t size) mutable {
    Reply reply;
    if (!decode(self->system(), data, size, reply)) {
      promise.deliver(caf::make_error(errc::internal, "an undecodable answer"));
      return;
    }
    promise.deliver(std::move(reply));
  };
  call.fail = [promise](caf::error error) mutable { promise.deliver(std::move(error)); };
  st.calls.emplace(id, std::move(call));
  send_later(self, p.handle, std::move(frame));
  return promise;
}

// Answers call `id` of the peer on `conn` with `value` (or the error).
template <class T>
void respond(pointer self, const caf::actor& conn, uint64_t id, T& value) {
  std::string frame;
  if (!encode_frame(self->system(), wire::frame_type::response, call_prefix(id, 1), frame,
                    value)) {
    caf::error failure = caf::make_error(errc::internal, "cannot encode the answer");
    encode_frame(self->system(), wire::frame_type::response, call_prefix(id, 0), frame, failure);
  }
  send_later(self, conn, std::move(frame));
}

void respond_error(pointer self, const caf::actor& conn, uint64_t id, caf::error error) {
  std::string frame;
  if (encode_frame(self->system(), wire::frame_type::response, call_prefix(id, 0), frame, error)) {
    send_later(self, conn, std::move(frame));
  }
}

void count_bad_frame(pointer self) {
  if (auto* bad = self->state.options.counters.bad_frames; bad != nullptr) {
    bad->add();
  }
}

// Hands a decoded call to the local actor that runs it and answers on `conn` with its reply.
template <class Reply, class Handle, class Atom, class Request, class... More>
void run_on(pointer self, const caf::actor& conn, uint64_t id, const Handle& target, Atom atom,
            Request& request, const More&... more) {
  self->request(target, caf::infinite, atom, std::move(request), more...)
      .then([self, conn, id](Reply& reply) { respond(self, conn, id, reply); },
            [self, conn, id](caf::error& error) { respond_error(self, conn, id, error); });
}

// Runs a call that arrived from a peer on this node.
void run_call(pointer self, const caf::actor& conn, const std::string& peer_name, uint64_t id,
              call_kind kind, const char* data, size_t size) {
  auto& st = self->state;
  auto undecodable = [&] {
    count_bad_frame(self);
    respond_error(self, conn, id, caf::make_error(errc::invalid_argument, "undecodable call"));
  };
  switch (kind) {
    case call_kind::partition: {
      partition_request request;
      if (!decode(self->system(), data, size, request)) {
        return undecodable();
      }
      if (!st.partition_handler) {
        return respond_error(self, conn, id,
                             caf::make_error(errc::not_ready,
                                             "this node is not serving partitions yet"));
      }
      run_on<partition_reply>(self, conn, id, st.partition_handler,
                              atoms::partition_route_atom_v, request, peer_name);
      return;
    }
    case call_kind::service: {
      service_call call;
      if (!decode(self->system(), data, size, call)) {
        return undecodable();
      }
      auto handler = st.services.find(call.service);
      if (handler == st.services.end()) {
        return respond_error(self, conn, id,
                             caf::make_error(errc::not_found,
                                             "no service named \"" + call.service + "\" on " +
                                                 st.options.node_name));
      }
      run_on<std::string>(self, conn, id, handler->second, atoms::service_call_atom_v, call);
      return;
    }
    case call_kind::snapshot_chunk: {
      snapshot_chunk chunk;
      if (!decode(self->system(), data, size, chunk)) {
        return undecodable();
      }
      auto local = st.routes.find({chunk.group, chunk.to});
      if (local == st.routes.end()) {
        return respond_error(self, conn, id,
                             caf::make_error(errc::no_leader, "the snapshot's target is not here"));
      }
      run_on<uint64_t>(self, conn, id, local->second, atoms::snapshot_chunk_atom_v, chunk);
      return;
    }
  }
  count_bad_frame(self);
  respond_error(self, conn, id, caf::make_error(errc::invalid_argument, "unknown call kind"));
}

void on_response(pointer self, uint64_t id, bool ok, const char* data, size_t size) {
  auto& st = self->state;
  auto it = st.calls.find(id);
  if (it == st.calls.end()) {
    return;  // failed already (deadline) or not ours
  }
  auto call = std::move(it->second);
  st.calls.erase(it);
  if (ok) {
    call.reply(data, size);
    return;
  }
  caf::error error;
  if (!decode(self->system(), data, size, error)) {
    count_bad_frame(self);
    error = caf::make_error(errc::internal, "an undecodable error answer");
  }
  call.fail(std::move(error));
}

// Removes the link of connection `conn` from `links`; false if it is not there.
bool erase_link(std::vector<wire_link>& links, const caf::actor_addr& conn) {
  auto link = std::find_if(links.begin(), links.end(),
                           [&](const wire_link& l) { return l.conn.address() == conn; });
  if (link == links.end()) {
    return false;
  }
  links.erase(link);
  return true;
}

// Makes the preferred link (else any) the one batches and calls go out on.
void choose_link(peer& p) {
  if (p.links.empty()) {
    return;
  }
  auto best = std::find_if(p.links.begin(), p.links.end(),
                           [](const wire_link& l) { return l.preferred; });
  if (best == p.links.end()) {
    best = p.links.begin();
  }
  if (p.handle == best->conn) {
    return;
  }
  if (!p.handle) {
    ++p.stats.connects;
  }
  p.handle = best->conn;  // monitored since wire_on_up, as every link
  p.backoff = std::chrono::milliseconds{0};
  p.waited_for_peer = false;
  p.stats.connected = true;
}

}  // namespace

void wire_send_batch(pointer self, peer& p, raft_batch& batch) {
  std::string frame;
  if (!encode_frame(self->system(), wire::frame_type::batch, std::string{}, frame, batch)) {
    CK_LOG_WARN("transport: cannot encode a batch for {}", p.name);
    return;
  }
  send_with_outbox(self, p.handle, std::move(frame));
}

void wire_send_outboxes(pointer self) {
  for (auto& box : self->state.outboxes) {
    self->send(box.conn, wire_write_atom::value, std::move(box.bytes));
  }
  self->state.outboxes.clear();
}

void wire_connect(pointer self, peer& p) {
  auto& st = self->state;
  wire_dial(self->system(), st.wire, caf::actor_cast<caf::actor>(self), p.host, p.port, p.name,
            p.generation, st.options.connect_timeout);
}

caf::result<partition_reply> wire_relay(pointer self, peer& p, partition_request& request) {
  return relay<partition_reply>(self, p, call_kind::partition, request);
}

caf::result<std::string> wire_relay(pointer self, peer& p, service_call& call) {
  return relay<std::string>(self, p, call_kind::service, call);
}

caf::result<uint64_t> wire_relay(pointer self, peer& p, snapshot_chunk& chunk) {
  return relay<uint64_t>(self, p, call_kind::snapshot_chunk, chunk);
}

void wire_on_up(pointer self, const std::string& peer_name, const std::string& peer_cluster,
                caf::actor conn, bool dialed, uint64_t generation) {
  auto& st = self->state;
  auto it = st.peers.find(peer_name);
  if (it == st.peers.end()) {
    // Not a peer this node knows (yet): a joining node. Its batches and calls are served
    // (a new learner answers its leader); batches go out to it once it is a peer, on a link
    // of its own.
    CK_LOG_DEBUG("transport: {} (cluster {}) connected; not a known peer", peer_name,
                 peer_cluster.empty() ? "none yet" : peer_cluster);
    self->monitor(conn);
    const bool preferred = dialed == (st.options.node_name < peer_name);
    st.strays[peer_name].push_back(wire_link{std::move(conn), preferred});
    return;
  }
  auto& p = it->second;
  if (dialed && p.generation == generation) {
    p.connecting = false;
  }
  // Both sides prefer the connection dialed by the node whose name sorts first.
  const bool preferred = dialed == (st.options.node_name < p.name);
  p.links.push_back(wire_link{conn, preferred});
  self->monitor(conn);
  const bool was_connected = static_cast<bool>(p.handle);
  choose_link(p);
  if (!was_connected) {
    CK_LOG_INFO("transport: connected to {} ({})", p.name, dialed ? "dialed" : "it dialed us");
    if (p.queue.empty()) {
      send_empty_batch(self, p);
    } else {
      schedule_flush(self);
    }
  }
}

void wire_on_frame(pointer self, const caf::actor& conn, const std::string& peer_name,
                   uint8_t type, std::string& body) {
  auto& st = self->state;
  switch (static_cast<wire::frame_type>(type)) {
    case wire::frame_type::batch: {
      raft_batch batch;
      if (!decode(self->system(), body.data(), body.size(), batch)) {
        count_bad_frame(self);
        return;
      }
      if (batch.from_node != peer_name) {
        // Only the authenticated peer speaks on its connection.
        if (auto* forged = st.options.counters.forged_batches; forged != nullptr) {
          forged->add();
        }
        if (st.forged_batches++ % 1000 == 0) {
          CK_LOG_WARN("transport: dropped a batch naming {} on the connection of {} ({} so far)",
                      batch.from_node, peer_name, st.forged_batches);
        }
        return;
      }
      deliver(self, batch);
      return;
    }
    case wire::frame_type::request:
    case wire::frame_type::response: {
      if (body.size() < call_prefix_bytes) {
        count_bad_frame(self);
        return;
      }
      const uint64_t id = runtime::get_u64_be(body.data());
      const auto flag = static_cast<uint8_t>(body[8]);
      const char* data = body.data() + call_prefix_bytes;
      const size_t size = body.size() - call_prefix_bytes;
      if (static_cast<wire::frame_type>(type) == wire::frame_type::request) {
        run_call(self, conn, peer_name, id, static_cast<call_kind>(flag), data, size);
      } else {
        on_response(self, id, flag == 1, data, size);
      }
      return;
    }
    default:
      count_bad_frame(self);  // the broker passes no handshake frames on
  }
}

void wire_on_failed(pointer self, const std::string& peer_name, uint64_t generation,
                    const std::string& why) {
  auto it = self->state.peers.find(peer_name);
  if (it == self->state.peers.end() || it->second.generation != generation) {
    return;  // forgotten, or a newer attempt runs
  }
  auto& p = it->second;
  p.connecting = false;
  CK_LOG_DEBUG("transport: connect to {} at {} failed: {}", p.name, address_of(p), why);
  if (!p.handle) {
    schedule_connect(self, p);
  }
}

void wire_adopt_strays(pointer self, peer& p) {
  auto& st = self->state;
  auto it = st.strays.find(p.name);
  if (it == st.strays.end()) {
    return;
  }
  const bool was_connected = static_cast<bool>(p.handle);
  for (auto& link : it->second) {
    p.links.push_back(std::move(link));
  }
  st.strays.erase(it);
  choose_link(p);
  if (!was_connected && p.handle) {
    CK_LOG_INFO("transport: connected to {} (it dialed us)", p.name);
    send_empty_batch(self, p);
  }
}

void wire_close_links(pointer self, peer& p) {
  for (auto& link : p.links) {
    self->demonitor(link.conn);
    self->send_exit(link.conn, caf::exit_reason::user_shutdown);
  }
  p.links.clear();
}

void wire_on_down(pointer self, const caf::actor_addr& source, const caf::error& reason) {
  auto& st = self->state;
  // Calls that went out on it may or may not have run there.
  for (auto it = st.calls.begin(); it != st.calls.end();) {
    if (it->second.conn == source) {
      auto call = std::move(it->second);
      it = st.calls.erase(it);
      call.fail(caf::make_error(errc::shutting_down, "the connection closed before the answer"));
    } else {
      ++it;
    }
  }
  for (auto stray = st.strays.begin(); stray != st.strays.end(); ++stray) {
    if (erase_link(stray->second, source)) {
      if (stray->second.empty()) {
        st.strays.erase(stray);
      }
      return;
    }
  }
  for (auto& [name, p] : st.peers) {
    if (!erase_link(p.links, source)) {
      continue;
    }
    if (p.handle && p.handle.address() == source) {
      p.handle = nullptr;
      if (p.links.empty()) {
        on_lost(self, p, to_string(reason));
      } else {
        choose_link(p);
      }
    }
    return;
  }
}

void wire_sweep_calls(pointer self) {
  auto& st = self->state;
  const auto now = std::chrono::steady_clock::now();
  for (auto it = st.calls.begin(); it != st.calls.end();) {
    if (it->second.deadline <= now) {
      auto call = std::move(it->second);
      it = st.calls.erase(it);
      call.fail(caf::make_error(errc::timeout, "no answer from the peer"));
    } else {
      ++it;
    }
  }
}

}  // namespace ck::actors::transport_detail
