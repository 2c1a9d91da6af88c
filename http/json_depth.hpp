#pragma once

// A bound on JSON nesting, checked before a body is parsed. nlohmann::json builds one node per
// bracket: 2 MiB of '[' took 355 ms to parse on the I/O thread every broker shares with the
// node-to-node traffic (issue 13, finding 7: two such clients caused 69 partition elections in
// 15 s). No request body of ours nests deeper than a few levels; this scan costs about a
// nanosecond a byte and allocates nothing.

#include <cstddef>
#include <string_view>

namespace ck::http {

/// The nesting a request body may have; deeper bodies are refused (400) unparsed.
inline constexpr size_t json_depth_max = 32;

/// Whether `text`, read as JSON, has more than `max_depth` arrays and objects open at once.
/// Brackets inside strings do not count (escapes are honoured). Says nothing about whether the
/// text is valid JSON: the parser decides that afterwards.
bool json_nesting_exceeds(std::string_view text, size_t max_depth = json_depth_max);

}  // namespace ck::http
