#include "namespace/dag_pb.h"

#include <gtest/gtest.h>

#include "namespace/test_util.h"

namespace elastos::ipld {
namespace {

constexpr char kHelloRaw[] = "bafkreifjjcie6lypi6ny7amxnfftagclbuxndqonfipmb64f2km2devei4";
constexpr char kHelloCidHex[] =
    "01551220a948904f2f0f479b8f8197694b30184b0d2ed1c1cd2a1ec0fb85d299a192a447";
// A directory holding "a.txt" -> kHelloRaw (Tsize 12), as @ipld/dag-pb 4.2.0 encodes it
// (the worked example of docs/formats/cid.md).
constexpr char kDirHex[] =
    "122f0a2401551220a948904f2f0f479b8f8197694b30184b0d2ed1c1cd2a1ec0fb85d299a192a447"
    "1205612e747874180c0a020801";
constexpr char kDirCid[] = "bafybeic73sfuix6mofag267yar3a26ysxpawlkomslakre32l4hpsjcabe";

using testutil::Hex;

PbNode DirNode() {
  PbNode node;
  node.links.push_back(PbLink{*Cid::Parse(kHelloRaw), "a.txt", 12});
  node.data = Bytes{0x08, 0x01};
  return node;
}

TEST(DagPb, EncodesLikeTheReference) {
  const Bytes bytes = EncodePbNode(DirNode());
  EXPECT_EQ(HexEncode(bytes), kDirHex);
  EXPECT_EQ(EncodedPbNodeSize(DirNode()), bytes.size());
  EXPECT_EQ(Cid::ForBlock(1, Codec::kDagPb, bytes).ToString(), kDirCid);
}

TEST(DagPb, EncodesAOneChunkV0Leaf) {
  // PBNode{Data: UnixFS{Type: File, Data: "hello world\n", filesize: 12}}: what `ipfs add` stores.
  PbNode node;
  node.data = Hex("0802 120c 68656c6c6f20776f726c640a 180c");
  EXPECT_EQ(Cid::ForBlock(0, Codec::kDagPb, EncodePbNode(node)).ToString(),
            "QmT78zSuBmuS4z925WZfrqQ1qHaJ56DQaTfyMUF7F8ff5o");
}

TEST(DagPb, RoundTrips) {
  PbNode node = DirNode();
  node.links.push_back(PbLink{*Cid::Parse("QmT78zSuBmuS4z925WZfrqQ1qHaJ56DQaTfyMUF7F8ff5o"),
                              std::nullopt, std::nullopt});
  node.links.push_back(PbLink{*Cid::Parse(kHelloRaw), "", 1ull << 40});
  auto back = DecodePbNode(EncodePbNode(node));
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_EQ(*back, node);
}

TEST(DagPb, EmptyNameIsEncodedAndKept) {
  PbNode node;
  node.links.push_back(PbLink{*Cid::Parse(kHelloRaw), "", 12});
  const Bytes bytes = EncodePbNode(node);
  EXPECT_EQ(HexEncode(bytes), std::string("122a0a24") + kHelloCidHex + "1200180c");
  EXPECT_EQ(DecodePbNode(bytes)->links[0].name, std::optional<std::string>(""));
}

TEST(DagPb, ZeroLengthBlockIsAnEmptyNode) {
  auto node = DecodePbNode({});
  ASSERT_TRUE(node.ok());
  EXPECT_TRUE(node->links.empty());
  EXPECT_FALSE(node->data.has_value());
  // The spec's published CIDs of the zero-length block.
  EXPECT_EQ(Cid::ForBlock(1, Codec::kDagPb, {}).ToString(),
            "bafybeihdwdcefgh4dqkjv67uzcmw7ojee6xedzdetojuzjevtenxquvyku");
  EXPECT_EQ(Cid::ForBlock(0, Codec::kDagPb, {}).ToString(),
            "QmdfTbBqBPQ7VNxZEYEj14VmRuZBkqFbiwReogJgS1zR1n");
}

TEST(DagPb, AcceptsDataBeforeLinks) {
  // Older IPFS data is written Data-first; the spec requires decoders to accept it.
  const Bytes bytes = Hex(std::string("0a020801 122f0a24") + kHelloCidHex + "1205612e747874180c");
  auto node = DecodePbNode(bytes);
  ASSERT_TRUE(node.ok()) << node.status().ToString();
  EXPECT_EQ(*node, DirNode());
  // Re-encoding gives the canonical (links-first) form, a different block.
  EXPECT_EQ(HexEncode(EncodePbNode(*node)), kDirHex);
}

TEST(DagPb, DecodingIsStrict) {
  const std::string link = std::string("0a24") + kHelloCidHex;  // Hash field
  const struct {
    const char* what;
    std::string hex;
  } cases[] = {
      {"unknown node field", "1a00"},
      {"Data as a varint", "0801"},
      {"Links as a varint", "1001"},
      {"two Data fields", "0a00 0a00"},
      {"Links on both sides of Data", "1226" + link + " 0a00 1226" + link},
      {"link without Hash", "1202 1200"},
      {"Name before Hash", "1228 1200" + link},
      {"Tsize before Name", "122a" + link + "180c 1200"},
      {"duplicate Hash", "124c" + link + link},
      {"duplicate Tsize", "122a" + link + "180c 180c"},
      {"unknown link field", "1228" + link + "2000"},
      {"Hash as a varint", "1202 0801"},
      {"Tsize as bytes", "1228" + link + "1a00"},
      {"Hash that is not a CID", "1204 0a02 0102"},
      {"Hash with a sha-512 multihash", "1206 0a04 01551340"},
      {"truncated Data", "0a05 0801"},
      {"truncated link", "1230" + link},
      {"trailing byte", "0a020801 00"},
      {"trailing partial key", "0a020801 80"},
      {"non-minimal length", "0a8200"},
      {"fixed64 wire type", "09 0000000000000000"},
      {"group wire type", "0b"},
  };
  for (const auto& c : cases) {
    auto r = DecodePbNode(Hex(c.hex));
    EXPECT_FALSE(r.ok()) << c.what;
    EXPECT_EQ(r.status().reason(), "dag_pb_invalid") << c.what << ": " << r.status().ToString();
  }
}

TEST(DagPb, EveryTruncationOfAValidNodeIsRefusedOrShorter) {
  // Cutting a valid node anywhere inside a field must fail; cutting between fields yields a
  // node with fewer fields, never garbage.
  const Bytes bytes = Hex(kDirHex);
  for (std::size_t len = 0; len < bytes.size(); ++len) {
    auto r = DecodePbNode(ByteView(bytes).first(len));
    if (len == 0 || len == bytes.size() - 4) {
      ASSERT_TRUE(r.ok()) << len;  // empty node / the link alone
    } else {
      EXPECT_FALSE(r.ok()) << "prefix of " << len << " bytes was accepted";
    }
  }
}

TEST(DagPb, SortLinksUsesNameBytesLikeTheReference) {
  // The reference (@ipld/dag-pb prepare) orders these as B,Z10,a,a.txt,ab,z2,é.
  std::vector<PbLink> links;
  for (const char* name : {"\xc3\xa9", "z2", "Z10", "ab", "a.txt", "a", "B"}) {
    links.push_back(PbLink{*Cid::Parse(kHelloRaw), name, std::nullopt});
  }
  SortLinks(links);
  std::vector<std::string> names;
  for (const auto& l : links) names.push_back(*l.name);
  EXPECT_EQ(names, (std::vector<std::string>{"B", "Z10", "a", "a.txt", "ab", "z2", "\xc3\xa9"}));
}

TEST(DagPb, SortLinksIsStableAndPutsUnnamedFirst) {
  const Cid x = Cid::ForBlock(1, Codec::kRaw, AsBytes("x"));
  const Cid y = Cid::ForBlock(1, Codec::kRaw, AsBytes("y"));
  std::vector<PbLink> links{
      {x, "b", 1}, {y, std::nullopt, 2}, {x, "", 3}, {y, "a", 4}, {y, "b", 5}};
  SortLinks(links);
  std::vector<std::uint64_t> order;
  for (const auto& l : links) order.push_back(*l.tsize);
  EXPECT_EQ(order, (std::vector<std::uint64_t>{2, 3, 4, 1, 5}));
}

}  // namespace
}  // namespace elastos::ipld
