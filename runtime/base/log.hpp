#pragma once

// The node's logger: one line per meaningful event on stderr, greppable by its first word
// after the level ("node", "http", "storage", "kv", later "raft", "join").
// Format: 2026-11-26T05:40:01.123Z info  node: started node-1 on :8080/:9080

#include <spdlog/spdlog.h>

#include <string_view>

namespace ck::log {

/// Installs the process logger at `level` (trace|debug|info|warn|error|off). Returns false
/// for an unknown level name. Safe to call again (tests, restarts of the assembly).
bool init(std::string_view level);

/// The process logger; `init` must have been called, otherwise spdlog's default is used.
inline spdlog::logger& get() { return *spdlog::default_logger_raw(); }

}  // namespace ck::log

#define CK_LOG_TRACE(...) ::ck::log::get().trace(__VA_ARGS__)
#define CK_LOG_DEBUG(...) ::ck::log::get().debug(__VA_ARGS__)
#define CK_LOG_INFO(...) ::ck::log::get().info(__VA_ARGS__)
#define CK_LOG_WARN(...) ::ck::log::get().warn(__VA_ARGS__)
#define CK_LOG_ERROR(...) ::ck::log::get().error(__VA_ARGS__)
