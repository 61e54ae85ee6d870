// path_*: every name the guest gives is resolved beneath one of its directory descriptors.
//
// Threat: a guest reaching host files outside /data, by an absolute path, by "..", or through a
// symlink (planted by itself with path_symlink, or already there) pointing outside. Answer: the
// kernel does the confinement, not string checks. Whatever is opened is opened with
// openat2(RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS), which fails with EXDEV whenever resolution
// would leave the starting directory, symlinks included; we report that as ENOTCAPABLE (76), as
// wasmtime does. Calls that act on a name without opening it (mkdir, unlink, rename, link,
// symlink, readlink) open the *parent* that way and apply one *at call to the final component,
// which never follows a symlink; a final component of "." or ".." is handled apart so "..", the
// one that could name the directory above, is never passed to an *at call.
#include <fcntl.h>
#include <linux/openat2.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstring>
#include <string>
#include <string_view>

#include "compute/wasi/host_impl.h"

namespace elastos::compute::wasi {
namespace {

using abi::Errno;
namespace rights = abi::rights;

Errno LastErrno() { return abi::FromHostErrno(errno); }

// openat2 beneath `dir_fd`. EAGAIN is the kernel saying a concurrent rename or mount raced the
// RESOLVE_BENEATH check; retrying is what its documentation asks for.
Errno OpenBeneath(int dir_fd, const std::string& path, std::uint64_t flags, mode_t mode,
                  HostFd* out) {
  struct open_how how = {};
  how.flags = flags | O_CLOEXEC;
  how.mode = mode;
  how.resolve = RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS;
  constexpr int kAttempts = 16;
  for (int attempt = 0; attempt < kAttempts; ++attempt) {
    const long fd = ::syscall(SYS_openat2, dir_fd, path.c_str(), &how, sizeof how);
    if (fd >= 0) {
      *out = HostFd(static_cast<int>(fd), /*owned=*/true);
      return Errno::kSuccess;
    }
    if (errno == EINTR || errno == EAGAIN) continue;
    return errno == EXDEV ? Errno::kNotcapable : LastErrno();
  }
  return Errno::kAgain;
}

bool IsDotOrDotDot(std::string_view leaf) { return leaf == "." || leaf == ".."; }

// For a path whose final component is "." or "..": ENOTCAPABLE if it names a directory outside
// the guest's (path ".."), otherwise `if_inside`, the errno the operation gives for that name.
Errno DotLeaf(int dir_fd, const std::string& path, Errno if_inside) {
  HostFd probe;
  ELASTOS_WASI_TRY(OpenBeneath(dir_fd, path, O_PATH | O_DIRECTORY, 0, &probe));
  return if_inside;
}

// With a trailing slash the final component must be a directory itself: not a symlink to one,
// which the *at call would have to follow.
Errno RequireDirectoryLeaf(const ParentDir& p) {
  struct stat st;
  if (::fstatat(p.dir.get(), p.leaf.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) return LastErrno();
  return S_ISDIR(st.st_mode) ? Errno::kSuccess : Errno::kNotdir;
}

// Creating a non-directory under a name with a trailing slash: EEXIST if the name exists, else
// ENOENT (what Linux gives for symlink("t", "new/")).
Errno RefuseTrailingSlash(const ParentDir& p) {
  struct stat st;
  return ::fstatat(p.dir.get(), p.leaf.c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0 ? Errno::kExist
                                                                               : Errno::kNoent;
}

// Copies a guest string of at most kMaxPathBytes. A NUL inside would end the string the kernel
// sees early, so the host would check one name and act on another: EINVAL.
Errno CopyGuestString(const GuestMemory& mem, std::uint32_t ptr, std::uint32_t len,
                      std::string* out) {
  std::optional<std::span<std::uint8_t>> bytes = mem.Bytes(ptr, len);
  if (!bytes) return Errno::kFault;
  if (len > kMaxPathBytes) return Errno::kNametoolong;
  out->assign(reinterpret_cast<const char*>(bytes->data()), bytes->size());
  return out->find('\0') == std::string::npos ? Errno::kSuccess : Errno::kInval;
}

}  // namespace

HostImpl::Errno HostImpl::DirectoryFor(std::uint32_t fd, std::uint64_t needed, FdEntry** entry) {
  *entry = fds_.Get(fd);
  if (*entry == nullptr) return Errno::kBadf;
  if ((*entry)->kind != FdKind::kDirectory) return Errno::kNotdir;
  return (*entry)->Has(needed) ? Errno::kSuccess : Errno::kNotcapable;
}

// An absolute path names the host's root, for which the guest holds no capability (wasi-libc
// turns a program's absolute paths into preopen-relative ones before calling): ENOTCAPABLE.
HostImpl::Errno HostImpl::ReadPath(std::uint32_t ptr, std::uint32_t len, std::string* path) {
  ELASTOS_WASI_TRY(CopyGuestString(mem_, ptr, len, path));
  if (!path->empty() && path->front() == '/') return Errno::kNotcapable;
  return Errno::kSuccess;
}

HostImpl::Errno HostImpl::OpenParent(int dir_fd, const std::string& path, ParentDir* parent) {
  if (path.empty()) return Errno::kNoent;
  std::string_view p = path;  // not absolute (ReadPath), so never only slashes
  while (p.size() > 1 && p.back() == '/') {
    p.remove_suffix(1);
    parent->trailing_slash = true;
  }
  const std::size_t slash = p.rfind('/');
  const std::string dir = slash == std::string_view::npos ? "." : std::string(p.substr(0, slash));
  parent->leaf = std::string(p.substr(slash == std::string_view::npos ? 0 : slash + 1));
  return OpenBeneath(dir_fd, dir, O_PATH | O_DIRECTORY, 0, &parent->dir);
}

// Rights: the new descriptor gets what the guest asks for, narrowed to what applies to the type
// of file opened. Asking for a right this directory does not pass on (one dropped with
// fd_fdstat_set_rights or path_open) is ENOTCAPABLE; bits no descriptor here ever carries (the
// sock_* rights, undefined bits) are just not granted, so a guest that asks for ~0 still works.
// The host access mode follows the rights: FD_READ/FD_READDIR read, FD_WRITE/FD_ALLOCATE/
// FD_FILESTAT_SET_SIZE write. TRUNC without write access is EINVAL (POSIX leaves O_TRUNC with
// O_RDONLY undefined; Linux would truncate).
HostImpl::Errno HostImpl::PathOpen(std::uint32_t fd, std::uint32_t dirflags, std::uint32_t path_ptr,
                                   std::uint32_t path_len, std::uint32_t oflags,
                                   std::uint64_t rights_base, std::uint64_t rights_inheriting,
                                   std::uint32_t fdflags, std::uint32_t fd_ptr) {
  std::uint64_t needed = rights::kPathOpen;
  if (oflags & abi::kOflagCreat) needed |= rights::kPathCreateFile;
  if (oflags & abi::kOflagTrunc) needed |= rights::kPathFilestatSetSize;
  FdEntry* dir;
  ELASTOS_WASI_TRY(DirectoryFor(fd, needed, &dir));
  if ((rights_base | rights_inheriting) & rights::kDirectoryInheriting & ~dir->rights_inheriting) {
    return Errno::kNotcapable;
  }
  if ((dirflags & ~abi::kLookupSymlinkFollow) != 0 || (oflags & ~std::uint32_t{abi::kOflagsAll}) ||
      (fdflags & ~std::uint32_t{abi::kFdflagsAll})) {
    return Errno::kInval;
  }
  const bool read = rights_base & (rights::kFdRead | rights::kFdReaddir);
  const bool write =
      rights_base & (rights::kFdWrite | rights::kFdAllocate | rights::kFdFilestatSetSize);
  if ((oflags & abi::kOflagTrunc) && !write) return Errno::kInval;
  if (!mem_.Contains(fd_ptr, 4)) return Errno::kFault;
  std::string path;
  ELASTOS_WASI_TRY(ReadPath(path_ptr, path_len, &path));
  // Before opening, so a full table does not leave a created file behind.
  if (fds_.Full()) return Errno::kMfile;

  std::uint64_t flags = O_NOCTTY | (write ? (read ? O_RDWR : O_WRONLY) : O_RDONLY);
  if (oflags & abi::kOflagCreat) flags |= O_CREAT;
  if (oflags & abi::kOflagDirectory) flags |= O_DIRECTORY;
  if (oflags & abi::kOflagExcl) flags |= O_EXCL;
  if (!(dirflags & abi::kLookupSymlinkFollow)) flags |= O_NOFOLLOW;
  if (fdflags & abi::kFdflagAppend) flags |= O_APPEND;
  if (fdflags & abi::kFdflagDsync) flags |= O_DSYNC;
  if (fdflags & abi::kFdflagRsync) flags |= O_RSYNC;
  if (fdflags & abi::kFdflagSync) flags |= O_SYNC;
  // Always non-blocking to open: opening a FIFO (one could be placed in /data from outside)
  // would otherwise wait for a peer forever, out of reach of the interrupt flag.
  flags |= O_NONBLOCK;
  HostFd file;
  ELASTOS_WASI_TRY(
      OpenBeneath(dir->host.get(), path, flags, (oflags & abi::kOflagCreat) ? 0666 : 0, &file));
  struct stat st;
  if (::fstat(file.get(), &st) != 0) return LastErrno();
  if (!(fdflags & abi::kFdflagNonblock)) {
    const int fl = ::fcntl(file.get(), F_GETFL);
    if (fl < 0 || ::fcntl(file.get(), F_SETFL, fl & ~O_NONBLOCK) != 0) return LastErrno();
  }
  // Truncation is done here rather than with O_TRUNC so the storage meter learns the old size.
  if ((oflags & abi::kOflagTrunc) && S_ISREG(st.st_mode) && st.st_size > 0) {
    if (::ftruncate(file.get(), 0) != 0) return LastErrno();
    storage_.Release(static_cast<std::uint64_t>(st.st_size));
    st.st_size = 0;
  }

  FdEntry entry;
  entry.host = std::move(file);
  entry.filetype = FiletypeOf(st.st_mode);
  entry.fdflags = static_cast<std::uint16_t>(fdflags);
  if (S_ISDIR(st.st_mode)) {
    entry.kind = FdKind::kDirectory;
    entry.rights_base = rights_base & dir->rights_inheriting & rights::kDirectory;
    entry.rights_inheriting = rights_inheriting & dir->rights_inheriting;
  } else {
    entry.kind = S_ISREG(st.st_mode) ? FdKind::kRegularFile : FdKind::kStream;
    entry.rights_base = rights_base & dir->rights_inheriting & rights::kRegularFile;
    entry.counts_storage = S_ISREG(st.st_mode);
    entry.dev = st.st_dev;
    entry.ino = st.st_ino;
  }
  std::optional<std::uint32_t> guest_fd = fds_.Insert(std::move(entry));
  if (!guest_fd) return Errno::kMfile;
  mem_.StoreUnchecked<std::uint32_t>(fd_ptr, *guest_fd);
  return Errno::kSuccess;
}

HostImpl::Errno HostImpl::PathFilestatGet(std::uint32_t fd, std::uint32_t flags,
                                          std::uint32_t path_ptr, std::uint32_t path_len,
                                          std::uint32_t buf) {
  FdEntry* dir;
  ELASTOS_WASI_TRY(DirectoryFor(fd, rights::kPathFilestatGet, &dir));
  if (flags & ~abi::kLookupSymlinkFollow) return Errno::kInval;
  if (!mem_.Contains(buf, abi::layout::kFilestatSize)) return Errno::kFault;
  std::string path;
  ELASTOS_WASI_TRY(ReadPath(path_ptr, path_len, &path));
  // Opened (O_PATH) rather than fstatat'ed so a symlink is followed, if at all, beneath.
  HostFd target;
  const std::uint64_t nofollow = (flags & abi::kLookupSymlinkFollow) ? 0 : O_NOFOLLOW;
  ELASTOS_WASI_TRY(OpenBeneath(dir->host.get(), path, O_PATH | nofollow, 0, &target));
  struct stat st;
  if (::fstat(target.get(), &st) != 0) return LastErrno();
  StoreFilestat(buf, st, FiletypeOf(st.st_mode));
  return Errno::kSuccess;
}

HostImpl::Errno HostImpl::PathFilestatSetTimes(std::uint32_t fd, std::uint32_t flags,
                                               std::uint32_t path_ptr, std::uint32_t path_len,
                                               std::uint64_t atim, std::uint64_t mtim,
                                               std::uint32_t fst_flags) {
  FdEntry* dir;
  ELASTOS_WASI_TRY(DirectoryFor(fd, rights::kPathFilestatSetTimes, &dir));
  if (flags & ~abi::kLookupSymlinkFollow) return Errno::kInval;
  struct timespec times[2];
  ELASTOS_WASI_TRY(TimesToSet(atim, mtim, fst_flags, times));
  std::string path;
  ELASTOS_WASI_TRY(ReadPath(path_ptr, path_len, &path));
  HostFd target;
  const std::uint64_t nofollow = (flags & abi::kLookupSymlinkFollow) ? 0 : O_NOFOLLOW;
  ELASTOS_WASI_TRY(OpenBeneath(dir->host.get(), path, O_PATH | nofollow, 0, &target));
  // AT_EMPTY_PATH acts on the O_PATH descriptor itself (the symlink, without FOLLOW).
  if (::utimensat(target.get(), "", times, AT_EMPTY_PATH) != 0) return LastErrno();
  return Errno::kSuccess;
}

HostImpl::Errno HostImpl::PathCreateDirectory(std::uint32_t fd, std::uint32_t path_ptr,
                                              std::uint32_t path_len) {
  FdEntry* dir;
  ELASTOS_WASI_TRY(DirectoryFor(fd, rights::kPathCreateDirectory, &dir));
  std::string path;
  ELASTOS_WASI_TRY(ReadPath(path_ptr, path_len, &path));
  ParentDir p;
  ELASTOS_WASI_TRY(OpenParent(dir->host.get(), path, &p));
  if (IsDotOrDotDot(p.leaf)) return DotLeaf(dir->host.get(), path, Errno::kExist);
  return ::mkdirat(p.dir.get(), p.leaf.c_str(), 0777) == 0 ? Errno::kSuccess : LastErrno();
}

HostImpl::Errno HostImpl::PathRemoveDirectory(std::uint32_t fd, std::uint32_t path_ptr,
                                              std::uint32_t path_len) {
  FdEntry* dir;
  ELASTOS_WASI_TRY(DirectoryFor(fd, rights::kPathRemoveDirectory, &dir));
  std::string path;
  ELASTOS_WASI_TRY(ReadPath(path_ptr, path_len, &path));
  ParentDir p;
  ELASTOS_WASI_TRY(OpenParent(dir->host.get(), path, &p));
  if (IsDotOrDotDot(p.leaf)) return DotLeaf(dir->host.get(), path, Errno::kInval);
  if (::unlinkat(p.dir.get(), p.leaf.c_str(), AT_REMOVEDIR) != 0) return LastErrno();
  return Errno::kSuccess;
}

// Deleting a file frees its bytes for the storage meter once no name and no guest fd holds it.
HostImpl::Errno HostImpl::PathUnlinkFile(std::uint32_t fd, std::uint32_t path_ptr,
                                         std::uint32_t path_len) {
  FdEntry* dir;
  ELASTOS_WASI_TRY(DirectoryFor(fd, rights::kPathUnlinkFile, &dir));
  std::string path;
  ELASTOS_WASI_TRY(ReadPath(path_ptr, path_len, &path));
  ParentDir p;
  ELASTOS_WASI_TRY(OpenParent(dir->host.get(), path, &p));
  if (IsDotOrDotDot(p.leaf)) return DotLeaf(dir->host.get(), path, Errno::kIsdir);
  if (p.trailing_slash) {
    const Errno e = RequireDirectoryLeaf(p);
    return e == Errno::kSuccess ? Errno::kIsdir : e;
  }
  struct stat st;
  const bool frees = ::fstatat(p.dir.get(), p.leaf.c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0 &&
                     S_ISREG(st.st_mode) && st.st_nlink == 1 && !InodeOpen(st);
  if (::unlinkat(p.dir.get(), p.leaf.c_str(), 0) != 0) return LastErrno();
  if (frees) storage_.Release(static_cast<std::uint64_t>(st.st_size));
  return Errno::kSuccess;
}

HostImpl::Errno HostImpl::PathRename(std::uint32_t fd, std::uint32_t old_ptr, std::uint32_t old_len,
                                     std::uint32_t new_fd, std::uint32_t new_ptr,
                                     std::uint32_t new_len) {
  FdEntry* old_dir;
  FdEntry* new_dir;
  ELASTOS_WASI_TRY(DirectoryFor(fd, rights::kPathRenameSource, &old_dir));
  ELASTOS_WASI_TRY(DirectoryFor(new_fd, rights::kPathRenameTarget, &new_dir));
  std::string old_path, new_path;
  ELASTOS_WASI_TRY(ReadPath(old_ptr, old_len, &old_path));
  ELASTOS_WASI_TRY(ReadPath(new_ptr, new_len, &new_path));
  ParentDir from, to;
  ELASTOS_WASI_TRY(OpenParent(old_dir->host.get(), old_path, &from));
  ELASTOS_WASI_TRY(OpenParent(new_dir->host.get(), new_path, &to));
  if (IsDotOrDotDot(from.leaf)) return DotLeaf(old_dir->host.get(), old_path, Errno::kInval);
  if (IsDotOrDotDot(to.leaf)) return DotLeaf(new_dir->host.get(), new_path, Errno::kInval);
  if (from.trailing_slash || to.trailing_slash) ELASTOS_WASI_TRY(RequireDirectoryLeaf(from));
  // A file replaced by the rename is freed, unless it is the same file under another name
  // (then rename does nothing) or still open.
  struct stat src, dst;
  const bool frees = ::fstatat(from.dir.get(), from.leaf.c_str(), &src, AT_SYMLINK_NOFOLLOW) == 0 &&
                     ::fstatat(to.dir.get(), to.leaf.c_str(), &dst, AT_SYMLINK_NOFOLLOW) == 0 &&
                     S_ISREG(dst.st_mode) && dst.st_nlink == 1 && !InodeOpen(dst) &&
                     !(src.st_dev == dst.st_dev && src.st_ino == dst.st_ino);
  if (::renameat(from.dir.get(), from.leaf.c_str(), to.dir.get(), to.leaf.c_str()) != 0) {
    return LastErrno();
  }
  if (frees) storage_.Release(static_cast<std::uint64_t>(dst.st_size));
  return Errno::kSuccess;
}

// LOOKUP_SYMLINK_FOLLOW on the source is refused with EINVAL (as wasmtime does): linkat with
// AT_SYMLINK_FOLLOW would resolve the symlink outside openat2's confinement.
HostImpl::Errno HostImpl::PathLink(std::uint32_t old_fd, std::uint32_t old_flags,
                                   std::uint32_t old_ptr, std::uint32_t old_len,
                                   std::uint32_t new_fd, std::uint32_t new_ptr,
                                   std::uint32_t new_len) {
  FdEntry* old_dir;
  FdEntry* new_dir;
  ELASTOS_WASI_TRY(DirectoryFor(old_fd, rights::kPathLinkSource, &old_dir));
  ELASTOS_WASI_TRY(DirectoryFor(new_fd, rights::kPathLinkTarget, &new_dir));
  if (old_flags != 0) return Errno::kInval;
  std::string old_path, new_path;
  ELASTOS_WASI_TRY(ReadPath(old_ptr, old_len, &old_path));
  ELASTOS_WASI_TRY(ReadPath(new_ptr, new_len, &new_path));
  ParentDir from, to;
  ELASTOS_WASI_TRY(OpenParent(old_dir->host.get(), old_path, &from));
  ELASTOS_WASI_TRY(OpenParent(new_dir->host.get(), new_path, &to));
  // Directories cannot be hard-linked (EPERM, as Linux says).
  if (IsDotOrDotDot(from.leaf)) return DotLeaf(old_dir->host.get(), old_path, Errno::kPerm);
  if (IsDotOrDotDot(to.leaf)) return DotLeaf(new_dir->host.get(), new_path, Errno::kExist);
  if (from.trailing_slash) {
    const Errno e = RequireDirectoryLeaf(from);
    return e == Errno::kSuccess ? Errno::kPerm : e;
  }
  if (to.trailing_slash) return RefuseTrailingSlash(to);
  if (::linkat(from.dir.get(), from.leaf.c_str(), to.dir.get(), to.leaf.c_str(), 0) != 0) {
    return LastErrno();
  }
  return Errno::kSuccess;
}

// The target is stored as given, absolute or with "..": it is only a string until something
// resolves it, and every resolution the host does is confined beneath a guest directory.
HostImpl::Errno HostImpl::PathSymlink(std::uint32_t old_ptr, std::uint32_t old_len,
                                      std::uint32_t fd, std::uint32_t new_ptr,
                                      std::uint32_t new_len) {
  FdEntry* dir;
  ELASTOS_WASI_TRY(DirectoryFor(fd, rights::kPathSymlink, &dir));
  std::string target, path;
  ELASTOS_WASI_TRY(CopyGuestString(mem_, old_ptr, old_len, &target));
  if (target.empty()) return Errno::kNoent;
  ELASTOS_WASI_TRY(ReadPath(new_ptr, new_len, &path));
  ParentDir p;
  ELASTOS_WASI_TRY(OpenParent(dir->host.get(), path, &p));
  if (IsDotOrDotDot(p.leaf)) return DotLeaf(dir->host.get(), path, Errno::kExist);
  if (p.trailing_slash) return RefuseTrailingSlash(p);
  if (::symlinkat(target.c_str(), p.dir.get(), p.leaf.c_str()) != 0) return LastErrno();
  return Errno::kSuccess;
}

// A target longer than the buffer is truncated to it (POSIX readlink).
HostImpl::Errno HostImpl::PathReadlink(std::uint32_t fd, std::uint32_t path_ptr,
                                       std::uint32_t path_len, std::uint32_t buf,
                                       std::uint32_t buf_len, std::uint32_t bufused_ptr) {
  FdEntry* dir;
  ELASTOS_WASI_TRY(DirectoryFor(fd, rights::kPathReadlink, &dir));
  std::optional<std::span<std::uint8_t>> out = mem_.Bytes(buf, buf_len);
  if (!out || !mem_.Contains(bufused_ptr, 4)) return Errno::kFault;
  std::string path;
  ELASTOS_WASI_TRY(ReadPath(path_ptr, path_len, &path));
  ParentDir p;
  ELASTOS_WASI_TRY(OpenParent(dir->host.get(), path, &p));
  // "." and ".." are directories, not symlinks.
  if (IsDotOrDotDot(p.leaf)) return DotLeaf(dir->host.get(), path, Errno::kInval);
  if (p.trailing_slash) {
    const Errno e = RequireDirectoryLeaf(p);
    return e == Errno::kSuccess ? Errno::kInval : e;
  }
  std::array<char, kMaxPathBytes + 1> target;
  const ssize_t n = ::readlinkat(p.dir.get(), p.leaf.c_str(), target.data(), target.size());
  if (n < 0) return LastErrno();
  const std::size_t used = std::min(static_cast<std::size_t>(n), out->size());
  std::memcpy(out->data(), target.data(), used);
  mem_.StoreUnchecked<std::uint32_t>(bufused_ptr, static_cast<std::uint32_t>(used));
  return Errno::kSuccess;
}

}  // namespace elastos::compute::wasi
