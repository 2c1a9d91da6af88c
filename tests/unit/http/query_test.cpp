// Percent-decoding and query splitting follow Go's net/url, which the original clients use.

#include "http/query.hpp"

#include <doctest/doctest.h>

#include <string>

using namespace ck::http;

TEST_CASE("query: an escaped colon decodes, as in user%3A123") {
  CHECK(percent_decode("user%3A123", plus_is::space) == std::string{"user:123"});
  CHECK(percent_decode("user%3a123", plus_is::space) == std::string{"user:123"});
}

TEST_CASE("query: a plus is a space in queries and stays a plus in paths") {
  CHECK(percent_decode("a+b", plus_is::space) == std::string{"a b"});
  CHECK(percent_decode("a+b", plus_is::literal) == std::string{"a+b"});
  CHECK(percent_decode("a%2Bb", plus_is::space) == std::string{"a+b"});
}

TEST_CASE("query: an invalid or truncated escape is an error") {
  CHECK_FALSE(percent_decode("%zz", plus_is::space).has_value());
  CHECK_FALSE(percent_decode("abc%4", plus_is::space).has_value());
  CHECK_FALSE(percent_decode("abc%", plus_is::space).has_value());
  CHECK_FALSE(percent_decode("%g0", plus_is::literal).has_value());
}

TEST_CASE("query: %00 decodes to a NUL byte") {
  auto decoded = percent_decode("a%00b", plus_is::space);
  REQUIRE(decoded.has_value());
  CHECK(*decoded == std::string("a\0b", 3));
}

TEST_CASE("query: pairs are split on '&' in order, names may repeat and values may be empty") {
  auto pairs = parse_query("key=user%3A123&flag&&x=1&x=2&sp=a+b&eq=a=b");
  REQUIRE(pairs.has_value());
  query_pairs expected{{"key", "user:123"}, {"flag", ""}, {"x", "1"},
                       {"x", "2"},          {"sp", "a b"}, {"eq", "a=b"}};
  CHECK(*pairs == expected);
  CHECK(parse_query("")->empty());
}

TEST_CASE("query: one bad escape makes the whole query an error") {
  CHECK_FALSE(parse_query("a=1&b=%zz").has_value());
  CHECK_FALSE(parse_query("%zz=1").has_value());
}
