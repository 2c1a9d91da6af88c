#pragma once

// CK_ASSERT: programmer errors abort with the expression, the values and the place, in every
// build type (release included): a broken invariant must never be carried on silently.
// Operating errors (bad input, full disks, dead peers) are values, never asserts.

#include <cstdio>
#include <cstdlib>

namespace ck::detail {

[[noreturn]] inline void assert_failed(const char* expression, const char* file, int line,
                                       const char* function) {
  std::fprintf(stderr, "clusterkit: assertion failed: %s at %s:%d in %s\n", expression, file, line,
               function);
  std::fflush(stderr);
  std::abort();
}

template <class A, class B>
[[noreturn]] void assert_compare_failed(const char* expression, const A& a, const B& b,
                                        const char* file, int line, const char* function) {
  std::fprintf(stderr, "clusterkit: assertion failed: %s (%lld vs %lld) at %s:%d in %s\n",
               expression, static_cast<long long>(a), static_cast<long long>(b), file, line,
               function);
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
