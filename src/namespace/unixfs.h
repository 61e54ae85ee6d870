// UnixFS: files and directories as DAGs of dag-pb and raw blocks, byte-identical to the
// reference JavaScript importer (ipfs-unixfs-importer) and hence to `ipfs add`.
//
// Import (write side): FileImporter streams one file into a balanced DAG in constant memory;
// ImportPath walks a file or directory tree. Read side: ListDag, ResolvePath, ReadFile and
// ExportDag walk a DAG from any BlockSource, verifying every block and refusing what they do not
// understand (HAMT shards, symlinks, metadata nodes, unsafe names) instead of guessing.
// The exact rules of both profiles are in docs/formats/cid.md.
//
// Thread-safety: FileImporter is used by one thread at a time; the free functions share no
// state (each call's BlockSource/BlockSink must not be used concurrently elsewhere).
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "common/bytes.h"
#include "common/status.h"
#include "namespace/block.h"
#include "namespace/cid.h"

namespace elastos::ipld {

// How a file becomes a DAG, in the reference importer's terms.
struct UnixFsProfile {
  std::string name;
  int cid_version = 1;     // of dag-pb nodes (raw leaves are always CIDv1)
  bool raw_leaves = true;  // leaves as raw blocks (0x55) rather than dag-pb UnixFS File nodes
  std::size_t chunk_size = 1 << 20;  // fixed-size chunker
  std::size_t max_children = 1024;   // balanced layout: links per internal node
  bool reduce_single_leaf = true;    // a one-chunk file is its leaf, not a parent of it

  // cidVersion 0, rawLeaves false, 256 KiB chunks, 174 children: `ipfs add` by default.
  static const UnixFsProfile& V0_2015();
  // cidVersion 1, rawLeaves true, 1 MiB chunks, 1024 children: ElastOS's default.
  static const UnixFsProfile& V1_2025();
  // "unixfs-v0-2015" or "unixfs-v1-2025".
  static Result<UnixFsProfile> ByName(std::string_view name);

  // cid_version 0 or 1; 1 ≤ chunk_size ≤ 1 MiB; 2 ≤ max_children ≤ 8192.
  [[nodiscard]] Status Validate() const;
};

struct ImportResult {
  Cid cid;
  std::uint64_t dag_size = 0;      // cumulative Tsize of the root: every block's bytes under it
  std::uint64_t content_size = 0;  // bytes of file data (all files, for a directory)
};

// Streams one file into a balanced UnixFS DAG. Memory is one chunk buffer plus at most
// depth × max_children pending links, whatever the file size. Each leaf is hashed exactly once
// and, for dag-pb leaves, the protobuf framing is written around the chunk in place, so data is
// never copied after it lands in the buffer (use WritableSpace/Commit to read straight into it).
//
// Blocks go to `sink` as they are completed (children before parents); `sink` may be null to
// compute only the CID, and must otherwise outlive the importer. The first error is sticky.
class FileImporter {
 public:
  FileImporter(const UnixFsProfile& profile, BlockSink* sink);
  FileImporter(const FileImporter&) = delete;
  FileImporter& operator=(const FileImporter&) = delete;

  // Appends file content.
  [[nodiscard]] Status Write(ByteView data);

  // Zero-copy appending: fill a prefix of WritableSpace() (never empty before Finish), then
  // Commit the number of bytes written.
  std::span<std::uint8_t> WritableSpace();
  [[nodiscard]] Status Commit(std::size_t n);

  // Flushes the last chunk and the pending levels; call once.
  Result<ImportResult> Finish();

  std::uint64_t bytes_written() const { return content_size_; }

 private:
  struct Child {
    Cid cid;
    std::uint64_t tsize;    // cumulative block bytes of the subtree (the link's Tsize)
    std::uint64_t content;  // file bytes under it (the parent's blocksizes entry)
  };
  [[nodiscard]] Status EmitLeaf();
  [[nodiscard]] Status AddChild(std::size_t level, const Child& child);
  Result<Child> MakeParent(std::span<const Child> children);

  UnixFsProfile profile_;
  BlockSink* sink_;
  Bytes buffer_;  // kHeadroom + chunk_size + kTailroom
  std::size_t filled_ = 0;
  std::vector<std::vector<Child>> levels_;  // levels_[0] = leaves not yet under a parent
  std::uint64_t chunks_ = 0;
  std::uint64_t content_size_ = 0;
  Status error_;
  bool finished_ = false;
};

struct ImportOptions {
  UnixFsProfile profile = UnixFsProfile::V1_2025();
  BlockSink* sink = nullptr;                               // null: compute the CID only
  std::function<void(std::uint64_t bytes_done)> progress;  // file bytes imported so far
  // true: a symlink anywhere is an error naming it. false: stored as a UnixFS symlink node (as
  // `ipfs add` does), which our own readers then refuse. Other special files are always refused.
  bool refuse_symlinks = true;
};

// Imports a file or a directory tree (recursively; empty directories included; entries sorted
// by name bytes; names must be UTF-8). Never follows symlinks. Directories are plain UnixFS
// directories (no HAMT sharding); one whose node would exceed kMaxBlockSize is refused.
Result<ImportResult> ImportPath(const std::filesystem::path& path, const ImportOptions& options);

struct DagEntry {
  std::string path;  // relative, '/'-separated, "" = the root
  bool is_directory = false;
  std::uint64_t size = 0;  // file bytes as the DAG declares them; 0 for directories
  Cid cid;
};

// Every file and directory under `root` (including the root), sorted by path. Reads directory
// nodes and file roots, not file leaves. Refuses unsafe names (empty, ".", "..", '/', NUL),
// duplicate names, and UnixFS types we do not support; a missing block is not_found naming it.
Result<std::vector<DagEntry>> ListDag(const Cid& root, BlockSource& source);

// Follows `path` ("a/b.txt"; "" = root; segments must be safe names) from `root`;
// not_found (reason "path_not_found") if absent.
Result<Cid> ResolvePath(const Cid& root, std::string_view path, BlockSource& source);

// The whole content of the file `file`; resource_exhausted if it is larger than `max_size`.
// Checks every node's sizes against its children, so the DAG cannot lie about its length.
Result<Bytes> ReadFile(const Cid& file, BlockSource& source, std::uint64_t max_size);

// Writes the file or directory tree `root` to `out`, which must not exist. Streams file data.
// Everything is written under a temporary sibling name, fsynced, and renamed into place only
// when the whole DAG has been verified and written, so `out` never holds a partial export.
// At most `max_bytes` of file data are written (resource_exhausted, reason export_too_large,
// beyond): a DAG that reuses subtrees can declare far more than its blocks hold.
[[nodiscard]] Status ExportDag(const Cid& root, BlockSource& source,
                               const std::filesystem::path& out,
                               std::uint64_t max_bytes = UINT64_MAX);

// Whether `name` may be a directory entry: not empty, ".", "..", and without '/' or NUL.
bool IsSafeEntryName(std::string_view name);

}  // namespace elastos::ipld
