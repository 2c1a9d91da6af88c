#include "actors/errc.hpp"

#include <caf/atom.hpp>
#include <caf/sec.hpp>

namespace ck {

std::string to_string(errc x) {
  switch (x) {
    case errc::none:
      return "none";
    case errc::invalid_argument:
      return "invalid_argument";
    case errc::not_found:
      return "not_found";
    case errc::no_leader:
      return "no_leader";
    case errc::timeout:
      return "timeout";
    case errc::storage_failure:
      return "storage_failure";
    case errc::shutting_down:
      return "shutting_down";
    case errc::not_ready:
      return "not_ready";
    case errc::internal:
      return "internal";
    case errc::conflict:
      return "conflict";
    case errc::storage_full:
      return "storage_full";
  }
  return "unknown";
}

std::string message_of(const caf::error& e) {
  if (e && e.category() == caf::atom("ck") && !e.context().empty() &&
      e.context().match_elements<std::string>()) {
    return e.context().get_as<std::string>(0);
  }
  return "";
}

errc errc_of(const caf::error& e) {
  if (!e) {
    return errc::none;
  }
  if (e.category() == caf::atom("ck")) {
    return static_cast<errc>(e.code());
  }
  // CAF's own request timeout is our timeout; everything else from CAF (dead actor,
  // unexpected message) means the request could not be served by its owner right now.
  if (e.category() == caf::atom("system")) {
    if (e == caf::sec::request_timeout) {
      return errc::timeout;
    }
    return errc::no_leader;
  }
  return errc::internal;
}

}  // namespace ck
