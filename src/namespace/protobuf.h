// The small part of the protobuf wire format that dag-pb and UnixFS use: varint fields (wire
// type 0) and length-delimited fields (wire type 2). Internal to src/namespace/.
//
// Reading is strict where protobuf is usually lenient: keys and varints must be minimally
// encoded, and the fixed-width and group wire types are refused outright, because neither
// schema has such fields and a block has exactly one valid encoding.
#pragma once

#include <cstdint>
#include <string>

#include "common/bytes.h"
#include "common/encoding.h"
#include "common/status.h"

namespace elastos::ipld::pb {

enum class WireType : std::uint8_t { kVarint = 0, kLengthDelimited = 2 };

inline void AppendKey(Bytes& out, std::uint32_t field, WireType type) {
  AppendVarint(out, (std::uint64_t{field} << 3) | static_cast<std::uint8_t>(type));
}
inline void AppendVarintField(Bytes& out, std::uint32_t field, std::uint64_t value) {
  AppendKey(out, field, WireType::kVarint);
  AppendVarint(out, value);
}
inline void AppendBytesField(Bytes& out, std::uint32_t field, ByteView value) {
  AppendKey(out, field, WireType::kLengthDelimited);
  AppendVarint(out, value.size());
  Append(out, value);
}
// Encoded size of a length-delimited field with a one-byte key.
inline std::size_t BytesFieldSize(std::size_t length) { return 1 + VarintSize(length) + length; }

struct Field {
  std::uint32_t number = 0;
  WireType type = WireType::kVarint;
  std::uint64_t value = 0;  // wire type 0
  ByteView bytes;           // wire type 2: a view into the input
};

// Reads one field from the front of `in`, advancing it. Errors are invalid_argument with the
// given `reason` and a message saying what was wrong.
inline Result<Field> ReadField(ByteView& in, const std::string& reason) {
  auto key = ReadVarint(in);
  if (!key.ok()) return InvalidArgument(reason, "bad field key: " + key.status().message());
  Field f;
  const std::uint64_t number = *key >> 3;
  if (number == 0 || number > 0x1fffffff) {
    return InvalidArgument(reason, "field number " + std::to_string(number) + " is invalid");
  }
  f.number = static_cast<std::uint32_t>(number);
  switch (*key & 7) {
    case 0: {
      f.type = WireType::kVarint;
      auto v = ReadVarint(in);
      if (!v.ok()) {
        return InvalidArgument(reason,
                               "field " + std::to_string(number) + ": " + v.status().message());
      }
      f.value = *v;
      return f;
    }
    case 2: {
      f.type = WireType::kLengthDelimited;
      auto len = ReadVarint(in);
      if (!len.ok()) {
        return InvalidArgument(
            reason, "field " + std::to_string(number) + " length: " + len.status().message());
      }
      if (*len > in.size()) {
        return InvalidArgument(reason, "field " + std::to_string(number) + " claims " +
                                           std::to_string(*len) + " bytes but only " +
                                           std::to_string(in.size()) + " remain");
      }
      f.bytes = in.first(static_cast<std::size_t>(*len));
      in = in.subspan(static_cast<std::size_t>(*len));
      return f;
    }
    default:
      return InvalidArgument(reason, "field " + std::to_string(number) +
                                         " has unsupported wire type " + std::to_string(*key & 7));
  }
}

}  // namespace elastos::ipld::pb
