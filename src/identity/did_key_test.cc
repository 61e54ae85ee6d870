#include "identity/did_key.h"

#include <gtest/gtest.h>

#include "common/encoding.h"

namespace elastos::identity {
namespace {

TEST(DidKey, KnownVector) {
  // Seed 07×32; the public key and did:key agree with @noble/ed25519 and key-did-resolver.
  const auto key = *crypto::Ed25519PrivateKey::FromSeed(Bytes(32, 7));
  EXPECT_EQ(HexEncode(key.public_key().bytes()),
            "ea4a6c63e29c520abef5507b132ec5f9954776aebebe7b92421eea691446d22c");
  const std::string did = DidKeyEncode(key.public_key());
  EXPECT_EQ(did, "did:key:z6MkvDqGT54cXesYGvABpF1UapVNwjCqRcafi4Px6Thv5T3Z");
  auto decoded = DidKeyDecode(did);
  ASSERT_TRUE(decoded.ok());
  EXPECT_EQ(*decoded, key.public_key());
}

TEST(DidKey, RefusesOtherForms) {
  EXPECT_FALSE(DidKeyDecode("did:web:example.com").ok());
  EXPECT_FALSE(DidKeyDecode("did:key:").ok());
  // Right key, wrong multibase (base32 'b').
  const auto key = *crypto::Ed25519PrivateKey::FromSeed(Bytes(32, 7));
  Bytes body = {0xed, 0x01};
  Append(body, key.public_key().bytes());
  EXPECT_FALSE(DidKeyDecode("did:key:" + MultibaseEncode(Multibase::kBase32, body)).ok());
  // secp256k1-pub multicodec (0xe7): a real did:key, but not one we accept.
  Bytes secp = {0xe7, 0x01};
  Append(secp, Bytes(33, 2));
  auto r = DidKeyDecode("did:key:" + MultibaseEncode(Multibase::kBase58Btc, secp));
  EXPECT_EQ(r.status().reason(), "unsupported_did_key");
  // Ed25519 multicodec with a truncated key.
  Bytes short_key = {0xed, 0x01};
  Append(short_key, Bytes(31, 1));
  EXPECT_EQ(DidKeyDecode("did:key:" + MultibaseEncode(Multibase::kBase58Btc, short_key)).status().reason(),
            "bad_did_key");
}

}  // namespace
}  // namespace elastos::identity
