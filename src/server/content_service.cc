#include "server/content_service.h"

#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <functional>
#include <set>

#include "common/encoding.h"
#include "common/file_util.h"
#include "namespace/car.h"
#include "namespace/dag_pb.h"
#include "namespace/unixfs_data.h"

namespace elastos::server {
namespace {

namespace fs = std::filesystem;
using ipld::Cid;
using ipld::Codec;

constexpr int kMaxFileDepth = 32;  // as unixfs_read.cc: 1024^32 leaves, deeper than any real file

using BlockFn = std::function<Status(const Cid&, ByteView)>;

std::string Where(std::string_view path) { return path.empty() ? "(root)" : std::string(path); }

// The path's segments. A trailing '/' is allowed ("dir/"); every other segment must be a plain
// entry name (IsSafeEntryName: not empty, ".", "..", no '/' or NUL).
Result<std::vector<std::string_view>> SplitPath(std::string_view path) {
  std::vector<std::string_view> segments;
  if (!path.empty() && path.back() == '/') path.remove_suffix(1);
  while (!path.empty()) {
    const std::size_t slash = path.find('/');
    const std::string_view segment = path.substr(0, slash);
    if (!ipld::IsSafeEntryName(segment)) {
      return InvalidArgument("bad_path", "the content path has an empty, '.' or '..' segment");
    }
    segments.push_back(segment);
    if (slash == std::string_view::npos) break;
    path.remove_prefix(slash + 1);
  }
  return segments;
}

// A verified block; a missing one is not_found naming it and where the walk needed it.
Result<Bytes> LoadBlock(storage::Blockstore& store, const Cid& cid, std::string_view where) {
  Result<Bytes> block = store.Get(cid);
  if (block.ok()) return block;
  if (block.status().code() == Code::kNotFound) {
    return NotFound("block_not_found", Where(where) + ": block " + cid.ToString() +
                                           " is not in the content store");
  }
  return block.status().WithContext(Where(where));
}

Status Malformed(std::string_view where, const Cid& cid, const std::string& what) {
  return InvalidArgument("unixfs_invalid", Where(where) + ": " + cid.ToString() + " " + what);
}

// A UnixFS file node (raw leaf or dag-pb File/Raw) with its sizes checked for consistency.
struct FileNode {
  Bytes data;  // the raw leaf's bytes, or the dag-pb node's own inline data
  std::vector<Cid> children;
  std::vector<std::uint64_t> sizes;  // file bytes under each child (blocksizes)
  std::uint64_t size = 0;            // data + sum(sizes), == filesize when declared
};

// What a node is; for dag-pb, also the decoded node (so callers need not decode it twice).
struct Classified {
  EntryKind kind = EntryKind::kOther;
  std::uint64_t size = 0;
  std::optional<ipld::PbNode> pb;
  std::optional<ipld::UnixFsData> unixfs;
};

Result<Classified> Classify(const Cid& cid, ByteView block, std::string_view where) {
  Classified c;
  if (cid.codec() == Codec::kRaw) {
    c.kind = EntryKind::kFile;
    c.size = block.size();
    return c;
  }
  if (cid.codec() != Codec::kDagPb) return c;
  auto pb = ipld::DecodePbNode(block);
  if (!pb.ok()) return pb.status().WithContext(Where(where) + ": " + cid.ToString());
  c.pb = std::move(*pb);
  if (!c.pb->data) return c;  // dag-pb, but not UnixFS
  auto unixfs = ipld::DecodeUnixFsData(*c.pb->data);
  if (!unixfs.ok()) return c;
  c.unixfs = std::move(*unixfs);
  switch (c.unixfs->type) {
    case ipld::UnixFsType::kFile:
    case ipld::UnixFsType::kRaw: {
      const ipld::UnixFsData& d = *c.unixfs;
      if (c.pb->links.size() != d.blocksizes.size()) {
        return Malformed(where, cid, "has " + std::to_string(c.pb->links.size()) + " links but " +
                                         std::to_string(d.blocksizes.size()) + " blocksizes");
      }
      std::uint64_t total = d.data ? d.data->size() : 0;
      for (std::uint64_t s : d.blocksizes) {
        if (s > UINT64_MAX - total) return Malformed(where, cid, "declares sizes that overflow");
        total += s;
      }
      if (d.filesize && *d.filesize != total) {
        return Malformed(where, cid,
                         "declares filesize " + std::to_string(*d.filesize) +
                             " but its parts add up to " + std::to_string(total));
      }
      c.kind = EntryKind::kFile;
      c.size = total;
      break;
    }
    case ipld::UnixFsType::kDirectory:
      c.kind = EntryKind::kDirectory;
      break;
    default:
      break;  // HAMT shards, symlinks, metadata: kOther
  }
  return c;
}

Result<FileNode> DecodeFileNode(const Cid& cid, Bytes block, std::string_view where) {
  ELASTOS_ASSIGN_OR_RETURN(Classified c, Classify(cid, block, where));
  if (c.kind != EntryKind::kFile) return Malformed(where, cid, "is not a file node but is linked from a file");
  FileNode node;
  node.size = c.size;
  if (!c.pb) {
    node.data = std::move(block);
    return node;
  }
  if (c.unixfs->data) node.data = std::move(*c.unixfs->data);
  node.sizes = c.unixfs->blocksizes;
  node.children.reserve(c.pb->links.size());
  for (const ipld::PbLink& link : c.pb->links) node.children.push_back(link.hash);
  return node;
}

// Counts block reads against ContentLimits::max_blocks.
struct Budget {
  std::size_t visits = 0;
  std::size_t max;
  Status Visit() {
    if (++visits > max) {
      return ResourceExhausted("dag_too_large", "the walk needs more than " + std::to_string(max) +
                                                    " block reads, the limit for one request");
    }
    return OkStatus();
  }
};

// Walks the part of a file DAG that overlaps [begin, end) (absolute file offsets), depth first:
// each overlapping node's block goes to `on_block` before its children, and the bytes of the
// range to `on_data` in file order. Subtrees outside the range are not read. A child's size is
// checked against what its parent declares before any of its bytes are used.
struct RangeWalk {
  storage::Blockstore& store;
  std::uint64_t begin;
  std::uint64_t end;
  Budget& budget;
  BlockFn on_block;                     // may be empty
  std::function<Status(ByteView)> on_data;  // may be empty

  Status Emit(ByteView data, std::uint64_t at) {
    if (!on_data || data.empty()) return OkStatus();
    const std::uint64_t from = std::max(begin, at);
    const std::uint64_t to = std::min(end, at + data.size());
    if (from >= to) return OkStatus();
    return on_data(data.subspan(static_cast<std::size_t>(from - at), static_cast<std::size_t>(to - from)));
  }

  Status Visit(const Cid& cid, std::uint64_t start, std::optional<std::uint64_t> expected, int depth,
               std::string_view where) {
    if (depth > kMaxFileDepth) return Malformed(where, cid, "is nested deeper than any file DAG we accept");
    ELASTOS_RETURN_IF_ERROR(budget.Visit());
    ELASTOS_ASSIGN_OR_RETURN(Bytes block, LoadBlock(store, cid, where));
    if (on_block) ELASTOS_RETURN_IF_ERROR(on_block(cid, block));
    ELASTOS_ASSIGN_OR_RETURN(FileNode node, DecodeFileNode(cid, std::move(block), where));
    if (expected && node.size != *expected) {
      return Malformed(where, cid, "holds " + std::to_string(node.size) + " bytes but its parent says " +
                                       std::to_string(*expected));
    }
    ELASTOS_RETURN_IF_ERROR(Emit(node.data, start));
    std::uint64_t pos = start + node.data.size();
    for (std::size_t i = 0; i < node.children.size(); ++i) {
      const std::uint64_t size = node.sizes[i];
      if (size > 0 && pos < end && pos + size > begin) {
        ELASTOS_RETURN_IF_ERROR(Visit(node.children[i], pos, size, depth + 1, where));
      }
      pos += size;
    }
    return OkStatus();
  }
};

// A CAR v1 built in memory, capped in bytes.
class CarBuilder {
 public:
  CarBuilder(const Cid& root, bool dups, std::size_t max_bytes) : dups_(dups), max_bytes_(max_bytes) {
    const Bytes header = ipld::EncodeCarHeader({root});
    AppendVarint(car_, header.size());
    Append(car_, header);
  }

  // Whether Add would skip `cid` (dups=n and already written).
  bool Skips(const Cid& cid) const { return !dups_ && written_.contains(cid); }

  Status Add(const Cid& cid, ByteView block) {
    if (!dups_ && !written_.insert(cid).second) return OkStatus();
    const std::size_t section = cid.EncodedSize() + block.size();
    if (car_.size() + VarintSize(section) + section > max_bytes_) {
      return ResourceExhausted("car_too_large",
                               "the CAR would be larger than " + std::to_string(max_bytes_) +
                                   " bytes, the limit for one response; ask for less "
                                   "(dag-scope=entity|block, entity-bytes=from:to) or for "
                                   "single blocks (format=raw)");
    }
    AppendVarint(car_, section);
    cid.AppendBytes(car_);
    Append(car_, block);
    ++blocks_;
    return OkStatus();
  }

  std::size_t blocks() const { return blocks_; }
  Bytes Take() { return std::move(car_); }

 private:
  bool dups_;
  std::size_t max_bytes_;
  Bytes car_;
  std::set<Cid> written_;
  std::size_t blocks_ = 0;
};

// Every block under `start`, depth-first pre-order, links in order (dag-pb links followed, raw
// blocks are leaves). Other codecs are refused: we cannot follow their links, and a CAR that
// silently stops short of the DAG would look complete to a careless client.
Status WalkDag(storage::Blockstore& store, const Cid& start, std::string_view where, Budget& budget,
               CarBuilder& car) {
  std::vector<Cid> stack{start};
  while (!stack.empty()) {
    const Cid cid = stack.back();
    stack.pop_back();
    if (car.Skips(cid)) continue;
    ELASTOS_RETURN_IF_ERROR(budget.Visit());
    ELASTOS_ASSIGN_OR_RETURN(Bytes block, LoadBlock(store, cid, where));
    if (cid.codec() == Codec::kDagPb) {
      auto pb = ipld::DecodePbNode(block);
      if (!pb.ok()) return pb.status().WithContext(Where(where) + ": " + cid.ToString());
      for (auto it = pb->links.rbegin(); it != pb->links.rend(); ++it) {
        if (!car.Skips(it->hash)) stack.push_back(it->hash);
      }
    } else if (cid.codec() != Codec::kRaw) {
      return InvalidArgument("codec_unsupported",
                             Where(where) + ": block " + cid.ToString() + " has codec " +
                                 std::to_string(static_cast<std::uint64_t>(cid.codec())) +
                                 ", whose links this gateway cannot follow; ask for "
                                 "dag-scope=block or format=raw");
    }
    ELASTOS_RETURN_IF_ERROR(car.Add(cid, block));
  }
  return OkStatus();
}

struct Resolution {
  ResolvedPath resolved;
  Bytes target_block;
  Classified target;
};

// Follows `path` from `root` through plain UnixFS directories; `on_dir` sees each directory
// block walked through (not the target), root first.
Result<Resolution> ResolveImpl(storage::Blockstore& store, const Cid& root, std::string_view path,
                               Budget& budget, const BlockFn& on_dir) {
  ELASTOS_ASSIGN_OR_RETURN(std::vector<std::string_view> segments, SplitPath(path));
  Resolution r;
  r.resolved.path_cids.push_back(root);
  Cid current = root;
  std::string walked;
  for (std::string_view segment : segments) {
    ELASTOS_RETURN_IF_ERROR(budget.Visit());
    ELASTOS_ASSIGN_OR_RETURN(Bytes block, LoadBlock(store, current, walked));
    ELASTOS_ASSIGN_OR_RETURN(Classified c, Classify(current, block, walked));
    if (c.kind == EntryKind::kFile) {
      return NotFound("path_not_found",
                      "'" + std::string(path) + "' not found: " + Where(walked) + " is a file");
    }
    if (c.kind != EntryKind::kDirectory) {
      std::string what = "not a UnixFS directory";
      if (c.unixfs) what = "a " + std::string(ipld::UnixFsTypeName(c.unixfs->type)) + ", which is not supported";
      return InvalidArgument("unixfs_unsupported", Where(walked) + ": " + current.ToString() + " is " + what);
    }
    if (on_dir) ELASTOS_RETURN_IF_ERROR(on_dir(current, block));
    const auto& links = c.pb->links;
    auto it = std::find_if(links.begin(), links.end(),
                           [&](const ipld::PbLink& l) { return l.name && *l.name == segment; });
    walked += walked.empty() ? std::string(segment) : "/" + std::string(segment);
    if (it == links.end()) {
      return NotFound("path_not_found", "'" + std::string(path) + "' not found under " +
                                            root.ToString() + " (no entry " + walked + ")");
    }
    current = it->hash;
    r.resolved.path_cids.push_back(current);
  }
  ELASTOS_RETURN_IF_ERROR(budget.Visit());
  ELASTOS_ASSIGN_OR_RETURN(r.target_block, LoadBlock(store, current, walked));
  ELASTOS_ASSIGN_OR_RETURN(r.target, Classify(current, r.target_block, walked));
  r.resolved.target = current;
  r.resolved.kind = r.target.kind;
  r.resolved.size = r.target.kind == EntryKind::kFile ? r.target.size : 0;
  return r;
}

// [begin, end) of a file of `size` bytes selected by entity-bytes; empty when the selection is.
std::pair<std::uint64_t, std::uint64_t> EntityRange(const EntityBytes& e, std::uint64_t size) {
  const auto s = static_cast<std::int64_t>(std::min<std::uint64_t>(size, INT64_MAX));
  std::int64_t from = e.from < 0 ? std::max<std::int64_t>(0, s + e.from) : e.from;
  std::int64_t to = !e.to ? s - 1 : (*e.to < 0 ? s + *e.to : std::min(*e.to, s - 1));
  if (from >= s || to < from) return {0, 0};
  return {static_cast<std::uint64_t>(from), static_cast<std::uint64_t>(to) + 1};
}

// Removes a file when it goes out of scope.
struct Unlinker {
  std::string path;
  ~Unlinker() {
    if (!path.empty()) ::unlink(path.c_str());
  }
};

}  // namespace

std::string_view EntryKindName(EntryKind kind) {
  switch (kind) {
    case EntryKind::kFile: return "file";
    case EntryKind::kDirectory: return "directory";
    case EntryKind::kOther: return "other";
  }
  return "other";
}

ContentService::ContentService(const fs::path& data_dir, ContentLimits limits)
    : tmp_dir_(data_dir / "tmp"), limits_(limits), blocks_(data_dir / "blocks") {}

Result<PutResult> ContentService::Put(ByteView bytes, const ipld::UnixFsProfile& profile) {
  if (bytes.size() > limits_.max_put_bytes) {
    return ResourceExhausted("content_too_large",
                             "the content has " + std::to_string(bytes.size()) +
                                 " bytes; the limit is " + std::to_string(limits_.max_put_bytes));
  }
  ELASTOS_RETURN_IF_ERROR(profile.Validate());
  ipld::FileImporter importer(profile, &blocks_);
  ELASTOS_RETURN_IF_ERROR(importer.Write(bytes));
  ELASTOS_ASSIGN_OR_RETURN(ipld::ImportResult r, importer.Finish());
  return PutResult{r.cid, r.content_size, r.dag_size};
}

Result<CarImportResult> ContentService::PutCar(ByteView car) {
  if (car.size() > limits_.max_car_bytes) {
    return ResourceExhausted("car_too_large", "the CAR has " + std::to_string(car.size()) +
                                                  " bytes; the limit is " +
                                                  std::to_string(limits_.max_car_bytes));
  }
  // CarReader reads files: stage the upload in a private temporary file, removed on return.
  std::error_code ec;
  fs::create_directories(tmp_dir_, ec);
  std::string tmpl = (tmp_dir_ / "car-XXXXXX").string();
  const int fd = ::mkostemp(tmpl.data(), O_CLOEXEC);
  if (fd < 0) return IoError("create a temporary file in " + tmp_dir_.string(), errno);
  Unlinker unlink{tmpl};
  Status written = WriteAll(fd, car, tmpl);
  ::close(fd);
  ELASTOS_RETURN_IF_ERROR(written);

  // Pass 1 verifies everything (each block's hash, the framing, the block count); only a CAR
  // that passes entirely is stored, in pass 2.
  CarImportResult result;
  {
    ELASTOS_ASSIGN_OR_RETURN(std::unique_ptr<ipld::CarReader> reader, ipld::CarReader::Open(tmpl));
    result.roots = reader->roots();
    std::set<Cid> distinct;
    for (;;) {
      ELASTOS_ASSIGN_OR_RETURN(std::optional<ipld::CarReader::Block> block, reader->Next());
      if (!block) break;
      if (distinct.insert(block->cid).second && distinct.size() > limits_.max_blocks) {
        return ResourceExhausted("car_too_many_blocks", "the CAR has more than " +
                                                            std::to_string(limits_.max_blocks) +
                                                            " blocks, the limit for one upload");
      }
    }
  }
  ELASTOS_ASSIGN_OR_RETURN(std::unique_ptr<ipld::CarReader> reader, ipld::CarReader::Open(tmpl));
  std::set<Cid> stored;
  for (;;) {
    ELASTOS_ASSIGN_OR_RETURN(std::optional<ipld::CarReader::Block> block, reader->Next());
    if (!block) break;
    if (!stored.insert(block->cid).second) continue;
    // Blockstore::Put verifies the hash once more against what it writes.
    ELASTOS_RETURN_IF_ERROR(blocks_.Put(block->cid, block->data));
    result.block_bytes += block->data.size();
  }
  result.blocks = stored.size();
  return result;
}

Result<Bytes> ContentService::GetBlock(const Cid& cid) { return LoadBlock(blocks_, cid, ""); }

Result<ResolvedPath> ContentService::Resolve(const Cid& root, std::string_view path) {
  Budget budget{0, limits_.max_blocks};
  ELASTOS_ASSIGN_OR_RETURN(Resolution r, ResolveImpl(blocks_, root, path, budget, nullptr));
  return std::move(r.resolved);
}

Result<CarExport> ContentService::ExportCar(const Cid& root, std::string_view path,
                                            const CarOptions& options) {
  Budget budget{0, limits_.max_blocks};
  CarBuilder car(root, options.dups, limits_.max_car_bytes);
  ELASTOS_ASSIGN_OR_RETURN(
      Resolution r, ResolveImpl(blocks_, root, path, budget,
                                [&car](const Cid& cid, ByteView block) { return car.Add(cid, block); }));
  const Cid& target = r.resolved.target;
  const DagScope scope = options.entity_bytes ? DagScope::kEntity : options.scope;
  const std::string where(path);
  if (scope == DagScope::kAll) {
    ELASTOS_RETURN_IF_ERROR(WalkDag(blocks_, target, where, budget, car));
  } else if (scope == DagScope::kEntity && r.target.kind == EntryKind::kFile) {
    if (!options.entity_bytes) {
      ELASTOS_RETURN_IF_ERROR(WalkDag(blocks_, target, where, budget, car));
    } else {
      const auto [begin, end] = EntityRange(*options.entity_bytes, r.resolved.size);
      if (begin == end) {
        ELASTOS_RETURN_IF_ERROR(car.Add(target, r.target_block));  // as dag-scope=block
      } else {
        RangeWalk walk{blocks_, begin, end, budget,
                       [&car](const Cid& cid, ByteView block) { return car.Add(cid, block); }, {}};
        ELASTOS_RETURN_IF_ERROR(walk.Visit(target, 0, std::nullopt, 0, where));
      }
    }
  } else {
    // dag-scope=block; or entity of a directory (its own block lists it) or of anything else.
    ELASTOS_RETURN_IF_ERROR(car.Add(target, r.target_block));
  }
  CarExport out;
  out.blocks = car.blocks();
  out.car = car.Take();
  out.resolved = std::move(r.resolved);
  return out;
}

Result<FileRange> ContentService::ReadFile(const Cid& root, std::string_view path,
                                           std::uint64_t offset, std::optional<std::uint64_t> length) {
  Budget budget{0, limits_.max_blocks};
  ELASTOS_ASSIGN_OR_RETURN(Resolution r, ResolveImpl(blocks_, root, path, budget, nullptr));
  const ResolvedPath& res = r.resolved;
  if (res.kind != EntryKind::kFile) {
    return InvalidArgument("not_a_file", Where(path) + ": " + res.target.ToString() + " is " +
                                             (res.kind == EntryKind::kDirectory
                                                  ? std::string("a directory")
                                                  : std::string("not a UnixFS file")) +
                                             ", not a file");
  }
  if (offset > res.size) {
    return InvalidArgument("range_not_satisfiable",
                           "offset " + std::to_string(offset) + " is past the end of " +
                               res.target.ToString() + " (" + std::to_string(res.size) + " bytes)");
  }
  const std::uint64_t available = res.size - offset;
  const std::uint64_t n = length ? std::min(*length, available) : available;
  if (n > limits_.max_read_bytes) {
    return ResourceExhausted("file_too_large",
                             res.target.ToString() + ": reading " + std::to_string(n) +
                                 " bytes is more than the limit of " +
                                 std::to_string(limits_.max_read_bytes) +
                                 " for one read; read it in ranges");
  }
  FileRange out;
  out.offset = offset;
  out.total_size = res.size;
  out.file = res.target;
  out.data.reserve(static_cast<std::size_t>(n));
  if (n > 0) {
    RangeWalk walk{blocks_, offset, offset + n, budget, {}, [&out](ByteView data) {
                     Append(out.data, data);
                     return OkStatus();
                   }};
    ELASTOS_RETURN_IF_ERROR(walk.Visit(res.target, 0, res.size, 0, path));
  }
  if (out.data.size() != n) {
    return Internal("short_read", res.target.ToString() + ": read " + std::to_string(out.data.size()) +
                                      " bytes of " + std::to_string(n));
  }
  return out;
}

Result<std::vector<DirectoryEntry>> ContentService::ListDirectory(const Cid& root,
                                                                   std::string_view path) {
  Budget budget{0, limits_.max_blocks};
  ELASTOS_ASSIGN_OR_RETURN(Resolution r, ResolveImpl(blocks_, root, path, budget, nullptr));
  if (r.target.kind != EntryKind::kDirectory) {
    return InvalidArgument("not_a_directory",
                           Where(path) + ": " + r.resolved.target.ToString() + " is not a directory");
  }
  const auto& links = r.target.pb->links;
  if (links.size() > limits_.max_list_entries) {
    return ResourceExhausted("too_many_entries",
                             Where(path) + " has " + std::to_string(links.size()) +
                                 " entries; the limit for a listing is " +
                                 std::to_string(limits_.max_list_entries));
  }
  std::vector<DirectoryEntry> entries;
  entries.reserve(links.size());
  for (const ipld::PbLink& link : links) {
    if (!link.name || !ipld::IsSafeEntryName(*link.name)) {
      return InvalidArgument("unsafe_name", Where(path) + ": directory " + r.resolved.target.ToString() +
                                                " has an entry with an empty, '.', '..' or "
                                                "'/'-containing name");
    }
    DirectoryEntry e;
    e.name = *link.name;
    e.cid = link.hash;
    const std::string child = path.empty() ? e.name : std::string(path) + "/" + e.name;
    if (link.hash.codec() == Codec::kRaw && link.tsize) {
      // A raw leaf's Tsize is its size; reading the file verifies it.
      e.kind = EntryKind::kFile;
      e.size = *link.tsize;
    } else {
      ELASTOS_RETURN_IF_ERROR(budget.Visit());
      ELASTOS_ASSIGN_OR_RETURN(Bytes block, LoadBlock(blocks_, link.hash, child));
      ELASTOS_ASSIGN_OR_RETURN(Classified c, Classify(link.hash, block, child));
      e.kind = c.kind;
      e.size = c.kind == EntryKind::kFile ? c.size : 0;
    }
    entries.push_back(std::move(e));
  }
  return entries;
}

}  // namespace elastos::server
