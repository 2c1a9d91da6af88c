// The nesting bound checked before a request body is parsed (http/json_depth.hpp).

#include "http/json_depth.hpp"

#include <doctest/doctest.h>

#include <string>

using ck::http::json_nesting_exceeds;

TEST_CASE("json depth: counts open arrays and objects, not their number") {
  CHECK_FALSE(json_nesting_exceeds(R"({"key":"k","value":"v"})", 1));
  CHECK(json_nesting_exceeds(R"({"a":{"b":1}})", 1));
  CHECK_FALSE(json_nesting_exceeds(R"({"a":{"b":1}})", 2));
  CHECK_FALSE(json_nesting_exceeds("[[1],[2],[3],{}]", 2));  // siblings close before the next
  CHECK(json_nesting_exceeds("[[[]]]", 2));
  CHECK_FALSE(json_nesting_exceeds("", 0));
  CHECK_FALSE(json_nesting_exceeds("42", 0));
}

TEST_CASE("json depth: brackets inside strings and escaped quotes do not count") {
  CHECK_FALSE(json_nesting_exceeds(R"({"key":"[[[[{{{{","value":"]]]"})", 1));
  CHECK_FALSE(json_nesting_exceeds(R"({"k":"a \"[[[[\" b"})", 1));
  CHECK(json_nesting_exceeds(R"({"k":"\\",[[]]})", 2));  // an escaped backslash ends the string
}

TEST_CASE("json depth: 2 MiB of brackets is refused at the bound, unbalanced text too") {
  const std::string nested = std::string(1 << 20, '[') + std::string(1 << 20, ']');
  CHECK(json_nesting_exceeds(nested));
  CHECK_FALSE(json_nesting_exceeds(std::string(32, '[')));  // exactly the default bound
  CHECK(json_nesting_exceeds(std::string(33, '{')));
  CHECK_FALSE(json_nesting_exceeds("]]]]]][]"));  // stray closers never go below 0
}
