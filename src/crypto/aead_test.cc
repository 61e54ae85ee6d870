#include "crypto/aead.h"

#include <gtest/gtest.h>

namespace elastos::crypto {
namespace {

AeadKey Key(std::uint8_t b) {
  AeadKey k;
  k.fill(b);
  return k;
}

TEST(AeadTest, RoundTripAndEveryTamperingIsCaught) {
  const Bytes plain = ToBytes("dear diary");
  auto sealed = Seal(Key(1), plain, "Users/self/diary.txt");
  ASSERT_TRUE(sealed.ok());
  EXPECT_EQ(sealed->size(), plain.size() + kSealOverhead);
  EXPECT_TRUE(LooksSealed(*sealed));
  auto opened = Open(Key(1), *sealed, "Users/self/diary.txt");
  ASSERT_TRUE(opened.ok());
  EXPECT_EQ(*opened, plain);
  // Fresh nonce per seal: the same plaintext never seals the same way twice.
  EXPECT_NE(*Seal(Key(1), plain, "Users/self/diary.txt"), *sealed);
  // Wrong key, another path, any flipped bit.
  EXPECT_EQ(Open(Key(2), *sealed, "Users/self/diary.txt").status().reason(), "seal_broken");
  EXPECT_EQ(Open(Key(1), *sealed, "Users/self/other.txt").status().reason(), "seal_broken");
  for (std::size_t i = 8; i < sealed->size(); ++i) {
    Bytes bad = *sealed;
    bad[i] ^= 0x01;
    EXPECT_EQ(Open(Key(1), bad, "Users/self/diary.txt").status().reason(), "seal_broken") << i;
  }
  EXPECT_EQ(Open(Key(1), plain, "x").status().reason(), "not_sealed");
  // The empty file seals too.
  auto empty = Seal(Key(1), {}, "a");
  ASSERT_TRUE(empty.ok());
  EXPECT_TRUE(Open(Key(1), *empty, "a")->empty());
}

// A known-answer check against OpenSSL's command line would need a subprocess; instead check the
// layout: magic, 12-byte nonce, ciphertext as long as the plaintext, 16-byte tag.
TEST(AeadTest, LayoutIsMagicNonceCiphertextTag) {
  auto sealed = Seal(Key(7), ToBytes("abc"), "");
  ASSERT_TRUE(sealed.ok());
  EXPECT_EQ(std::string(sealed->begin(), sealed->begin() + 8), "ELSEAL01");
  EXPECT_EQ(sealed->size(), 8u + 12u + 3u + 16u);
}

}  // namespace
}  // namespace elastos::crypto
