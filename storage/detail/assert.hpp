#pragma once

// CK_STORAGE_ASSERT: programmer errors inside the storage layer abort with the expression, the
// values and the place, in every build type (release included). Operating errors (bad input,
// full disks, damaged files) are `status` values, never asserts.
//
// Why a storage-only macro: storage sits below runtime/ and must not include runtime/assert.hpp,
// and a second `CK_ASSERT` would collide with it in any translation unit that sees both.

#include <cstdio>
#include <cstdlib>
#include <type_traits>

namespace ck::storage::detail {

[[noreturn]] inline void assert_failed(const char* expression, const char* file, int line,
                                       const char* function) {
  std::fprintf(stderr, "clusterkit storage: assertion failed: %s at %s:%d in %s\n", expression,
               file, line, function);
  std::fflush(stderr);
  std::abort();
}

// Prints integers (and enums) exactly, signed or not, so the offending numbers are visible.
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
  std::fprintf(stderr, "clusterkit storage: assertion failed: %s (", expression);
  assert_print_value(a);
  std::fprintf(stderr, " vs ");
  assert_print_value(b);
  std::fprintf(stderr, ") at %s:%d in %s\n", file, line, function);
  std::fflush(stderr);
  std::abort();
}

}  // namespace ck::storage::detail

#define CK_STORAGE_ASSERT(cond)                                                  \
  do {                                                                           \
    if (!(cond)) {                                                               \
      ::ck::storage::detail::assert_failed(#cond, __FILE__, __LINE__, __func__); \
    }                                                                            \
  } while (false)

#define CK_STORAGE_ASSERT_CMP(a, op, b)                                                      \
  do {                                                                                       \
    const auto& ck_storage_assert_a_ = (a);                                                  \
    const auto& ck_storage_assert_b_ = (b);                                                  \
    if (!(ck_storage_assert_a_ op ck_storage_assert_b_)) {                                   \
      ::ck::storage::detail::assert_compare_failed(#a " " #op " " #b, ck_storage_assert_a_,  \
                                                   ck_storage_assert_b_, __FILE__, __LINE__, \
                                                   __func__);                                \
    }                                                                                        \
  } while (false)

#define CK_STORAGE_ASSERT_EQ(a, b) CK_STORAGE_ASSERT_CMP(a, ==, b)
#define CK_STORAGE_ASSERT_NE(a, b) CK_STORAGE_ASSERT_CMP(a, !=, b)
#define CK_STORAGE_ASSERT_LT(a, b) CK_STORAGE_ASSERT_CMP(a, <, b)
#define CK_STORAGE_ASSERT_LE(a, b) CK_STORAGE_ASSERT_CMP(a, <=, b)
#define CK_STORAGE_ASSERT_GE(a, b) CK_STORAGE_ASSERT_CMP(a, >=, b)
