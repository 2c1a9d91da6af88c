#pragma once

// The one big-endian integer codec of every layer (storage keys and records, the meta codec,
// apply results, state machine commands): most significant byte first, so byte order is
// numeric order in LMDB keys. Header-only; no dependencies.

#include <cstdint>
#include <string>

namespace ck::runtime {

/// Writes `value` into out[0..4) / out[0..8), most significant byte first.
inline void put_u32_be(char* out, uint32_t value) noexcept {
  for (int i = 3; i >= 0; --i) {
    out[i] = static_cast<char>(value & 0xFFu);
    value >>= 8;
  }
}

inline void put_u64_be(char* out, uint64_t value) noexcept {
  for (int i = 7; i >= 0; --i) {
    out[i] = static_cast<char>(value & 0xFFu);
    value >>= 8;
  }
}

/// Reads the big-endian integer at in[0..2) / in[0..4) / in[0..8).
inline uint16_t get_u16_be(const char* in) noexcept {
  return static_cast<uint16_t>((static_cast<uint8_t>(in[0]) << 8) | static_cast<uint8_t>(in[1]));
}

inline uint32_t get_u32_be(const char* in) noexcept {
  uint32_t value = 0;
  for (int i = 0; i < 4; ++i) {
    value = (value << 8) | static_cast<uint8_t>(in[i]);
  }
  return value;
}

inline uint64_t get_u64_be(const char* in) noexcept {
  uint64_t value = 0;
  for (int i = 0; i < 8; ++i) {
    value = (value << 8) | static_cast<uint8_t>(in[i]);
  }
  return value;
}

/// Appends the 2 / 4 / 8 big-endian bytes of `value` to `out`.
inline void append_u16_be(std::string& out, uint16_t value) {
  out.push_back(static_cast<char>(value >> 8));
  out.push_back(static_cast<char>(value & 0xFFu));
}

inline void append_u32_be(std::string& out, uint32_t value) {
  char bytes[4];
  put_u32_be(bytes, value);
  out.append(bytes, sizeof bytes);
}

inline void append_u64_be(std::string& out, uint64_t value) {
  char bytes[8];
  put_u64_be(bytes, value);
  out.append(bytes, sizeof bytes);
}

}  // namespace ck::runtime
