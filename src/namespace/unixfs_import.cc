// The write side of unixfs.h: FileImporter and ImportPath.
//
// How the balanced layout is reproduced in constant memory. The reference importer groups the
// leaves into batches of max_children, turns each batch into a parent, and repeats on the
// parents until one node remains; a lone leaf of a one-chunk file is its own root. We keep one
// pending list per level and reduce a level into a parent as soon as it holds max_children
// entries — exactly the batches the reference forms, in the same order. At Finish, levels are
// flushed bottom-up: a non-empty level becomes one more parent (even of a single child, like
// the reference's last short batch) unless it is the top level holding a single node, which is
// the root.

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "namespace/dag_pb.h"
#include "namespace/unique_fd.h"
#include "namespace/unixfs.h"
#include "namespace/unixfs_data.h"

namespace elastos::ipld {
namespace {

namespace fs = std::filesystem;

// Room before and after the chunk for the dag-pb/UnixFS framing of a leaf, so the leaf block is
// contiguous without copying the chunk: prefix ≤ 1+3+2+1+3 bytes, suffix ≤ 1+3 bytes.
constexpr std::size_t kHeadroom = 16;
constexpr std::size_t kTailroom = 16;
constexpr std::size_t kMaxChunkSize = 1 << 20;
constexpr std::size_t kMaxChildren = 8192;
constexpr int kMaxDirectoryDepth = 256;

std::uint8_t* PutVarint(std::uint8_t* p, std::uint64_t v) {
  while (v >= 0x80) {
    *p++ = static_cast<std::uint8_t>(v | 0x80);
    v >>= 7;
  }
  *p++ = static_cast<std::uint8_t>(v);
  return p;
}

bool IsValidUtf8(std::string_view s) {
  std::size_t i = 0;
  while (i < s.size()) {
    const auto c = static_cast<unsigned char>(s[i]);
    std::size_t n;
    std::uint32_t cp;
    if (c < 0x80) {
      ++i;
      continue;
    }
    if ((c & 0xe0) == 0xc0) {
      n = 1;
      cp = c & 0x1f;
    } else if ((c & 0xf0) == 0xe0) {
      n = 2;
      cp = c & 0x0f;
    } else if ((c & 0xf8) == 0xf0) {
      n = 3;
      cp = c & 0x07;
    } else
      return false;
    if (i + n >= s.size()) return false;  // truncated sequence
    for (std::size_t k = 1; k <= n; ++k) {
      const auto cc = static_cast<unsigned char>(s[i + k]);
      if ((cc & 0xc0) != 0x80) return false;
      cp = (cp << 6) | (cc & 0x3f);
    }
    // Overlong forms, surrogates and values beyond U+10FFFF are not UTF-8.
    if ((n == 1 && cp < 0x80) || (n == 2 && cp < 0x800) || (n == 3 && cp < 0x10000) ||
        cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) {
      return false;
    }
    i += n + 1;
  }
  return true;
}

}  // namespace

// ---- Profiles ------------------------------------------------------------------------------

const UnixFsProfile& UnixFsProfile::V0_2015() {
  static const UnixFsProfile kProfile{"unixfs-v0-2015", 0, false, 262144, 174, true};
  return kProfile;
}

const UnixFsProfile& UnixFsProfile::V1_2025() {
  static const UnixFsProfile kProfile{"unixfs-v1-2025", 1, true, 1048576, 1024, true};
  return kProfile;
}

Result<UnixFsProfile> UnixFsProfile::ByName(std::string_view name) {
  if (name == V0_2015().name) return V0_2015();
  if (name == V1_2025().name) return V1_2025();
  return InvalidArgument("unknown_profile", "unknown UnixFS profile '" + std::string(name) +
                                                "'; use unixfs-v1-2025 or unixfs-v0-2015");
}

Status UnixFsProfile::Validate() const {
  if (cid_version != 0 && cid_version != 1) {
    return InvalidArgument("bad_profile", "profile " + name + ": cid_version must be 0 or 1");
  }
  if (chunk_size < 1 || chunk_size > kMaxChunkSize) {
    return InvalidArgument("bad_profile", "profile " + name + ": chunk_size must be 1..1048576");
  }
  if (max_children < 2 || max_children > kMaxChildren) {
    return InvalidArgument("bad_profile", "profile " + name + ": max_children must be 2..8192");
  }
  return OkStatus();
}

// ---- FileImporter --------------------------------------------------------------------------

FileImporter::FileImporter(const UnixFsProfile& profile, BlockSink* sink)
    : profile_(profile), sink_(sink), error_(profile.Validate()) {
  if (error_.ok()) buffer_.resize(kHeadroom + profile_.chunk_size + kTailroom);
}

std::span<std::uint8_t> FileImporter::WritableSpace() {
  if (!error_.ok() || finished_) return {};
  return {buffer_.data() + kHeadroom + filled_, profile_.chunk_size - filled_};
}

Status FileImporter::Commit(std::size_t n) {
  if (!error_.ok()) return error_;
  if (finished_) return FailedPrecondition("importer_finished", "FileImporter used after Finish");
  if (n > profile_.chunk_size - filled_) {
    return error_ = Internal("bad_commit", "Commit of more bytes than WritableSpace offered");
  }
  filled_ += n;
  content_size_ += n;
  if (filled_ == profile_.chunk_size) error_ = EmitLeaf();
  return error_;
}

Status FileImporter::Write(ByteView data) {
  while (!data.empty()) {
    std::span<std::uint8_t> space = WritableSpace();
    if (space.empty()) {
      return error_.ok() ? FailedPrecondition("importer_finished", "FileImporter used after Finish")
                         : error_;
    }
    const std::size_t n = std::min(space.size(), data.size());
    std::memcpy(space.data(), data.data(), n);
    ELASTOS_RETURN_IF_ERROR(Commit(n));
    data = data.subspan(n);
  }
  return error_;
}

Status FileImporter::EmitLeaf() {
  const std::size_t n = filled_;
  std::uint8_t* const chunk = buffer_.data() + kHeadroom;
  ByteView block;
  Cid cid;
  if (profile_.raw_leaves) {
    block = ByteView(chunk, n);
    cid = Cid::V1(Codec::kRaw, crypto::Sha256::Hash(block));
  } else {
    // PBNode{Data: UnixFS{Type: File, Data: chunk (omitted when empty), filesize: n}}, framed
    // around the chunk in place: 0a len(D) 08 02 [12 varint(n)] <chunk> 18 varint(n).
    const std::size_t data_field = n > 0 ? 1 + VarintSize(n) + n : 0;
    const std::size_t unixfs_len = 2 + data_field + 1 + VarintSize(n);
    std::uint8_t prefix[kHeadroom];
    std::uint8_t* p = prefix;
    *p++ = 0x0a;
    p = PutVarint(p, unixfs_len);
    *p++ = 0x08;
    *p++ = 0x02;
    if (n > 0) {
      *p++ = 0x12;
      p = PutVarint(p, n);
    }
    const std::size_t prefix_len = static_cast<std::size_t>(p - prefix);
    std::memcpy(chunk - prefix_len, prefix, prefix_len);
    std::uint8_t* q = chunk + n;
    *q++ = 0x18;
    q = PutVarint(q, n);
    block = ByteView(chunk - prefix_len, static_cast<std::size_t>(q - (chunk - prefix_len)));
    const crypto::Digest256 digest = crypto::Sha256::Hash(block);
    cid = profile_.cid_version == 0 ? Cid::V0(digest) : Cid::V1(Codec::kDagPb, digest);
  }
  if (sink_ != nullptr) ELASTOS_RETURN_IF_ERROR(sink_->Put(cid, block));
  filled_ = 0;
  ++chunks_;
  return AddChild(0, Child{cid, block.size(), n});
}

Status FileImporter::AddChild(std::size_t level, const Child& child) {
  if (levels_.size() <= level) levels_.resize(level + 1);
  levels_[level].push_back(child);
  if (levels_[level].size() < profile_.max_children) return OkStatus();
  ELASTOS_ASSIGN_OR_RETURN(Child parent, MakeParent(levels_[level]));
  levels_[level].clear();
  return AddChild(level + 1, parent);
}

Result<FileImporter::Child> FileImporter::MakeParent(std::span<const Child> children) {
  // As the reference: children without content (only an empty leaf can be one) get no link;
  // every link has an empty (but present) Name and the child's cumulative size as Tsize; the
  // UnixFS blocksizes list the children's content sizes.
  UnixFsData data;
  data.type = UnixFsType::kFile;
  PbNode node;
  std::uint64_t content = 0;
  std::uint64_t tsize_sum = 0;
  for (const Child& c : children) {
    if (c.content == 0) continue;
    data.blocksizes.push_back(c.content);
    content += c.content;
    tsize_sum += c.tsize;
    node.links.push_back(PbLink{c.cid, std::string(), c.tsize});
  }
  data.filesize = content;
  node.data = EncodeUnixFsData(data);
  const Bytes block = EncodePbNode(node);
  const crypto::Digest256 digest = crypto::Sha256::Hash(block);
  const Cid cid = profile_.cid_version == 0 ? Cid::V0(digest) : Cid::V1(Codec::kDagPb, digest);
  if (sink_ != nullptr) ELASTOS_RETURN_IF_ERROR(sink_->Put(cid, block));
  return Child{cid, block.size() + tsize_sum, content};
}

Result<ImportResult> FileImporter::Finish() {
  if (!error_.ok()) return error_;
  if (finished_) {
    return FailedPrecondition("importer_finished", "FileImporter::Finish called twice");
  }
  finished_ = true;
  // The reference chunker yields the remainder, or one empty chunk for an empty file.
  if (filled_ > 0 || chunks_ == 0) ELASTOS_RETURN_IF_ERROR(error_ = EmitLeaf());
  for (std::size_t level = 0; level < levels_.size(); ++level) {
    if (levels_[level].empty()) continue;
    const bool top = std::all_of(levels_.begin() + static_cast<std::ptrdiff_t>(level) + 1,
                                 levels_.end(), [](const auto& l) { return l.empty(); });
    if (top && levels_[level].size() == 1 && (level > 0 || profile_.reduce_single_leaf)) {
      const Child& root = levels_[level][0];
      return ImportResult{root.cid, root.tsize, content_size_};
    }
    auto parent = MakeParent(levels_[level]);
    if (!parent.ok()) return error_ = parent.status();
    levels_[level].clear();
    if (Status s = AddChild(level + 1, *parent); !s.ok()) return error_ = s;
  }
  return error_ = Internal("importer_no_root", "balanced layout produced no root");  // unreachable
}

// ---- ImportPath ----------------------------------------------------------------------------

namespace {

struct Walk {
  const ImportOptions& options;
  std::uint64_t done = 0;
};

struct Imported {
  Cid cid;
  std::uint64_t tsize = 0;
  std::uint64_t content = 0;
};

Status Refuse(const std::string& path, const std::string& what) {
  return InvalidArgument("unsupported_file_type", path + " is " + what);
}

Result<Imported> ImportFileFd(int fd, const std::string& path, Walk& walk) {
  struct stat st;
  if (::fstat(fd, &st) != 0) return IoError("stat " + path, errno);
  if (!S_ISREG(st.st_mode)) return Refuse(path, "not a regular file");
  ::posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL);
  FileImporter importer(walk.options.profile, walk.options.sink);
  for (;;) {
    std::span<std::uint8_t> space = importer.WritableSpace();
    if (space.empty()) break;  // only after an error, which Commit/Finish report
    const ssize_t n = ::read(fd, space.data(), space.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      return IoError("read " + path, errno);
    }
    if (n == 0) break;
    ELASTOS_RETURN_IF_ERROR(importer.Commit(static_cast<std::size_t>(n)));
    walk.done += static_cast<std::uint64_t>(n);
    if (walk.options.progress) walk.options.progress(walk.done);
  }
  auto r = importer.Finish();
  if (!r.ok()) return r.status().WithContext(path);
  return Imported{r->cid, r->dag_size, r->content_size};
}

Result<Imported> ImportSymlink(int dirfd, const char* name, const std::string& path,
                               const Walk& walk) {
  if (walk.options.refuse_symlinks) {
    return InvalidArgument("symlink_refused",
                           path +
                               " is a symbolic link; symlinks are not allowed here "
                               "(replace it with the file or directory it points to)");
  }
  std::string target(4096, '\0');
  const ssize_t n = ::readlinkat(dirfd, name, target.data(), target.size());
  if (n < 0) return IoError("readlink " + path, errno);
  if (static_cast<std::size_t>(n) >= target.size()) {
    return Refuse(path, "a symlink with an over-long target");
  }
  target.resize(static_cast<std::size_t>(n));
  UnixFsData data;
  data.type = UnixFsType::kSymlink;
  data.data = ToBytes(target);
  PbNode node;
  node.data = EncodeUnixFsData(data);
  const Bytes block = EncodePbNode(node);
  const Cid cid = Cid::ForBlock(walk.options.profile.cid_version, Codec::kDagPb, block);
  if (walk.options.sink != nullptr) ELASTOS_RETURN_IF_ERROR(walk.options.sink->Put(cid, block));
  return Imported{cid, block.size(), 0};
}

Result<Imported> ImportDirFd(int dirfd, const std::string& path, int depth, Walk& walk);

// Imports the entry `name` of the directory `dirfd` without following symlinks: every open is
// O_NOFOLLOW and relative to the parent's descriptor, so a path swapped for a symlink while we
// walk is refused rather than followed.
Result<Imported> ImportEntry(int dirfd, const char* name, const std::string& path, int depth,
                             Walk& walk) {
  struct stat st;
  if (::fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) != 0) return IoError("stat " + path, errno);
  if (S_ISLNK(st.st_mode)) return ImportSymlink(dirfd, name, path, walk);
  if (S_ISREG(st.st_mode)) {
    UniqueFd fd(::openat(dirfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC));
    if (!fd.valid()) return IoError("open " + path, errno);
    return ImportFileFd(fd.get(), path, walk);
  }
  if (S_ISDIR(st.st_mode)) {
    if (depth >= kMaxDirectoryDepth) {
      return ResourceExhausted("too_deep", path + " is nested more than " +
                                               std::to_string(kMaxDirectoryDepth) +
                                               " directories deep");
    }
    UniqueFd fd(::openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
    if (!fd.valid()) return IoError("open directory " + path, errno);
    return ImportDirFd(fd.get(), path, depth + 1, walk);
  }
  return Refuse(
      path, "a special file (device, FIFO or socket); only files and directories can be imported");
}

Result<Imported> ImportDirFd(int dirfd, const std::string& path, int depth, Walk& walk) {
  std::vector<std::string> names;
  {
    const int dup = ::fcntl(dirfd, F_DUPFD_CLOEXEC, 0);
    if (dup < 0) return IoError("dup " + path, errno);
    DIR* dir = ::fdopendir(dup);
    if (dir == nullptr) {
      const int err = errno;
      ::close(dup);
      return IoError("opendir " + path, err);
    }
    errno = 0;
    while (const dirent* e = ::readdir(dir)) {
      const std::string_view name = e->d_name;
      if (name != "." && name != "..") names.emplace_back(name);
      errno = 0;
    }
    const int err = errno;
    ::closedir(dir);
    if (err != 0) return IoError("readdir " + path, err);
  }
  std::sort(names.begin(), names.end());  // name byte order, as the directory's links

  PbNode node;
  std::uint64_t content = 0;
  std::uint64_t tsize_sum = 0;
  for (const std::string& name : names) {
    const std::string child_path = path + "/" + name;
    if (!IsValidUtf8(name)) {
      return InvalidArgument("bad_file_name",
                             child_path + ": the name is not UTF-8, which UnixFS requires");
    }
    ELASTOS_ASSIGN_OR_RETURN(Imported child,
                             ImportEntry(dirfd, name.c_str(), child_path, depth, walk));
    node.links.push_back(PbLink{child.cid, name, child.tsize});
    content += child.content;
    tsize_sum += child.tsize;
  }
  UnixFsData data;
  data.type = UnixFsType::kDirectory;
  node.data = EncodeUnixFsData(data);
  const Bytes block = EncodePbNode(node);
  if (block.size() > kMaxBlockSize) {
    return ResourceExhausted("directory_too_large",
                             path + " has too many entries for one directory node (" +
                                 std::to_string(block.size()) +
                                 " bytes); sharded directories are not supported");
  }
  const Cid cid = Cid::ForBlock(walk.options.profile.cid_version, Codec::kDagPb, block);
  if (walk.options.sink != nullptr) ELASTOS_RETURN_IF_ERROR(walk.options.sink->Put(cid, block));
  return Imported{cid, block.size() + tsize_sum, content};
}

}  // namespace

Result<ImportResult> ImportPath(const fs::path& path, const ImportOptions& options) {
  ELASTOS_RETURN_IF_ERROR(options.profile.Validate());
  Walk walk{options};
  // Resolve the parent normally (the caller named it), then treat the last component like any
  // entry: never followed if it is a symlink.
  const fs::path parent = path.has_parent_path() ? path.parent_path() : fs::path(".");
  fs::path leaf = path.filename();
  if (leaf.empty() || leaf == "." || leaf == "..") {
    // "dir/", "." or "..": open the directory itself.
    std::string shown = path.string();
    while (shown.size() > 1 && shown.back() == '/') shown.pop_back();
    UniqueFd fd(::open(path.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (!fd.valid()) return IoError("open " + shown, errno);
    auto r = ImportDirFd(fd.get(), shown, 0, walk);
    if (!r.ok()) return r.status();
    return ImportResult{r->cid, r->tsize, r->content};
  }
  UniqueFd dirfd(::open(parent.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!dirfd.valid()) return IoError("open " + parent.string(), errno);
  auto r = ImportEntry(dirfd.get(), leaf.c_str(), path.string(), 0, walk);
  if (!r.ok()) return r.status();
  return ImportResult{r->cid, r->tsize, r->content};
}

}  // namespace elastos::ipld
