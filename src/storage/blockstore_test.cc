#include "storage/blockstore.h"

#include <gtest/gtest.h>
#include <stdlib.h>
#include <sys/stat.h>

#include <atomic>
#include <fstream>
#include <set>
#include <thread>

#include "namespace/unixfs.h"

namespace elastos::storage {
namespace {

namespace fs = std::filesystem;
using ipld::Cid;
using ipld::Codec;

class BlockstoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/elastos-blockstore-XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    root_ = tmpl;
  }
  void TearDown() override { fs::remove_all(root_); }

  static void Overwrite(const fs::path& p, std::string_view content) {
    fs::permissions(p, fs::perms::owner_write, fs::perm_options::add);
    std::ofstream(p, std::ios::binary | std::ios::trunc) << content;
  }

  fs::path root_;
};

TEST_F(BlockstoreTest, PutThenGet) {
  Blockstore store(root_ / "blocks");  // created on first Put
  const Cid cid = Cid::ForBlock(1, Codec::kRaw, AsBytes("hello world\n"));
  EXPECT_FALSE(store.Has(cid));
  auto missing = store.Get(cid);
  EXPECT_EQ(missing.status().code(), Code::kNotFound);
  EXPECT_NE(missing.status().message().find(cid.ToString()), std::string::npos);

  ASSERT_TRUE(store.Put(cid, AsBytes("hello world\n")).ok());
  EXPECT_TRUE(store.Has(cid));
  EXPECT_EQ(*store.Get(cid), ToBytes("hello world\n"));
  ASSERT_TRUE(store.Put(cid, AsBytes("hello world\n")).ok());  // idempotent
}

TEST_F(BlockstoreTest, LayoutIsShardedByCidString) {
  Blockstore store(root_);
  const Cid v1 = *Cid::Parse("bafkreifjjcie6lypi6ny7amxnfftagclbuxndqonfipmb64f2km2devei4");
  const Cid v0 = *Cid::Parse("QmT78zSuBmuS4z925WZfrqQ1qHaJ56DQaTfyMUF7F8ff5o");
  EXPECT_EQ(store.PathOf(v1),
            root_ / "ei" / "bafkreifjjcie6lypi6ny7amxnfftagclbuxndqonfipmb64f2km2devei4");
  EXPECT_EQ(store.PathOf(v0), root_ / "f5" / "QmT78zSuBmuS4z925WZfrqQ1qHaJ56DQaTfyMUF7F8ff5o");
  ASSERT_TRUE(store.Put(v1, AsBytes("hello world\n")).ok());
  EXPECT_TRUE(fs::is_regular_file(store.PathOf(v1)));
  // Nothing else: no temporary files left after a successful Put.
  std::size_t entries = 0;
  for ([[maybe_unused]] const auto& e : fs::recursive_directory_iterator(root_)) ++entries;
  EXPECT_EQ(entries, 2u);  // the shard directory and the block
}

TEST_F(BlockstoreTest, V0AndV1NamesOfOneBlockAreSeparateEntries) {
  Blockstore store(root_);
  const Bytes block = {0x0a, 0x02, 0x08, 0x01};  // an empty UnixFS directory
  const Cid v0 = Cid::ForBlock(0, Codec::kDagPb, block);
  ASSERT_TRUE(store.Put(v0, block).ok());
  EXPECT_FALSE(store.Has(v0.ToV1()));
  ASSERT_TRUE(store.Put(v0.ToV1(), block).ok());
  EXPECT_EQ(*store.Get(v0.ToV1()), block);
}

TEST_F(BlockstoreTest, RefusesBlocksThatDoNotMatchTheirCid) {
  Blockstore store(root_);
  const Cid cid = Cid::ForBlock(1, Codec::kRaw, AsBytes("right"));
  EXPECT_EQ(store.Put(cid, AsBytes("wrong")).reason(), "block_hash_mismatch");
  EXPECT_FALSE(store.Has(cid));
  const Bytes big(ipld::kMaxBlockSize + 1, 0);
  EXPECT_EQ(store.Put(Cid::ForBlock(1, Codec::kRaw, big), big).code(), Code::kResourceExhausted);
}

TEST_F(BlockstoreTest, CorruptedFilesAreReportedNeverServed) {
  Blockstore store(root_);
  const Cid cid = Cid::ForBlock(1, Codec::kRaw, AsBytes("precious"));
  ASSERT_TRUE(store.Put(cid, AsBytes("precious")).ok());
  Overwrite(store.PathOf(cid), "tampered");
  auto r = store.Get(cid);
  EXPECT_EQ(r.status().reason(), "block_hash_mismatch");
  EXPECT_NE(r.status().message().find(cid.ToString()), std::string::npos);
  // A later Put of the right bytes repairs it.
  ASSERT_TRUE(store.Put(cid, AsBytes("precious")).ok());
  EXPECT_EQ(*store.Get(cid), ToBytes("precious"));
  // An impossibly large file is damage too, and is not read into memory.
  fs::resize_file(store.PathOf(cid), ipld::kMaxBlockSize + 1);
  EXPECT_EQ(store.Get(cid).status().reason(), "block_hash_mismatch");
}

TEST_F(BlockstoreTest, StrayTemporaryFilesAreIgnored) {
  // What a crash between create and rename leaves behind.
  Blockstore store(root_);
  const Cid cid = Cid::ForBlock(1, Codec::kRaw, AsBytes("data"));
  fs::create_directories(store.PathOf(cid).parent_path());
  std::ofstream(store.PathOf(cid).string() + ".tmp.0123456789abcdef") << "da";
  EXPECT_FALSE(store.Has(cid));
  EXPECT_EQ(store.Get(cid).status().code(), Code::kNotFound);
  ASSERT_TRUE(store.Put(cid, AsBytes("data")).ok());
  EXPECT_EQ(*store.Get(cid), ToBytes("data"));
}

TEST_F(BlockstoreTest, ConcurrentWritersOfTheSameBlocks) {
  Blockstore store(root_);
  std::vector<std::thread> threads;
  std::atomic<int> failures{0};
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 50; ++i) {
        const std::string data = "block " + std::to_string(i);
        if (!store.Put(Cid::ForBlock(1, Codec::kRaw, AsBytes(data)), AsBytes(data)).ok()) {
          ++failures;
        }
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(failures.load(), 0);
  for (int i = 0; i < 50; ++i) {
    const std::string data = "block " + std::to_string(i);
    EXPECT_EQ(*store.Get(Cid::ForBlock(1, Codec::kRaw, AsBytes(data))), ToBytes(data));
  }
}

TEST_F(BlockstoreTest, ServesAsImportSinkAndExportSource) {
  const fs::path src = root_ / "src";
  fs::create_directories(src / "sub" / "empty");
  std::ofstream(src / "a.txt") << "hello world\n";
  std::ofstream(src / "sub" / "b.bin") << std::string(3 * 262144 + 5, 'b');
  Blockstore store(root_ / "blocks");
  ipld::ImportOptions options;
  options.profile = ipld::UnixFsProfile::V0_2015();
  options.sink = &store;
  auto imported = ipld::ImportPath(src, options);
  ASSERT_TRUE(imported.ok()) << imported.status().ToString();
  ASSERT_TRUE(ipld::ExportDag(imported->cid, store, root_ / "out").ok());
  options.sink = nullptr;
  EXPECT_EQ(ipld::ImportPath(root_ / "out", options)->cid, imported->cid);
}

TEST_F(BlockstoreTest, UnwritableDirectoryIsAnError) {
  const fs::path file = root_ / "not-a-dir";
  std::ofstream(file) << "x";
  Blockstore store(file);
  const Status s = store.Put(Cid::ForBlock(1, Codec::kRaw, AsBytes("x")), AsBytes("x"));
  EXPECT_FALSE(s.ok());
  EXPECT_EQ(s.reason(), "not_a_directory");
}

}  // namespace
}  // namespace elastos::storage
