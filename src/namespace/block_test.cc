#include "namespace/block.h"

#include <gtest/gtest.h>

namespace elastos::ipld {
namespace {

TEST(MemoryBlockstore, PutGetHas) {
  MemoryBlockstore store;
  const Cid cid = Cid::ForBlock(1, Codec::kRaw, AsBytes("block"));
  EXPECT_FALSE(store.Has(cid));
  auto missing = store.Get(cid);
  EXPECT_EQ(missing.status().code(), Code::kNotFound);
  EXPECT_EQ(missing.status().reason(), "block_not_found");
  EXPECT_NE(missing.status().message().find(cid.ToString()), std::string::npos);

  ASSERT_TRUE(store.Put(cid, AsBytes("block")).ok());
  ASSERT_TRUE(store.Put(cid, AsBytes("block")).ok());  // idempotent
  EXPECT_TRUE(store.Has(cid));
  EXPECT_EQ(store.size(), 1u);
  EXPECT_EQ(store.total_bytes(), 5u);
  EXPECT_EQ(*store.Get(cid), ToBytes("block"));
}

TEST(MemoryBlockstore, RefusesBlocksThatDoNotMatchTheirCid) {
  MemoryBlockstore store;
  const Cid cid = Cid::ForBlock(1, Codec::kRaw, AsBytes("block"));
  EXPECT_EQ(store.Put(cid, AsBytes("other")).reason(), "block_hash_mismatch");
  EXPECT_FALSE(store.Has(cid));
}

TEST(MemoryBlockstore, RefusesOversizedBlocks) {
  MemoryBlockstore store;
  const Bytes big(kMaxBlockSize + 1, 0);
  EXPECT_EQ(store.Put(Cid::ForBlock(1, Codec::kRaw, big), big).code(), Code::kResourceExhausted);
}

TEST(MemoryBlockstore, ForEachAndErase) {
  MemoryBlockstore store;
  std::vector<Cid> cids;
  for (const char* s : {"x", "y", "z"}) {
    cids.push_back(Cid::ForBlock(1, Codec::kRaw, AsBytes(s)));
    ASSERT_TRUE(store.Put(cids.back(), AsBytes(s)).ok());
  }
  std::vector<Cid> seen;
  store.ForEach([&](const Cid& cid, ByteView block) {
    EXPECT_TRUE(cid.VerifyBlock(block).ok());
    seen.push_back(cid);
  });
  std::sort(cids.begin(), cids.end());
  EXPECT_EQ(seen, cids);
  EXPECT_TRUE(store.Erase(cids[1]));
  EXPECT_FALSE(store.Erase(cids[1]));
  EXPECT_EQ(store.size(), 2u);
  EXPECT_EQ(store.total_bytes(), 2u);
}

}  // namespace
}  // namespace elastos::ipld
