// The server on a real actor system and real loopback sockets: the test thread plays the
// client with bounded waits (poll), handlers reply now, later (after asking another actor), from
// another thread, or never. Goal: request order, limits, timeouts and shutdown behave as the
// API contract says, and nothing hangs or crashes.

#include "http/off_io.hpp"
#include "http/server.hpp"

#include "tests/unit/http/test_client.hpp"

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/io/broker.hpp>
#include <caf/io/middleman.hpp>
#include <caf/response_promise.hpp>
#include <caf/scoped_actor.hpp>
#include <caf/send.hpp>
#include <caf/stateful_actor.hpp>

#include <doctest/doctest.h>
#include <nlohmann/json.hpp>

#include <atomic>
#include <map>
#include <memory>
#include <optional>
#include <stdexcept>
#include <thread>

using namespace ck::http;
using namespace ck::http::test;
using json = nlohmann::json;

namespace {

using delay_atom = caf::atom_constant<caf::atom("t_delay")>;
using fire_atom = caf::atom_constant<caf::atom("t_fire")>;

// Answers (delay_atom, ms) with "done" after ms milliseconds, without blocking a thread.
struct delayer_state {
  uint64_t next_id = 0;
  std::map<uint64_t, caf::response_promise> waiting;
};

caf::behavior delayer(caf::stateful_actor<delayer_state>* self) {
  return {
    [self](delay_atom, int ms) -> caf::result<std::string> {
      auto id = self->state.next_id++;
      auto promise = self->make_response_promise();
      self->state.waiting.emplace(id, promise);
      self->delayed_send(self, std::chrono::milliseconds(ms), fire_atom::value, id);
      return caf::delegated<std::string>{};
    },
    [self](caf::get_atom) { return self->state.waiting.size(); },
    [self](fire_atom, uint64_t id) {
      auto i = self->state.waiting.find(id);
      if (i != self->state.waiting.end()) {
        i->second.deliver(std::string{"done"});
        self->state.waiting.erase(i);
      }
    },
  };
}

int int_param(const request& req, std::string_view name, int fallback) {
  auto text = req.query_param(name);
  return text ? std::atoi(std::string{*text}.c_str()) : fallback;
}

// The value the last /slow-write stored (touched on the I/O thread only).
std::atomic<int> written_value{0};

stream_sink held_sink;  // /stream-hold's, for the test that holds the stream open

std::shared_ptr<router> make_routes(caf::actor helper) {
  auto routes = std::make_shared<router>();
  routes->add("GET", "/fast", [](caf::io::broker*, request& req, responder reply) {
    reply.send(response::json(
      200, json{{"n", int_param(req, "n", -1)}, {"sequence", req.sequence}}));
  });
  routes->add("GET", "/slow", [helper](caf::io::broker* self, request& req, responder reply) {
    auto ms = int_param(req, "ms", 100);
    self->request(helper, std::chrono::seconds(10), delay_atom::value, ms)
      .then([reply, ms](const std::string& text) {
        reply.send(response::json(200, json{{"slow", text}, {"ms", ms}}));
      });
  });
  routes->add("GET", "/big", [](caf::io::broker*, request& req, responder reply) {
    reply.send(response::json(200, json{{"n", int_param(req, "n", -1)},
                                        {"data", std::string(256u << 10, 'b')}}));
  });
  routes->add("GET", "/drop", [](caf::io::broker*, request&, responder) {});
  routes->add("GET", "/throw", [](caf::io::broker*, request&, responder) {
    throw std::runtime_error("boom");
  });
  routes->add("GET", "/offthread", [](caf::io::broker* self, request&, responder reply) {
    // A function actor without behavior runs once on a scheduler thread, not the I/O thread.
    self->system().spawn([reply](caf::event_based_actor*) {
      reply.send(response::json(200, json{{"thread", "scheduler"}}));
    });
  });
  // run_off_io: the work runs off the I/O thread, the continuation back on it (the handler's).
  routes->add("GET", "/off-io", [](caf::io::broker* self, request& req, responder reply) {
    struct job {
      std::thread::id io_thread = std::this_thread::get_id();
      std::thread::id work_thread;
      std::optional<int> result;
    };
    auto j = std::make_shared<job>();
    const bool fail = req.query_param("fail").has_value();
    run_off_io(
        self,
        [j, fail] {
          j->work_thread = std::this_thread::get_id();
          if (fail) {
            throw std::runtime_error("work failed");
          }
          j->result = 42;
        },
        [j, reply]() mutable {
          if (!j->result) {
            reply.send(response::json(500, json{{"error", "no result"}}));
            return;
          }
          reply.send(response::json(
              200, json{{"result", *j->result},
                        {"work_on_io_thread", j->work_thread == j->io_thread},
                        {"then_on_io_thread", std::this_thread::get_id() == j->io_thread}}));
        });
  });
  routes->add("POST", "/echo", [](caf::io::broker*, request& req, responder reply) {
    reply.send(response::json(200, json{{"body", req.body}}));
  });
  // A slow write and a read of what it wrote: pipelined behind it, the read must see it.
  routes->add("POST", "/slow-write", [helper](caf::io::broker* self, request& req, responder reply) {
    auto value = int_param(req, "value", 0);
    self->request(helper, std::chrono::seconds(10), delay_atom::value, 200)
      .then([reply, value](const std::string&) {
        written_value = value;
        reply.send(response::json(200, json{{"written", value}}));
      });
  });
  // A streamed response: one chunk pushed on the I/O thread, one from a scheduler thread,
  // then closed from there.
  routes->add("GET", "/stream", [](caf::io::broker* self, request&, responder reply) {
    response head;
    head.headers.emplace_back("Content-Type", "text/event-stream");
    stream_sink sink = reply.stream(std::move(head));
    sink.push("data: 1\n\n");
    self->system().spawn([sink](caf::event_based_actor*) {
      sink.push("data: 2\n\n");
      sink.close();
    });
  });
  // A stream that stays open; the test holds its sink.
  routes->add("GET", "/stream-hold", [](caf::io::broker*, request&, responder reply) {
    response head;
    head.headers.emplace_back("Content-Type", "text/event-stream");
    held_sink = reply.stream(std::move(head));
    held_sink.push(": hello\n\n");
  });
  routes->add("GET", "/written", [](caf::io::broker*, request&, responder reply) {
    reply.send(response::json(200, json{{"written", written_value.load()}}));
  });
  return routes;
}

caf::actor_system_config& configure(caf::actor_system_config& cfg) {
  cfg.set("scheduler.max-threads", 2);
  cfg.load<caf::io::middleman>();
  return cfg;
}

server_options default_options() {
  server_options opts;
  opts.host = "127.0.0.1";
  opts.port = 0;
  opts.name = "test-api";
  opts.idle_timeout = std::chrono::seconds(30);
  return opts;
}

struct fixture {
  explicit fixture(server_options opts = default_options()) : sys(configure(cfg)) {
    helper = sys.spawn(delayer);
    opts.on_response = [this](const request&, int, std::chrono::nanoseconds) { ++responses; };
    auto started = start_server(sys, make_routes(helper), std::move(opts));
    if (!started) {
      FAIL(sys.render(started.error()));
    }
    server = started->first;
    port = started->second;
  }

  // Waits for the server: brokers still running when the middleman stops keep their unread
  // mailboxes, and LeakSanitizer reports them.
  ~fixture() {
    caf::anon_send_exit(server, caf::exit_reason::user_shutdown);
    caf::anon_send_exit(helper, caf::exit_reason::user_shutdown);
    caf::scoped_actor self{sys};
    self->wait_for(server, helper);
  }

  caf::actor_system_config cfg;
  caf::actor_system sys;
  caf::actor helper;
  caf::actor server;
  uint16_t port = 0;
  std::atomic<int> responses{0};
};

// True once `count` slow requests wait in the helper, i.e. the server read and dispatched them.
bool wait_for_waiting(fixture& f, size_t count) {
  caf::scoped_actor self{f.sys};
  for (int attempt = 0; attempt < 500; ++attempt) {
    size_t waiting = 0;
    self->request(f.helper, std::chrono::seconds(5), caf::get_atom::value)
      .receive([&](size_t n) { waiting = n; }, [](caf::error&) {});
    if (waiting >= count) {
      return true;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  return false;
}

// True once a new connection is served 200 (bounded retries): a freed slot is usable again
// once the server saw the close.
bool served_on_a_new_connection(uint16_t port) {
  for (int attempt = 0; attempt < 100; ++attempt) {
    client again{port};
    REQUIRE(again.send(get("/fast")));
    auto reply = again.read_reply();
    if (reply && reply->status == 200) {
      return true;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return false;
}

json body_of(const std::optional<http_reply>& reply) {
  REQUIRE(reply.has_value());
  return json::parse(reply->body);
}

}  // namespace

TEST_CASE("server: run_off_io runs the work on a scheduler thread and resumes in the broker") {
  fixture f;
  client c{f.port};
  REQUIRE(c.connected());
  REQUIRE(c.send(get("/off-io")));
  auto reply = c.read_reply();
  REQUIRE(reply);
  CHECK(reply->status == 200);
  CHECK(body_of(reply) ==
        json{{"result", 42}, {"work_on_io_thread", false}, {"then_on_io_thread", true}});
  REQUIRE(c.send(get("/off-io?fail")));  // a throwing work: the continuation still answers
  reply = c.read_reply();
  REQUIRE(reply);
  CHECK(reply->status == 500);
}

TEST_CASE("server: a keep-alive connection serves several requests") {
  fixture f;
  client c{f.port};
  REQUIRE(c.connected());
  for (int n = 0; n < 3; ++n) {
    REQUIRE(c.send(get("/fast?n=" + std::to_string(n))));
    auto reply = c.read_reply();
    REQUIRE(reply);
    CHECK(reply->status == 200);
    CHECK(reply->header("connection") == "keep-alive");
    CHECK(reply->header("content-type") == "application/json");
    CHECK(body_of(reply) == json{{"n", n}, {"sequence", n}});
  }
  CHECK(f.responses.load() == 3);
}

TEST_CASE("server: pipelined responses come in request order even when the first is slowest") {
  fixture f;
  client c{f.port};
  REQUIRE(c.send(get("/slow?ms=300") + get("/fast?n=1") + get("/offthread") + get("/fast?n=2")));
  CHECK(body_of(c.read_reply())["slow"] == "done");
  CHECK(body_of(c.read_reply())["n"] == 1);
  CHECK(body_of(c.read_reply())["thread"] == "scheduler");
  CHECK(body_of(c.read_reply())["n"] == 2);
}

TEST_CASE("server: a pipelined read behind a slow write starts only after the write answered") {
  fixture f;
  client c{f.port};
  const std::string post = "POST /slow-write?value=7 HTTP/1.1\r\nHost: t\r\nContent-Length: 0\r\n\r\n";
  REQUIRE(c.send(get("/written") + post + get("/written") + get("/fast?n=3")));
  CHECK(body_of(c.read_reply())["written"] != 7);  // the read before the write
  CHECK(body_of(c.read_reply())["written"] == 7);
  CHECK(body_of(c.read_reply())["written"] == 7);  // sees the write it was pipelined behind
  CHECK(body_of(c.read_reply())["n"] == 3);
}

TEST_CASE("server: pipelining past pipeline_depth_max pauses reading and still answers in order") {
  auto opts = default_options();
  opts.pipeline_depth_max = 2;
  fixture f{opts};
  client c{f.port};
  std::string burst = get("/slow?ms=200");
  for (int n = 1; n <= 8; ++n) {
    burst += get("/fast?n=" + std::to_string(n));
  }
  REQUIRE(c.send(burst));
  CHECK(body_of(c.read_reply())["slow"] == "done");
  for (int n = 1; n <= 8; ++n) {
    auto body = body_of(c.read_reply());
    CHECK(body["n"] == n);
    CHECK(body["sequence"] == n);
  }
}

TEST_CASE("server: unknown paths get 404 and other methods get 405 with Allow") {
  fixture f;
  client c{f.port};
  REQUIRE(c.send(get("/nope")));
  auto missing = c.read_reply();
  REQUIRE(missing);
  CHECK(missing->status == 404);
  CHECK(body_of(missing) == json{{"error", "not found: /nope"}, {"code", "not_found"}});
  REQUIRE(c.send("POST /fast HTTP/1.1\r\nHost: h\r\nContent-Length: 0\r\n\r\n"));
  auto wrong = c.read_reply();
  REQUIRE(wrong);
  CHECK(wrong->status == 405);
  CHECK(wrong->header("allow") == "GET");
  CHECK(wrong->header("connection") == "keep-alive");
}

TEST_CASE("server: a Content-Length over the limit gets 413 and the connection closes") {
  auto opts = default_options();
  opts.body_bytes_max = 1024;
  fixture f{opts};
  client c{f.port};
  REQUIRE(c.send("POST /echo HTTP/1.1\r\nHost: h\r\nContent-Length: 100000\r\n\r\n"));
  auto reply = c.read_reply();
  REQUIRE(reply);
  CHECK(reply->status == 413);
  CHECK(reply->header("connection") == "close");
  CHECK(c.wait_closed());
}

TEST_CASE("server: a chunked request body gets 411 and the connection closes") {
  fixture f;
  client c{f.port};
  REQUIRE(c.send("POST /echo HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n"));
  auto reply = c.read_reply();
  REQUIRE(reply);
  CHECK(reply->status == 411);
  CHECK(body_of(reply)["code"] == "length_required");
  CHECK(c.wait_closed());
}

TEST_CASE("server: malformed input is answered with 400 after earlier requests, then closed") {
  fixture f;
  client c{f.port};
  REQUIRE(c.send(get("/slow?ms=100") + "BLAH\x01\r\n\r\n"));
  CHECK(body_of(c.read_reply())["slow"] == "done");
  auto reply = c.read_reply();
  REQUIRE(reply);
  CHECK(reply->status == 400);
  CHECK(reply->header("connection") == "close");
  CHECK(c.wait_closed());
}

TEST_CASE("server: HTTP/1.0 without keep-alive is answered and closed") {
  fixture f;
  client c{f.port};
  REQUIRE(c.send("GET /fast?n=7 HTTP/1.0\r\n\r\n"));
  auto reply = c.read_reply();
  REQUIRE(reply);
  CHECK(reply->status == 200);
  CHECK(reply->header("connection") == "close");
  CHECK(c.wait_closed());
}

TEST_CASE("server: a POST body arrives, with 100 Continue for clients that expect it") {
  fixture f;
  client c{f.port};
  REQUIRE(c.send("POST /echo HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\n"));
  auto interim = c.read_reply();
  REQUIRE(interim);
  CHECK(interim->status == 100);
  REQUIRE(c.send("hello"));
  CHECK(body_of(c.read_reply())["body"] == "hello");
}

TEST_CASE("server: a dropped responder yields 500 and the connection stays usable") {
  fixture f;
  client c{f.port};
  REQUIRE(c.send(get("/drop") + get("/throw") + get("/fast?n=3")));
  auto dropped = c.read_reply();
  REQUIRE(dropped);
  CHECK(dropped->status == 500);
  CHECK(body_of(dropped) == json{{"error", "handler dropped the request"}, {"code", "internal"}});
  auto thrown = c.read_reply();
  REQUIRE(thrown);
  CHECK(thrown->status == 500);
  CHECK(body_of(thrown)["code"] == "internal");
  CHECK(body_of(c.read_reply())["n"] == 3);
}

TEST_CASE("server: connections over connections_max get 503 and are closed") {
  auto opts = default_options();
  opts.connections_max = 2;
  fixture f{opts};
  client first{f.port};
  client second{f.port};
  for (auto* c : {&first, &second}) {
    REQUIRE(c->send(get("/fast")));
    REQUIRE(c->read_reply());
  }
  client third{f.port};
  auto rejected = third.read_reply();
  REQUIRE(rejected);
  CHECK(rejected->status == 503);
  CHECK(rejected->header("connection") == "close");
  CHECK(rejected->header("retry-after") == "1");
  CHECK(body_of(rejected) == json{{"error", "too many connections"}, {"code", "unavailable"}});
  CHECK(third.wait_closed());
  // A freed slot is usable again once the server saw the close (bounded retries).
  first.close();
  CHECK(served_on_a_new_connection(f.port));
}

TEST_CASE("server: an idle connection is closed after idle_timeout, a busy one is not") {
  auto opts = default_options();
  opts.idle_timeout = std::chrono::milliseconds(200);
  fixture f{opts};
  client idle{f.port};
  client busy{f.port};
  auto start = std::chrono::steady_clock::now();
  REQUIRE(idle.send(get("/fast")));
  REQUIRE(idle.read_reply());
  REQUIRE(busy.send(get("/slow?ms=600")));
  CHECK(idle.wait_closed(std::chrono::seconds(3)));
  CHECK(std::chrono::steady_clock::now() - start >= std::chrono::milliseconds(150));
  auto reply = busy.read_reply(std::chrono::seconds(3));
  REQUIRE(reply);
  CHECK(body_of(reply)["slow"] == "done");
  CHECK(busy.wait_closed(std::chrono::seconds(3)));
}

// A client that pipelines large GETs and does not read: the server stops answering (and so,
// once the pipeline is full, reading) when unsent_bytes_max is queued, instead of holding every
// answer in memory; once the client reads, everything arrives in order.
TEST_CASE("server: unsent responses are bounded per connection; reading drains them in order") {
  auto opts = default_options();
  opts.unsent_bytes_max = 1u << 20;  // four 256 KiB answers
  opts.pipeline_depth_max = 8;
  fixture f{opts};
  client greedy{f.port};
  constexpr int requests = 40;  // 10 MiB of answers
  std::string all;
  for (int i = 0; i < requests; ++i) {
    all += "GET /big?n=" + std::to_string(i) + " HTTP/1.1\r\nHost: h\r\n\r\n";
  }
  REQUIRE(greedy.send(all));
  // The kernel's socket buffers take a few MiB more than the server's budget; beyond that the
  // server holds back. Bounded wait until the written count stops growing.
  int last = -1;
  for (int attempt = 0; attempt < 50 && f.responses.load() != last; ++attempt) {
    last = f.responses.load();
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  CHECK(f.responses.load() < requests);
  CHECK(f.responses.load() <= 24);  // budget (4) + socket buffers (a few MiB) + slack
  for (int i = 0; i < requests; ++i) {
    auto reply = greedy.read_reply(std::chrono::seconds(10));
    REQUIRE(reply);
    CHECK(reply->status == 200);
    CHECK(body_of(reply)["n"] == i);
  }
  CHECK(f.responses.load() == requests);
}

// Slowloris: one header byte every now and then resets the idle timer, but not the deadline
// of the request in progress.
TEST_CASE("server: a request trickled in past request_read_timeout gets 408 and is closed") {
  auto opts = default_options();
  opts.request_read_timeout = std::chrono::milliseconds(400);
  fixture f{opts};
  client slow{f.port};
  client fine{f.port};
  const std::string head = "GET /fast HTTP/1.1\r\nHost: h\r\nX-Slow: ";
  auto start = std::chrono::steady_clock::now();
  bool answered = false;
  std::optional<http_reply> reply;
  for (size_t i = 0; i < head.size() + 40 && !answered; ++i) {
    // A send may fail once the server closed: the 408 before the close is still read below.
    (void)slow.send(i < head.size() ? head.substr(i, 1) : std::string{"a"});
    reply = slow.read_reply(std::chrono::milliseconds(50));  // one byte per ~50 ms
    answered = reply.has_value();
  }
  REQUIRE(answered);
  const auto took = std::chrono::steady_clock::now() - start;
  CHECK(reply->status == 408);
  CHECK(body_of(reply)["code"] == "request_timeout");
  CHECK(took >= std::chrono::milliseconds(350));
  CHECK(slow.wait_closed());
  // A complete request on another connection is not affected; nor is a keep-alive pause
  // between two requests (no request in progress).
  REQUIRE(fine.send(get("/fast")));
  REQUIRE(fine.read_reply());
  std::this_thread::sleep_for(std::chrono::milliseconds(600));
  REQUIRE(fine.send(get("/fast")));
  auto second = fine.read_reply();
  REQUIRE(second);
  CHECK(second->status == 200);
}

TEST_CASE("server: one client address gets at most connections_per_client_max connections") {
  auto opts = default_options();
  opts.connections_per_client_max = 2;
  fixture f{opts};
  client first{f.port};
  client second{f.port};
  for (auto* c : {&first, &second}) {
    REQUIRE(c->send(get("/fast")));
    REQUIRE(c->read_reply());
  }
  client third{f.port};
  auto rejected = third.read_reply();
  REQUIRE(rejected);
  CHECK(rejected->status == 503);
  CHECK(body_of(rejected) ==
        json{{"error", "too many connections from 127.0.0.1"}, {"code", "unavailable"}});
  CHECK(third.wait_closed());
  first.close();  // the count drops when the server sees the close (bounded retries)
  CHECK(served_on_a_new_connection(f.port));
}

TEST_CASE("server: drain answers outstanding requests with Connection: close and replies ok") {
  fixture f;
  client idle{f.port};
  client busy{f.port};
  REQUIRE(idle.send(get("/fast")));
  REQUIRE(idle.read_reply());
  REQUIRE(busy.send(get("/slow?ms=300")));
  REQUIRE(wait_for_waiting(f, 1));
  caf::scoped_actor self{f.sys};
  auto drained = self->request(f.server, std::chrono::seconds(10), drain_atom::value,
                               caf::timespan{std::chrono::seconds(5)});
  CHECK(idle.wait_closed(std::chrono::seconds(3)));
  auto reply = busy.read_reply();
  REQUIRE(reply);
  CHECK(reply->status == 200);
  CHECK(reply->header("connection") == "close");
  CHECK(busy.wait_closed());
  bool ok = false;
  drained.receive([&](caf::ok_atom) { ok = true; },
                  [&](caf::error& err) { FAIL_CHECK(f.sys.render(err)); });
  CHECK(ok);
  client late{f.port};
  CHECK_FALSE(late.connected());
}

TEST_CASE("server: drain without connections replies ok at once and frees the port") {
  fixture f;
  caf::scoped_actor self{f.sys};
  bool ok = false;
  self
    ->request(f.server, std::chrono::seconds(10), drain_atom::value,
              caf::timespan{std::chrono::seconds(5)})
    .receive([&](caf::ok_atom) { ok = true; },
             [&](caf::error& err) { FAIL_CHECK(f.sys.render(err)); });
  CHECK(ok);
  // A restarted server binds the same port at once.
  auto opts = default_options();
  opts.port = f.port;
  auto again = start_server(f.sys, make_routes(f.helper), opts);
  REQUIRE(again);
  CHECK(again->second == f.port);
  client c{f.port};
  REQUIRE(c.send(get("/fast?n=4")));
  CHECK(body_of(c.read_reply())["n"] == 4);
  caf::anon_send_exit(again->first, caf::exit_reason::user_shutdown);
  self->wait_for(again->first);
}

TEST_CASE("server: drain closes connections still busy at the deadline") {
  fixture f;
  client busy{f.port};
  REQUIRE(busy.send(get("/slow?ms=5000")));
  REQUIRE(wait_for_waiting(f, 1));
  caf::scoped_actor self{f.sys};
  auto start = std::chrono::steady_clock::now();
  bool ok = false;
  self
    ->request(f.server, std::chrono::seconds(10), drain_atom::value,
              caf::timespan{std::chrono::milliseconds(200)})
    .receive([&](caf::ok_atom) { ok = true; },
             [&](caf::error& err) { FAIL_CHECK(f.sys.render(err)); });
  CHECK(ok);
  CHECK(std::chrono::steady_clock::now() - start < std::chrono::seconds(3));
  CHECK(busy.wait_closed(std::chrono::seconds(3)));
}

TEST_CASE("server: a client that disconnects mid-request does not disturb the server") {
  fixture f;
  {
    client gone{f.port};
    REQUIRE(gone.send(get("/slow?ms=100") + get("/fast")));
  }
  // The late reply to the closed connection (at 100 ms) lands before this one (at 300 ms).
  client c{f.port};
  REQUIRE(c.send(get("/slow?ms=300") + get("/fast?n=9")));
  CHECK(body_of(c.read_reply())["slow"] == "done");
  CHECK(body_of(c.read_reply())["n"] == 9);
}

TEST_CASE("server: a streamed response sends its head, then each pushed chunk, until closed") {
  fixture f;
  client c{f.port};
  // The GET pipelined behind the stream is dropped: a stream is a connection's last response.
  REQUIRE(c.send(get("/stream") + get("/fast?n=2")));
  auto all = c.read_until_closed();
  REQUIRE(all);
  const auto head_end = all->find("\r\n\r\n");
  REQUIRE(head_end != std::string::npos);
  const std::string head = all->substr(0, head_end);
  CHECK(head.rfind("HTTP/1.1 200 OK\r\n", 0) == 0);
  CHECK(head.find("Content-Type: text/event-stream") != std::string::npos);
  CHECK(head.find("Connection: close") != std::string::npos);
  CHECK(head.find("Content-Length") == std::string::npos);
  CHECK(all->substr(head_end + 4) == "data: 1\n\ndata: 2\n\n");
}

TEST_CASE("server: a stream outlives the idle timeout and its sink sees the client leave") {
  auto opts = default_options();
  opts.idle_timeout = std::chrono::milliseconds(200);
  fixture f{opts};
  {
    client c{f.port};
    REQUIRE(c.send(get("/stream-hold")));
    REQUIRE(c.wait_for_text(": hello\n\n"));
    CHECK(c.stays_silent(std::chrono::milliseconds(600)));  // 3 idle timeouts: still open
    CHECK(held_sink.open());
    CHECK(held_sink.push("data: late\n\n"));
    CHECK(c.wait_for_text("data: late\n\n"));
  }  // the client leaves
  bool gone = false;
  for (int i = 0; i < 200 && !gone; ++i) {  // at most 2 s
    gone = !held_sink.open();
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  CHECK_MESSAGE(gone, "the sink still reports the stream open 2 s after the client closed");
  CHECK_FALSE(held_sink.push("data: nobody\n\n"));
  held_sink = stream_sink{};
}

TEST_CASE("server: start_server names host, port and the OS error when the port is taken") {
  fixture f;
  auto opts = default_options();
  opts.port = f.port;
  auto second = start_server(f.sys, std::make_shared<router>(), opts);
  REQUIRE_FALSE(second);
  auto text = f.sys.render(second.error());
  CAPTURE(text);
  CHECK(text.find("127.0.0.1:" + std::to_string(f.port)) != std::string::npos);
  CHECK(text.find("Address already in use") != std::string::npos);
}

TEST_CASE("server: invalid options are refused before binding") {
  fixture f;
  auto opts = default_options();
  opts.pipeline_depth_max = 0;
  auto refused = start_server(f.sys, std::make_shared<router>(), opts);
  REQUIRE_FALSE(refused);
  CHECK(f.sys.render(refused.error()).find("pipeline_depth_max") != std::string::npos);
  CHECK_FALSE(start_server(f.sys, nullptr, default_options()));
}

TEST_CASE("server: an exit message closes every connection") {
  fixture f;
  client c{f.port};
  REQUIRE(c.send(get("/fast")));
  REQUIRE(c.read_reply());
  REQUIRE(c.send(get("/slow?ms=5000")));
  REQUIRE(wait_for_waiting(f, 1));
  caf::anon_send_exit(f.server, caf::exit_reason::user_shutdown);
  CHECK(c.wait_closed(std::chrono::seconds(3)));
}
