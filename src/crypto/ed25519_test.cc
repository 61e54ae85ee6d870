#include "crypto/ed25519.h"

#include <gtest/gtest.h>

#include "common/encoding.h"
#include "crypto/sha256.h"

namespace elastos::crypto {
namespace {

// RFC 8032 §7.1, test 1 (empty message).
TEST(Ed25519, Rfc8032Vector) {
  auto key = Ed25519PrivateKey::FromSeed(
      *HexDecode("9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60"));
  ASSERT_TRUE(key.ok());
  EXPECT_EQ(HexEncode(key->public_key().bytes()),
            "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a");
  const auto sig = key->Sign({});
  EXPECT_EQ(HexEncode(sig),
            "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b");
  EXPECT_TRUE(key->public_key().Verify({}, sig));
}

TEST(Ed25519, RejectsWrongMessageKeyAndSignature) {
  const auto key = Ed25519PrivateKey::Generate();
  const auto other = Ed25519PrivateKey::Generate();
  const auto msg = AsBytes("capsule");
  auto sig = key.Sign(msg);
  EXPECT_TRUE(key.public_key().Verify(msg, sig));
  EXPECT_FALSE(key.public_key().Verify(AsBytes("capsulE"), sig));
  EXPECT_FALSE(other.public_key().Verify(msg, sig));
  sig[10] ^= 1;
  EXPECT_FALSE(key.public_key().Verify(msg, sig));
  EXPECT_FALSE(key.public_key().Verify(msg, ByteView(sig).first(63)));
}

TEST(Ed25519, BadKeySizes) {
  EXPECT_FALSE(Ed25519PrivateKey::FromSeed(Bytes(31)).ok());
  EXPECT_EQ(Ed25519PublicKey::FromBytes(Bytes(33)).status().reason(), "bad_public_key");
}

TEST(Ed25519, SeedRoundTrip) {
  const auto key = Ed25519PrivateKey::Generate();
  const auto again = Ed25519PrivateKey::FromSeed(key.seed());
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->public_key(), key.public_key());
}

TEST(DomainSigning, DomainsDoNotCrossVerify) {
  const auto key = *Ed25519PrivateKey::FromSeed(Bytes(32, 7));
  const auto msg = AsBytes("payload");
  const auto sig = SignWithDomain(key, "elastos.capsule.v1", msg);
  EXPECT_TRUE(VerifyWithDomain(key.public_key(), "elastos.capsule.v1", msg, sig));
  EXPECT_FALSE(VerifyWithDomain(key.public_key(), "elastos.capability.v1", msg, sig));
  // The separator makes ("ab", "c") and ("a", "bc") distinct messages.
  EXPECT_NE(DomainDigest("ab", AsBytes("c")), DomainDigest("a", AsBytes("bc")));
  // The digest is exactly SHA-256(domain || 0x00 || message).
  const std::string manual = std::string("elastos.capsule.v1") + '\0' + "payload";
  EXPECT_EQ(DomainDigest("elastos.capsule.v1", msg), Sha256::Hash(AsBytes(manual)));
}

}  // namespace
}  // namespace elastos::crypto
