#include "common/encoding.h"

#include <sodium.h>

#include <array>

namespace elastos {
namespace {

int SodiumVariant(Base64Alphabet alphabet, Base64Padding padding) {
  if (alphabet == Base64Alphabet::kUrl) {
    return padding == Base64Padding::kWith ? sodium_base64_VARIANT_URLSAFE
                                           : sodium_base64_VARIANT_URLSAFE_NO_PADDING;
  }
  return padding == Base64Padding::kWith ? sodium_base64_VARIANT_ORIGINAL
                                         : sodium_base64_VARIANT_ORIGINAL_NO_PADDING;
}

constexpr std::string_view kBase32Alphabet = "abcdefghijklmnopqrstuvwxyz234567";
constexpr std::string_view kBase58Alphabet =
    "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz";

}  // namespace

std::string HexEncode(ByteView data) {
  std::string out(data.size() * 2 + 1, '\0');
  sodium_bin2hex(out.data(), out.size(), data.data(), data.size());
  out.pop_back();
  return out;
}

Result<Bytes> HexDecode(std::string_view text) {
  if (text.size() % 2 != 0) return InvalidArgument("bad_hex", "hex text has an odd number of digits");
  Bytes out(text.size() / 2);
  std::size_t len = 0;
  const char* end = nullptr;
  if (sodium_hex2bin(out.data(), out.size(), text.data(), text.size(), nullptr, &len, &end) != 0 ||
      end != text.data() + text.size() || len != out.size()) {
    return InvalidArgument("bad_hex", "hex text contains a non-hex character");
  }
  return out;
}

std::string Base64Encode(ByteView data, Base64Alphabet alphabet, Base64Padding padding) {
  const int variant = SodiumVariant(alphabet, padding);
  std::string out(sodium_base64_encoded_len(data.size(), variant), '\0');
  sodium_bin2base64(out.data(), out.size(), data.data(), data.size(), variant);
  out.resize(std::char_traits<char>::length(out.data()));
  return out;
}

Result<Bytes> Base64Decode(std::string_view text, Base64Alphabet alphabet) {
  const bool padded = text.find('=') != std::string_view::npos;
  const int variant = SodiumVariant(alphabet, padded ? Base64Padding::kWith : Base64Padding::kWithout);
  Bytes out(text.size() / 4 * 3 + 3);
  std::size_t len = 0;
  const char* end = nullptr;
  // libsodium rejects characters outside the alphabet, wrong padding and non-zero trailing bits.
  if (sodium_base642bin(out.data(), out.size(), text.data(), text.size(), nullptr, &len, &end,
                        variant) != 0 ||
      end != text.data() + text.size()) {
    return InvalidArgument("bad_base64", alphabet == Base64Alphabet::kUrl
                                             ? "text is not valid base64url"
                                             : "text is not valid base64");
  }
  out.resize(len);
  return out;
}

std::string Base32Encode(ByteView data) {
  std::string out;
  out.reserve((data.size() * 8 + 4) / 5);
  std::uint32_t buffer = 0;
  int bits = 0;
  for (std::uint8_t byte : data) {
    buffer = (buffer << 8) | byte;
    bits += 8;
    while (bits >= 5) {
      out.push_back(kBase32Alphabet[(buffer >> (bits - 5)) & 31]);
      bits -= 5;
    }
  }
  if (bits > 0) out.push_back(kBase32Alphabet[(buffer << (5 - bits)) & 31]);
  return out;
}

Result<Bytes> Base32Decode(std::string_view text) {
  Bytes out;
  out.reserve(text.size() * 5 / 8);
  std::uint32_t buffer = 0;
  int bits = 0;
  for (char c : text) {
    const std::size_t value = kBase32Alphabet.find(c);
    if (value == std::string_view::npos) {
      return InvalidArgument("bad_base32", std::string("character '") + c + "' is not base32 (lowercase RFC 4648, no padding)");
    }
    buffer = (buffer << 5) | static_cast<std::uint32_t>(value);
    bits += 5;
    if (bits >= 8) {
      out.push_back(static_cast<std::uint8_t>(buffer >> (bits - 8)));
      bits -= 8;
    }
  }
  // Leftover bits must be fewer than a byte and all zero, else the text has a second spelling.
  if (bits >= 5 || (buffer & ((1u << bits) - 1)) != 0) {
    return InvalidArgument("bad_base32", "base32 text has non-canonical trailing bits");
  }
  return out;
}

std::string Base58BtcEncode(ByteView data) {
  std::size_t zeros = 0;
  while (zeros < data.size() && data[zeros] == 0) ++zeros;
  // log(256)/log(58) < 1.38: enough digits for the big-endian base conversion.
  std::vector<std::uint8_t> digits((data.size() - zeros) * 138 / 100 + 1, 0);
  std::size_t used = 0;
  for (std::size_t i = zeros; i < data.size(); ++i) {
    std::uint32_t carry = data[i];
    std::size_t j = 0;
    for (auto it = digits.rbegin(); (carry != 0 || j < used) && it != digits.rend(); ++it, ++j) {
      carry += 256u * *it;
      *it = static_cast<std::uint8_t>(carry % 58);
      carry /= 58;
    }
    used = j;
  }
  auto it = digits.begin() + static_cast<std::ptrdiff_t>(digits.size() - used);
  std::string out(zeros, '1');
  for (; it != digits.end(); ++it) out.push_back(kBase58Alphabet[*it]);
  return out;
}

Result<Bytes> Base58BtcDecode(std::string_view text) {
  std::size_t zeros = 0;
  while (zeros < text.size() && text[zeros] == '1') ++zeros;
  // log(58)/log(256) < 0.733.
  std::vector<std::uint8_t> bytes((text.size() - zeros) * 733 / 1000 + 1, 0);
  std::size_t used = 0;
  for (std::size_t i = zeros; i < text.size(); ++i) {
    const std::size_t value = kBase58Alphabet.find(text[i]);
    if (value == std::string_view::npos) {
      return InvalidArgument("bad_base58", std::string("character '") + text[i] + "' is not base58btc");
    }
    std::uint32_t carry = static_cast<std::uint32_t>(value);
    std::size_t j = 0;
    for (auto it = bytes.rbegin(); (carry != 0 || j < used) && it != bytes.rend(); ++it, ++j) {
      carry += 58u * *it;
      *it = static_cast<std::uint8_t>(carry & 0xff);
      carry >>= 8;
    }
    used = j;
  }
  Bytes out(zeros, 0);
  out.insert(out.end(), bytes.end() - static_cast<std::ptrdiff_t>(used), bytes.end());
  return out;
}

void AppendVarint(Bytes& out, std::uint64_t value) {
  while (value >= 0x80) {
    out.push_back(static_cast<std::uint8_t>(value | 0x80));
    value >>= 7;
  }
  out.push_back(static_cast<std::uint8_t>(value));
}

std::size_t VarintSize(std::uint64_t value) {
  std::size_t n = 1;
  while (value >= 0x80) {
    value >>= 7;
    ++n;
  }
  return n;
}

Result<std::uint64_t> ReadVarint(ByteView& in) {
  std::uint64_t value = 0;
  for (std::size_t i = 0; i < 9; ++i) {
    if (i >= in.size()) return InvalidArgument("bad_varint", "varint is truncated");
    const std::uint8_t byte = in[i];
    value |= static_cast<std::uint64_t>(byte & 0x7f) << (7 * i);
    if ((byte & 0x80) == 0) {
      if (byte == 0 && i > 0) return InvalidArgument("bad_varint", "varint is not minimally encoded");
      in = in.subspan(i + 1);
      return value;
    }
  }
  return InvalidArgument("bad_varint", "varint is longer than 9 bytes");
}

std::string MultibaseEncode(Multibase base, ByteView data) {
  std::string out(1, static_cast<char>(base));
  switch (base) {
    case Multibase::kBase32: return out + Base32Encode(data);
    case Multibase::kBase58Btc: return out + Base58BtcEncode(data);
    case Multibase::kBase16: return out + HexEncode(data);
    case Multibase::kBase64Url: return out + Base64UrlEncode(data);
    case Multibase::kBase64:
      return out + Base64Encode(data, Base64Alphabet::kStandard, Base64Padding::kWithout);
  }
  return out;
}

Result<MultibaseDecoded> MultibaseDecode(std::string_view text) {
  if (text.empty()) return InvalidArgument("bad_multibase", "multibase text is empty");
  const std::string_view body = text.substr(1);
  Result<Bytes> bytes = InvalidArgument("bad_multibase", "");
  Multibase base;
  switch (text[0]) {
    case 'b': base = Multibase::kBase32; bytes = Base32Decode(body); break;
    case 'z': base = Multibase::kBase58Btc; bytes = Base58BtcDecode(body); break;
    case 'f':
      base = Multibase::kBase16;
      // Multibase 'f' is lowercase hex; uppercase is a different base ('F').
      for (char c : body) {
        if (c >= 'A' && c <= 'F') return InvalidArgument("bad_multibase", "multibase 'f' must be lowercase hex");
      }
      bytes = HexDecode(body);
      break;
    case 'u':
      base = Multibase::kBase64Url;
      if (body.find('=') != std::string_view::npos) return InvalidArgument("bad_multibase", "multibase 'u' has no padding");
      bytes = Base64Decode(body, Base64Alphabet::kUrl);
      break;
    case 'm':
      base = Multibase::kBase64;
      if (body.find('=') != std::string_view::npos) return InvalidArgument("bad_multibase", "multibase 'm' has no padding");
      bytes = Base64Decode(body, Base64Alphabet::kStandard);
      break;
    default:
      return InvalidArgument("unsupported_multibase",
                             std::string("multibase prefix '") + text[0] +
                                 "' is not supported (use 'b' base32, 'z' base58btc, 'f' hex, 'u' base64url or 'm' base64)");
  }
  if (!bytes.ok()) return bytes.status();
  return MultibaseDecoded{base, std::move(bytes).value()};
}

}  // namespace elastos
