// The UnixFS `Data` message carried in the Data field of dag-pb nodes.
// Spec: https://github.com/ipfs/specs/blob/main/UNIXFS.md
//
//   message Data {
//     enum DataType { Raw = 0; Directory = 1; File = 2; Metadata = 3; Symlink = 4; HAMTShard = 5; }
//     required DataType Type = 1;  optional bytes Data = 2;  optional uint64 filesize = 3;
//     repeated uint64 blocksizes = 4;  optional uint64 hashType = 5;  optional uint64 fanout = 6;
//     optional uint32 mode = 7;  optional UnixTime mtime = 8;
//   }
//
// We write only Type, Data, filesize and blocksizes (what the reference importer writes for the
// two profiles); we read every field so foreign DAGs can be inspected and refused precisely.
//
// Thread-safety: free functions on values.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>
#include <vector>

#include "common/bytes.h"
#include "common/status.h"

namespace elastos::ipld {

enum class UnixFsType : std::uint8_t {
  kRaw = 0,
  kDirectory = 1,
  kFile = 2,
  kMetadata = 3,
  kSymlink = 4,
  kHamtShard = 5,
};
std::string_view UnixFsTypeName(UnixFsType type);  // "file", "hamt-sharded directory", …

struct UnixFsData {
  UnixFsType type = UnixFsType::kFile;
  std::optional<Bytes> data;  // encoded only when non-empty, as the reference does
  std::optional<std::uint64_t> filesize;
  std::vector<std::uint64_t> blocksizes;  // encoded unpacked, one field per value
  std::optional<std::uint64_t> hash_type;
  std::optional<std::uint64_t> fanout;
  std::optional<std::uint32_t> mode;
  bool has_mtime = false;  // read only: we neither write nor interpret mtime

  friend bool operator==(const UnixFsData&, const UnixFsData&) = default;
};

// Fields in number order; Data omitted when empty; mtime never written.
Bytes EncodeUnixFsData(const UnixFsData& data);

// Strict decoding (reason "unixfs_invalid"): Type required and known, every field at most once
// (blocksizes repeated), wire types as in the schema, no unknown fields, nothing truncated.
Result<UnixFsData> DecodeUnixFsData(ByteView bytes);

}  // namespace elastos::ipld
