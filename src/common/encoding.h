// Text and integer encodings of bytes: hex, base64 (std and url), base32 (RFC 4648 lower),
// base58btc, unsigned LEB128 varints and multibase prefixes.
//
// Every decoder is strict: it rejects characters outside its alphabet, non-canonical trailing bits
// and (for varints) over-long or overflowing encodings, because these encodings carry identities
// (CIDs, did:keys, tokens) where two spellings of one value would be a forgery vector.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "common/bytes.h"
#include "common/status.h"

namespace elastos {

std::string HexEncode(ByteView data);  // lowercase
Result<Bytes> HexDecode(std::string_view text);  // accepts upper and lower case

enum class Base64Alphabet { kStandard, kUrl };
enum class Base64Padding { kWith, kWithout };
std::string Base64Encode(ByteView data, Base64Alphabet alphabet = Base64Alphabet::kStandard,
                         Base64Padding padding = Base64Padding::kWith);
// Decodes the given alphabet; padding is accepted when present and must then be correct.
Result<Bytes> Base64Decode(std::string_view text, Base64Alphabet alphabet = Base64Alphabet::kStandard);
// base64url without padding: the wire form of signatures and tokens.
inline std::string Base64UrlEncode(ByteView data) {
  return Base64Encode(data, Base64Alphabet::kUrl, Base64Padding::kWithout);
}
inline Result<Bytes> Base64UrlDecode(std::string_view text) {
  return Base64Decode(text, Base64Alphabet::kUrl);
}

std::string Base32Encode(ByteView data);  // RFC 4648 lowercase, no padding
Result<Bytes> Base32Decode(std::string_view text);

std::string Base58BtcEncode(ByteView data);
Result<Bytes> Base58BtcDecode(std::string_view text);

// Unsigned LEB128 as used by multiformats (at most 9 bytes, i.e. values < 2^63).
void AppendVarint(Bytes& out, std::uint64_t value);
std::size_t VarintSize(std::uint64_t value);
// Reads a varint from the front of `in`, advancing it. Rejects truncated, over-long
// (non-minimal) and overflowing encodings.
Result<std::uint64_t> ReadVarint(ByteView& in);

// Multibase: one prefix character naming the base. Supported: 'b' base32 lower,
// 'z' base58btc, 'f' hex lower, 'u' base64url, 'm' base64.
enum class Multibase : char {
  kBase32 = 'b',
  kBase58Btc = 'z',
  kBase16 = 'f',
  kBase64Url = 'u',
  kBase64 = 'm',
};
std::string MultibaseEncode(Multibase base, ByteView data);
struct MultibaseDecoded {
  Multibase base;
  Bytes bytes;
};
Result<MultibaseDecoded> MultibaseDecode(std::string_view text);

}  // namespace elastos
