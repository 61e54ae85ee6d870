#include "namespace/unixfs.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <set>

#include "namespace/dag_pb.h"
#include "namespace/test_util.h"
#include "namespace/unixfs_data.h"

namespace elastos::ipld {
namespace {

namespace fs = std::filesystem;
using testutil::ImportBytes;
using testutil::ImportPattern;
using testutil::ReadAll;
using testutil::TempDir;
using testutil::ThePattern;
using testutil::WriteFile;

const UnixFsProfile kSmall{"small", 1, true, 4, 3, true};
const UnixFsProfile kSmallPb{"small-pb", 0, false, 4, 3, true};

// Records the order blocks arrive in, and keeps them.
class RecordingSink : public BlockSink {
 public:
  Status Put(const Cid& cid, ByteView block) override {
    order.push_back(cid);
    return store.Put(cid, block);
  }
  std::vector<Cid> order;
  MemoryBlockstore store;
};

// Fails the n-th Put (1-based) and every later one.
class FailingSink : public BlockSink {
 public:
  explicit FailingSink(int fail_at) : fail_at_(fail_at) {}
  Status Put(const Cid&, ByteView) override {
    return ++puts_ >= fail_at_ ? Unavailable("disk_full", "no space") : OkStatus();
  }

 private:
  int fail_at_;
  int puts_ = 0;
};

// ---- Profiles ----

TEST(UnixFsProfile, NamedProfiles) {
  EXPECT_EQ(UnixFsProfile::ByName("unixfs-v0-2015")->chunk_size, 262144u);
  EXPECT_EQ(UnixFsProfile::ByName("unixfs-v0-2015")->max_children, 174u);
  EXPECT_FALSE(UnixFsProfile::ByName("unixfs-v0-2015")->raw_leaves);
  EXPECT_EQ(UnixFsProfile::ByName("unixfs-v0-2015")->cid_version, 0);
  EXPECT_EQ(UnixFsProfile::ByName("unixfs-v1-2025")->chunk_size, 1048576u);
  EXPECT_EQ(UnixFsProfile::ByName("unixfs-v1-2025")->max_children, 1024u);
  EXPECT_TRUE(UnixFsProfile::ByName("unixfs-v1-2025")->raw_leaves);
  EXPECT_EQ(UnixFsProfile::ByName("unixfs-v1-2025")->cid_version, 1);
  EXPECT_EQ(UnixFsProfile::ByName("v1").status().reason(), "unknown_profile");
  EXPECT_EQ(ImportOptions().profile.name, "unixfs-v1-2025");
}

TEST(UnixFsProfile, InvalidProfilesAreRefused) {
  for (UnixFsProfile p :
       {UnixFsProfile{"a", 2, true, 4, 3, true}, UnixFsProfile{"b", 1, true, 0, 3, true},
        UnixFsProfile{"c", 1, true, (1 << 20) + 1, 3, true},
        UnixFsProfile{"d", 1, true, 4, 1, true}}) {
    EXPECT_EQ(p.Validate().reason(), "bad_profile") << p.name;
    FileImporter importer(p, nullptr);
    EXPECT_EQ(importer.Write(AsBytes("x")).reason(), "bad_profile") << p.name;
    EXPECT_EQ(importer.Finish().status().reason(), "bad_profile") << p.name;
    ImportOptions options;
    options.profile = p;
    EXPECT_EQ(ImportPath("/nonexistent", options).status().reason(), "bad_profile");
  }
}

// ---- FileImporter ----

TEST(FileImporter, HowDataArrivesDoesNotChangeTheCid) {
  for (std::size_t size : {0, 1, 4, 5, 13, 37, 109, 500}) {
    const Bytes data = ThePattern().Make(size);
    const Cid whole = ImportBytes(kSmallPb, data)->cid;
    EXPECT_EQ(ImportPattern(kSmallPb, size)->cid, whole) << size;
    for (std::size_t piece : {1, 3, 7}) {
      FileImporter importer(kSmallPb, nullptr);
      for (std::size_t off = 0; off < size; off += piece) {
        ASSERT_TRUE(importer.Write(ByteView(data).subspan(off, std::min(piece, size - off))).ok());
      }
      EXPECT_EQ(importer.bytes_written(), size);
      EXPECT_EQ(importer.Finish()->cid, whole) << size << "/" << piece;
    }
  }
}

TEST(FileImporter, SingleLeafNotReducedMatchesTheReference) {
  // ipfs-unixfs-importer 17.1.1 with reduceSingleLeafToSelf: false.
  UnixFsProfile v0 = UnixFsProfile::V0_2015();
  v0.reduce_single_leaf = false;
  UnixFsProfile v1 = UnixFsProfile::V1_2025();
  v1.reduce_single_leaf = false;
  const Bytes hello = ToBytes("hello world\n");
  EXPECT_EQ(ImportBytes(v0, hello)->cid.ToString(),
            "QmdRp6soA2WZi8QRBp6awciaeM4n8HoZkskpj5BxNfaNp1");
  EXPECT_EQ(ImportBytes(v0, hello)->dag_size, 70u);
  EXPECT_EQ(ImportBytes(v1, hello)->cid.ToString(),
            "bafybeia4miqqt6qvhkmlsw3ipfiax3c7ntd2y4rnurvuvbayj3zl63otdq");
  EXPECT_EQ(ImportBytes(v1, hello)->dag_size, 64u);
  // The empty leaf gets no link, so the parent's block equals the empty dag-pb leaf.
  EXPECT_EQ(ImportBytes(v0, {})->cid.ToString(), "QmbFMke1KXqnYyBBWxB74N4c5SBnJMVAiMNRcGu6x1AwQH");
  EXPECT_EQ(ImportBytes(v1, {})->cid.ToString(),
            "bafybeif7ztnhq65lumvvtr4ekcwd2ifwgm3awq4zfr3srh462rwyinlb4y");
}

TEST(FileImporter, SendsEveryBlockChildrenFirst) {
  for (const UnixFsProfile& profile : {kSmall, kSmallPb}) {
    RecordingSink sink;
    auto r = ImportPattern(profile, 433, &sink);
    ASSERT_TRUE(r.ok());
    // 109 leaves (108 full + 1 byte), 37 + 13 + 5 + 2 + 1 parents.
    EXPECT_EQ(sink.store.size(), 109u + 37 + 13 + 5 + 2 + 1);
    EXPECT_EQ(sink.order.back(), r->cid);
    std::set<Cid> seen;
    for (const Cid& cid : sink.order) {
      if (cid.codec() == Codec::kDagPb) {
        auto node = DecodePbNode(*sink.store.Get(cid));
        ASSERT_TRUE(node.ok());
        for (const PbLink& link : node->links) {
          EXPECT_TRUE(seen.contains(link.hash)) << "parent before child";
        }
      }
      seen.insert(cid);
    }
    EXPECT_EQ(sink.store.total_bytes(), r->dag_size);  // all blocks distinct here
    EXPECT_EQ(*ReadFile(r->cid, sink.store, 1000), ThePattern().Make(433));
  }
}

TEST(FileImporter, LeafBlocksAreTheReferenceEncoding) {
  RecordingSink sink;
  auto r = ImportBytes(UnixFsProfile::V0_2015(), AsBytes("hello world\n"), &sink);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(HexEncode(*sink.store.Get(r->cid)), "0a120802120c68656c6c6f20776f726c640a180c");
  RecordingSink empty;
  auto e = ImportBytes(UnixFsProfile::V0_2015(), {}, &empty);
  EXPECT_EQ(HexEncode(*empty.store.Get(e->cid)), "0a0408021800");
  // A parent of a full leaf and a 1-byte leaf (docs/formats/cid.md).
  RecordingSink two;
  auto p = ImportPattern(UnixFsProfile::V0_2015(), 262145, &two);
  auto node = DecodePbNode(*two.store.Get(p->cid));
  ASSERT_TRUE(node.ok());
  EXPECT_EQ(HexEncode(*node->data), "080218818010208080102001");
  ASSERT_EQ(node->links.size(), 2u);
  EXPECT_EQ(node->links[0].name, std::optional<std::string>(""));
  EXPECT_EQ(node->links[0].tsize, std::optional<std::uint64_t>(262158));
  EXPECT_EQ(node->links[1].tsize, std::optional<std::uint64_t>(9));
}

TEST(FileImporter, SinkErrorsAreReportedAndSticky) {
  FailingSink sink(3);
  FileImporter importer(kSmall, &sink);
  Status s = importer.Write(ThePattern().Make(8));  // two leaves: fine
  EXPECT_TRUE(s.ok());
  s = importer.Write(ThePattern().Make(4));  // third leaf fails
  EXPECT_EQ(s.reason(), "disk_full");
  EXPECT_EQ(importer.Write(AsBytes("x")).reason(), "disk_full");
  EXPECT_EQ(importer.Finish().status().reason(), "disk_full");
}

TEST(FileImporter, FinishTwiceAndWriteAfterFinishFail) {
  FileImporter importer(kSmall, nullptr);
  ASSERT_TRUE(importer.Write(AsBytes("abc")).ok());
  ASSERT_TRUE(importer.Finish().ok());
  EXPECT_EQ(importer.Finish().status().code(), Code::kFailedPrecondition);
  EXPECT_FALSE(importer.Write(AsBytes("x")).ok());
  EXPECT_TRUE(importer.WritableSpace().empty());
}

TEST(FileImporter, CommitBeyondTheSpaceIsAnError) {
  FileImporter importer(kSmall, nullptr);
  EXPECT_EQ(importer.WritableSpace().size(), 4u);
  EXPECT_EQ(importer.Commit(5).code(), Code::kInternal);
}

// ---- ImportPath ----

class ImportPathTest : public ::testing::Test {
 protected:
  TempDir tmp_;
  fs::path root_ = tmp_.path() / "root";
};

TEST_F(ImportPathTest, FileMatchesFileImporter) {
  const Bytes data = ThePattern().Make(3 * 262144 + 11);
  WriteFile(tmp_.path() / "f.bin", data);
  for (const UnixFsProfile* p : {&UnixFsProfile::V0_2015(), &UnixFsProfile::V1_2025()}) {
    ImportOptions options;
    options.profile = *p;
    std::vector<std::uint64_t> progress;
    options.progress = [&](std::uint64_t done) { progress.push_back(done); };
    auto r = ImportPath(tmp_.path() / "f.bin", options);
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    EXPECT_EQ(r->cid, ImportBytes(*p, data)->cid);
    EXPECT_EQ(r->content_size, data.size());
    ASSERT_FALSE(progress.empty());
    EXPECT_TRUE(std::is_sorted(progress.begin(), progress.end()));
    EXPECT_EQ(progress.back(), data.size());
  }
}

TEST_F(ImportPathTest, DirectoryWithTrailingSlashOrDotIsTheSameDirectory) {
  testutil::MakeGoldenTree(root_);
  ImportOptions options;
  const Cid cid = ImportPath(root_, options)->cid;
  EXPECT_EQ(ImportPath(root_.string() + "/", options)->cid, cid);
  EXPECT_EQ(ImportPath(root_ / ".", options)->cid, cid);
}

TEST_F(ImportPathTest, RefusesSymlinksNamingThem) {
  fs::create_directories(root_ / "sub");
  WriteFile(root_ / "sub" / "file", "x");
  fs::create_symlink("/etc/passwd", root_ / "sub" / "passwd");
  ImportOptions options;
  auto r = ImportPath(root_, options);
  EXPECT_EQ(r.status().reason(), "symlink_refused");
  EXPECT_NE(r.status().message().find("sub/passwd"), std::string::npos) << r.status().message();
  // The root itself being a symlink is refused too, not followed.
  fs::create_directory_symlink(root_ / "sub", tmp_.path() / "link");
  EXPECT_EQ(ImportPath(tmp_.path() / "link", options).status().reason(), "symlink_refused");
}

TEST_F(ImportPathTest, SymlinksCanBeStoredAsUnixFsSymlinks) {
  fs::create_directories(root_);
  fs::create_symlink("target/file", root_ / "link");
  ImportOptions options;
  options.refuse_symlinks = false;
  MemoryBlockstore store;
  options.sink = &store;
  auto r = ImportPath(root_, options);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  auto dir = DecodePbNode(*store.Get(r->cid));
  ASSERT_EQ(dir->links.size(), 1u);
  auto link = DecodeUnixFsData(*DecodePbNode(*store.Get(dir->links[0].hash))->data);
  EXPECT_EQ(link->type, UnixFsType::kSymlink);
  EXPECT_EQ(*link->data, ToBytes("target/file"));
  // Our readers do not follow or recreate symlinks.
  auto list = ListDag(r->cid, store);
  EXPECT_EQ(list.status().reason(), "unixfs_unsupported");
  EXPECT_NE(list.status().message().find("symlink"), std::string::npos);
}

TEST_F(ImportPathTest, RefusesSpecialFiles) {
  fs::create_directories(root_);
  ASSERT_EQ(::mkfifo((root_ / "pipe").c_str(), 0600), 0);
  ImportOptions options;
  options.refuse_symlinks = false;  // never a reason to accept a FIFO
  auto r = ImportPath(root_, options);
  EXPECT_EQ(r.status().reason(), "unsupported_file_type");
  EXPECT_NE(r.status().message().find("pipe"), std::string::npos);
}

TEST_F(ImportPathTest, RefusesNamesThatAreNotUtf8) {
  fs::create_directories(root_);
  WriteFile(root_ / "bad\xff", "x");
  auto r = ImportPath(root_, ImportOptions());
  EXPECT_EQ(r.status().reason(), "bad_file_name");
}

TEST_F(ImportPathTest, MissingPathIsAnIoError) {
  auto r = ImportPath(tmp_.path() / "nope", ImportOptions());
  EXPECT_FALSE(r.ok());
  EXPECT_EQ(r.status().reason(), "io_error");
}

// ---- ListDag / ResolvePath / ReadFile ----

class DagTest : public ::testing::Test {
 protected:
  void SetUp() override {
    testutil::MakeGoldenTree(root_);
    ImportOptions options;
    options.profile = UnixFsProfile::V0_2015();  // multi-chunk files in the tree
    options.sink = &store_;
    auto r = ImportPath(root_, options);
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    cid_ = r->cid;
  }
  TempDir tmp_;
  fs::path root_ = tmp_.path() / "root";
  MemoryBlockstore store_;
  Cid cid_;
};

TEST_F(DagTest, ListDagListsEverythingSorted) {
  auto list = ListDag(cid_, store_);
  ASSERT_TRUE(list.ok()) << list.status().ToString();
  std::vector<std::string> paths;
  for (const auto& e : *list) {
    paths.push_back(e.path + (e.is_directory ? "/" : "") + ":" + std::to_string(e.size));
  }
  EXPECT_EQ(paths,
            (std::vector<std::string>{"/:0", "B:2", "Z10:2097159", "a:0", "a.txt:12", "ab/:0",
                                      "ab/empty/:0", "ab/nested/:0", "ab/nested/deep.bin:300000",
                                      "empty/:0", "z2:2", "\xc3\xa9:6"}));
  EXPECT_EQ((*list)[0].cid, cid_);
}

TEST_F(DagTest, ListDagOfAFile) {
  const Cid file = *ResolvePath(cid_, "Z10", store_);
  auto list = ListDag(file, store_);
  ASSERT_TRUE(list.ok());
  ASSERT_EQ(list->size(), 1u);
  EXPECT_EQ((*list)[0].path, "");
  EXPECT_FALSE((*list)[0].is_directory);
  EXPECT_EQ((*list)[0].size, 2097159u);
}

TEST_F(DagTest, ResolvePath) {
  auto deep = ResolvePath(cid_, "ab/nested/deep.bin", store_);
  ASSERT_TRUE(deep.ok()) << deep.status().ToString();
  EXPECT_EQ(*ReadFile(*deep, store_, 1 << 20), ThePattern().Make(300000));
  EXPECT_EQ(*ResolvePath(cid_, "", store_), cid_);
  EXPECT_EQ(ResolvePath(cid_, "ab/missing", store_).status().reason(), "path_not_found");
  EXPECT_EQ(ResolvePath(cid_, "a.txt/x", store_).status().reason(), "path_not_found");
  for (const char* bad : {"/ab", "ab/", "ab//nested", "ab/../B", ".", "ab/./nested"}) {
    EXPECT_EQ(ResolvePath(cid_, bad, store_).status().reason(), "bad_path") << bad;
  }
}

TEST_F(DagTest, ReadFile) {
  EXPECT_EQ(*ReadFile(*ResolvePath(cid_, "a.txt", store_), store_, 12), ToBytes("hello world\n"));
  EXPECT_EQ(*ReadFile(*ResolvePath(cid_, "a", store_), store_, 0), Bytes{});
  const Cid z10 = *ResolvePath(cid_, "Z10", store_);
  EXPECT_EQ(*ReadFile(z10, store_, 2097159), ThePattern().Make(2097159));
  auto big = ReadFile(z10, store_, 2097158);
  EXPECT_EQ(big.status().code(), Code::kResourceExhausted);
  EXPECT_EQ(ReadFile(cid_, store_, 100).status().reason(), "not_a_file");
}

TEST_F(DagTest, MissingBlocksAreNotFoundNamingTheCid) {
  const Cid z10 = *ResolvePath(cid_, "Z10", store_);
  const Cid leaf = DecodePbNode(*store_.Get(z10))->links[5].hash;
  ASSERT_TRUE(store_.Erase(leaf));
  auto r = ReadFile(z10, store_, 1 << 30);
  EXPECT_EQ(r.status().code(), Code::kNotFound);
  EXPECT_NE(r.status().message().find(leaf.ToString()), std::string::npos) << r.status().message();
  EXPECT_TRUE(ListDag(cid_, store_).ok());  // listing reads file roots, not leaves
  const fs::path out = tmp_.path() / "out";
  EXPECT_EQ(ExportDag(cid_, store_, out).code(), Code::kNotFound);
  EXPECT_FALSE(fs::exists(out));
  for (const auto& e : fs::directory_iterator(tmp_.path())) {
    EXPECT_EQ(e.path().filename(), "root");  // no temp left

    ASSERT_TRUE(store_.Erase(z10));
  }
  auto list = ListDag(cid_, store_);
  EXPECT_EQ(list.status().code(), Code::kNotFound);
  EXPECT_NE(list.status().message().find(z10.ToString()), std::string::npos);
  EXPECT_NE(list.status().message().find("Z10"), std::string::npos);
}

// ---- ExportDag ----

void ExpectSameTree(const fs::path& a, const fs::path& b) {
  std::vector<std::string> left, right;
  for (auto it = fs::recursive_directory_iterator(a); it != fs::recursive_directory_iterator();
       ++it) {
    left.push_back(fs::relative(it->path(), a).string());
  }
  for (auto it = fs::recursive_directory_iterator(b); it != fs::recursive_directory_iterator();
       ++it) {
    right.push_back(fs::relative(it->path(), b).string());
  }
  std::sort(left.begin(), left.end());
  std::sort(right.begin(), right.end());
  ASSERT_EQ(left, right);
  for (const auto& rel : left) {
    if (fs::is_regular_file(a / rel)) {
      EXPECT_EQ(ReadAll(a / rel), ReadAll(b / rel)) << rel;
    }
  }
}

TEST_F(DagTest, ExportRoundTrips) {
  const fs::path out = tmp_.path() / "out";
  ASSERT_TRUE(ExportDag(cid_, store_, out).ok());
  ExpectSameTree(root_, out);
  ImportOptions options;
  options.profile = UnixFsProfile::V0_2015();
  EXPECT_EQ(ImportPath(out, options)->cid, cid_);
  // `out` must be new.
  EXPECT_EQ(ExportDag(cid_, store_, out).reason(), "already_exists");
  // A file root exports as a file.
  const fs::path file = tmp_.path() / "deep.bin";
  ASSERT_TRUE(ExportDag(*ResolvePath(cid_, "ab/nested/deep.bin", store_), store_, file).ok());
  EXPECT_EQ(ReadAll(file), ThePattern().Make(300000));
}

// ---- Hostile DAGs ----

class HostileDagTest : public ::testing::Test {
 protected:
  Cid Put(const PbNode& node) {
    const Bytes block = EncodePbNode(node);
    const Cid cid = Cid::ForBlock(1, Codec::kDagPb, block);
    EXPECT_TRUE(store_.Put(cid, block).ok());
    return cid;
  }
  Cid PutRaw(std::string_view data) {
    const Cid cid = Cid::ForBlock(1, Codec::kRaw, AsBytes(data));
    EXPECT_TRUE(store_.Put(cid, AsBytes(data)).ok());
    return cid;
  }
  Cid Dir(std::vector<PbLink> links) {
    PbNode node;
    node.links = std::move(links);
    UnixFsData d;
    d.type = UnixFsType::kDirectory;
    node.data = EncodeUnixFsData(d);
    return Put(node);
  }
  Cid FileNode(std::vector<PbLink> links, std::vector<std::uint64_t> blocksizes,
               std::optional<std::uint64_t> filesize, std::string_view data = "") {
    PbNode node;
    node.links = std::move(links);
    UnixFsData d;
    d.type = UnixFsType::kFile;
    d.blocksizes = std::move(blocksizes);
    d.filesize = filesize;
    if (!data.empty()) d.data = ToBytes(data);
    node.data = EncodeUnixFsData(d);
    return Put(node);
  }
  Cid Typed(UnixFsType type) {
    PbNode node;
    UnixFsData d;
    d.type = type;
    node.data = EncodeUnixFsData(d);
    return Put(node);
  }
  // Both readers must refuse `root` with `reason`, and export must leave nothing behind.
  void ExpectRefused(const Cid& root, const std::string& reason) {
    auto list = ListDag(root, store_);
    EXPECT_EQ(list.status().reason(), reason) << list.status().ToString();
    const fs::path out = tmp_.path() / "out";
    const Status s = ExportDag(root, store_, out);
    EXPECT_EQ(s.reason(), reason) << s.ToString();
    EXPECT_FALSE(fs::exists(out));
    EXPECT_TRUE(fs::is_empty(tmp_.path())) << "temporary export left behind";
  }
  MemoryBlockstore store_;
  TempDir tmp_;
};

TEST_F(HostileDagTest, UnsafeNamesAreRefused) {
  const Cid file = PutRaw("pwned");
  for (std::string name : {std::string(".."), std::string("."), std::string(""), std::string("a/b"),
                           std::string("../../etc/passwd"), std::string("a\0b", 3)}) {
    ExpectRefused(Dir({PbLink{file, name, 5}}), "unsafe_name");
  }
  ExpectRefused(Dir({PbLink{file, std::nullopt, 5}}), "unsafe_name");
  // Nested one level down too.
  ExpectRefused(Dir({PbLink{Dir({PbLink{file, "..", 5}}), "sub", 50}}), "unsafe_name");
  EXPECT_EQ(ResolvePath(Dir({PbLink{file, "..", 5}}), "x", store_).status().reason(),
            "unsafe_name");
}

TEST_F(HostileDagTest, DuplicateNamesAreRefused) {
  ExpectRefused(Dir({PbLink{PutRaw("1"), "a", 1}, PbLink{PutRaw("2"), "a", 1}}), "duplicate_name");
}

TEST_F(HostileDagTest, UnsupportedTypesAreRefusedByName) {
  for (UnixFsType type : {UnixFsType::kHamtShard, UnixFsType::kSymlink, UnixFsType::kMetadata}) {
    const Cid node = Typed(type);
    ExpectRefused(Dir({PbLink{node, "x", 10}}), "unixfs_unsupported");
    const Status s = ExportDag(node, store_, tmp_.path() / "o");
    EXPECT_NE(s.message().find(std::string(UnixFsTypeName(type))), std::string::npos)
        << s.message();
  }
  // A dag-cbor block is not UnixFS.
  const Cid cbor = Cid::ForBlock(1, Codec::kDagCbor, AsBytes("\xa0"));
  ASSERT_TRUE(store_.Put(cbor, AsBytes("\xa0")).ok());
  ExpectRefused(Dir({PbLink{cbor, "x", 1}}), "unixfs_unsupported");
  // dag-pb without UnixFS data, and with garbage UnixFS data.
  ExpectRefused(Dir({PbLink{Put(PbNode{}), "x", 1}}), "unixfs_invalid");
  PbNode garbage;
  garbage.data = Bytes{0xff};
  ExpectRefused(Dir({PbLink{Put(garbage), "x", 1}}), "unixfs_invalid");
}

TEST_F(HostileDagTest, FileSizesMustAddUp) {
  const Cid a = PutRaw("aaaa");
  const Cid b = PutRaw("bb");
  // Sound: ListDag and ReadFile agree with the content.
  const Cid good = FileNode({PbLink{a, "", 4}, PbLink{b, "", 2}}, {4, 2}, 8, "hd");
  EXPECT_EQ(*ReadFile(good, store_, 100), ToBytes("hdaaaabb"));  // own data first
  // blocksizes that do not match the number of links.
  ExpectRefused(Dir({PbLink{FileNode({PbLink{a, "", 4}}, {4, 2}, 6), "f", 1}}), "unixfs_invalid");
  // filesize that does not match the parts.
  ExpectRefused(Dir({PbLink{FileNode({PbLink{a, "", 4}}, {4}, 1000), "f", 1}}), "unixfs_invalid");
  // A child that is larger than its parent claims: refused before its bytes are emitted.
  const Cid lying = FileNode({PbLink{a, "", 4}, PbLink{b, "", 2}}, {1, 2}, 3);
  auto r = ReadFile(lying, store_, 3);
  EXPECT_EQ(r.status().reason(), "unixfs_invalid");
  const Status s = ExportDag(Dir({PbLink{lying, "f", 1}}), store_, tmp_.path() / "out");
  EXPECT_EQ(s.reason(), "unixfs_invalid");
  EXPECT_FALSE(fs::exists(tmp_.path() / "out"));
  // A file that links to a directory.
  EXPECT_EQ(ReadFile(FileNode({PbLink{Dir({}), "", 4}}, {0}, 0), store_, 100).status().reason(),
            "unixfs_invalid");
}

TEST_F(HostileDagTest, RepeatedSubtreesAreListedUnderEachName) {
  // Identical content is one block referenced twice: legal and common (e.g. two empty dirs).
  const Cid empty = Dir({});
  const Cid root = Dir({PbLink{empty, "a", 4}, PbLink{empty, "b", 4}});
  auto list = ListDag(root, store_);
  ASSERT_TRUE(list.ok());
  EXPECT_EQ(list->size(), 3u);
  ASSERT_TRUE(ExportDag(root, store_, tmp_.path() / "out").ok());
  EXPECT_TRUE(fs::is_directory(tmp_.path() / "out" / "a"));
  EXPECT_TRUE(fs::is_directory(tmp_.path() / "out" / "b"));
}

TEST_F(HostileDagTest, ExportBudgetStopsADagBomb) {
  // One 1 KiB leaf, a file of 64 links to it, a directory of 64 links to that file: 3 small
  // blocks that expand to 4 MiB on disk.
  const Cid leaf = PutRaw(std::string(1024, 'x'));
  const Cid file = FileNode(std::vector<PbLink>(64, PbLink{leaf, "", 1024}),
                            std::vector<std::uint64_t>(64, 1024), 64 * 1024);
  std::vector<PbLink> entries;
  for (int i = 0; i < 64; ++i) entries.push_back(PbLink{file, "f" + std::to_string(100 + i), 1});
  const Cid bomb = Dir(entries);
  const fs::path out = tmp_.path() / "out";
  const Status s = ExportDag(bomb, store_, out, 1 << 20);
  EXPECT_EQ(s.reason(), "export_too_large") << s.ToString();
  EXPECT_FALSE(fs::exists(out));
  EXPECT_TRUE(fs::is_empty(tmp_.path())) << "temporary export left behind";
  // The same DAG within budget exports in full.
  ASSERT_TRUE(ExportDag(bomb, store_, out, 4 << 20).ok());
  EXPECT_EQ(fs::file_size(out / "f163"), 64u * 1024);
}

TEST_F(HostileDagTest, ExportRefusesAnExistingOrUnnamedTarget) {
  const Cid file = PutRaw("x");
  fs::create_directory(tmp_.path() / "exists");
  EXPECT_EQ(ExportDag(file, store_, tmp_.path() / "exists").reason(), "already_exists");
  EXPECT_EQ(ExportDag(file, store_, tmp_.path() / "..").reason(), "already_exists");
  EXPECT_FALSE(ExportDag(file, store_, tmp_.path() / "missing-parent" / "x").ok());
}

}  // namespace
}  // namespace elastos::ipld
