#include "runtime/audit/log_format.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>
#include <sstream>

#include "common/encoding.h"
#include "common/env.h"
#include "runtime/audit/audit_test_util.h"
#include "runtime/audit/crc32c.h"
#include "runtime/audit/record.h"
#include "runtime/audit/signing_chain.h"
#include "runtime/audit/verify.h"

namespace elastos::audit {
namespace {
namespace fs = std::filesystem;
using testing::TempDir;

// The log of the worked example in docs/formats/audit.md: the header, the log_init record of
// the key with seed 00 01 … 1f stamped 1700000000, and a checkpoint covering it.
Bytes ExampleLog() {
  const auto key = testing::TestKey(0x00);
  const auto header = EncodeFileHeader();
  Bytes out(header.begin(), header.end());
  const std::string leaf = *MakeInitRecord(key.public_key(), 1700000000).ToCanonicalJson();
  AppendFrame(out, FrameKind::kLeaf, AsBytes(leaf));
  CompactRange tree;
  tree.Append(LeafHash(AsBytes(leaf)));
  const Checkpoint cp{OriginForKey(key.public_key()), 1, tree.Root()};
  AppendFrame(out, FrameKind::kCheckpoint, AsBytes(MakeCheckpointNote(cp, key)));
  return out;
}

std::string HexDump(ByteView data) {
  std::string out;
  char line[100];
  for (std::size_t off = 0; off < data.size(); off += 16) {
    int n = std::snprintf(line, sizeof line, "    %08zx ", off);
    std::string hex, ascii;
    for (std::size_t i = off; i < off + 16; ++i) {
      if (i < data.size()) {
        char b[4];
        std::snprintf(b, sizeof b, " %02x", data[i]);
        hex += b;
        ascii += (data[i] >= 0x20 && data[i] < 0x7f) ? static_cast<char>(data[i]) : '.';
      } else {
        hex += "   ";
      }
      if (i == off + 7) hex += ' ';
    }
    out += std::string(line, static_cast<std::size_t>(n)) + hex + "  |" + ascii + "|\n";
  }
  return out;
}

fs::path DocPath() {
  if (const char* src = std::getenv("ELASTOS_SOURCE_DIR"); src && *src) {
    return fs::path(src) / "docs/formats/audit.md";
  }
  return fs::path(__FILE__).parent_path().parent_path().parent_path().parent_path() /
         "docs/formats/audit.md";
}

// The bytes of the hex dump between the example markers of the format document.
Bytes DocExampleBytes() {
  std::ifstream in(DocPath());
  EXPECT_TRUE(in.good()) << "cannot read " << DocPath();
  std::string line;
  bool inside = false;
  Bytes out;
  while (std::getline(in, line)) {
    if (line.find("<!-- example-log-begin -->") != std::string::npos) {
      inside = true;
      continue;
    }
    if (line.find("<!-- example-log-end -->") != std::string::npos) break;
    if (!inside) continue;
    const std::size_t bar = line.find('|');
    std::istringstream fields(line.substr(0, bar));
    std::string offset, byte;
    if (!(fields >> offset) || offset.find_first_not_of("0123456789abcdef") != std::string::npos) {
      continue;
    }
    EXPECT_EQ(std::stoul(offset, nullptr, 16), out.size()) << line;
    while (fields >> byte) out.push_back(static_cast<std::uint8_t>(std::stoul(byte, nullptr, 16)));
  }
  return out;
}

TEST(LogFormatTest, HeaderLayout) {
  const auto h = EncodeFileHeader();
  EXPECT_EQ(HexEncode(h), "454c41554449540a01000000" +
                              HexEncode(std::array<std::uint8_t, 4>{
                                  static_cast<std::uint8_t>(Crc32c({h.data(), 12})),
                                  static_cast<std::uint8_t>(Crc32c({h.data(), 12}) >> 8),
                                  static_cast<std::uint8_t>(Crc32c({h.data(), 12}) >> 16),
                                  static_cast<std::uint8_t>(Crc32c({h.data(), 12}) >> 24)}));
}

TEST(LogFormatTest, FrameLayout) {
  Bytes out;
  AppendFrame(out, FrameKind::kLeaf, AsBytes("{}"));
  ASSERT_EQ(out.size(), kFrameHeaderSize + 2);
  EXPECT_EQ(HexEncode(ByteView(out).first(4)), "02000000");
  const std::uint8_t kind_and_payload[] = {0x01, '{', '}'};
  const std::uint32_t crc = Crc32c(kind_and_payload);
  EXPECT_EQ(out[4] | out[5] << 8 | out[6] << 16 | static_cast<std::uint32_t>(out[7]) << 24, crc);
  EXPECT_EQ(out[8], 0x01);
}

// The worked example in docs/formats/audit.md is exactly what this code writes, and it verifies.
TEST(LogFormatTest, DocumentedExampleDecodes) {
  const Bytes expected = ExampleLog();
  const Bytes doc = DocExampleBytes();
  EXPECT_EQ(doc, expected) << "docs/formats/audit.md is out of date; the example should read:\n"
                           << HexDump(expected);

  TempDir dir;
  testing::WriteBytes(dir.path() / "audit.log", doc);
  auto env = NewPosixEnv();
  auto file = env->OpenReadable(dir.path() / "audit.log");
  ASSERT_TRUE(file.ok());
  FrameReader reader(**file, doc.size());
  auto header = reader.ReadHeader();
  ASSERT_TRUE(header.ok() && !header->problem);
  auto leaf = reader.Next();
  ASSERT_TRUE(leaf.ok() && leaf->frame);
  EXPECT_EQ(leaf->frame->kind, FrameKind::kLeaf);
  EXPECT_EQ(leaf->frame->offset, kFileHeaderSize);
  auto record = AuditRecord::Parse(AsChars(leaf->frame->payload));
  ASSERT_TRUE(record.ok()) << record.status().ToString();
  EXPECT_EQ(record->type, "log_init");
  EXPECT_EQ(record->time_unix, 1700000000);
  auto checkpoint = reader.Next();
  ASSERT_TRUE(checkpoint.ok() && checkpoint->frame);
  EXPECT_EQ(checkpoint->frame->kind, FrameKind::kCheckpoint);
  auto end = reader.Next();
  ASSERT_TRUE(end.ok() && !end->frame && !end->problem);

  auto report = VerifyLog(*env, dir.path(), testing::TestKey(0x00).public_key());
  ASSERT_TRUE(report.ok()) << report.status().ToString();
  EXPECT_TRUE(report->ok()) << report->problem->ToString();
  EXPECT_EQ(report->records, 1u);
  EXPECT_EQ(report->checkpointed, 1u);
}

TEST(LogFormatTest, ReaderSeesEveryProblem) {
  const Bytes log = ExampleLog();
  TempDir dir;
  auto env = NewPosixEnv();
  const fs::path path = dir.path() / "audit.log";
  auto read_first_problem = [&](const Bytes& bytes) -> std::optional<FrameProblem> {
    testing::WriteBytes(path, bytes);
    auto file = env->OpenReadable(path);
    FrameReader reader(**file, bytes.size());
    auto header = reader.ReadHeader();
    if (!header.ok()) {
      return FrameProblem{0, std::nullopt, header.status().reason(), header.status().message()};
    }
    if (header->problem) return header->problem;
    for (;;) {
      auto next = reader.Next();
      if (next->problem) return next->problem;
      if (!next->frame) return std::nullopt;
    }
  };
  EXPECT_FALSE(read_first_problem(log).has_value());
  // Every single-bit flip anywhere is seen, at the frame (or header) that holds it.
  const std::uint64_t second = kFileHeaderSize + kFrameHeaderSize + (log[16] | log[17] << 8);
  for (std::size_t i = 0; i < log.size(); ++i) {
    for (int bit = 0; bit < 8; bit += 3) {
      Bytes bad = log;
      bad[i] ^= static_cast<std::uint8_t>(1 << bit);
      auto p = read_first_problem(bad);
      ASSERT_TRUE(p.has_value()) << "byte " << i << " bit " << bit;
      EXPECT_EQ(p->offset, i < kFileHeaderSize ? 0
                           : i < second        ? kFileHeaderSize
                                               : second)
          << "byte " << i;
    }
  }
  // A newer format version with a valid header CRC is refused, not misread.
  Bytes newer = log;
  newer[8] = 2;
  const std::uint32_t crc = Crc32c(ByteView(newer).first(12));
  for (int i = 0; i < 4; ++i) newer[12 + i] = static_cast<std::uint8_t>(crc >> (8 * i));
  EXPECT_EQ(read_first_problem(newer)->reason, "audit_format_newer");
}

TEST(LogFormatTest, FindNextFrameSkipsDamage) {
  const Bytes log = ExampleLog();
  TempDir dir;
  auto env = NewPosixEnv();
  const fs::path path = dir.path() / "audit.log";
  testing::WriteBytes(path, log);
  auto file = env->OpenReadable(path);
  FrameReader reader(**file, log.size());
  const std::uint64_t second = kFileHeaderSize + kFrameHeaderSize + (log[16] | log[17] << 8);
  auto found = reader.FindNextFrame(kFileHeaderSize + 1);
  ASSERT_TRUE(found.ok());
  EXPECT_EQ(*found, std::optional<std::uint64_t>(second));
  auto none = reader.FindNextFrame(second + 1);
  ASSERT_TRUE(none.ok());
  EXPECT_FALSE(none->has_value());
}

}  // namespace
}  // namespace elastos::audit
