#include "runtime/node/extensions.hpp"

#include "config/node_config.hpp"
#include "http/api/error_mapping.hpp"
#include "runtime/cluster/machine_command.hpp"
#include "runtime/base/log.hpp"
#include "runtime/node/assembly.hpp"
#include "runtime/node/entity_machine.hpp"

#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <set>

namespace ck::node {

http::response error_response(const caf::error& error) { return http::api::error_response(error); }

extensions& extensions::register_state_machine(std::string name, state_machine_factory factory,
                                               apply_listener on_applied) {
  machines_.push_back(
      cluster::machine_type{std::move(name), std::move(factory), std::move(on_applied)});
  return *this;
}

extensions& extensions::register_entity_type(std::string name, entity_factory factory,
                                             entity_options options) {
  if (entity_types_.empty()) {
    register_state_machine(std::string{entity_machine_name},
                           [](uint32_t) { return std::make_unique<detail::entity_machine>(); });
  }
  entity_types_.push_back(entity_type{std::move(name), std::move(factory), options});
  return *this;
}

extensions& extensions::add_service(std::string name, service_scope scope,
                                    service_factory factory) {
  services_.push_back(service_type{std::move(name), scope, std::move(factory)});
  return *this;
}

extensions& extensions::add_route(node::api api, std::string method, std::string path,
                                  node::access access, route_handler handler) {
  routes_.push_back(route{api, std::move(method), std::move(path), access, std::move(handler)});
  return *this;
}

extensions& extensions::add_metrics(
    std::string name, std::function<void(runtime::metrics_section&, const context&)> define) {
  metrics_.push_back(metrics_definition{std::move(name), std::move(define)});
  return *this;
}

extensions& extensions::on_start(start_hook hook) {
  start_hooks_.push_back(std::move(hook));
  return *this;
}

std::string extensions::check() const {
  std::set<std::string> seen;
  if (machines_.size() > cluster::machine_slots_max) {
    return "more than " + std::to_string(cluster::machine_slots_max) + " state machines registered";
  }
  for (const auto& m : machines_) {
    if (!cluster::valid_machine_name(m.name)) {
      return "state machine name \"" + m.name + "\" is invalid (1..64 bytes of [a-z0-9_.-])";
    }
    if (!m.factory) {
      return "state machine \"" + m.name + "\" has no factory";
    }
    if (!seen.insert(m.name).second) {
      return "state machine \"" + m.name + "\" is registered twice";
    }
  }
  std::set<std::string> entity_names;
  for (const auto& t : entity_types_) {
    if (!cluster::valid_machine_name(t.name) || !t.factory) {
      return "entity type \"" + t.name +
             "\" needs a valid name (1..64 bytes of [a-z0-9_.-]) "
             "and a factory";
    }
    if (!entity_names.insert(t.name).second) {
      return "entity type \"" + t.name + "\" is registered twice";
    }
    if (t.options.idle_timeout.count() <= 0) {
      return "entity type \"" + t.name + "\" needs a positive idle_timeout";
    }
  }
  std::set<std::string> service_names;
  for (const auto& svc : services_) {
    if (!cluster::valid_machine_name(svc.name) || svc.name == "kv" ||
        svc.name.rfind("ck.", 0) == 0 || !svc.factory) {
      return "service \"" + svc.name +
             "\" needs a valid name (1..64 bytes of [a-z0-9_.-], "
             "not \"kv\" nor starting with \"ck.\") and a factory";
    }
    if (!service_names.insert(svc.name).second) {
      return "service \"" + svc.name + "\" is registered twice";
    }
  }
  std::set<std::string> sections{"node_id",     "uptime_seconds", "requests", "request_count",
                                 "error_count", "raft",           "storage"};
  for (const auto& m : metrics_) {
    if (!cluster::valid_machine_name(m.name) || !m.define || !sections.insert(m.name).second) {
      return "metrics section \"" + m.name +
             "\" needs a new name (1..64 bytes of "
             "[a-z0-9_.-]) and a definition";
    }
  }
  for (const auto& r : routes_) {
    if (r.method.empty() || r.path.empty() || r.path[0] != '/' || !r.handler) {
      return "route \"" + r.method + " " + r.path +
             "\" needs a method, a path starting with / "
             "and a handler";
    }
  }
  return "";
}

int run(int argc, char** argv, const extensions& ext) {
  // Block the stop signals before any thread exists, so every thread inherits the mask and
  // the node assembly can take them synchronously with sigwait (no async handler needed).
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGTERM);
  sigaddset(&stop_signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);
  std::signal(SIGPIPE, SIG_IGN);

  auto loaded = config::load(argc, argv, [](const char* name) { return std::getenv(name); });
  switch (loaded.status) {
    case config::load_status::help_printed:
      std::fputs(loaded.message.c_str(), stdout);
      return 0;
    case config::load_status::invalid:
      std::fprintf(stderr, "clusterkit: %s\n", loaded.message.c_str());
      return static_cast<int>(runtime::exit_code::bad_config);
    case config::load_status::ok:
      break;
  }
  if (auto bad = ext.check(); !bad.empty()) {
    std::fprintf(stderr, "clusterkit: %s\n", bad.c_str());
    return static_cast<int>(runtime::exit_code::bad_config);
  }
  if (!log::init(loaded.config.log_level)) {
    std::fprintf(stderr, "clusterkit: invalid log level \"%s\"\n", loaded.config.log_level.c_str());
    return static_cast<int>(runtime::exit_code::bad_config);
  }
  return static_cast<int>(runtime::run_node(loaded.config, ext));
}

}  // namespace ck::node
