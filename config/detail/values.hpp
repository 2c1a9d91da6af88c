#pragma once

// Pure text <-> value helpers shared by the sources, the validator and the help text. None of them
// throws or allocates more than its result.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "config/node_config.hpp"

namespace ck::config::detail {

inline constexpr uint64_t kib = 1024;
inline constexpr uint64_t mib = kib * 1024;
inline constexpr uint64_t gib = mib * 1024;
inline constexpr uint64_t tib = gib * 1024;

// Removes ASCII blanks (space, tab, CR, LF) at both ends.
std::string_view trim(std::string_view text);

// true/false, 1/0, yes/no, case-insensitive, blanks around ignored.
std::optional<bool> parse_bool(std::string_view text);

// Decimal digits only (no sign, no suffix), blanks around ignored; nullopt above `max`.
std::optional<uint64_t> parse_uint(std::string_view text, uint64_t max);

// A byte count: digits, then optionally blanks and a 1024-based suffix K/KiB, M/MiB, G/GiB,
// T/TiB or B (case-insensitive). nullopt on anything else or above `max`.
std::optional<uint64_t> parse_size(std::string_view text, uint64_t max);

// The shortest exact form parse_size() reads back: "256MiB", "1TiB", "1000".
std::string format_size(uint64_t bytes);

// A host name or IPv4 literal, or an IPv6 literal without brackets (runtime/base/host_port.hpp).
using runtime::valid_host;

// "", "0.0.0.0" and "::" listen on every interface, so they overlap any host.
bool is_wildcard_host(std::string_view host);

// A comma-separated host:port list; blanks around entries and empty entries are ignored. On
// failure returns nullopt and sets `bad_entry` to the first entry that does not parse.
std::optional<std::vector<host_port>> parse_host_port_list(std::string_view text,
                                                           std::string& bad_entry);

// The list as parse_host_port_list() reads it back: "a:1,b:2".
std::string format_host_port_list(const std::vector<host_port>& list);

// `text` in double quotes, with '"', '\' and control bytes escaped so the result is one line, cut
// after quote_bytes_max bytes with "..." so a huge value cannot flood the log.
inline constexpr std::size_t quote_bytes_max = 200;
std::string quote(std::string_view text);

// [A-Za-z0-9._-]{1,64}
bool valid_node_id(std::string_view id);

}  // namespace ck::config::detail
