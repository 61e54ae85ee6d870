// Helpers shared by the namespace tests.
#pragma once

#include <gtest/gtest.h>
#include <stdlib.h>

#include <array>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>

#include "common/bytes.h"
#include "common/encoding.h"
#include "common/testing/temp_dir.h"
#include "namespace/unixfs.h"

namespace elastos::ipld::testutil {

// Deterministic content: byte i is kRing[i % 65521], kRing the low bytes of a xorshift32 sequence
// seeded 0x9E3779B9. The prime period keeps every chunk of every chunk size different. The
// reference-importer goldens in unixfs_oracle_test.cc were produced from the same sequence.
class Pattern {
 public:
  static constexpr std::size_t kPeriod = 65521;
  Pattern() {
    std::uint32_t s = 0x9E3779B9u;
    for (std::size_t i = 0; i < kPeriod; ++i) {
      s ^= s << 13;
      s ^= s >> 17;
      s ^= s << 5;
      ring_[i] = static_cast<std::uint8_t>(s);
    }
  }
  // Writes bytes [offset, offset + out.size()) of the pattern into `out`.
  void Fill(std::uint64_t offset, std::uint8_t* out, std::size_t n) const {
    std::size_t pos = static_cast<std::size_t>(offset % kPeriod);
    while (n > 0) {
      const std::size_t k = std::min(n, kPeriod - pos);
      std::memcpy(out, ring_.data() + pos, k);
      out += k;
      n -= k;
      pos = 0;
    }
  }
  Bytes Make(std::size_t n) const {
    Bytes b(n);
    Fill(0, b.data(), n);
    return b;
  }

 private:
  std::array<std::uint8_t, kPeriod> ring_;
};

inline const Pattern& ThePattern() {
  static const Pattern kPattern;
  return kPattern;
}

// Imports `size` pattern bytes with `profile`, streaming straight into the importer's buffer.
inline Result<ImportResult> ImportPattern(const UnixFsProfile& profile, std::uint64_t size,
                                          BlockSink* sink = nullptr) {
  FileImporter importer(profile, sink);
  std::uint64_t done = 0;
  while (done < size) {
    std::span<std::uint8_t> space = importer.WritableSpace();
    const std::size_t n =
        static_cast<std::size_t>(std::min<std::uint64_t>(space.size(), size - done));
    ThePattern().Fill(done, space.data(), n);
    ELASTOS_RETURN_IF_ERROR(importer.Commit(n));
    done += n;
  }
  return importer.Finish();
}

inline Result<ImportResult> ImportBytes(const UnixFsProfile& profile, ByteView data,
                                        BlockSink* sink = nullptr) {
  FileImporter importer(profile, sink);
  ELASTOS_RETURN_IF_ERROR(importer.Write(data));
  return importer.Finish();
}

// A fresh directory under /tmp, removed with the object.
using ::elastos::testing::TempDir;

// Bytes from hex text that may contain spaces (as worked examples in docs/ are written).
inline Bytes Hex(std::string_view hex) {
  std::string clean;
  for (char c : hex) {
    if (c != ' ') clean += c;
  }
  auto b = HexDecode(clean);
  EXPECT_TRUE(b.ok()) << hex;
  return b.ok() ? *b : Bytes{};
}

inline void WriteFile(const std::filesystem::path& p, ByteView data) {
  std::filesystem::create_directories(p.parent_path());
  std::ofstream out(p, std::ios::binary | std::ios::trunc);
  out.write(reinterpret_cast<const char*>(data.data()), static_cast<std::streamsize>(data.size()));
  ASSERT_TRUE(out.good()) << p;
}
inline void WriteFile(const std::filesystem::path& p, std::string_view text) {
  WriteFile(p, AsBytes(text));
}

inline Bytes ReadAll(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  return Bytes(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

// The directory tree the reference goldens were computed for (see unixfs_oracle_test.cc): names
// that need byte-order sorting, an empty file, empty directories, single- and multi-chunk files.
inline void MakeGoldenTree(const std::filesystem::path& root) {
  std::filesystem::create_directories(root / "ab" / "empty");
  std::filesystem::create_directories(root / "ab" / "nested");
  std::filesystem::create_directories(root / "empty");
  WriteFile(root / "B", "B\n");
  WriteFile(root / "a", "");
  WriteFile(root / "a.txt", "hello world\n");
  WriteFile(root / "ab" / "nested" / "deep.bin", ThePattern().Make(300000));
  WriteFile(root / "\xc3\xa9", "accent");  // "é"
  WriteFile(root / "Z10", ThePattern().Make(2 * 1048576 + 7));
  WriteFile(root / "z2", "z2");
}

}  // namespace elastos::ipld::testutil
