#include "http/router.hpp"

#include <cstdio>
#include <cstdlib>

namespace ck::http {
namespace {

// Route tables are built once at start-up from code: a duplicate or empty handler is a
// programmer error, never an operating one.
[[noreturn]] void route_definition_failed(const char* what, std::string_view method,
                                          std::string_view path) {
  std::fprintf(stderr, "clusterkit: http router: %s: %.*s %.*s\n", what,
               static_cast<int>(method.size()), method.data(), static_cast<int>(path.size()),
               path.data());
  std::fflush(stderr);
  std::abort();
}

}  // namespace

router& router::add(std::string method, std::string path, handler h) {
  if (!h) {
    route_definition_failed("empty handler", method, path);
  }
  auto& handlers = routes_[path];
  for (const auto& [known_method, known_handler] : handlers) {
    if (known_method == method) {
      route_definition_failed("duplicate route", method, path);
    }
  }
  handlers.emplace_back(std::move(method), std::move(h));
  return *this;
}

router::match router::route(std::string_view method, std::string_view path) const {
  match result;
  auto i = routes_.find(path);
  if (i == routes_.end()) {
    result.rejection = response::error(404, "not_found", "not found: " + std::string{path});
    return result;
  }
  for (const auto& [known_method, known_handler] : i->second) {
    if (known_method == method) {
      result.target = &known_handler;
      return result;
    }
  }
  result.rejection = response::method_not_allowed(allowed_methods(path));
  return result;
}

std::vector<std::string> router::allowed_methods(std::string_view path) const {
  std::vector<std::string> methods;
  auto i = routes_.find(path);
  if (i != routes_.end()) {
    for (const auto& entry : i->second) {
      methods.push_back(entry.first);
    }
  }
  return methods;
}

}  // namespace ck::http
