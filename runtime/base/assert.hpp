#pragma once

// CK_ASSERT: programmer errors abort with the expression, the values and the place, in every
// build type (release included): a broken invariant must never be carried on silently.
// Operating errors (bad input, full disks, dead peers) are values, never asserts.
// The one assert of every layer (runtime/base depends on nothing; storage uses it too).

#include <cstdio>
#include <cstdlib>
#include <type_traits>

namespace ck::detail {

[[noreturn]] inline void assert_failed(const char* expression, const char* file, int line,
                                       const char* function) {
  std::fprintf(stderr, "clusterkit: assertion failed: %s at %s:%d in %s\n", expression, file, line,
               function);
  std::fflush(stderr);
  std::abort();
}

// Prints integers (and enums) exactly, signed or not, so the offending numbers are visible
// (a u64 index above 2^63 must not print negative).
template <class V>
void assert_print_value(const V& value) {
  if constexpr (std::is_enum_v<V>) {
    assert_print_value(static_cast<std::underlying_type_t<V>>(value));
  } else if constexpr (std::is_signed_v<V>) {
    std::fprintf(stderr, "%lld", static_cast<long long>(value));
  } else {
    std::fprintf(stderr, "%llu", static_cast<unsigned long long>(value));
  }
}

template <class A, class B>
[[noreturn]] void assert_compare_failed(const char* expression, const A& a, const B& b,
                                        const char* file, int line, const char* function) {
  std::fprintf(stderr, "clusterkit: assertion failed: %s (", expression);
  assert_print_value(a);
  std::fprintf(stderr, " vs ");
  assert_print_value(b);
  std::fprintf(stderr, ") at %s:%d in %s\n", file, line, function);
  std::fflush(stderr);
  std::abort();
}

}  // namespace ck::detail

#define CK_ASSERT(cond)                                                       \
  do {                                                                        \
    if (!(cond)) {                                                            \
      ::ck::detail::assert_failed(#cond, __FILE__, __LINE__, __func__);       \
    }                                                                         \
  } while (false)

#define CK_ASSERT_CMP(a, op, b)                                                         \
  do {                                                                                  \
    const auto& ck_assert_a_ = (a);                                                     \
    const auto& ck_assert_b_ = (b);                                                     \
    if (!(ck_assert_a_ op ck_assert_b_)) {                                              \
      ::ck::detail::assert_compare_failed(#a " " #op " " #b, ck_assert_a_, ck_assert_b_, \
                                          __FILE__, __LINE__, __func__);                \
    }                                                                                   \
  } while (false)

#define CK_ASSERT_EQ(a, b) CK_ASSERT_CMP(a, ==, b)
#define CK_ASSERT_NE(a, b) CK_ASSERT_CMP(a, !=, b)
#define CK_ASSERT_LT(a, b) CK_ASSERT_CMP(a, <, b)
#define CK_ASSERT_LE(a, b) CK_ASSERT_CMP(a, <=, b)
#define CK_ASSERT_GT(a, b) CK_ASSERT_CMP(a, >, b)
#define CK_ASSERT_GE(a, b) CK_ASSERT_CMP(a, >=, b)
