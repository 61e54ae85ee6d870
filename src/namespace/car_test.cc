#include "namespace/car.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include "namespace/dag_pb.h"
#include "namespace/test_util.h"
#include "namespace/unixfs.h"

namespace elastos::ipld {
namespace {

namespace fs = std::filesystem;
using testutil::ReadAll;
using testutil::TempDir;
using testutil::WriteFile;

constexpr char kHelloRaw[] = "bafkreifjjcie6lypi6ny7amxnfftagclbuxndqonfipmb64f2km2devei4";
constexpr char kHelloV0[] = "QmT78zSuBmuS4z925WZfrqQ1qHaJ56DQaTfyMUF7F8ff5o";
// Written by @ipld/car 5.4.7's CarWriter: roots [kHelloRaw] and the block "hello world\n".
constexpr char kHelloCarHex[] =
    "3aa265726f6f747381d82a58250001551220a948904f2f0f479b8f8197694b30184b0d2ed1c1cd2a1ec0fb85d299a1"
    "92a447"
    "6776657273696f6e01"
    "3001551220a948904f2f0f479b8f8197694b30184b0d2ed1c1cd2a1ec0fb85d299a192a44768656c6c6f20776f726c"
    "640a";
// Its header for roots [kHelloRaw, kHelloV0], and for no roots.
constexpr char kTwoRootsHeaderHex[] =
    "61a265726f6f747382d82a58250001551220a948904f2f0f479b8f8197694b30184b0d2ed1c1cd2a1ec0fb85d299a1"
    "92a447"
    "d82a582300122046d44814b9c5af141c3aaab7c05dc5e844ead5f91f12858b021eba45768b4c0e6776657273696f6e"
    "01";
constexpr char kNoRootsHeaderHex[] = "11a265726f6f7473806776657273696f6e01";

using testutil::Hex;

Cid HelloRaw() { return *Cid::Parse(kHelloRaw); }

class CarTest : public ::testing::Test {
 protected:
  fs::path Path(const std::string& name) const { return tmp_.path() / name; }

  // Reads the whole file; returns the first error's reason or "ok", and the blocks read.
  std::string ReadReason(const fs::path& path, std::vector<CarReader::Block>* blocks = nullptr,
                         std::vector<Cid>* roots = nullptr, std::string* message = nullptr) {
    auto reader = CarReader::Open(path);
    if (!reader.ok()) {
      if (message) *message = reader.status().message();
      return reader.status().reason();
    }
    if (roots) *roots = (*reader)->roots();
    for (;;) {
      auto next = (*reader)->Next();
      if (!next.ok()) {
        if (message) *message = next.status().message();
        return next.status().reason();
      }
      if (!*next) return "ok";
      if (blocks) blocks->push_back(std::move(**next));
    }
  }

  void Write(const fs::path& path, ByteView bytes) { WriteFile(path, bytes); }

  TempDir tmp_;
};

// ---- Header ----

TEST_F(CarTest, HeaderMatchesTheReference) {
  const Bytes one = EncodeCarHeader({HelloRaw()});
  Bytes framed;
  AppendVarint(framed, one.size());
  Append(framed, one);
  EXPECT_EQ(HexEncode(framed), std::string(kHelloCarHex).substr(0, 2 + 2 * one.size()));
  const Bytes two = EncodeCarHeader({HelloRaw(), *Cid::Parse(kHelloV0)});
  EXPECT_EQ(HexEncode(two), std::string(kTwoRootsHeaderHex).substr(2));
  EXPECT_EQ(HexEncode(EncodeCarHeader({})), std::string(kNoRootsHeaderHex).substr(2));
  EXPECT_EQ(*DecodeCarHeader(two), (std::vector<Cid>{HelloRaw(), *Cid::Parse(kHelloV0)}));
  EXPECT_TRUE(DecodeCarHeader(EncodeCarHeader({}))->empty());
}

TEST_F(CarTest, HeaderDecodingIsStrict) {
  const std::string cid =
      "d82a5825"
      "00"
      "01551220a948904f2f0f479b8f8197694b30184b0d2ed1c1cd2a1ec0fb85d299a192a447";
  const std::string roots_key = "65726f6f7473";
  const std::string version_key = "6776657273696f6e";
  const struct {
    const char* what;
    std::string hex;
  } cases[] = {
      {"version 2", "a2" + roots_key + "81" + cid + version_key + "02"},
      {"version 0", "a2" + roots_key + "81" + cid + version_key + "00"},
      {"keys in the wrong order", "a2" + version_key + "01" + roots_key + "81" + cid},
      {"extra key", "a3" + roots_key + "81" + cid + version_key + "01" +
                        "6178"
                        "01"},
      {"missing version", "a1" + roots_key + "81" + cid},
      {"version as text", "a2" + roots_key + "81" + cid + version_key + "6131"},
      {"non-minimal version", "a2" + roots_key + "81" + cid + version_key + "1801"},
      {"non-minimal array length", "a2" + roots_key + "9801" + cid + version_key + "01"},
      {"indefinite array", "a2" + roots_key + "9f" + cid + "ff" + version_key + "01"},
      {"indefinite map", "bf" + roots_key + "81" + cid + version_key + "01ff"},
      {"root without tag 42", "a2" + roots_key + "81" + cid.substr(4) + version_key + "01"},
      {"root with another tag", "a2" + roots_key + "81d82b" + cid.substr(4) + version_key + "01"},
      {"root without 0x00 prefix",
       "a2" + roots_key + "81d82a5824" + cid.substr(10) + version_key + "01"},
      {"root CID truncated",
       "a2" + roots_key + "81d82a5824" + cid.substr(8, 72) + version_key + "01"},
      {"trailing byte", "a2" + roots_key + "81" + cid + version_key + "01" + "00"},
      {"not a map", "80"},
      {"empty", ""},
      {"roots count beyond the bytes", "a2" + roots_key + "9a7fffffff"},
  };
  for (const auto& c : cases) {
    auto r = DecodeCarHeader(Hex(c.hex));
    EXPECT_FALSE(r.ok()) << c.what;
    EXPECT_EQ(r.status().reason(), "car_bad_header") << c.what << ": " << r.status().ToString();
  }
}

// ---- Writer and reader ----

TEST_F(CarTest, WriterMatchesTheReferenceByteForByte) {
  auto writer = CarWriter::Create(Path("hello.car"), {HelloRaw()});
  ASSERT_TRUE(writer.ok()) << writer.status().ToString();
  ASSERT_TRUE((*writer)->Put(HelloRaw(), AsBytes("hello world\n")).ok());
  ASSERT_TRUE((*writer)->Finish().ok());
  EXPECT_EQ(HexEncode(ReadAll(Path("hello.car"))), kHelloCarHex);
}

TEST_F(CarTest, ReadsAReferenceFile) {
  Write(Path("ref.car"), Hex(kHelloCarHex));
  std::vector<CarReader::Block> blocks;
  std::vector<Cid> roots;
  ASSERT_EQ(ReadReason(Path("ref.car"), &blocks, &roots), "ok");
  EXPECT_EQ(roots, std::vector<Cid>{HelloRaw()});
  ASSERT_EQ(blocks.size(), 1u);
  EXPECT_EQ(blocks[0].cid, HelloRaw());
  EXPECT_EQ(blocks[0].data, ToBytes("hello world\n"));
  EXPECT_EQ(blocks[0].index, 0u);
  EXPECT_EQ(blocks[0].offset, 59u);
  EXPECT_EQ(blocks[0].data_offset, 59u + 1 + 36);
}

TEST_F(CarTest, WriterSkipsDuplicatesAndIsAtomic) {
  const fs::path path = Path("out.car");
  Write(path, AsBytes("old"));
  {
    auto writer = CarWriter::Create(path, {HelloRaw()});
    ASSERT_TRUE(writer.ok());
    for (int i = 0; i < 3; ++i) {
      ASSERT_TRUE((*writer)->Put(HelloRaw(), AsBytes("hello world\n")).ok());
    }
    const Cid other = Cid::ForBlock(1, Codec::kRaw, AsBytes("other"));
    ASSERT_TRUE((*writer)->Put(other, AsBytes("other")).ok());
    EXPECT_EQ((*writer)->block_count(), 2u);
    EXPECT_EQ(ReadAll(path), ToBytes("old"));  // nothing visible before Finish
    ASSERT_TRUE((*writer)->Finish().ok());
    EXPECT_EQ((*writer)->Put(other, AsBytes("other")).code(), Code::kFailedPrecondition);
    EXPECT_EQ((*writer)->Finish().code(), Code::kFailedPrecondition);
  }
  std::vector<CarReader::Block> blocks;
  ASSERT_EQ(ReadReason(path, &blocks), "ok");
  EXPECT_EQ(blocks.size(), 2u);
  // Abandoned writer: no file, no temporary left behind.
  {
    auto writer = CarWriter::Create(Path("abandoned.car"), {HelloRaw()});
    ASSERT_TRUE((*writer)->Put(HelloRaw(), AsBytes("hello world\n")).ok());
  }
  EXPECT_FALSE(fs::exists(Path("abandoned.car")));
  std::size_t files = 0;
  for ([[maybe_unused]] const auto& e : fs::directory_iterator(tmp_.path())) ++files;
  EXPECT_EQ(files, 1u);
  EXPECT_FALSE(CarWriter::Create(Path("no-such-dir") / "x.car", {}).ok());
}

TEST_F(CarTest, LargeBlocksRoundTrip) {
  // Blocks big enough to bypass the write buffer, mixed with small ones.
  const Bytes big = testutil::ThePattern().Make(kMaxBlockSize);
  const Cid big_cid = Cid::ForBlock(1, Codec::kRaw, big);
  auto writer = CarWriter::Create(Path("big.car"), {big_cid});
  ASSERT_TRUE((*writer)->Put(HelloRaw(), AsBytes("hello world\n")).ok());
  ASSERT_TRUE((*writer)->Put(big_cid, big).ok());
  const Bytes too_big(kMaxBlockSize + 1, 0);
  EXPECT_EQ((*writer)->Put(Cid::ForBlock(1, Codec::kRaw, too_big), too_big).code(),
            Code::kResourceExhausted);
  ASSERT_TRUE((*writer)->Put(Cid::ForBlock(1, Codec::kRaw, {}), {}).ok());  // empty block
  ASSERT_TRUE((*writer)->Finish().ok());
  std::vector<CarReader::Block> blocks;
  ASSERT_EQ(ReadReason(Path("big.car"), &blocks), "ok");
  ASSERT_EQ(blocks.size(), 3u);
  EXPECT_EQ(blocks[1].data, big);
  EXPECT_TRUE(blocks[2].data.empty());
}

// ---- Hostile files ----

// A small CAR holding a directory with a two-leaf file: raw leaves, a dag-pb file node and a
// directory node, so every kind of block can be damaged.
class HostileCarTest : public CarTest {
 protected:
  void SetUp() override {
    WriteFile(Path("src") / "f", "abcdefgh");
    ImportOptions options;
    options.profile = UnixFsProfile{"tiny", 1, true, 4, 3, true};
    auto first = ImportPath(Path("src"), options);
    ASSERT_TRUE(first.ok());
    root_ = first->cid;
    auto writer = CarWriter::Create(Path("good.car"), {root_});
    options.sink = writer->get();
    ASSERT_TRUE(ImportPath(Path("src"), options).ok());
    ASSERT_TRUE((*writer)->Finish().ok());
    good_ = ReadAll(Path("good.car"));
    ASSERT_EQ(ReadReason(Path("good.car"), &blocks_), "ok");
    ASSERT_EQ(blocks_.size(), 4u);  // leaf "abcd", leaf "efgh", file node, directory
  }
  std::string ReasonOf(const Bytes& bytes, std::string* message = nullptr,
                       std::vector<Cid>* roots = nullptr) {
    Write(Path("bad.car"), bytes);
    return ReadReason(Path("bad.car"), nullptr, roots, message);
  }
  Bytes Flipped(std::size_t offset) const {
    Bytes b = good_;
    b[offset] ^= 0x01;
    return b;
  }

  Cid root_;
  Bytes good_;
  std::vector<CarReader::Block> blocks_;
};

TEST_F(HostileCarTest, DamageIsReportedByPartWithBlockDetails) {
  // Header: a key letter.
  EXPECT_EQ(ReasonOf(Flipped(3)), "car_bad_header");
  for (std::size_t i = 0; i < blocks_.size(); ++i) {
    const CarReader::Block& b = blocks_[i];
    const std::size_t cid_offset = b.data_offset - b.cid.EncodedSize();
    std::string message;
    // The CID's version byte: not a CID we accept.
    EXPECT_EQ(ReasonOf(Flipped(cid_offset), &message), "car_bad_block") << i;
    EXPECT_NE(message.find("block #" + std::to_string(i)), std::string::npos) << message;
    EXPECT_NE(message.find("byte offset " + std::to_string(b.offset)), std::string::npos)
        << message;
    // The CID's digest: a well-formed CID the data does not match.
    EXPECT_EQ(ReasonOf(Flipped(b.data_offset - 1), &message), "block_hash_mismatch") << i;
    // The data (raw leaf, raw leaf, dag-pb file node, directory node).
    EXPECT_EQ(ReasonOf(Flipped(b.data_offset + b.data.size() / 2), &message), "block_hash_mismatch")
        << i;
    EXPECT_NE(message.find("block #" + std::to_string(i)), std::string::npos) << message;
    EXPECT_NE(message.find("byte offset " + std::to_string(b.offset)), std::string::npos)
        << message;
    EXPECT_NE(message.find(b.cid.ToString()), std::string::npos) << message;
  }
}

TEST_F(HostileCarTest, EveryByteFlipIsCaught) {
  std::vector<Cid> original;
  for (const auto& b : blocks_) original.push_back(b.cid);
  int unreadable = 0;
  for (std::size_t i = 0; i < good_.size(); ++i) {
    std::vector<Cid> roots;
    std::vector<CarReader::Block> blocks;
    Write(Path("bad.car"), Flipped(i));
    if (ReadReason(Path("bad.car"), &blocks, &roots) != "ok") {
      ++unreadable;
      continue;
    }
    // Some flips leave a readable file that names different content: a root's digest, or a
    // CID's codec byte (the codec is not hashed, so raw 0x55 can become 0x54 and dag-pb 0x70
    // dag-cbor 0x71). The file then no longer holds the original DAG, which its consumer checks.
    std::vector<Cid> cids;
    for (const auto& b : blocks) cids.push_back(b.cid);
    ASSERT_TRUE(roots != std::vector<Cid>{root_} || cids != original)
        << "flip at offset " << i << " went unnoticed";
  }
  EXPECT_GT(unreadable, static_cast<int>(good_.size() * 3 / 4));
}

TEST_F(HostileCarTest, EveryTruncationIsCaught) {
  std::set<std::uint64_t> boundaries;  // a cut between sections leaves a shorter valid file
  for (const auto& b : blocks_) boundaries.insert(b.offset);
  for (std::size_t len = 0; len < good_.size(); ++len) {
    const std::string reason =
        ReasonOf(Bytes(good_.begin(), good_.begin() + static_cast<std::ptrdiff_t>(len)));
    if (boundaries.contains(len)) {
      EXPECT_EQ(reason, "ok") << len;
    } else {
      EXPECT_EQ(reason, "car_truncated") << "truncated to " << len << " bytes";
    }
  }
}

TEST_F(HostileCarTest, OversizedAndZeroLengthsAreRefusedBeforeAllocating) {
  Bytes huge_header;
  AppendVarint(huge_header, kMaxCarHeaderSize + 1);
  EXPECT_EQ(ReasonOf(huge_header), "car_bad_header");
  Bytes zero_header{0x00};
  EXPECT_EQ(ReasonOf(zero_header), "car_bad_header");

  const std::size_t body = static_cast<std::size_t>(blocks_[0].offset);
  for (std::uint64_t len :
       {std::uint64_t{0}, std::uint64_t{kMaxCarSectionSize + 1}, std::uint64_t{1} << 62}) {
    Bytes b(good_.begin(), good_.begin() + static_cast<std::ptrdiff_t>(body));
    AppendVarint(b, len);
    b.insert(b.end(), 64, 0x01);
    EXPECT_EQ(ReasonOf(b), "car_bad_block") << len;
  }
  // A section shorter than its CID.
  Bytes shorter(good_.begin(), good_.begin() + static_cast<std::ptrdiff_t>(body));
  AppendVarint(shorter, 10);
  HelloRaw().AppendBytes(shorter);
  EXPECT_EQ(ReasonOf(shorter), "car_bad_block");
}

TEST_F(HostileCarTest, GarbageIsRefused) {
  EXPECT_EQ(ReasonOf({}), "car_truncated");
  std::string text;
  while (text.size() < 300) text += "garbage that is not a CAR file at all. ";
  EXPECT_EQ(ReasonOf(ToBytes(text)), "car_bad_header");  // 'g' = a 103-byte header that is not CBOR
  EXPECT_EQ(ReasonOf(ToBytes("garbage")),
            "car_truncated");  // too short for the 103 bytes it claims
  EXPECT_EQ(ReasonOf(testutil::ThePattern().Make(5000)), "car_bad_header");
  // A CARv2 file is named as such.
  std::string message;
  EXPECT_EQ(ReasonOf(Hex("0aa16776657273696f6e02 00000000"), &message), "car_bad_header");
  EXPECT_NE(message.find("CARv2"), std::string::npos);
  // Garbage after the last block.
  Bytes trailing = good_;
  trailing.push_back(0xff);
  EXPECT_EQ(ReasonOf(trailing), "car_truncated");
}

TEST_F(HostileCarTest, ErrorsAreSticky) {
  Write(Path("bad.car"), Flipped(static_cast<std::size_t>(blocks_[0].data_offset)));
  auto reader = CarReader::Open(Path("bad.car"));
  ASSERT_TRUE(reader.ok());
  EXPECT_EQ((*reader)->Next().status().reason(), "block_hash_mismatch");
  EXPECT_EQ((*reader)->Next().status().reason(), "block_hash_mismatch");
}

// ---- CarBlockSource ----

TEST_F(HostileCarTest, BlockSourceServesVerifiedBlocks) {
  auto source = CarBlockSource::Open(Path("good.car"));
  ASSERT_TRUE(source.ok()) << source.status().ToString();
  EXPECT_EQ((*source)->roots(), std::vector<Cid>{root_});
  EXPECT_EQ((*source)->block_count(), 4u);
  for (const auto& b : blocks_) {
    EXPECT_TRUE((*source)->Has(b.cid));
    EXPECT_EQ(*(*source)->Get(b.cid), b.data);
  }
  auto missing = (*source)->Get(HelloRaw());
  EXPECT_EQ(missing.status().code(), Code::kNotFound);
  EXPECT_EQ(*ReadFile(*ResolvePath(root_, "f", **source), **source, 100), ToBytes("abcdefgh"));
}

TEST_F(HostileCarTest, BlockSourceRefusesBadFilesAndNoticesLaterChanges) {
  Write(Path("bad.car"), Flipped(static_cast<std::size_t>(blocks_[2].data_offset + 1)));
  EXPECT_EQ(CarBlockSource::Open(Path("bad.car")).status().reason(), "block_hash_mismatch");

  fs::copy_file(Path("good.car"), Path("changing.car"));
  auto source = CarBlockSource::Open(Path("changing.car"));
  ASSERT_TRUE(source.ok());
  const auto& leaf = blocks_[1];
  {
    const int fd = ::open(Path("changing.car").c_str(), O_WRONLY);
    ASSERT_GE(fd, 0);
    const std::uint8_t x = 'X';
    ASSERT_EQ(::pwrite(fd, &x, 1, static_cast<off_t>(leaf.data_offset)), 1);
    ::close(fd);
  }
  EXPECT_EQ((*source)->Get(leaf.cid).status().reason(), "block_hash_mismatch");
  EXPECT_TRUE((*source)->Get(blocks_[0].cid).ok());
  fs::resize_file(Path("changing.car"), blocks_[3].data_offset + 2);
  EXPECT_EQ((*source)->Get(blocks_[3].cid).status().reason(), "car_truncated");
}

// ---- The whole path: directory → CAR → verified source → directory → same CID ----

TEST_F(CarTest, DirectoryRoundTripThroughCar) {
  const fs::path src = Path("src");
  testutil::MakeGoldenTree(src);
  for (const UnixFsProfile* profile : {&UnixFsProfile::V0_2015(), &UnixFsProfile::V1_2025()}) {
    ImportOptions options;
    options.profile = *profile;
    auto first = ImportPath(src, options);  // learn the root for the header
    ASSERT_TRUE(first.ok());
    const fs::path car = Path(profile->name + ".car");
    auto writer = CarWriter::Create(car, {first->cid});
    ASSERT_TRUE(writer.ok());
    options.sink = writer->get();
    auto second = ImportPath(src, options);
    ASSERT_TRUE(second.ok());
    ASSERT_EQ(second->cid, first->cid);
    ASSERT_TRUE((*writer)->Finish().ok());

    auto source = CarBlockSource::Open(car);
    ASSERT_TRUE(source.ok()) << source.status().ToString();
    ASSERT_EQ((*source)->roots().size(), 1u);
    const fs::path out = Path(profile->name + "-out");
    ASSERT_TRUE(ExportDag((*source)->roots()[0], **source, out).ok());
    options.sink = nullptr;
    auto again = ImportPath(out, options);
    ASSERT_TRUE(again.ok());
    EXPECT_EQ(again->cid, first->cid) << profile->name;
    EXPECT_EQ(again->dag_size, first->dag_size);
    EXPECT_EQ(ReadAll(out / "Z10"), ReadAll(src / "Z10"));
    EXPECT_TRUE(fs::is_directory(out / "ab" / "empty"));
    EXPECT_TRUE(fs::is_empty(out / "empty"));
  }
}

}  // namespace
}  // namespace elastos::ipld
