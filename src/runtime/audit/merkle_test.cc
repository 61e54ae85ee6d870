#include "runtime/audit/merkle.h"

#include <gtest/gtest.h>

#include "common/encoding.h"
#include "runtime/audit/crc32c.h"

namespace elastos::audit {
namespace {

Hash H(std::string_view hex) {
  auto bytes = HexDecode(hex);
  Hash h{};
  EXPECT_TRUE(bytes.ok() && bytes->size() == 32) << hex;
  if (bytes.ok() && bytes->size() == 32) std::copy(bytes->begin(), bytes->end(), h.begin());
  return h;
}

// The RFC 6962 reference leaves and tree heads published with Certificate Transparency (and
// carried on by transparency-dev/merkle): any correct implementation reproduces them.
std::vector<Bytes> ReferenceLeaves() {
  std::vector<Bytes> out;
  for (const char* hex : {"", "00", "10", "2021", "3031", "40414243", "5051525354555657",
                          "606162636465666768696a6b6c6d6e6f"}) {
    out.push_back(*HexDecode(hex));
  }
  return out;
}
const char* const kRoots[] = {
    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
    "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
    "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
    "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
    "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
    "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
};

std::vector<Hash> ReferenceLeafHashes() {
  std::vector<Hash> out;
  for (const Bytes& leaf : ReferenceLeaves()) out.push_back(LeafHash(leaf));
  return out;
}

// Computes a proof the slow, obvious way: MTH of each range from the full list of leaf hashes.
std::vector<Hash> Materialise(const std::vector<LeafRange>& ranges,
                              const std::vector<Hash>& leaves) {
  std::vector<Hash> out;
  for (const LeafRange& r : ranges) {
    out.push_back(RootOf(std::span(leaves).subspan(r.begin, r.end - r.begin)));
  }
  return out;
}

// The same with ProofBuilder, streaming.
std::vector<Hash> Stream(const std::vector<LeafRange>& ranges, const std::vector<Hash>& leaves) {
  ProofBuilder builder(ranges);
  for (std::uint64_t i = 0; i < leaves.size() && i < builder.end(); ++i) builder.Add(i, leaves[i]);
  EXPECT_TRUE(builder.done());
  return builder.Take();
}

TEST(Crc32cTest, KnownValues) {
  // RFC 3720 §B.4 and the classic check value.
  EXPECT_EQ(Crc32c(AsBytes("123456789")), 0xE3069283u);
  Bytes zeros(32, 0x00), ones(32, 0xFF), up(32), down(32);
  for (int i = 0; i < 32; ++i) {
    up[i] = static_cast<std::uint8_t>(i);
    down[i] = static_cast<std::uint8_t>(31 - i);
  }
  EXPECT_EQ(Crc32c(zeros), 0x8A9136AAu);
  EXPECT_EQ(Crc32c(ones), 0x62A8AB43u);
  EXPECT_EQ(Crc32c(up), 0x46DD794Eu);
  EXPECT_EQ(Crc32c(down), 0x113FDB5Cu);
  // Extending is the same as hashing the concatenation, at every split.
  const std::string text = "The quick brown fox jumps over the lazy dog, twice over.";
  for (std::size_t i = 0; i <= text.size(); ++i) {
    EXPECT_EQ(Crc32cExtend(Crc32c(AsBytes(text.substr(0, i))), AsBytes(text.substr(i))),
              Crc32c(AsBytes(text)));
  }
}

TEST(MerkleTest, ReferenceRoots) {
  EXPECT_EQ(EmptyRoot(), H(kRoots[0]));
  const auto leaves = ReferenceLeafHashes();
  CompactRange range;
  EXPECT_EQ(range.Root(), H(kRoots[0]));
  for (std::size_t n = 1; n <= leaves.size(); ++n) {
    range.Append(leaves[n - 1]);
    EXPECT_EQ(range.size(), n);
    EXPECT_EQ(HexEncode(range.Root()), kRoots[n]) << "size " << n;
    EXPECT_EQ(RootOf(std::span(leaves).first(n)), H(kRoots[n]));
  }
  // The interior node of the first two leaves is the size-2 root, by definition.
  EXPECT_EQ(NodeHash(leaves[0], leaves[1]), H(kRoots[2]));
}

TEST(MerkleTest, ReferenceInclusionProofs) {
  const auto leaves = ReferenceLeafHashes();
  struct Case {
    std::uint64_t index, size;
    std::vector<const char*> path;
  };
  const Case cases[] = {
      {0, 1, {}},
      {0,
       8,
       {"96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
        "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
        "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4"}},
      {5,
       8,
       {"bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
        "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
        "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"}},
      {2, 3, {"fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125"}},
      {1,
       5,
       {"6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
        "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
        "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b"}},
  };
  for (const Case& c : cases) {
    std::vector<Hash> want;
    for (const char* hex : c.path) want.push_back(H(hex));
    const std::vector<Hash> subset(leaves.begin(), leaves.begin() + c.size);
    const auto ranges = InclusionRanges(c.index, c.size);
    EXPECT_EQ(Materialise(ranges, subset), want) << c.index << "/" << c.size;
    EXPECT_EQ(Stream(ranges, subset), want) << c.index << "/" << c.size;
    const InclusionProof proof{c.index, c.size, want};
    EXPECT_TRUE(VerifyInclusion(leaves[c.index], proof, H(kRoots[c.size])));
    // The size is part of what is proven (as in transparency-dev/merkle's probes).
    EXPECT_FALSE(VerifyInclusion(leaves[c.index], InclusionProof{c.index, c.size * 2, want},
                                 H(kRoots[c.size])));
    EXPECT_FALSE(VerifyInclusion(leaves[c.index], InclusionProof{c.index, c.size / 2, want},
                                 H(kRoots[c.size])));
  }
}

TEST(MerkleTest, ReferenceConsistencyProofs) {
  const auto leaves = ReferenceLeafHashes();
  struct Case {
    std::uint64_t m, n;
    std::vector<const char*> proof;
  };
  const Case cases[] = {
      {1, 1, {}},
      {1,
       8,
       {"96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
        "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
        "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4"}},
      {6,
       8,
       {"0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
        "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
        "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"}},
      {2,
       5,
       {"5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
        "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b"}},
      {6,
       7,
       {"0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
        "b08693ec2e721597130641e8211e7eedccb4c26413963eee6c1e2ed16ffb1a5f",
        "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"}},
  };
  for (const Case& c : cases) {
    std::vector<Hash> want;
    for (const char* hex : c.proof) want.push_back(H(hex));
    const std::vector<Hash> subset(leaves.begin(), leaves.begin() + c.n);
    const auto ranges = ConsistencyRanges(c.m, c.n);
    EXPECT_EQ(Materialise(ranges, subset), want) << c.m << "->" << c.n;
    if (!ranges.empty()) {
      EXPECT_EQ(Stream(ranges, subset), want) << c.m << "->" << c.n;
    }
    EXPECT_TRUE(VerifyConsistency(c.m, c.n, H(kRoots[c.m]), H(kRoots[c.n]), want))
        << c.m << "->" << c.n;
  }
}

TEST(MerkleTest, ConsistencyEdgeCases) {
  const Hash a = H(kRoots[1]), b = H(kRoots[2]), empty = EmptyRoot();
  EXPECT_TRUE(VerifyConsistency(0, 0, a, a, {}));
  EXPECT_TRUE(VerifyConsistency(0, 5, a, b, {}));
  EXPECT_FALSE(VerifyConsistency(0, 5, a, b, std::vector<Hash>{empty}));
  EXPECT_FALSE(VerifyConsistency(1, 1, a, b, {}));                    // same size, different roots
  EXPECT_FALSE(VerifyConsistency(1, 1, a, a, std::vector<Hash>{a}));  // same size, non-empty proof
  EXPECT_FALSE(VerifyConsistency(2, 1, a, b, {}));                    // time travel
  EXPECT_FALSE(VerifyConsistency(1, 2, a, b, {}));                    // empty proof
}

// Every leaf of every tree up to 70 leaves: streamed proofs equal the obvious ones, verify, and
// every single corruption of index, size, leaf, root or path is refused.
TEST(MerkleTest, AllProofsOfSmallTrees) {
  std::vector<Hash> leaves;
  for (int i = 0; i < 70; ++i) {
    const std::uint8_t data[2] = {static_cast<std::uint8_t>(i), static_cast<std::uint8_t>(i * 7)};
    leaves.push_back(LeafHash(data));
  }
  std::vector<Hash> roots;
  CompactRange range;
  roots.push_back(range.Root());
  for (const Hash& h : leaves) {
    range.Append(h);
    roots.push_back(range.Root());
  }
  for (std::uint64_t n = 1; n <= leaves.size(); ++n) {
    const std::vector<Hash> tree(leaves.begin(), leaves.begin() + n);
    for (std::uint64_t i = 0; i < n; ++i) {
      const auto ranges = InclusionRanges(i, n);
      const auto path = Stream(ranges, tree);
      ASSERT_EQ(path, Materialise(ranges, tree));
      const InclusionProof proof{i, n, path};
      ASSERT_TRUE(VerifyInclusion(tree[i], proof, roots[n])) << i << "/" << n;
      EXPECT_FALSE(VerifyInclusion(tree[i], InclusionProof{i + 1, n, path}, roots[n]));
      if (i > 0) {
        EXPECT_FALSE(VerifyInclusion(tree[i], InclusionProof{i - 1, n, path}, roots[n]));
      }
      EXPECT_FALSE(VerifyInclusion(tree[(i + 1) % n], proof, roots[n]) && n > 1);
      EXPECT_FALSE(VerifyInclusion(tree[i], proof, roots[n - 1]) && n > 1);
      auto longer = path;
      longer.push_back(roots[n]);
      EXPECT_FALSE(VerifyInclusion(tree[i], InclusionProof{i, n, longer}, roots[n]));
      for (std::size_t k = 0; k < path.size(); ++k) {
        auto bad = path;
        bad[k][0] ^= 8;
        EXPECT_FALSE(VerifyInclusion(tree[i], InclusionProof{i, n, bad}, roots[n]));
      }
      if (!path.empty()) {
        auto shorter = path;
        shorter.pop_back();
        EXPECT_FALSE(VerifyInclusion(tree[i], InclusionProof{i, n, shorter}, roots[n]));
      }
    }
    for (std::uint64_t m = 0; m <= n; ++m) {
      const auto ranges = ConsistencyRanges(m, n);
      const auto proof = ranges.empty() ? std::vector<Hash>{} : Stream(ranges, tree);
      ASSERT_EQ(proof, Materialise(ranges, tree));
      ASSERT_TRUE(VerifyConsistency(m, n, roots[m], roots[n], proof)) << m << "->" << n;
      if (m > 0 && m < n) {
        EXPECT_FALSE(VerifyConsistency(m, n, roots[m - 1], roots[n], proof));
        EXPECT_FALSE(VerifyConsistency(m, n, roots[m], roots[n - 1], proof));
        EXPECT_FALSE(VerifyConsistency(m - 1, n, roots[m], roots[n], proof) && m > 1);
        for (std::size_t k = 0; k < proof.size(); ++k) {
          auto bad = proof;
          bad[k][0] ^= 16;
          EXPECT_FALSE(VerifyConsistency(m, n, roots[m], roots[n], bad));
        }
      }
    }
  }
}

}  // namespace
}  // namespace elastos::audit
