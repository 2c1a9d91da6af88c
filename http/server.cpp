#include "http/server.hpp"

#include "http/detail/connection.hpp"
#include "runtime/io/eager_socket.hpp"

#include <caf/actor_system.hpp>
#include <caf/io/broker.hpp>
#include <caf/io/middleman.hpp>
#include <caf/io/system_messages.hpp>
#include <caf/response_promise.hpp>
#include <caf/send.hpp>
#include <caf/stateful_actor.hpp>
#include <caf/system_messages.hpp>

#include <fmt/format.h>

#include <cerrno>
#include <cstring>
#include <future>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace ck::http {
namespace {

using drain_deadline_atom = caf::atom_constant<caf::atom("http_ddl")>;
using bind_result = caf::expected<uint16_t>;

// Binding happens on the I/O thread inside the acceptor's init; the caller waits this long.
constexpr std::chrono::seconds bind_wait{10};

struct acceptor_state {
  std::shared_ptr<const detail::server_context> context;
  std::map<caf::actor_addr, caf::actor> connections;  // live connection brokers
  std::map<caf::actor_addr, std::string> client_of;   // connection -> client address
  std::map<std::string, size_t> per_client;           // client address -> live connections
  bool draining = false;
  std::vector<caf::response_promise> drain_replies;
};

using acceptor_actor = caf::stateful_actor<acceptor_state, caf::io::broker>;

std::string endpoint_name(const server_options& options) {
  return fmt::format("{}:{}", options.host.empty() ? "*" : options.host, options.port);
}

// Connections do not monitor the acceptor (see connection.cpp): it tells them to close.
void stop_acceptor(acceptor_actor* self, caf::error reason) {
  for (auto& entry : self->state.connections) {
    caf::anon_send_exit(entry.second, caf::exit_reason::user_shutdown);
  }
  self->quit(std::move(reason));
}

void finish_drain(acceptor_actor* self) {
  for (auto& reply : self->state.drain_replies) {
    reply.deliver(caf::ok_atom::value);
  }
  self->state.drain_replies.clear();
  stop_acceptor(self, caf::none);
}

void on_new_connection(acceptor_actor* self, const caf::io::new_connection_msg& msg) {
  auto& state = self->state;
  if (state.draining) {
    self->close(msg.handle);
    return;
  }
  const auto& options = state.context->options;
  if (state.connections.size() >= options.connections_max) {
    detail::reject_connection(self, msg.handle, *state.context, "too many connections");
    return;
  }
  std::string client = self->remote_addr(msg.handle);
  if (options.connections_per_client_max > 0 &&
      state.per_client[client] >= options.connections_per_client_max) {
    detail::reject_connection(self, msg.handle, *state.context,
                              "too many connections from " + client);
    return;
  }
  // The acceptor counts connections by their down messages; it tells them when to stop.
  auto connection = detail::fork_connection(self, msg.handle, state.context);
  self->monitor(connection);
  ++state.per_client[client];
  state.client_of.emplace(connection.address(), std::move(client));
  state.connections.emplace(connection.address(), connection);
}

caf::result<caf::ok_atom> on_drain(acceptor_actor* self, caf::timespan deadline) {
  auto& state = self->state;
  auto reply = self->make_response_promise<caf::ok_atom>();
  state.drain_replies.push_back(reply);
  if (!state.draining) {
    state.draining = true;
    // Stop accepting: this closes the doorman (the acceptor owns no connection by now).
    self->close_all();
    for (auto& entry : state.connections) {
      caf::anon_send(entry.second, detail::connection_drain_atom::value);
    }
    self->delayed_send(self, deadline, drain_deadline_atom::value);
  }
  if (state.connections.empty()) {
    finish_drain(self);
  }
  return reply;
}

void on_drain_deadline(acceptor_actor* self) {
  if (!self->state.draining) {
    return;
  }
  finish_drain(self);  // closes the connections still busy
}

caf::behavior acceptor_main(acceptor_actor* self,
                            std::shared_ptr<const detail::server_context> context,
                            std::shared_ptr<std::promise<bind_result>> bound) {
  const auto& options = context->options;
  // CAF's error says only "tcp socket creation failed"; the errno of the failed bind or listen
  // names the cause (e.g. address already in use).
  errno = 0;
  auto opened = io::add_eager_tcp_doorman(self, options.port,
                                          options.host.empty() ? nullptr : options.host.c_str(),
                                          /*reuse_addr=*/true);
  auto os_error = errno;
  if (!opened) {
    bound->set_value(caf::make_error(
      caf::sec::cannot_open_port,
      fmt::format("http server {}: cannot listen on {}: {} ({})", options.name,
                  endpoint_name(options), os_error != 0 ? std::strerror(os_error) : "unknown",
                  self->system().render(opened.error()))));
    self->quit();
    return {};
  }
  self->state.context = std::move(context);
  bound->set_value(opened->second);
  self->set_default_handler(caf::drop);
  self->set_down_handler([self](caf::down_msg& msg) {
    auto& st = self->state;
    st.connections.erase(msg.source);
    if (auto client = st.client_of.find(msg.source); client != st.client_of.end()) {
      if (auto count = st.per_client.find(client->second);
          count != st.per_client.end() && --count->second == 0) {
        st.per_client.erase(count);
      }
      st.client_of.erase(client);
    }
    if (self->state.draining && self->state.connections.empty()) {
      finish_drain(self);
    }
  });
  // No links exist, so an exit message is always a shutdown order.
  self->set_exit_handler(
    [self](caf::exit_msg& msg) { stop_acceptor(self, std::move(msg.reason)); });
  return {
    [self](const caf::io::new_connection_msg& msg) { on_new_connection(self, msg); },
    [self](drain_atom, caf::timespan deadline) { return on_drain(self, deadline); },
    [self](drain_deadline_atom) { on_drain_deadline(self); },
    [](const caf::io::acceptor_closed_msg&) {},
    [](const caf::io::connection_closed_msg&) {},
  };
}

std::optional<std::string> validate(const router* routes, const server_options& options) {
  if (routes == nullptr) {
    return "routes must not be null";
  }
  if (options.header_bytes_max == 0 || options.connections_max == 0
      || options.pipeline_depth_max == 0) {
    return "header_bytes_max, connections_max and pipeline_depth_max must be positive";
  }
  if (options.unsent_bytes_max == 0) {
    return "unsent_bytes_max must be positive";
  }
  if (options.idle_timeout.count() <= 0 || options.request_read_timeout.count() <= 0) {
    return "idle_timeout and request_read_timeout must be positive";
  }
  return std::nullopt;
}

}  // namespace

caf::expected<std::pair<caf::actor, uint16_t>>
start_server(caf::actor_system& sys, std::shared_ptr<const router> routes, server_options opts) {
  if (auto problem = validate(routes.get(), opts)) {
    return caf::make_error(caf::sec::invalid_argument,
                           fmt::format("http server {} on {}: {}", opts.name,
                                       endpoint_name(opts), *problem));
  }
  auto context = std::make_shared<detail::server_context>();
  context->routes = std::move(routes);
  context->options = std::move(opts);
  auto bound = std::make_shared<std::promise<bind_result>>();
  auto bound_port = bound->get_future();
  auto server = sys.middleman().spawn_broker(acceptor_main, context, bound);
  if (bound_port.wait_for(bind_wait) != std::future_status::ready) {
    caf::anon_send_exit(server, caf::exit_reason::kill);
    return caf::make_error(caf::sec::cannot_open_port,
                           fmt::format("http server {}: binding {} timed out",
                                       context->options.name, endpoint_name(context->options)));
  }
  auto port = bound_port.get();
  if (!port) {
    return std::move(port.error());
  }
  return std::make_pair(server, *port);
}

}  // namespace ck::http
