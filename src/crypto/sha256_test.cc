#include "crypto/sha256.h"

#include <gtest/gtest.h>

#include "common/encoding.h"

namespace elastos::crypto {
namespace {

TEST(Sha256, KnownVectors) {
  EXPECT_EQ(HexEncode(Sha256::Hash(AsBytes(""))),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(HexEncode(Sha256::Hash(AsBytes("abc"))),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

TEST(Sha256, StreamingEqualsOneShotAndResets) {
  const std::string text = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
  Sha256 h;
  for (char c : text) h.Update(AsBytes(std::string_view(&c, 1)));
  EXPECT_EQ(HexEncode(h.Final()),
            "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
  h.Update(AsBytes("abc"));  // Final() reset the state
  EXPECT_EQ(h.Final(), Sha256::Hash(AsBytes("abc")));
}

}  // namespace
}  // namespace elastos::crypto
