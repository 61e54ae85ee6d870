// ContentService: the runtime's content store (`<data dir>/blocks/`, DESIGN.md §6) as the HTTP API
// uses it — importing files and CARs, and serving blocks, CARs and file bytes by CID and path
// (the IPFS trustless gateway of api_content.cc, docs/api.md "Content").
//
// Every block this class reads comes from storage::Blockstore::Get, which re-hashes the file
// against its CID on every read: a block damaged or replaced on disk is an error
// (internal/`block_hash_mismatch`), never served and never followed. On top of the hashes, the
// DAG's *claims* are checked before they are used: a file node's sizes must add up and match
// what its parent says (so a range read cannot be steered outside the file), names on a path are
// matched exactly, and every walk is bounded.
//
// Everything is built in memory (the HTTP server has no streaming bodies), so every operation is
// capped by ContentLimits and refuses more with resource_exhausted naming the limit:
//   Put          file bytes                  max_put_bytes   (`content_too_large`)
//   PutCar       CAR bytes, blocks           max_car_bytes, max_blocks (`car_too_large`,
//                                            `car_too_many_blocks`)
//   ExportCar    CAR bytes, blocks visited   max_car_bytes, max_blocks (`car_too_large`,
//                                            `dag_too_large`)
//   ReadFile     bytes returned, blocks read max_read_bytes, max_blocks (`file_too_large`,
//                                            `dag_too_large`)
//   ListDirectory entries                    max_list_entries (`too_many_entries`)
//
// Thread-safety: all methods may be called concurrently (the blockstore is safe for concurrent
// readers and writers, and this class keeps no other mutable state).
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/bytes.h"
#include "common/status.h"
#include "namespace/cid.h"
#include "namespace/unixfs.h"
#include "storage/blockstore.h"

namespace elastos::server {

struct ContentLimits {
  std::size_t max_put_bytes = std::size_t{64} << 20;   // one file given to Put
  std::size_t max_car_bytes = std::size_t{65} << 20;   // one CAR imported or exported
  std::size_t max_read_bytes = std::size_t{65} << 20;  // bytes one ReadFile returns
  std::size_t max_blocks = std::size_t{1} << 20;       // blocks one operation stores or visits
  std::size_t max_list_entries = std::size_t{1} << 16;
};

// What a CID (at the end of a path) is, as far as UnixFS goes.
enum class EntryKind {
  kFile,       // a raw block, or a dag-pb UnixFS File/Raw node
  kDirectory,  // a dag-pb UnixFS Directory (plain, not HAMT)
  kOther,      // anything else: HAMT shards, symlinks, non-UnixFS dag-pb, other codecs
};
std::string_view EntryKindName(EntryKind kind);  // "file", "directory", "other"

struct ResolvedPath {
  ipld::Cid target;
  std::vector<ipld::Cid> path_cids;  // the root, each directory walked through, the target
  EntryKind kind = EntryKind::kOther;
  std::uint64_t size = 0;  // file bytes (verified against the node's own sizes); 0 otherwise
};

struct PutResult {
  ipld::Cid cid;
  std::uint64_t size = 0;      // file bytes
  std::uint64_t dag_size = 0;  // bytes of all the blocks of its DAG
};

struct CarImportResult {
  std::vector<ipld::Cid> roots;  // as the CAR header lists them (they need not be in the CAR)
  std::size_t blocks = 0;        // distinct blocks stored
  std::uint64_t block_bytes = 0;
};

// The trustless gateway's `dag-scope` (what of the target's DAG follows the path blocks).
enum class DagScope {
  kAll,     // the whole DAG under the target
  kEntity,  // a file: its whole DAG (or, with entity_bytes, the blocks of that range);
            // a directory or anything else: its own block
  kBlock,   // the target's block only
};

// `entity-bytes=from:to` (inclusive; negative counts from the end; `to` absent means `*`).
struct EntityBytes {
  std::int64_t from = 0;
  std::optional<std::int64_t> to;
};

struct CarOptions {
  DagScope scope = DagScope::kAll;
  bool dups = false;  // true: a block is repeated every time the walk meets it (`dups=y`)
  std::optional<EntityBytes> entity_bytes;  // implies kEntity
};

struct CarExport {
  Bytes car;  // CAR v1, header root = the requested root, blocks in depth-first pre-order
  ResolvedPath resolved;
  std::size_t blocks = 0;  // sections written
};

struct FileRange {
  Bytes data;
  std::uint64_t offset = 0;
  std::uint64_t total_size = 0;  // of the whole file
  ipld::Cid file;
};

struct DirectoryEntry {
  std::string name;
  ipld::Cid cid;
  EntryKind kind = EntryKind::kOther;
  std::uint64_t size = 0;  // file bytes for files (verified from the file's root block); else 0
};

class ContentService {
 public:
  // Blocks live in `data_dir`/blocks (created on the first write); PutCar stages uploads in
  // `data_dir`/tmp.
  explicit ContentService(const std::filesystem::path& data_dir, ContentLimits limits = {});

  // Imports `bytes` as one UnixFS file (FileImporter; every block stored, hash-verified by the
  // blockstore) and returns its CID.
  Result<PutResult> Put(ByteView bytes,
                        const ipld::UnixFsProfile& profile = ipld::UnixFsProfile::V1_2025());

  // Imports a CAR v1: the whole file is read and every block verified first (CarReader; a bad
  // CAR is invalid_argument naming the block: index, byte offset, CID), then the blocks are
  // stored. Nothing is stored from a CAR that fails verification.
  Result<CarImportResult> PutCar(ByteView car);

  // The block's bytes, verified (not_found/`block_not_found` if absent).
  Result<Bytes> GetBlock(const ipld::Cid& cid);
  bool Has(const ipld::Cid& cid) const { return blocks_.Has(cid); }

  // Follows `path` ("a/b.txt", "" = root; plain names only) through plain UnixFS directories.
  // not_found/`path_not_found` when an entry is missing or a file is in the way.
  Result<ResolvedPath> Resolve(const ipld::Cid& root, std::string_view path);

  // A CAR v1 for root[/path]: header root = `root`; then the blocks that prove the path
  // (the root and every directory walked through), then the target's blocks per `options`,
  // all in depth-first pre-order (the order of `ipfs dag export`), each once unless `dups`.
  // A block missing from the store is not_found naming it (no partial CAR is produced).
  Result<CarExport> ExportCar(const ipld::Cid& root, std::string_view path,
                              const CarOptions& options = {});

  // Bytes [offset, offset+length) of the file at root[/path] (length absent: to the end),
  // clipped to the file's end. Reads only the blocks that overlap the range.
  // invalid_argument/`not_a_file` for a directory or other node; `range_not_satisfiable` if
  // offset is past the end.
  Result<FileRange> ReadFile(const ipld::Cid& root, std::string_view path, std::uint64_t offset = 0,
                             std::optional<std::uint64_t> length = std::nullopt);

  // The entries of the plain directory at root[/path], in link order.
  Result<std::vector<DirectoryEntry>> ListDirectory(const ipld::Cid& root, std::string_view path);

  const ContentLimits& limits() const { return limits_; }
  storage::Blockstore& blockstore() { return blocks_; }

 private:
  std::filesystem::path tmp_dir_;
  ContentLimits limits_;
  storage::Blockstore blocks_;
};

}  // namespace elastos::server
