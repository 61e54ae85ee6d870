// The on-disk framing of `audit.log` (docs/formats/audit.md is the specification):
//
//   file   := header frame*
//   header := "ELAUDIT\n" | u32 format version | u32 CRC-32C of the preceding 12 bytes
//   frame  := u32 payload length | u32 CRC-32C(kind || payload) | u8 kind | payload
//
// All integers little-endian. Payloads are at most 1 MiB and never contain a 0x00 byte (they are
// canonical JSON or signed-note text), while every length field's high byte is 0x00: so a frame
// can never be found inside another frame's payload, which is what lets the reader tell a torn
// final write from damage followed by good data.
//
// FrameReader walks the frames of an open file for recovery, verification and proofs.
//
// Thread-safety: a FrameReader is used by one thread at a time.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "common/bytes.h"
#include "common/env.h"
#include "common/status.h"

namespace elastos::audit {

inline constexpr std::string_view kLogFileName = "audit.log";
inline constexpr std::string_view kFileMagic = "ELAUDIT\n";
inline constexpr std::uint32_t kFormatVersion = 1;
inline constexpr std::size_t kFileHeaderSize = 16;
inline constexpr std::size_t kFrameHeaderSize = 9;
inline constexpr std::size_t kMaxPayload = 1 << 20;

enum class FrameKind : std::uint8_t {
  kLeaf = 1,        // a canonical JSON audit record, hashed into the Merkle tree
  kCheckpoint = 2,  // a signed checkpoint note covering every leaf before it
};

std::array<std::uint8_t, kFileHeaderSize> EncodeFileHeader();
// Appends one frame to `out`.
void AppendFrame(Bytes& out, FrameKind kind, ByteView payload);

// A problem found while reading frames: where, and what is wrong.
struct FrameProblem {
  std::uint64_t offset = 0;          // where the bad frame (or header) starts
  std::optional<std::uint8_t> kind;  // the frame's kind byte, if it was there to read (unchecked)
  std::string reason;  // frame_truncated, frame_too_large, frame_crc, frame_kind, header_*
  std::string message;
};

struct Frame {
  std::uint64_t offset = 0;  // of the frame header
  std::uint64_t end = 0;     // offset just past the payload
  FrameKind kind = FrameKind::kLeaf;
  ByteView payload;  // valid until the next call on the reader
};

class FrameReader {
 public:
  // `file` must remain live while the reader is in use. Reads only [0, size).
  FrameReader(ReadableFile& file, std::uint64_t size) : file_(file), size_(size) {}

  std::uint64_t size() const { return size_; }
  std::uint64_t offset() const { return offset_; }
  void Seek(std::uint64_t offset) { offset_ = offset; }

  // Reads and checks the file header, leaving the reader at the first frame. A header that is
  // a strict prefix of a valid one (a crash while creating the file) is reason
  // `header_truncated`; a valid header of a newer version fails with `audit_format_newer`
  // (failed_precondition) — refused, not misread.
  struct HeaderResult {
    std::optional<FrameProblem> problem;
  };
  Result<HeaderResult> ReadHeader();

  // The next frame; nullopt frame and problem at the end of the file; or the problem with the
  // frame at offset(). I/O errors are the Status. On a problem the reader does not move.
  struct NextResult {
    std::optional<Frame> frame;
    std::optional<FrameProblem> problem;
  };
  Result<NextResult> Next();

  // The first offset in [from, size) where a complete frame with a valid kind and CRC starts, or
  // nullopt if there is none. Used after a bad frame: none means the bad frame is a torn final
  // write; some means data follows the damage. Gives up with `audit_resync_limit` after
  // checksumming 64 MiB, so hostile input cannot make it quadratic.
  Result<std::optional<std::uint64_t>> FindNextFrame(std::uint64_t from);

 private:
  // A view of [offset, offset + n) (n <= kMaxPayload + kFrameHeaderSize), from the buffer or
  // read into it. Requires offset + n <= size_.
  Result<ByteView> View(std::uint64_t offset, std::size_t n);
  // The frame at `offset`, or a problem.
  Result<NextResult> FrameAt(std::uint64_t offset);

  ReadableFile& file_;
  std::uint64_t size_;
  std::uint64_t offset_ = 0;
  Bytes buffer_;
  std::uint64_t buffer_offset_ = 0;
};

}  // namespace elastos::audit
