#include "namespace/unixfs_data.h"

#include <string>

#include "namespace/protobuf.h"

namespace elastos::ipld {
namespace {

constexpr char kReason[] = "unixfs_invalid";

Status Invalid(std::string message) {
  return InvalidArgument(kReason, "UnixFS Data: " + std::move(message));
}

}  // namespace

std::string_view UnixFsTypeName(UnixFsType type) {
  switch (type) {
    case UnixFsType::kRaw:
      return "raw";
    case UnixFsType::kDirectory:
      return "directory";
    case UnixFsType::kFile:
      return "file";
    case UnixFsType::kMetadata:
      return "metadata";
    case UnixFsType::kSymlink:
      return "symlink";
    case UnixFsType::kHamtShard:
      return "hamt-sharded directory";
  }
  return "unknown";
}

Bytes EncodeUnixFsData(const UnixFsData& d) {
  Bytes out;
  out.reserve(16 + (d.data ? d.data->size() : 0) + 10 * d.blocksizes.size());
  pb::AppendVarintField(out, 1, static_cast<std::uint64_t>(d.type));
  if (d.data && !d.data->empty()) pb::AppendBytesField(out, 2, *d.data);
  if (d.filesize) pb::AppendVarintField(out, 3, *d.filesize);
  for (std::uint64_t size : d.blocksizes) pb::AppendVarintField(out, 4, size);
  if (d.hash_type) pb::AppendVarintField(out, 5, *d.hash_type);
  if (d.fanout) pb::AppendVarintField(out, 6, *d.fanout);
  if (d.mode) pb::AppendVarintField(out, 7, *d.mode);
  return out;
}

Result<UnixFsData> DecodeUnixFsData(ByteView bytes) {
  UnixFsData d;
  std::uint32_t seen = 0;  // bit n set once field n has been read
  while (!bytes.empty()) {
    auto f = pb::ReadField(bytes, kReason);
    if (!f.ok()) return f.status().WithContext("UnixFS Data");
    const std::uint32_t n = f->number;
    if (n < 1 || n > 8) return Invalid("unknown field " + std::to_string(n));
    if (n != 4 && (seen & (1u << n)) != 0) {
      return Invalid("field " + std::to_string(n) + " appears twice");
    }
    seen |= 1u << n;
    const bool want_bytes = n == 2 || n == 8;
    if (want_bytes != (f->type == pb::WireType::kLengthDelimited)) {
      return Invalid("field " + std::to_string(n) + " has the wrong wire type");
    }
    switch (n) {
      case 1:
        if (f->value > static_cast<std::uint64_t>(UnixFsType::kHamtShard)) {
          return Invalid("unknown Type " + std::to_string(f->value));
        }
        d.type = static_cast<UnixFsType>(f->value);
        break;
      case 2:
        d.data = Bytes(f->bytes.begin(), f->bytes.end());
        break;
      case 3:
        d.filesize = f->value;
        break;
      case 4:
        d.blocksizes.push_back(f->value);
        break;
      case 5:
        d.hash_type = f->value;
        break;
      case 6:
        d.fanout = f->value;
        break;
      case 7:
        if (f->value > 0xffffffffu) return Invalid("mode does not fit 32 bits");
        d.mode = static_cast<std::uint32_t>(f->value);
        break;
      case 8:
        d.has_mtime = true;
        break;
    }
  }
  if ((seen & (1u << 1)) == 0) return Invalid("Type is missing");
  return d;
}

}  // namespace elastos::ipld
