#include "runtime/capsule/trust_store.h"

#include <gtest/gtest.h>

#include "identity/did_key.h"

namespace elastos::capsule {
namespace {

TEST(TrustStore, ParsesLevelsCommentsAndBlankLines) {
  const auto a = crypto::Ed25519PrivateKey::Generate();
  const auto b = crypto::Ed25519PrivateKey::Generate();
  const std::string text = "# publishers\n\n" + identity::DidKeyEncode(a.public_key()) + " root  # core team\r\n\t" +
                           identity::DidKeyEncode(b.public_key()) + "\tcommunity";
  auto store = TrustStore::Parse(text);
  ASSERT_TRUE(store.ok()) << store.status().ToString();
  EXPECT_EQ(store->publishers().size(), 2u);
  EXPECT_EQ(store->Find(a.public_key())->level, TrustLevel::kRoot);
  EXPECT_EQ(store->Find(b.public_key())->level, TrustLevel::kCommunity);
  EXPECT_FALSE(store->Find(crypto::Ed25519PrivateKey::Generate().public_key()));
}

TEST(TrustStore, ErrorsNameTheLine) {
  const std::string did = identity::DidKeyEncode(crypto::Ed25519PrivateKey::Generate().public_key());
  const std::pair<std::string, std::string> cases[] = {
      {"# ok\n" + did + " admin\n", "line 2"},
      {did + "\n", "line 1"},
      {"\n\n\ndid:key:zNope root\n", "line 4"},
      {did + " root\n" + did + " community\n", "line 2"},
      {did + " root extra\n", "line 1"},
  };
  for (const auto& [text, where] : cases) {
    auto r = TrustStore::Parse(text);
    ASSERT_FALSE(r.ok()) << text;
    EXPECT_NE(r.status().message().find(where), std::string::npos) << r.status().message();
  }
}

}  // namespace
}  // namespace elastos::capsule
