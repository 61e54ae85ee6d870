#include "runtime/audit/log_format.h"

#include <algorithm>
#include <cstring>

#include "runtime/audit/crc32c.h"

namespace elastos::audit {
namespace {

constexpr std::size_t kReadChunk = 256 << 10;
constexpr std::uint64_t kResyncBudget = 64ull << 20;

void PutU32(std::uint8_t* p, std::uint32_t v) {
  p[0] = static_cast<std::uint8_t>(v);
  p[1] = static_cast<std::uint8_t>(v >> 8);
  p[2] = static_cast<std::uint8_t>(v >> 16);
  p[3] = static_cast<std::uint8_t>(v >> 24);
}
std::uint32_t GetU32(const std::uint8_t* p) {
  return static_cast<std::uint32_t>(p[0]) | static_cast<std::uint32_t>(p[1]) << 8 |
         static_cast<std::uint32_t>(p[2]) << 16 | static_cast<std::uint32_t>(p[3]) << 24;
}
bool IsKnownKind(std::uint8_t kind) {
  return kind == static_cast<std::uint8_t>(FrameKind::kLeaf) ||
         kind == static_cast<std::uint8_t>(FrameKind::kCheckpoint);
}
std::uint32_t FrameCrc(ByteView kind_and_payload) { return Crc32c(kind_and_payload); }

}  // namespace

std::array<std::uint8_t, kFileHeaderSize> EncodeFileHeader() {
  std::array<std::uint8_t, kFileHeaderSize> h{};
  std::memcpy(h.data(), kFileMagic.data(), kFileMagic.size());
  PutU32(h.data() + 8, kFormatVersion);
  PutU32(h.data() + 12, Crc32c({h.data(), 12}));
  return h;
}

void AppendFrame(Bytes& out, FrameKind kind, ByteView payload) {
  const std::size_t start = out.size();
  out.resize(start + kFrameHeaderSize + payload.size());
  std::uint8_t* p = out.data() + start;
  PutU32(p, static_cast<std::uint32_t>(payload.size()));
  p[8] = static_cast<std::uint8_t>(kind);
  if (!payload.empty()) std::memcpy(p + kFrameHeaderSize, payload.data(), payload.size());
  PutU32(p + 4, FrameCrc({p + 8, payload.size() + 1}));
}

Result<ByteView> FrameReader::View(std::uint64_t offset, std::size_t n) {
  if (offset >= buffer_offset_ && offset + n <= buffer_offset_ + buffer_.size()) {
    return ByteView(buffer_).subspan(offset - buffer_offset_, n);
  }
  const std::size_t want =
      static_cast<std::size_t>(std::min<std::uint64_t>(size_ - offset, std::max(n, kReadChunk)));
  buffer_.resize(want);
  buffer_offset_ = offset;
  // Readers may return fewer bytes than asked (and a fault-injecting Env does): loop.
  for (std::size_t got = 0; got < want;) {
    ELASTOS_ASSIGN_OR_RETURN(std::size_t r,
                             file_.ReadAt(offset + got, std::span(buffer_).subspan(got)));
    if (r == 0) {
      buffer_.clear();
      return Internal("audit_log_shrank", "audit.log became shorter while being read (at offset " +
                                              std::to_string(offset + got) + ")");
    }
    got += r;
  }
  return ByteView(buffer_).first(n);
}

Result<FrameReader::HeaderResult> FrameReader::ReadHeader() {
  const auto expected = EncodeFileHeader();
  HeaderResult result;
  if (size_ < kFileHeaderSize) {
    ELASTOS_ASSIGN_OR_RETURN(ByteView got, View(0, static_cast<std::size_t>(size_)));
    const bool prefix = std::equal(got.begin(), got.end(), expected.begin());
    result.problem = FrameProblem{
        0, std::nullopt, prefix ? "header_truncated" : "header_bad_magic",
        prefix ? "the file header is incomplete (" + std::to_string(size_) + " of 16 bytes)"
               : "not an ElastOS audit log (bad magic)"};
    return result;
  }
  ELASTOS_ASSIGN_OR_RETURN(ByteView h, View(0, kFileHeaderSize));
  if (!std::equal(h.begin(), h.begin() + 8, expected.begin())) {
    result.problem =
        FrameProblem{0, std::nullopt, "header_bad_magic", "not an ElastOS audit log (bad magic)"};
    return result;
  }
  if (GetU32(h.data() + 12) != Crc32c(h.first(12))) {
    result.problem = FrameProblem{0, std::nullopt, "header_crc", "the file header fails its CRC"};
    return result;
  }
  const std::uint32_t version = GetU32(h.data() + 8);
  if (version > kFormatVersion) {
    return FailedPrecondition("audit_format_newer",
                              "audit.log has format version " + std::to_string(version) +
                                  "; this build reads version " + std::to_string(kFormatVersion) +
                                  " (upgrade ElastOS)");
  }
  if (version != kFormatVersion) {
    result.problem = FrameProblem{0, std::nullopt, "header_version",
                                  "unknown format version " + std::to_string(version)};
    return result;
  }
  offset_ = kFileHeaderSize;
  return result;
}

Result<FrameReader::NextResult> FrameReader::FrameAt(std::uint64_t offset) {
  NextResult result;
  const std::uint64_t left = size_ - offset;
  if (left < kFrameHeaderSize) {
    result.problem = FrameProblem{
        offset, std::nullopt, "frame_truncated",
        "incomplete frame header (" + std::to_string(left) + " bytes before end of file)"};
    return result;
  }
  ELASTOS_ASSIGN_OR_RETURN(ByteView h, View(offset, kFrameHeaderSize));
  const std::uint32_t length = GetU32(h.data());
  const std::uint32_t crc = GetU32(h.data() + 4);
  const std::uint8_t kind = h[8];
  if (length > kMaxPayload) {
    result.problem =
        FrameProblem{offset, kind, "frame_too_large",
                     "frame length " + std::to_string(length) + " exceeds the 1 MiB limit"};
    return result;
  }
  if (kFrameHeaderSize + length > left) {
    result.problem = FrameProblem{
        offset, kind, "frame_truncated",
        "frame of " + std::to_string(length) + " payload bytes extends past end of file"};
    return result;
  }
  ELASTOS_ASSIGN_OR_RETURN(ByteView f, View(offset, kFrameHeaderSize + length));
  if (FrameCrc(f.subspan(8)) != crc) {
    result.problem = FrameProblem{offset, kind, "frame_crc", "frame fails its CRC"};
    return result;
  }
  if (!IsKnownKind(kind)) {
    result.problem =
        FrameProblem{offset, kind, "frame_kind", "unknown frame kind " + std::to_string(kind)};
    return result;
  }
  result.frame = Frame{offset, offset + kFrameHeaderSize + length, static_cast<FrameKind>(kind),
                       f.subspan(kFrameHeaderSize)};
  return result;
}

Result<FrameReader::NextResult> FrameReader::Next() {
  if (offset_ >= size_) return NextResult{};
  ELASTOS_ASSIGN_OR_RETURN(NextResult r, FrameAt(offset_));
  if (r.frame) offset_ = r.frame->end;
  return r;
}

Result<std::optional<std::uint64_t>> FrameReader::FindNextFrame(std::uint64_t from) {
  std::uint64_t budget = kResyncBudget;
  for (std::uint64_t p = from; p + kFrameHeaderSize <= size_; ++p) {
    ELASTOS_ASSIGN_OR_RETURN(ByteView h, View(p, kFrameHeaderSize));
    const std::uint32_t length = GetU32(h.data());
    if (!IsKnownKind(h[8]) || length > kMaxPayload || p + kFrameHeaderSize + length > size_) {
      continue;
    }
    if (length + 1 > budget) {
      return FailedPrecondition(
          "audit_resync_limit",
          "cannot tell whether the data from offset " + std::to_string(from) +
              " holds valid frames by valid frames (gave up after checksumming 64 MiB)");
    }
    budget -= length + 1;
    ELASTOS_ASSIGN_OR_RETURN(NextResult r, FrameAt(p));
    if (r.frame) return std::optional<std::uint64_t>(p);
  }
  return std::optional<std::uint64_t>();
}

}  // namespace elastos::audit
