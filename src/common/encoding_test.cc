#include "common/encoding.h"

#include <gtest/gtest.h>

namespace elastos {
namespace {

Bytes B(std::string_view s) { return ToBytes(s); }

TEST(Hex, RoundTripAndRejects) {
  EXPECT_EQ(HexEncode(B("\x01\xab\xff")), "01abff");
  EXPECT_EQ(*HexDecode("01ABff"), B("\x01\xab\xff"));
  EXPECT_FALSE(HexDecode("abc").ok());
  EXPECT_FALSE(HexDecode("zz").ok());
  EXPECT_EQ(HexDecode("zz").status().reason(), "bad_hex");
}

TEST(Base64, Rfc4648Vectors) {
  const std::pair<const char*, const char*> vectors[] = {
      {"", ""}, {"f", "Zg=="}, {"fo", "Zm8="}, {"foo", "Zm9v"}, {"foobar", "Zm9vYmFy"}};
  for (auto [plain, encoded] : vectors) {
    EXPECT_EQ(Base64Encode(AsBytes(plain)), encoded);
    EXPECT_EQ(*Base64Decode(encoded), B(plain));
  }
  EXPECT_EQ(Base64Encode(AsBytes("fo"), Base64Alphabet::kStandard, Base64Padding::kWithout), "Zm8");
  EXPECT_EQ(*Base64Decode("Zm8"), B("fo"));  // unpadded accepted
}

TEST(Base64, UrlAlphabet) {
  const Bytes data = {0xfb, 0xff, 0xbf};
  EXPECT_EQ(Base64Encode(data), "+/+/");
  EXPECT_EQ(Base64UrlEncode(data), "-_-_");
  EXPECT_EQ(*Base64UrlDecode("-_-_"), data);
  EXPECT_FALSE(Base64UrlDecode("+/+/").ok());  // standard characters refused in url mode
  EXPECT_FALSE(Base64Decode("-_-_").ok());
}

TEST(Base64, RejectsNonCanonicalAndGarbage) {
  EXPECT_FALSE(Base64Decode("Zm9=").ok());   // trailing bits set: a second spelling of "fo"
  EXPECT_FALSE(Base64Decode("Zm8==").ok());  // wrong padding
  EXPECT_FALSE(Base64Decode("Zm 8").ok());
  EXPECT_FALSE(Base64UrlDecode("Z").ok());
}

TEST(Base32, Rfc4648LowerNoPadding) {
  const std::pair<const char*, const char*> vectors[] = {
      {"", ""}, {"f", "my"}, {"fo", "mzxq"}, {"foo", "mzxw6"}, {"foob", "mzxw6yq"},
      {"fooba", "mzxw6ytb"}, {"foobar", "mzxw6ytboi"}};
  for (auto [plain, encoded] : vectors) {
    EXPECT_EQ(Base32Encode(AsBytes(plain)), encoded);
    EXPECT_EQ(*Base32Decode(encoded), B(plain));
  }
  EXPECT_FALSE(Base32Decode("MZXW6").ok());  // uppercase is not our alphabet
  EXPECT_FALSE(Base32Decode("mz").ok());     // "mz" has non-zero trailing bits
  EXPECT_FALSE(Base32Decode("m").ok());      // 5 bits cannot be a byte
  EXPECT_FALSE(Base32Decode("my=").ok());
}

TEST(Base58Btc, Vectors) {
  EXPECT_EQ(Base58BtcEncode(AsBytes("hello world")), "StV1DL6CwTryKyV");
  EXPECT_EQ(Base58BtcEncode(Bytes{0, 0, 1}), "112");
  EXPECT_EQ(Base58BtcEncode(Bytes{}), "");
  EXPECT_EQ(*Base58BtcDecode("StV1DL6CwTryKyV"), B("hello world"));
  EXPECT_EQ(*Base58BtcDecode("112"), (Bytes{0, 0, 1}));
  EXPECT_FALSE(Base58BtcDecode("0OIl").ok());
}

TEST(Base58Btc, RoundTripsRandomLengths) {
  for (int len = 0; len < 80; ++len) {
    Bytes data(len);
    for (int i = 0; i < len; ++i) data[i] = static_cast<std::uint8_t>((i * 131 + len * 7) & 0xff);
    if (len > 2) data[0] = 0;  // leading zeros must survive
    EXPECT_EQ(*Base58BtcDecode(Base58BtcEncode(data)), data) << len;
  }
}

TEST(Varint, EncodesAndRejectsBadForms) {
  Bytes out;
  AppendVarint(out, 300);
  EXPECT_EQ(out, (Bytes{0xac, 0x02}));
  EXPECT_EQ(VarintSize(300), 2u);
  ByteView in = out;
  EXPECT_EQ(*ReadVarint(in), 300u);
  EXPECT_TRUE(in.empty());

  Bytes overlong = {0x80, 0x00};
  ByteView v = overlong;
  EXPECT_EQ(ReadVarint(v).status().reason(), "bad_varint");
  Bytes truncated = {0x80};
  v = truncated;
  EXPECT_FALSE(ReadVarint(v).ok());
  Bytes too_long(10, 0xff);
  v = too_long;
  EXPECT_FALSE(ReadVarint(v).ok());
}

TEST(Multibase, PrefixesAndErrors) {
  const Bytes data = B("hi");
  for (Multibase base : {Multibase::kBase32, Multibase::kBase58Btc, Multibase::kBase16,
                         Multibase::kBase64Url, Multibase::kBase64}) {
    auto decoded = MultibaseDecode(MultibaseEncode(base, data));
    ASSERT_TRUE(decoded.ok());
    EXPECT_EQ(decoded->base, base);
    EXPECT_EQ(decoded->bytes, data);
  }
  EXPECT_EQ(MultibaseEncode(Multibase::kBase32, data), "bnbuq");
  EXPECT_EQ(MultibaseDecode("Qfoo").status().reason(), "unsupported_multibase");
  EXPECT_FALSE(MultibaseDecode("").ok());
  EXPECT_FALSE(MultibaseDecode("fABCD").ok());
}

}  // namespace
}  // namespace elastos
