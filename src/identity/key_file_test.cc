#include "identity/key_file.h"

#include <sys/stat.h>
#include <unistd.h>

#include <fstream>

#include <gtest/gtest.h>

#include "common/encoding.h"
#include "common/file_util.h"
#include "common/testing/temp_dir.h"
#include "identity/did_key.h"

namespace elastos::identity {
namespace {

class KeyFileTest : public ::testing::Test {
 protected:
  ::elastos::testing::TempDir tmp_;
  const std::filesystem::path dir_ = tmp_.path();
};

TEST_F(KeyFileTest, WriteThenReadRoundTrips) {
  const auto key = crypto::Ed25519PrivateKey::Generate();
  ASSERT_TRUE(WriteKeyPair(dir_ / "k", key).ok());
  struct stat st;
  ASSERT_EQ(::stat((dir_ / "k" / "private.key").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  auto text = ReadFileLimited(dir_ / "k" / "private.key", 100);
  EXPECT_EQ(text->size(), 65u);
  auto back = ReadPrivateKey(dir_ / "k" / "private.key");
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_EQ(back->public_key(), key.public_key());
  auto did = ReadFileLimited(dir_ / "k" / "public.did", 200);
  EXPECT_EQ(AsChars(*did), DidKeyEncode(key.public_key()) + "\n");
}

TEST_F(KeyFileTest, NeverOverwritesAKey) {
  const auto a = crypto::Ed25519PrivateKey::Generate();
  ASSERT_TRUE(WriteKeyPair(dir_, a).ok());
  EXPECT_EQ(WriteKeyPair(dir_, crypto::Ed25519PrivateKey::Generate()).reason(), "already_exists");
  EXPECT_EQ(ReadPrivateKey(dir_ / "private.key")->public_key(), a.public_key());
}

TEST_F(KeyFileTest, RefusesReadableOrMalformedKeys) {
  ASSERT_TRUE(WriteKeyPair(dir_, crypto::Ed25519PrivateKey::Generate()).ok());
  ASSERT_EQ(::chmod((dir_ / "private.key").c_str(), 0644), 0);
  auto r = ReadPrivateKey(dir_ / "private.key");
  EXPECT_EQ(r.status().reason(), "key_file_mode");
  EXPECT_NE(r.status().message().find("chmod 600"), std::string::npos);

  for (const std::string& body : std::vector<std::string>{"zz\n", std::string(63, 'a') + "\n", std::string(64, 'g') + "\n", std::string(66, 'a')}) {
    ASSERT_TRUE(WriteFileAtomic(dir_ / "bad.key", AsBytes(body), 0600).ok());
    EXPECT_EQ(ReadPrivateKey(dir_ / "bad.key").status().reason(), "bad_key_file") << body;
  }
  EXPECT_EQ(ReadPrivateKey(dir_ / "missing.key").status().code(), Code::kNotFound);
}

TEST_F(KeyFileTest, ParsePublicKeyAcceptsEveryDocumentedSpelling) {
  const auto key = crypto::Ed25519PrivateKey::Generate().public_key();
  for (const std::string& text : {DidKeyEncode(key), HexEncode(key.bytes()), Base64Encode(key.bytes()),
                                  Base64UrlEncode(key.bytes())}) {
    auto parsed = ParsePublicKey(text);
    ASSERT_TRUE(parsed.ok()) << text;
    EXPECT_EQ(*parsed, key) << text;
  }
  for (const std::string& bad : {std::string(), std::string("did:key:zNope"), std::string(63, 'a'),
                                 Base64Encode(Bytes(31, 1)), std::string("not a key")}) {
    EXPECT_FALSE(ParsePublicKey(bad).ok()) << bad;
  }
}

TEST_F(KeyFileTest, LoadOrCreateMakesOneKeyAndKeepsIt) {
  auto env = NewPosixEnv();
  auto first = LoadOrCreatePrivateKey(*env, dir_ / "runtime.key");
  ASSERT_TRUE(first.ok()) << first.status().ToString();
  struct stat st;
  ASSERT_EQ(::stat((dir_ / "runtime.key").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  auto again = LoadOrCreatePrivateKey(*env, dir_ / "runtime.key");
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->public_key(), first->public_key());
  ASSERT_TRUE(WriteFileAtomic(dir_ / "bad.key", AsBytes("nothex\n"), 0600).ok());
  EXPECT_EQ(LoadOrCreatePrivateKey(*env, dir_ / "bad.key").status().reason(), "bad_key_file");
}

}  // namespace
}  // namespace elastos::identity
