// elastos/bytes.h — byte strings and their wire form (docs/protocol.md §3).
//
// Bytes travel as standard base64 with padding. Readers also accept unpadded base64 and, for the
// reference runtime's capsules, a JSON array of integers 0…255. Decoding is strict otherwise: no
// whitespace, no URL-safe alphabet, no non-zero padding bits (so one byte string has one spelling
// per form).
//
// Thread-safety: pure functions.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "elastos/error.h"
#include "elastos/json.h"

namespace elastos::sdk {

using Bytes = std::vector<std::uint8_t>;

inline Bytes ToBytes(std::string_view text) { return Bytes(text.begin(), text.end()); }
inline std::string ToString(const Bytes& bytes) { return std::string(bytes.begin(), bytes.end()); }

inline std::string Base64Encode(const std::uint8_t* data, std::size_t size) {
  static const char kAlphabet[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  out.reserve((size + 2) / 3 * 4);
  std::size_t i = 0;
  for (; i + 3 <= size; i += 3) {
    const std::uint32_t v =
        (std::uint32_t{data[i]} << 16) | (std::uint32_t{data[i + 1]} << 8) | data[i + 2];
    out.push_back(kAlphabet[(v >> 18) & 63]);
    out.push_back(kAlphabet[(v >> 12) & 63]);
    out.push_back(kAlphabet[(v >> 6) & 63]);
    out.push_back(kAlphabet[v & 63]);
  }
  if (size - i == 1) {
    const std::uint32_t v = std::uint32_t{data[i]} << 16;
    out.push_back(kAlphabet[(v >> 18) & 63]);
    out.push_back(kAlphabet[(v >> 12) & 63]);
    out.append("==");
  } else if (size - i == 2) {
    const std::uint32_t v = (std::uint32_t{data[i]} << 16) | (std::uint32_t{data[i + 1]} << 8);
    out.push_back(kAlphabet[(v >> 18) & 63]);
    out.push_back(kAlphabet[(v >> 12) & 63]);
    out.push_back(kAlphabet[(v >> 6) & 63]);
    out.push_back('=');
  }
  return out;
}
inline std::string Base64Encode(const Bytes& bytes) {
  return Base64Encode(bytes.data(), bytes.size());
}

// Standard alphabet; padding optional but, when present, correct. Error: invalid_argument /
// bad_base64.
inline Result<Bytes> Base64Decode(std::string_view text) {
  auto bad = [](const char* why) {
    return MakeError(ErrorCode::kInvalidArgument, "bad_base64", std::string("base64: ") + why);
  };
  auto value = [](char c) -> int {
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    if (c == '+') return 62;
    if (c == '/') return 63;
    return -1;
  };
  if (text.size() % 4 == 0 && !text.empty()) {
    std::size_t pad = 0;
    while (pad < 2 && text[text.size() - 1 - pad] == '=') ++pad;
    text.remove_suffix(pad);
  }
  if (text.size() % 4 == 1) return bad("impossible length");
  Bytes out;
  out.reserve(text.size() / 4 * 3 + 2);
  std::uint32_t acc = 0;
  int bits = 0;
  for (char c : text) {
    const int v = value(c);
    if (v < 0)
      return bad(c == '=' ? "misplaced padding" : "character outside the standard alphabet");
    acc = (acc << 6) | static_cast<std::uint32_t>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out.push_back(static_cast<std::uint8_t>((acc >> bits) & 0xFF));
    }
  }
  if (bits > 0 && (acc & ((1u << bits) - 1)) != 0) return bad("non-zero padding bits");
  return out;
}

// A bytes field as the wire carries it: a base64 string, or an array of integers 0…255.
inline Result<Bytes> BytesFromJson(const json::Value& value) {
  if (const std::string* s = value.GetString()) return Base64Decode(*s);
  if (const json::Array* a = value.GetArray()) {
    Bytes out;
    out.reserve(a->size());
    for (const json::Value& item : *a) {
      auto v = item.GetUint64();
      if (!v || !item.is_integer() || *v > 255) {
        return MakeError(ErrorCode::kInvalidArgument, "bad_bytes",
                         "byte array holds something other than 0…255");
      }
      out.push_back(static_cast<std::uint8_t>(*v));
    }
    return out;
  }
  return MakeError(ErrorCode::kInvalidArgument, "bad_bytes",
                   "bytes must be a base64 string or an array of 0…255");
}

inline json::Value BytesToJson(const Bytes& bytes) { return json::Value(Base64Encode(bytes)); }

}  // namespace elastos::sdk
