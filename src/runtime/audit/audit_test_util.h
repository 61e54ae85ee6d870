// Helpers shared by the audit log's tests (never linked into the runtime).
#pragma once

#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "common/bytes.h"
#include "crypto/ed25519.h"
#include "common/testing/temp_dir.h"
#include "runtime/audit/audit_log.h"
#include "runtime/audit/log_format.h"

namespace elastos::audit::testing {

using ::elastos::testing::TempDir;

// Options with no spontaneous checkpoints, so tests decide where checkpoints fall.
inline AuditLogOptions Quiet() {
  AuditLogOptions o;
  o.checkpoint_every = 1'000'000;
  o.checkpoint_interval = std::chrono::hours(1);
  o.background_flusher = false;
  return o;
}

inline Bytes ReadBytes(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  return Bytes(std::istreambuf_iterator<char>(in), {});
}

inline void WriteBytes(const std::filesystem::path& path, ByteView data) {
  std::filesystem::create_directories(path.parent_path());
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(reinterpret_cast<const char*>(data.data()), static_cast<std::streamsize>(data.size()));
}

// A fixed key, so files and signatures are reproducible: seed = first_byte, first_byte+1, ….
inline crypto::Ed25519PrivateKey TestKey(std::uint8_t first_byte) {
  Bytes seed(32);
  for (std::size_t i = 0; i < seed.size(); ++i) seed[i] = static_cast<std::uint8_t>(first_byte + i);
  return *crypto::Ed25519PrivateKey::FromSeed(seed);
}

// A log file taken apart into its frames (which must all be intact), and put back together.
struct RawFrame {
  std::uint64_t offset = 0;
  FrameKind kind = FrameKind::kLeaf;
  std::string payload;
};

inline std::vector<RawFrame> SplitFrames(const Bytes& file) {
  std::vector<RawFrame> out;
  std::size_t off = kFileHeaderSize;
  while (off + kFrameHeaderSize <= file.size()) {
    const std::size_t len =
        file[off] | file[off + 1] << 8 | file[off + 2] << 16 | file[off + 3] << 24;
    out.push_back(
        {off, static_cast<FrameKind>(file[off + 8]),
         std::string(reinterpret_cast<const char*>(file.data()) + off + kFrameHeaderSize, len)});
    off += kFrameHeaderSize + len;
  }
  EXPECT_EQ(off, file.size());
  return out;
}

inline Bytes JoinFrames(const std::vector<RawFrame>& frames) {
  const auto header = EncodeFileHeader();
  Bytes out(header.begin(), header.end());
  for (const RawFrame& f : frames) AppendFrame(out, f.kind, AsBytes(f.payload));
  return out;
}

}  // namespace elastos::audit::testing
