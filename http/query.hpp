#pragma once

// Percent-decoding and query-string splitting with the semantics of Go's net/url (the original
// ClusterKit clients were written against it): `%XX` escapes, `+` is a space in query strings,
// and an invalid escape is an error (the server answers 400) instead of being passed through.

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace ck::http {

using query_pairs = std::vector<std::pair<std::string, std::string>>;

enum class plus_is : bool { literal, space };

// Decodes every `%XX` (hex digits of either case; `%00` gives a NUL byte). With plus_is::space a
// `+` becomes ' ' (query components, as url.QueryUnescape); paths keep `+` (url.PathUnescape).
// Returns nullopt when a `%` is not followed by two hex digits.
std::optional<std::string> percent_decode(std::string_view text, plus_is plus);

// Splits a raw query string (without the leading '?') on '&' into decoded name/value pairs in
// order, as url.ParseQuery: empty pieces are skipped, a piece without '=' has an empty value, the
// first '=' separates name and value. Returns nullopt if any escape is invalid.
std::optional<query_pairs> parse_query(std::string_view query);

}  // namespace ck::http
