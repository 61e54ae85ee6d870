#include "namespace/unixfs_data.h"

#include <gtest/gtest.h>

#include "common/encoding.h"

namespace elastos::ipld {
namespace {

Bytes Hex(std::string_view hex) {
  std::string clean;
  for (char c : hex) {
    if (c != ' ') clean += c;
  }
  return *HexDecode(clean);
}

TEST(UnixFsData, EncodesWhatTheReferenceWrites) {
  UnixFsData dir;
  dir.type = UnixFsType::kDirectory;
  EXPECT_EQ(HexEncode(EncodeUnixFsData(dir)), "0801");

  UnixFsData empty_file;  // an empty leaf: no Data field, filesize 0
  empty_file.filesize = 0;
  empty_file.data = Bytes{};
  EXPECT_EQ(HexEncode(EncodeUnixFsData(empty_file)), "08021800");

  UnixFsData leaf;
  leaf.data = ToBytes("hi");
  leaf.filesize = 2;
  EXPECT_EQ(HexEncode(EncodeUnixFsData(leaf)),
            "080212026869"
            "1802");

  UnixFsData parent;  // blocksizes unpacked, one field each
  parent.filesize = 262144 + 5;
  parent.blocksizes = {262144, 5};
  EXPECT_EQ(HexEncode(EncodeUnixFsData(parent)),
            "0802"
            "18858010"
            "20808010"
            "2005");
}

TEST(UnixFsData, RoundTripsEveryField) {
  UnixFsData d;
  d.type = UnixFsType::kHamtShard;
  d.data = ToBytes("bitfield");
  d.filesize = 7;
  d.blocksizes = {1, 2, 3};
  d.hash_type = 0x22;
  d.fanout = 256;
  d.mode = 0755;
  auto back = DecodeUnixFsData(EncodeUnixFsData(d));
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_EQ(*back, d);
}

TEST(UnixFsData, ReadsMtimeWithoutInterpretingIt) {
  // Type File, mtime {Seconds: 1}: written by importers that preserve metadata.
  auto d = DecodeUnixFsData(Hex("0802 1800 4202 0801"));
  ASSERT_TRUE(d.ok()) << d.status().ToString();
  EXPECT_TRUE(d->has_mtime);
}

TEST(UnixFsData, TypeNames) {
  EXPECT_EQ(UnixFsTypeName(UnixFsType::kHamtShard), "hamt-sharded directory");
  EXPECT_EQ(UnixFsTypeName(UnixFsType::kSymlink), "symlink");
  EXPECT_EQ(UnixFsTypeName(UnixFsType::kMetadata), "metadata");
}

TEST(UnixFsData, DecodingIsStrict) {
  const struct {
    const char* what;
    const char* hex;
  } cases[] = {
      {"no Type", "1800"},
      {"unknown Type", "0806"},
      {"Type twice", "0802 0802"},
      {"filesize twice", "0802 1800 1800"},
      {"Data as a varint", "0802 1000"},
      {"Type as bytes", "0a00"},
      {"blocksizes packed (bytes)", "0802 22020102"},
      {"unknown field 9", "0802 4800"},
      {"mode beyond 32 bits", "0802 388080808010"},
      {"truncated Data", "0802 1205 6869"},
      {"fixed32 wire type", "0802 1d00000000"},
      {"empty", ""},
  };
  for (const auto& c : cases) {
    auto r = DecodeUnixFsData(Hex(c.hex));
    EXPECT_FALSE(r.ok()) << c.what;
    EXPECT_EQ(r.status().reason(), "unixfs_invalid") << c.what << ": " << r.status().ToString();
  }
}

}  // namespace
}  // namespace elastos::ipld
