#include "namespace/cid.h"

#include <gtest/gtest.h>

#include "namespace/test_util.h"

#include <map>
#include <unordered_set>

namespace elastos::ipld {
namespace {

// "hello world\n": its raw CIDv1 and, as a one-chunk dag-pb file, its CIDv0 (values checked
// against multiformats 14.0.5).
constexpr char kHelloRaw[] = "bafkreifjjcie6lypi6ny7amxnfftagclbuxndqonfipmb64f2km2devei4";
constexpr char kHelloRawHex[] =
    "01551220a948904f2f0f479b8f8197694b30184b0d2ed1c1cd2a1ec0fb85d299a192a447";
constexpr char kHelloRawBase58[] = "zb2rhi36Gc9GJWijLEL6zW45MBux5FcFv5gJmjXA7VAMozEXY";
constexpr char kHelloV0[] = "QmT78zSuBmuS4z925WZfrqQ1qHaJ56DQaTfyMUF7F8ff5o";
constexpr char kHelloV0AsV1[] = "bafybeicg2rebjoofv4kbyovkw7af3rpiitvnl6i7ckcywaq6xjcxnc2mby";

using testutil::Hex;

TEST(Cid, ForBlockMatchesKnownRawCid) {
  const Cid cid = Cid::ForBlock(1, Codec::kRaw, AsBytes("hello world\n"));
  EXPECT_EQ(cid.version(), 1);
  EXPECT_EQ(cid.codec(), Codec::kRaw);
  EXPECT_EQ(cid.ToString(), kHelloRaw);
  EXPECT_EQ(HexEncode(cid.ToBytes()), kHelloRawHex);
  EXPECT_EQ(cid.EncodedSize(), cid.ToBytes().size());
  EXPECT_EQ(cid.digest(), crypto::Sha256::Hash(AsBytes("hello world\n")));
  // Version 0 exists only for dag-pb; asking for raw v0 yields v1 (as the reference importer does).
  EXPECT_EQ(Cid::ForBlock(0, Codec::kRaw, AsBytes("hello world\n")), cid);
}

TEST(Cid, ParseV1RoundTripsInEveryBase) {
  auto cid = Cid::Parse(kHelloRaw);
  ASSERT_TRUE(cid.ok()) << cid.status().ToString();
  EXPECT_EQ(cid->ToString(Multibase::kBase58Btc), kHelloRawBase58);
  EXPECT_EQ(cid->ToString(Multibase::kBase16), std::string("f") + kHelloRawHex);
  for (Multibase base : {Multibase::kBase32, Multibase::kBase58Btc, Multibase::kBase16,
                         Multibase::kBase64Url, Multibase::kBase64}) {
    auto back = Cid::Parse(cid->ToString(base));
    ASSERT_TRUE(back.ok()) << cid->ToString(base);
    EXPECT_EQ(*back, *cid);
  }
}

TEST(Cid, ParseV0) {
  auto cid = Cid::Parse(kHelloV0);
  ASSERT_TRUE(cid.ok()) << cid.status().ToString();
  EXPECT_EQ(cid->version(), 0);
  EXPECT_EQ(cid->codec(), Codec::kDagPb);
  EXPECT_EQ(cid->ToString(), kHelloV0);
  EXPECT_EQ(cid->ToString(Multibase::kBase32), kHelloV0);  // v0 has no multibase form
  const Bytes bytes = cid->ToBytes();
  ASSERT_EQ(bytes.size(), 34u);
  EXPECT_EQ(bytes[0], 0x12);
  EXPECT_EQ(bytes[1], 0x20);
  EXPECT_EQ(cid->ToV1().ToString(), kHelloV0AsV1);
  EXPECT_NE(cid->ToV1(), *cid);
  EXPECT_EQ(*Cid::FromBytes(bytes), *cid);
}

TEST(Cid, DefaultIsAPlaceholder) {
  const Cid cid;
  EXPECT_EQ(cid.version(), 1);
  EXPECT_EQ(cid.codec(), Codec::kRaw);
  EXPECT_EQ(cid.digest(), crypto::Digest256{});
}

TEST(Cid, ParseRejectsMalformedText) {
  const Cid raw = *Cid::Parse(kHelloRaw);
  const std::string v0_in_base58_multibase = "z" + Base58BtcEncode(Cid::V0(raw.digest()).ToBytes());
  const std::string cases[] = {
      "",
      "Q",
      "QmT78zSuBmuS4z925WZfrqQ1qHaJ56DQaTfyMUF7F8ff50",  // '0' is not base58
      "QmT78zSuBmuS4z925WZfrqQ1qHaJ56DQaTfyMUF7F8ff5",   // 45 characters
      std::string(kHelloRaw).substr(0, 20),              // truncated
      std::string("B") + (kHelloRaw + 1),                // upper-case base32 prefix
      std::string(kHelloRaw) + "a",                      // trailing character
      "x" + std::string(kHelloRaw + 1),                  // unknown multibase
      v0_in_base58_multibase,                            // the CID spec forbids multibase v0
  };
  for (const std::string& text : cases) {
    auto r = Cid::Parse(text);
    EXPECT_FALSE(r.ok()) << text;
    EXPECT_EQ(r.status().reason(), "cid_invalid") << text << ": " << r.status().ToString();
  }
}

TEST(Cid, FromBytesIsStrict) {
  const Bytes good = Hex(kHelloRawHex);
  ASSERT_TRUE(Cid::FromBytes(good).ok());

  auto reason = [](const Bytes& b) { return Cid::FromBytes(b).status().reason(); };
  Bytes trailing = good;
  trailing.push_back(0);
  EXPECT_EQ(reason(trailing), "cid_invalid");
  EXPECT_EQ(reason(Bytes(good.begin(), good.end() - 1)), "cid_invalid");
  EXPECT_EQ(reason({}), "cid_invalid");
  // Codec 0x55 spelled with a redundant continuation byte: one CID, one encoding.
  EXPECT_EQ(reason(Hex("01d50012 20"
                       "a948904f2f0f479b8f8197694b30184b0d2ed1c1cd2a1ec0fb85d299a192a447")),
            "cid_invalid");
  Bytes v2 = good;
  v2[0] = 0x02;
  EXPECT_EQ(reason(v2), "cid_unsupported");
  Bytes sha512 =
      Hex("015513"
          "40");
  sha512.resize(4 + 64, 0xab);
  EXPECT_EQ(reason(sha512), "cid_unsupported");
  Bytes short_digest = Hex("01551210");
  short_digest.resize(4 + 16, 0xab);
  EXPECT_EQ(reason(short_digest), "cid_invalid");
}

TEST(Cid, FromBytesAcceptsUnknownCodecs) {
  // The hash is what we verify; a dag-json (0x0129) CID parses and round-trips.
  Bytes b = Hex("01a9021220");
  const crypto::Digest256 d = crypto::Sha256::Hash(AsBytes("{}"));
  b.insert(b.end(), d.begin(), d.end());
  auto cid = Cid::FromBytes(b);
  ASSERT_TRUE(cid.ok()) << cid.status().ToString();
  EXPECT_EQ(static_cast<std::uint64_t>(cid->codec()), 0x0129u);
  EXPECT_EQ(cid->ToBytes(), b);
  EXPECT_EQ(*Cid::Parse(cid->ToString()), *cid);
}

TEST(Cid, ReadPrefixAdvancesPastExactlyOneCid) {
  const Cid v0 = *Cid::Parse(kHelloV0);
  const Cid v1 = *Cid::Parse(kHelloRaw);
  Bytes buf = v0.ToBytes();
  v1.AppendBytes(buf);
  buf.push_back(0x99);
  ByteView in = buf;
  EXPECT_EQ(*Cid::ReadPrefix(in), v0);
  EXPECT_EQ(in.size(), v1.EncodedSize() + 1);
  EXPECT_EQ(*Cid::ReadPrefix(in), v1);
  ASSERT_EQ(in.size(), 1u);
  EXPECT_EQ(in[0], 0x99);
  // A failed read leaves the input untouched.
  ByteView bad = ByteView(buf).first(10);
  EXPECT_FALSE(Cid::ReadPrefix(bad).ok());
  EXPECT_EQ(bad.size(), 10u);
}

TEST(Cid, VerifyBlock) {
  const Cid cid = *Cid::Parse(kHelloRaw);
  EXPECT_TRUE(cid.VerifyBlock(AsBytes("hello world\n")).ok());
  const Status s = cid.VerifyBlock(AsBytes("hello world!"));
  EXPECT_EQ(s.reason(), "block_hash_mismatch");
  EXPECT_NE(s.message().find(kHelloRaw), std::string::npos);
}

TEST(Cid, UsableAsMapAndHashKey) {
  const Cid a = Cid::ForBlock(1, Codec::kRaw, AsBytes("a"));
  const Cid a_pb = Cid::V1(Codec::kDagPb, a.digest());
  const Cid a_v0 = Cid::V0(a.digest());
  std::map<Cid, int> m{{a, 1}, {a_pb, 2}, {a_v0, 3}};
  EXPECT_EQ(m.size(), 3u);
  EXPECT_EQ(m.at(a_pb), 2);
  std::unordered_set<Cid> s{a, a_pb, a_v0, a};
  EXPECT_EQ(s.size(), 3u);
  EXPECT_TRUE(s.contains(a_v0));
  EXPECT_LT(a_v0, a);  // version orders first
}

}  // namespace
}  // namespace elastos::ipld
