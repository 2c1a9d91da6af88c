#include "runtime/base/log.hpp"

#include <spdlog/sinks/stdout_sinks.h>

namespace ck::log {

bool init(std::string_view level) {
  const auto parsed = spdlog::level::from_str(std::string{level});
  // from_str maps unknown names to "off"; only accept "off" when asked for.
  if (parsed == spdlog::level::off && level != "off") {
    return false;
  }
  auto sink = std::make_shared<spdlog::sinks::stderr_sink_mt>();
  auto logger = std::make_shared<spdlog::logger>("clusterkit", std::move(sink));
  logger->set_pattern("%Y-%m-%dT%H:%M:%S.%eZ %-5l %v", spdlog::pattern_time_type::utc);
  logger->set_level(parsed);
  logger->flush_on(spdlog::level::info);
  spdlog::set_default_logger(logger);
  return true;
}

}  // namespace ck::log
