#include "runtime/capability/token.h"

#include <gtest/gtest.h>

#include "common/encoding.h"

namespace elastos::runtime {
namespace {

const crypto::Ed25519PrivateKey& RuntimeKey() {
  static const auto key = *crypto::Ed25519PrivateKey::FromSeed(Bytes(32, 0x42));
  return key;
}

TokenFields Example() {
  TokenFields f;
  for (std::size_t i = 0; i < f.id.size(); ++i) f.id[i] = static_cast<std::uint8_t>(i);
  f.issuer = RuntimeKey().public_key();
  f.holder = "notes#1";
  f.resource = "localhost://Users/self/Documents/Notes/*";
  f.action = Action::kWrite;
  f.epoch = 3;
  f.delegatable = true;
  f.max_classification = Classification::kPrivate;
  f.max_uses = 10;
  f.issued_at = {1795000000, 42};
  f.expiry_unix = 1795003600;
  return f;
}

// The worked example of docs/formats/token.md, byte for byte.
constexpr char kExampleBody[] =
    "01"                                                                // version
    "000102030405060708090a0b0c0d0e0f"                                  // id
    "2152f8d19b791d24453242e15f2eab6cb7cffa7b6a5ed30097960e069881db12"  // issuer
    "076e6f7465732331"                                                  // holder "notes#1"
    "286c6f63616c686f73743a2f2f55736572732f73656c662f446f63756d656e74732f4e6f7465732f2a"  // resource
    "01"        // action write
    "03"        // epoch 3
    "0f"        // flags: delegatable | classification | max_uses | expiry
    "02"        // max_classification private
    "0a"        // max_uses 10
    "c08df6d706"  // issued_at.unix_secs 1795000000
    "2a"        // issued_at.seq 42
    "d0a9f6d706";  // expiry 1795003600

TEST(Token, WorkedExampleFromTheDocs) {
  const Bytes body = EncodeTokenBody(Example());
  EXPECT_EQ(HexEncode(body), kExampleBody);
  const Token token = Token::Sign(Example(), RuntimeKey());
  ASSERT_EQ(token.bytes().size(), body.size() + 64);
  auto decoded = Token::Decode(token.bytes());
  ASSERT_TRUE(decoded.ok()) << decoded.status().ToString();
  const TokenFields& f = decoded->fields();
  EXPECT_EQ(f.holder, "notes#1");
  EXPECT_EQ(f.resource, "localhost://Users/self/Documents/Notes/*");
  EXPECT_EQ(f.action, Action::kWrite);
  EXPECT_EQ(f.epoch, 3u);
  EXPECT_TRUE(f.delegatable);
  EXPECT_EQ(f.max_classification, Classification::kPrivate);
  EXPECT_EQ(f.max_uses, 10u);
  EXPECT_EQ(f.issued_at, (SecureTimestamp{1795000000, 42}));
  EXPECT_EQ(f.expiry_unix, 1795003600u);
  EXPECT_FALSE(f.parent);
  EXPECT_TRUE(decoded->SignatureValid(RuntimeKey().public_key()));
  // The signature is Ed25519 over SHA-256("elastos.capability.v1" || 0x00 || body).
  EXPECT_TRUE(crypto::VerifyWithDomain(RuntimeKey().public_key(), "elastos.capability.v1", body, decoded->signature()));
}

TEST(Token, WireRoundTripAndSize) {
  TokenFields f = Example();
  f.holder = "notes#0123456789abcdef";
  f.resource = "localhost://Users/self/" + std::string(100 - 23, 'a');
  ASSERT_EQ(f.resource.size(), 100u);
  f.parent = f.id;
  const Token token = Token::Sign(f, RuntimeKey());
  EXPECT_LE(token.bytes().size(), 320u);
  const std::string wire = token.ToWire();
  EXPECT_EQ(wire.find_first_of("+/="), std::string::npos);  // base64url, no padding
  auto back = Token::FromWire(wire);
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(back->bytes(), token.bytes());
  EXPECT_EQ(back->fields().parent, f.id);
}

TEST(Token, OptionTagsKeepAbsentAndZeroApart) {
  TokenFields a = Example(), b = Example();
  a.expiry_unix.reset();
  b.expiry_unix = 0;
  EXPECT_NE(EncodeTokenBody(a), EncodeTokenBody(b));
  a = Example(), b = Example();
  a.max_classification.reset();
  b.max_classification = Classification::kPublic;
  EXPECT_NE(EncodeTokenBody(a), EncodeTokenBody(b));
  // Length prefixes: moving a byte between holder and resource changes the encoding.
  a = Example(), b = Example();
  a.holder = "notes#1l";
  a.resource = "ocalhost://x";
  b.holder = "notes#1";
  b.resource = "localhost://x";
  EXPECT_NE(EncodeTokenBody(a), EncodeTokenBody(b));
}

TEST(Token, DecodingIsStrict) {
  const Token token = Token::Sign(Example(), RuntimeKey());
  const Bytes good = token.bytes();
  // Every truncation fails to decode.
  for (std::size_t n = 0; n < good.size(); ++n) {
    EXPECT_FALSE(Token::Decode(ByteView(good).first(n)).ok()) << n;
  }
  // A trailing byte (inside the body, before the signature) is refused.
  Bytes body = EncodeTokenBody(Example());
  body.push_back(0);
  Append(body, token.signature());
  EXPECT_EQ(Token::Decode(body).status().reason(), "token_malformed");

  auto with_body_byte = [&](std::size_t offset, std::uint8_t value) {
    Bytes b = good;
    b[offset] = value;
    return Token::Decode(b);
  };
  const std::size_t flags_offset = 1 + 16 + 32 + 8 + 41 + 1 + 1;
  EXPECT_EQ(good[flags_offset], 0x0f);
  EXPECT_EQ(with_body_byte(flags_offset, 0x2f).status().reason(), "token_malformed");  // unknown flag
  EXPECT_EQ(with_body_byte(flags_offset - 2, 6).status().reason(), "token_malformed");  // action 6
  EXPECT_EQ(with_body_byte(flags_offset + 1, 4).status().reason(), "token_malformed");  // classification 4
  EXPECT_EQ(with_body_byte(flags_offset + 2, 0).status().reason(), "token_malformed");  // max_uses 0
  EXPECT_EQ(with_body_byte(0, 2).status().reason(), "token_version");

  // A non-canonical resource cannot be smuggled in.
  TokenFields f = Example();
  f.resource = "localhost://Users/self/../other/*";
  EXPECT_EQ(Token::Decode(Token::Sign(f, RuntimeKey()).bytes()).status().reason(), "token_malformed");
  f.resource = "localhost://Users//self/*";
  EXPECT_EQ(Token::Decode(Token::Sign(f, RuntimeKey()).bytes()).status().reason(), "token_malformed");
  f = Example();
  f.holder = "";
  EXPECT_EQ(Token::Decode(Token::Sign(f, RuntimeKey()).bytes()).status().reason(), "token_malformed");

  EXPECT_FALSE(Token::FromWire("not base64!").ok());
  EXPECT_FALSE(Token::Decode(Bytes(kMaxTokenSize + 1, 1)).ok());
}

TEST(Token, EveryByteIsCoveredByTheSignature) {
  const Token token = Token::Sign(Example(), RuntimeKey());
  for (std::size_t i = 0; i < token.bytes().size(); ++i) {
    Bytes b = token.bytes();
    b[i] ^= 0x01;
    auto decoded = Token::Decode(b);
    if (decoded.ok()) {
      EXPECT_FALSE(decoded->SignatureValid(RuntimeKey().public_key())) << "flip at " << i;
    }
  }
}

}  // namespace
}  // namespace elastos::runtime
