// The read side of unixfs.h: ListDag, ResolvePath, ReadFile, ExportDag.
//
// Every DAG we read may come from a hostile CAR file. The block hashes are checked by the
// BlockSource; what this file adds is checking the DAG's *claims*: sizes are verified against
// the children before any byte is emitted (so a file cannot produce more than its root
// declares), names are checked before they touch the filesystem, depth and entry counts are
// bounded, and anything we do not understand is refused by name rather than skipped.

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <set>

#include "common/file_util.h"
#include "namespace/dag_pb.h"
#include "namespace/unique_fd.h"
#include "namespace/unixfs.h"
#include "namespace/unixfs_data.h"

namespace elastos::ipld {
namespace {

namespace fs = std::filesystem;

constexpr int kMaxDirectoryDepth = 256;  // as ImportPath
constexpr int kMaxFileDepth = 32;        // 1024^32 leaves: no real file is deeper
constexpr std::size_t kMaxDagEntries = std::size_t{1} << 20;

using Emit = std::function<Status(ByteView)>;

std::string Where(const std::string& path) { return path.empty() ? "(root)" : path; }
std::string Join(const std::string& dir, const std::string& name) {
  return dir.empty() ? name : dir + "/" + name;
}

Status Unsupported(const std::string& path, const Cid& cid, std::string_view what) {
  return InvalidArgument("unixfs_unsupported", Where(path) + ": " + cid.ToString() + " is a " +
                                                   std::string(what) + ", which is not supported");
}
Status Malformed(const std::string& path, const Cid& cid, const std::string& what) {
  return InvalidArgument("unixfs_invalid", Where(path) + ": " + cid.ToString() + " " + what);
}

// A decoded UnixFS node: a raw leaf, a file node or a directory.
struct Node {
  Cid cid;
  bool is_directory = false;
  bool is_raw_leaf = false;
  Bytes raw;  // raw leaf content
  PbNode pb;
  UnixFsData unixfs;
};

Result<Bytes> GetBlock(const Cid& cid, BlockSource& source, const std::string& path) {
  auto block = source.Get(cid);
  if (block.ok()) return block;
  if (block.status().code() == Code::kNotFound) {
    return NotFound("block_not_found",
                    Where(path) + ": block " + cid.ToString() + " is not available");
  }
  return block.status().WithContext(Where(path));
}

Result<Node> LoadNode(const Cid& cid, BlockSource& source, const std::string& path) {
  Node node;
  node.cid = cid;
  if (cid.codec() == Codec::kRaw) {
    ELASTOS_ASSIGN_OR_RETURN(node.raw, GetBlock(cid, source, path));
    node.is_raw_leaf = true;
    return node;
  }
  if (cid.codec() != Codec::kDagPb) {
    return Unsupported(path, cid,
                       "block of codec " + std::to_string(static_cast<std::uint64_t>(cid.codec())) +
                           " (UnixFS is dag-pb and raw only)");
  }
  ELASTOS_ASSIGN_OR_RETURN(Bytes block, GetBlock(cid, source, path));
  auto pb = DecodePbNode(block);
  if (!pb.ok()) return pb.status().WithContext(Where(path) + ": " + cid.ToString());
  node.pb = std::move(pb).value();
  if (!node.pb.data) return Malformed(path, cid, "is a dag-pb node without UnixFS data");
  auto unixfs = DecodeUnixFsData(*node.pb.data);
  if (!unixfs.ok()) return unixfs.status().WithContext(Where(path) + ": " + cid.ToString());
  node.unixfs = std::move(unixfs).value();
  switch (node.unixfs.type) {
    case UnixFsType::kFile:
    case UnixFsType::kRaw:
      break;
    case UnixFsType::kDirectory:
      node.is_directory = true;
      break;
    case UnixFsType::kHamtShard:
    case UnixFsType::kSymlink:
    case UnixFsType::kMetadata:
      return Unsupported(path, cid, UnixFsTypeName(node.unixfs.type));
  }
  return node;
}

// The file size a file node declares, after checking the declaration is self-consistent.
Result<std::uint64_t> DeclaredSize(const Node& node, const std::string& path) {
  if (node.is_raw_leaf) return node.raw.size();
  const UnixFsData& d = node.unixfs;
  if (node.pb.links.size() != d.blocksizes.size()) {
    return Malformed(path, node.cid,
                     "has " + std::to_string(node.pb.links.size()) + " links but " +
                         std::to_string(d.blocksizes.size()) + " blocksizes");
  }
  std::uint64_t total = d.data ? d.data->size() : 0;
  for (std::uint64_t size : d.blocksizes) {
    if (size > UINT64_MAX - total) return Malformed(path, node.cid, "declares sizes that overflow");
    total += size;
  }
  if (d.filesize && *d.filesize != total) {
    return Malformed(path, node.cid,
                     "declares filesize " + std::to_string(*d.filesize) +
                         " but its parts add up to " + std::to_string(total));
  }
  return total;
}

Result<std::uint64_t> StreamFileNode(const Node& node, BlockSource& source, const std::string& path,
                                     int depth, const Emit& emit);

// Streams the file subtree `cid`, which its parent says holds exactly `expected` bytes.
Status StreamChild(const Cid& cid, std::uint64_t expected, BlockSource& source,
                   const std::string& path, int depth, const Emit& emit) {
  if (depth > kMaxFileDepth) {
    return Malformed(path, cid, "is nested deeper than any file DAG we accept");
  }
  ELASTOS_ASSIGN_OR_RETURN(Node child, LoadNode(cid, source, path));
  if (child.is_directory) return Malformed(path, cid, "is a directory linked from inside a file");
  ELASTOS_ASSIGN_OR_RETURN(std::uint64_t size, DeclaredSize(child, path));
  if (size != expected) {
    return Malformed(
        path, cid,
        "holds " + std::to_string(size) + " bytes but its parent says " + std::to_string(expected));
  }
  return StreamFileNode(child, source, path, depth, emit).status();
}

// Emits the node's own data, then each child's. DeclaredSize(node) must have been checked.
Result<std::uint64_t> StreamFileNode(const Node& node, BlockSource& source, const std::string& path,
                                     int depth, const Emit& emit) {
  if (node.is_raw_leaf) {
    ELASTOS_RETURN_IF_ERROR(emit(node.raw));
    return node.raw.size();
  }
  ELASTOS_ASSIGN_OR_RETURN(std::uint64_t total, DeclaredSize(node, path));
  if (node.unixfs.data) ELASTOS_RETURN_IF_ERROR(emit(*node.unixfs.data));
  for (std::size_t i = 0; i < node.pb.links.size(); ++i) {
    ELASTOS_RETURN_IF_ERROR(StreamChild(node.pb.links[i].hash, node.unixfs.blocksizes[i], source,
                                        path, depth + 1, emit));
  }
  return total;
}

// Names become filesystem paths on export, so a hostile DAG must not be able to climb out of the
// output directory ("..", "a/../../x"), alias entries ("." or duplicates) or truncate names (NUL).
Status CheckDirectoryLinks(const Node& dir, const std::string& path) {
  std::set<std::string_view> seen;
  for (const PbLink& link : dir.pb.links) {
    if (!link.name || !IsSafeEntryName(*link.name)) {
      std::string shown = link.name ? *link.name : std::string("<absent>");
      std::replace(shown.begin(), shown.end(), '\0', '?');
      return InvalidArgument("unsafe_name", Where(path) + ": directory " + dir.cid.ToString() +
                                                " has an entry named '" + shown +
                                                "' (empty, '.', '..', '/' and NUL are refused)");
    }
    if (!seen.insert(*link.name).second) {
      return InvalidArgument("duplicate_name", Where(path) + ": directory " + dir.cid.ToString() +
                                                   " has two entries named '" + *link.name + "'");
    }
  }
  return OkStatus();
}

struct ListWalk {
  BlockSource& source;
  std::vector<DagEntry> entries;
};

Status ListNode(const Cid& cid, const std::string& path, int depth, ListWalk& walk) {
  if (walk.entries.size() >= kMaxDagEntries) {
    return ResourceExhausted(
        "dag_too_large", "the DAG has more than " + std::to_string(kMaxDagEntries) + " entries");
  }
  ELASTOS_ASSIGN_OR_RETURN(Node node, LoadNode(cid, walk.source, path));
  if (!node.is_directory) {
    ELASTOS_ASSIGN_OR_RETURN(std::uint64_t size, DeclaredSize(node, path));
    walk.entries.push_back(DagEntry{path, false, size, cid});
    return OkStatus();
  }
  ELASTOS_RETURN_IF_ERROR(CheckDirectoryLinks(node, path));
  walk.entries.push_back(DagEntry{path, true, 0, cid});
  if (depth >= kMaxDirectoryDepth && !node.pb.links.empty()) {
    return ResourceExhausted("too_deep", Where(path) + " is nested more than " +
                                             std::to_string(kMaxDirectoryDepth) +
                                             " directories deep");
  }
  for (const PbLink& link : node.pb.links) {
    ELASTOS_RETURN_IF_ERROR(ListNode(link.hash, Join(path, *link.name), depth + 1, walk));
  }
  return OkStatus();
}

// ---- Export ----

struct ExportWalk {
  BlockSource& source;
  std::uint64_t max_bytes;
  std::size_t entries = 0;
  std::uint64_t written = 0;
};

Status ExportFile(const Node& node, int fd, const std::string& path, ExportWalk& walk) {
  ELASTOS_RETURN_IF_ERROR(DeclaredSize(node, path).status());
  auto written = StreamFileNode(node, walk.source, path, 0, [&](ByteView data) {
    // Shared subtrees let a small DAG expand to far more than it holds (a "DAG bomb"): the
    // budget counts bytes actually written, not bytes stored.
    walk.written += data.size();
    if (walk.written > walk.max_bytes) {
      return ResourceExhausted("export_too_large", "the content expands to more than " +
                                                       std::to_string(walk.max_bytes) +
                                                       " bytes, the limit for this export");
    }
    return WriteAll(fd, data, Where(path));
  });
  if (!written.ok()) return written.status();
  if (::fsync(fd) != 0) return IoError("fsync " + Where(path), errno);
  return OkStatus();
}

Status ExportDirectory(const Node& dir, int dirfd, const std::string& path, int depth,
                       ExportWalk& walk) {
  ELASTOS_RETURN_IF_ERROR(CheckDirectoryLinks(dir, path));
  if (depth >= kMaxDirectoryDepth && !dir.pb.links.empty()) {
    return ResourceExhausted("too_deep", Where(path) + " is nested more than " +
                                             std::to_string(kMaxDirectoryDepth) +
                                             " directories deep");
  }
  for (const PbLink& link : dir.pb.links) {
    if (++walk.entries > kMaxDagEntries) {
      return ResourceExhausted(
          "dag_too_large", "the DAG has more than " + std::to_string(kMaxDagEntries) + " entries");
    }
    const std::string child_path = Join(path, *link.name);
    ELASTOS_ASSIGN_OR_RETURN(Node child, LoadNode(link.hash, walk.source, child_path));
    const char* name = link.name->c_str();
    if (child.is_directory) {
      if (::mkdirat(dirfd, name, 0755) != 0) return IoError("mkdir " + child_path, errno);
      UniqueFd fd(::openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
      if (!fd.valid()) return IoError("open " + child_path, errno);
      ELASTOS_RETURN_IF_ERROR(ExportDirectory(child, fd.get(), child_path, depth + 1, walk));
    } else {
      UniqueFd fd(
          ::openat(dirfd, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644));
      if (!fd.valid()) return IoError("create " + child_path, errno);
      ELASTOS_RETURN_IF_ERROR(ExportFile(child, fd.get(), child_path, walk));
    }
  }
  if (::fsync(dirfd) != 0) return IoError("fsync " + Where(path), errno);
  return OkStatus();
}

}  // namespace

bool IsSafeEntryName(std::string_view name) {
  return !name.empty() && name != "." && name != ".." && name.find('/') == std::string_view::npos &&
         name.find('\0') == std::string_view::npos;
}

Result<std::vector<DagEntry>> ListDag(const Cid& root, BlockSource& source) {
  ListWalk walk{source, {}};
  ELASTOS_RETURN_IF_ERROR(ListNode(root, "", 0, walk));
  std::sort(walk.entries.begin(), walk.entries.end(),
            [](const DagEntry& a, const DagEntry& b) { return a.path < b.path; });
  return std::move(walk.entries);
}

Result<Cid> ResolvePath(const Cid& root, std::string_view path, BlockSource& source) {
  std::vector<std::string_view> segments;
  for (std::size_t pos = 0; !path.empty();) {
    const std::size_t slash = path.find('/', pos);
    segments.push_back(
        path.substr(pos, slash == std::string_view::npos ? std::string_view::npos : slash - pos));
    if (slash == std::string_view::npos) break;
    pos = slash + 1;
  }
  for (std::string_view segment : segments) {
    if (!IsSafeEntryName(segment)) {
      return InvalidArgument(
          "bad_path",
          "'" + std::string(path) +
              "' is not a relative path of plain names (no empty, '.' or '..' segments)");
    }
  }
  Cid current = root;
  std::string walked;
  for (std::string_view segment : segments) {
    ELASTOS_ASSIGN_OR_RETURN(Node node, LoadNode(current, source, walked));
    if (!node.is_directory) {
      return NotFound("path_not_found",
                      "'" + std::string(path) + "' not found: " + Where(walked) + " is a file");
    }
    ELASTOS_RETURN_IF_ERROR(CheckDirectoryLinks(node, walked));
    auto it = std::find_if(node.pb.links.begin(), node.pb.links.end(),
                           [&](const PbLink& l) { return *l.name == segment; });
    walked = Join(walked, std::string(segment));
    if (it == node.pb.links.end()) {
      return NotFound("path_not_found", "'" + std::string(path) + "' not found under " +
                                            root.ToString() + " (no entry " + walked + ")");
    }
    current = it->hash;
  }
  return current;
}

Result<Bytes> ReadFile(const Cid& file, BlockSource& source, std::uint64_t max_size) {
  ELASTOS_ASSIGN_OR_RETURN(Node node, LoadNode(file, source, ""));
  if (node.is_directory) {
    return InvalidArgument("not_a_file", file.ToString() + " is a directory, not a file");
  }
  ELASTOS_ASSIGN_OR_RETURN(std::uint64_t size, DeclaredSize(node, ""));
  if (size > max_size) {
    return ResourceExhausted("file_too_large", file.ToString() + " holds " + std::to_string(size) +
                                                   " bytes; the limit here is " +
                                                   std::to_string(max_size));
  }
  if (node.is_raw_leaf) return std::move(node.raw);
  Bytes out;
  out.reserve(static_cast<std::size_t>(size));
  auto r = StreamFileNode(node, source, "", 0, [&](ByteView data) {
    Append(out, data);
    return OkStatus();
  });
  if (!r.ok()) return r.status();
  return out;
}

Status ExportDag(const Cid& root, BlockSource& source, const fs::path& out,
                 std::uint64_t max_bytes) {
  struct stat st;
  if (::lstat(out.c_str(), &st) == 0) {
    return FailedPrecondition("already_exists",
                              out.string() + " already exists; choose a new output path");
  }
  const fs::path name = out.filename();
  if (name.empty() || name == "." || name == "..") {
    return InvalidArgument("bad_path", out.string() + " does not name a new file or directory");
  }
  const fs::path parent = out.has_parent_path() ? out.parent_path() : fs::path(".");
  UniqueFd parent_fd(::open(parent.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!parent_fd.valid()) return IoError("open " + parent.string(), errno);

  ExportWalk walk{source, max_bytes};
  ELASTOS_ASSIGN_OR_RETURN(Node node, LoadNode(root, source, ""));
  // Build under a hidden temporary name beside `out`; rename only a complete, verified tree.
  std::string tmpl = (parent / ("." + name.string() + ".export-XXXXXX")).string();
  Status status;
  if (node.is_directory) {
    if (::mkdtemp(tmpl.data()) == nullptr) {
      return IoError("create temporary directory beside " + out.string(), errno);
    }
    UniqueFd fd(::open(tmpl.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
    status =
        !fd.valid() ? IoError("open " + tmpl, errno) : ExportDirectory(node, fd.get(), "", 0, walk);
    if (status.ok() && ::fchmod(fd.get(), 0755) != 0) status = IoError("chmod " + tmpl, errno);
  } else {
    UniqueFd fd(::mkostemp(tmpl.data(), O_CLOEXEC));
    if (!fd.valid()) return IoError("create temporary file beside " + out.string(), errno);
    status = ExportFile(node, fd.get(), "", walk);
    if (status.ok() && ::fchmod(fd.get(), 0644) != 0) status = IoError("chmod " + tmpl, errno);
  }
  const fs::path tmp_name = fs::path(tmpl).filename();
  if (status.ok() && ::renameat2(parent_fd.get(), tmp_name.c_str(), parent_fd.get(), name.c_str(),
                                 RENAME_NOREPLACE) != 0) {
    status = errno == EEXIST ? FailedPrecondition("already_exists",
                                                  out.string() + " appeared during the export")
                             : IoError("rename " + tmpl + " to " + out.string(), errno);
  }
  if (!status.ok()) {
    std::error_code ec;
    fs::remove_all(tmpl, ec);
    return status.WithContext("export to " + out.string());
  }
  if (::fsync(parent_fd.get()) != 0) return IoError("fsync " + parent.string(), errno);
  return OkStatus();
}

}  // namespace elastos::ipld
