// fd_*: operations on an open guest descriptor, and the helpers the other files share (rights
// lookup, iovec gathering, the output and storage limits).
#include <dirent.h>
#include <fcntl.h>
#include <fmt/format.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <limits>
#include <string>

#include "compute/wasi/host_impl.h"
#include "compute/wasi/stream_io.h"

namespace elastos::compute::wasi {
namespace {

using abi::Errno;
namespace rights = abi::rights;

constexpr std::uint64_t kMaxOffset = static_cast<std::uint64_t>(std::numeric_limits<off_t>::max());

Errno LastErrno() { return abi::FromHostErrno(errno); }

// "64 MiB", or "0.01 MiB (10000 bytes)" when the limit is not a whole number of MiB.
std::string Mebibytes(std::uint64_t bytes) {
  constexpr std::uint64_t kMiB = 1 << 20;
  if (bytes % kMiB == 0) return fmt::format("{} MiB", bytes / kMiB);
  return fmt::format("{:.2f} MiB ({} bytes)", static_cast<double>(bytes) / kMiB, bytes);
}

// a + b, or false when it does not fit an off_t.
bool AddOffsets(std::uint64_t a, std::uint64_t b, std::uint64_t* sum) {
  if (a > kMaxOffset || b > kMaxOffset - a) return false;
  *sum = a + b;
  return true;
}

std::size_t Total(const std::vector<struct iovec>& iov) {
  std::size_t total = 0;
  for (const struct iovec& v : iov) total += v.iov_len;
  return total;
}

ssize_t RetryOnEintr(auto syscall) {
  ssize_t n;
  do {
    n = syscall();
  } while (n < 0 && errno == EINTR);
  return n;
}

abi::Filetype DirentType(int dir_fd, const struct dirent64* entry) {
  switch (entry->d_type) {
    case DT_REG:
      return abi::Filetype::kRegularFile;
    case DT_DIR:
      return abi::Filetype::kDirectory;
    case DT_LNK:
      return abi::Filetype::kSymbolicLink;
    case DT_CHR:
      return abi::Filetype::kCharacterDevice;
    case DT_BLK:
      return abi::Filetype::kBlockDevice;
    case DT_SOCK:
      return abi::Filetype::kSocketStream;
    case DT_FIFO:
      return abi::Filetype::kUnknown;
    default:
      break;
  }
  // Filesystems that do not fill d_type. "." and ".." are directories; asking about ".." of the
  // preopen would stat the host directory above /data.
  const std::string_view name = entry->d_name;
  if (name == "." || name == "..") return abi::Filetype::kDirectory;
  struct stat st;
  if (::fstatat(dir_fd, entry->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0) {
    return abi::Filetype::kUnknown;
  }
  return FiletypeOf(st.st_mode);
}

// Writes the WASI dirent for `d` (24-byte header, then the name without NUL) to `out`, or as
// much of it as fits; returns the bytes written.
std::size_t AppendDirent(int dir_fd, const struct dirent64& d, std::span<std::uint8_t> out) {
  namespace L = abi::layout;
  const std::size_t name_len = std::strlen(d.d_name);
  std::uint8_t header[L::kDirentSize] = {};
  const auto next = static_cast<std::uint64_t>(d.d_off);
  const std::uint64_t ino = d.d_ino;
  const auto namlen = static_cast<std::uint32_t>(name_len);
  std::memcpy(header + L::kDirentNext, &next, 8);
  std::memcpy(header + L::kDirentIno, &ino, 8);
  std::memcpy(header + L::kDirentNamlen, &namlen, 4);
  header[L::kDirentType] = static_cast<std::uint8_t>(DirentType(dir_fd, &d));
  const std::size_t header_part = std::min(sizeof header, out.size());
  std::memcpy(out.data(), header, header_part);
  const std::size_t name_part = std::min(name_len, out.size() - header_part);
  std::memcpy(out.data() + header_part, d.d_name, name_part);
  return header_part + name_part;
}

// The time to set for one of atim/mtim from the fst_flags bits that concern it.
struct timespec TimeToSet(std::uint64_t nanos, bool set, bool now) {
  if (now) return {0, UTIME_NOW};
  if (set) {
    return {static_cast<time_t>(nanos / 1'000'000'000), static_cast<long>(nanos % 1'000'000'000)};
  }
  return {0, UTIME_OMIT};
}

}  // namespace

Errno TimesToSet(std::uint64_t atim, std::uint64_t mtim, std::uint32_t fst_flags,
                 struct timespec times[2]) {
  if ((fst_flags & ~std::uint32_t{abi::kFstAll}) != 0 ||
      ((fst_flags & abi::kFstAtim) && (fst_flags & abi::kFstAtimNow)) ||
      ((fst_flags & abi::kFstMtim) && (fst_flags & abi::kFstMtimNow))) {
    return Errno::kInval;
  }
  times[0] = TimeToSet(atim, fst_flags & abi::kFstAtim, fst_flags & abi::kFstAtimNow);
  times[1] = TimeToSet(mtim, fst_flags & abi::kFstMtim, fst_flags & abi::kFstMtimNow);
  return Errno::kSuccess;
}

// ---- shared helpers --------------------------------------------------------------------------

HostImpl::Errno HostImpl::FindWithRights(std::uint32_t fd, std::uint64_t needed, FdEntry** entry) {
  *entry = fds_.Get(fd);
  if (*entry == nullptr) return Errno::kBadf;
  // One mask test: a right the descriptor does not hold is never exercised.
  return (*entry)->Has(needed) ? Errno::kSuccess : Errno::kNotcapable;
}

HostImpl::Errno HostImpl::GatherIovecs(std::uint32_t iovs, std::uint32_t iovs_len) {
  if (iovs_len > kMaxIovecs) return Errno::kInval;
  if (!mem_.Contains(iovs, std::uint64_t{iovs_len} * abi::layout::kIovecSize)) {
    return Errno::kFault;
  }
  iov_.clear();
  for (std::uint32_t k = 0; k < iovs_len; ++k) {
    const std::uint64_t at = iovs + std::uint64_t{k} * abi::layout::kIovecSize;
    const auto buf = mem_.LoadUnchecked<std::uint32_t>(at);
    const auto len = mem_.LoadUnchecked<std::uint32_t>(at + 4);
    std::optional<std::span<std::uint8_t>> bytes = mem_.Bytes(buf, len);
    if (!bytes) return Errno::kFault;
    iov_.push_back({bytes->data(), bytes->size()});
  }
  return Errno::kSuccess;
}

HostImpl::Errno HostImpl::FailOutputLimit() {
  finished_ = true;
  fatal_ = ResourceExhausted(
      "output_limit",
      fmt::format("the capsule wrote more than its output limit of {} to stdout/stderr; raise "
                  "resource_limits.output_mb in capsule.json (or lower the output) to let it "
                  "finish",
                  Mebibytes(config_.output_limit_bytes)));
  return Errno::kFbig;
}

HostImpl::Errno HostImpl::FailStorageLimit(std::uint64_t growth) {
  finished_ = true;
  fatal_ = ResourceExhausted(
      "storage_limit",
      fmt::format("writing {} more bytes would take /data past its storage limit of {} ({} bytes "
                  "in use); delete data the capsule no longer needs or raise "
                  "resource_limits.storage_mb in capsule.json",
                  growth, Mebibytes(storage_.limit()), storage_.used()));
  return Errno::kNospc;
}

// Output limit: the bytes that still fit are written (so the output ends exactly at the limit,
// showing what the guest printed last), then the call fails with EFBIG and the run ends. Counted
// by entry, not by guest number, so renumbering stdout does not escape the limit.
HostImpl::Errno HostImpl::WriteCountedOutput(FdEntry& entry, std::size_t* written) {
  const std::uint64_t allowance = config_.output_limit_bytes - output_bytes_;
  const std::size_t total = Total(iov_);
  const bool over = total > allowance;
  std::vector<struct iovec> within(iov_.size());
  const std::size_t count =
      SliceIovecs(iov_, 0, over ? static_cast<std::size_t>(allowance) : total, within.data());
  within.resize(count);
  const Errno e =
      WriteStream(entry.host.get(), within, (entry.fdflags & abi::kFdflagNonblock) != 0, written);
  output_bytes_ += *written;
  if (e != Errno::kSuccess) return e;
  return over ? FailOutputLimit() : Errno::kSuccess;
}

HostImpl::Errno HostImpl::ChargeGrowth(const FdEntry& entry, std::uint64_t end,
                                       std::uint64_t* size_before) {
  struct stat st;
  if (::fstat(entry.host.get(), &st) != 0) return LastErrno();
  *size_before = static_cast<std::uint64_t>(st.st_size);
  const std::uint64_t growth = end > *size_before ? end - *size_before : 0;
  return storage_.Allows(growth) ? Errno::kSuccess : FailStorageLimit(growth);
}

void HostImpl::RecordGrowth(const FdEntry& entry, std::uint64_t size_before) {
  struct stat st;
  if (::fstat(entry.host.get(), &st) == 0) {
    storage_.Record(size_before, static_cast<std::uint64_t>(st.st_size));
  }
}

bool HostImpl::InodeOpen(const struct stat& st) const {
  bool open = false;
  fds_.ForEach([&](const FdEntry& e) {
    open = open || (e.counts_storage && e.dev == st.st_dev && e.ino == st.st_ino);
  });
  return open;
}

void HostImpl::Release(FdEntry entry) {
  struct stat st;
  if (entry.counts_storage && ::fstat(entry.host.get(), &st) == 0 && st.st_nlink == 0 &&
      !InodeOpen(st)) {
    storage_.Release(static_cast<std::uint64_t>(st.st_size));
  }
  // `entry` goes out of scope here: an owned host fd is closed.
}

void HostImpl::StoreFilestat(std::uint32_t buf, const struct stat& st, abi::Filetype type) const {
  namespace L = abi::layout;
  std::memset(mem_.Bytes(buf, L::kFilestatSize)->data(), 0, L::kFilestatSize);
  mem_.StoreUnchecked<std::uint64_t>(buf + L::kFilestatDev, st.st_dev);
  mem_.StoreUnchecked<std::uint64_t>(buf + L::kFilestatIno, st.st_ino);
  mem_.StoreUnchecked<std::uint8_t>(buf + L::kFilestatFiletype, static_cast<std::uint8_t>(type));
  mem_.StoreUnchecked<std::uint64_t>(buf + L::kFilestatNlink, st.st_nlink);
  mem_.StoreUnchecked<std::uint64_t>(buf + L::kFilestatFileSize,
                                     static_cast<std::uint64_t>(st.st_size));
  mem_.StoreUnchecked<std::uint64_t>(buf + L::kFilestatAtim, ToNanos(st.st_atim));
  mem_.StoreUnchecked<std::uint64_t>(buf + L::kFilestatMtim, ToNanos(st.st_mtim));
  mem_.StoreUnchecked<std::uint64_t>(buf + L::kFilestatCtim, ToNanos(st.st_ctim));
}

// ---- reading and writing ---------------------------------------------------------------------

HostImpl::Errno HostImpl::FdRead(std::uint32_t fd, std::uint32_t iovs, std::uint32_t iovs_len,
                                 std::uint32_t nread_ptr) {
  FdEntry* e = fds_.Get(fd);
  if (e == nullptr) return Errno::kBadf;
  if (e->kind == FdKind::kDirectory) return Errno::kIsdir;
  if (!e->Has(rights::kFdRead)) return Errno::kNotcapable;
  ELASTOS_WASI_TRY(GatherIovecs(iovs, iovs_len));
  if (!mem_.Contains(nread_ptr, 4)) return Errno::kFault;
  std::size_t n = 0;
  if (e->kind == FdKind::kStream) {
    ELASTOS_WASI_TRY(ReadStream(e->host.get(), iov_, (e->fdflags & abi::kFdflagNonblock) != 0, &n));
  } else {
    const ssize_t r = RetryOnEintr(
        [&] { return ::readv(e->host.get(), iov_.data(), static_cast<int>(iov_.size())); });
    if (r < 0) return LastErrno();
    n = static_cast<std::size_t>(r);
  }
  mem_.StoreUnchecked<std::uint32_t>(nread_ptr, static_cast<std::uint32_t>(n));
  return Errno::kSuccess;
}

// Writes to stdout/stderr count toward the output limit; writes to files under /data toward the
// storage limit, checked before anything is written (a write that would pass it writes nothing).
HostImpl::Errno HostImpl::FdWrite(std::uint32_t fd, std::uint32_t iovs, std::uint32_t iovs_len,
                                  std::uint32_t nwritten_ptr) {
  FdEntry* e = fds_.Get(fd);
  if (e == nullptr) return Errno::kBadf;
  if (e->kind == FdKind::kDirectory) return Errno::kIsdir;
  if (!e->Has(rights::kFdWrite)) return Errno::kNotcapable;
  ELASTOS_WASI_TRY(GatherIovecs(iovs, iovs_len));
  if (!mem_.Contains(nwritten_ptr, 4)) return Errno::kFault;
  std::size_t n = 0;
  if (e->counts_output) {
    ELASTOS_WASI_TRY(WriteCountedOutput(*e, &n));
  } else if (e->kind == FdKind::kStream) {
    ELASTOS_WASI_TRY(
        WriteStream(e->host.get(), iov_, (e->fdflags & abi::kFdflagNonblock) != 0, &n));
  } else {
    std::uint64_t size_before = 0;
    if (e->counts_storage) {
      struct stat st;
      if (::fstat(e->host.get(), &st) != 0) return LastErrno();
      const off_t position =
          (e->fdflags & abi::kFdflagAppend) ? st.st_size : ::lseek(e->host.get(), 0, SEEK_CUR);
      if (position < 0) return LastErrno();
      std::uint64_t end;
      if (!AddOffsets(static_cast<std::uint64_t>(position), Total(iov_), &end)) {
        return Errno::kFbig;
      }
      ELASTOS_WASI_TRY(ChargeGrowth(*e, end, &size_before));
    }
    const ssize_t r = RetryOnEintr(
        [&] { return ::writev(e->host.get(), iov_.data(), static_cast<int>(iov_.size())); });
    if (e->counts_storage) RecordGrowth(*e, size_before);
    if (r < 0) return LastErrno();
    n = static_cast<std::size_t>(r);
  }
  mem_.StoreUnchecked<std::uint32_t>(nwritten_ptr, static_cast<std::uint32_t>(n));
  return Errno::kSuccess;
}

HostImpl::Errno HostImpl::FdPread(std::uint32_t fd, std::uint32_t iovs, std::uint32_t iovs_len,
                                  std::uint64_t offset, std::uint32_t nread_ptr) {
  FdEntry* e = fds_.Get(fd);
  if (e == nullptr) return Errno::kBadf;
  if (e->kind == FdKind::kStream) return Errno::kSpipe;
  if (e->kind == FdKind::kDirectory) return Errno::kIsdir;
  if (!e->Has(rights::kFdRead | rights::kFdSeek)) return Errno::kNotcapable;
  if (offset > kMaxOffset) return Errno::kInval;
  ELASTOS_WASI_TRY(GatherIovecs(iovs, iovs_len));
  if (!mem_.Contains(nread_ptr, 4)) return Errno::kFault;
  const ssize_t r = RetryOnEintr([&] {
    return ::preadv(e->host.get(), iov_.data(), static_cast<int>(iov_.size()),
                    static_cast<off_t>(offset));
  });
  if (r < 0) return LastErrno();
  mem_.StoreUnchecked<std::uint32_t>(nread_ptr, static_cast<std::uint32_t>(r));
  return Errno::kSuccess;
}

// POSIX pwrite writes at `offset` even on an APPEND descriptor (Linux pwrite would append);
// RWF_NOAPPEND gives the POSIX behaviour, with an fcntl round trip for kernels before 6.9.
HostImpl::Errno HostImpl::FdPwrite(std::uint32_t fd, std::uint32_t iovs, std::uint32_t iovs_len,
                                   std::uint64_t offset, std::uint32_t nwritten_ptr) {
  FdEntry* e = fds_.Get(fd);
  if (e == nullptr) return Errno::kBadf;
  if (e->kind == FdKind::kStream) return Errno::kSpipe;
  if (e->kind == FdKind::kDirectory) return Errno::kIsdir;
  if (!e->Has(rights::kFdWrite | rights::kFdSeek)) return Errno::kNotcapable;
  if (offset > kMaxOffset) return Errno::kInval;
  ELASTOS_WASI_TRY(GatherIovecs(iovs, iovs_len));
  if (!mem_.Contains(nwritten_ptr, 4)) return Errno::kFault;
  std::uint64_t size_before = 0;
  if (e->counts_storage) {
    std::uint64_t end;
    if (!AddOffsets(offset, Total(iov_), &end)) return Errno::kFbig;
    ELASTOS_WASI_TRY(ChargeGrowth(*e, end, &size_before));
  }
  const int host = e->host.get();
  const bool append = (e->fdflags & abi::kFdflagAppend) != 0;
  auto pwrite_at = [&](int flags) {
    return RetryOnEintr([&] {
      return ::pwritev2(host, iov_.data(), static_cast<int>(iov_.size()),
                        static_cast<off_t>(offset), flags);
    });
  };
  ssize_t r = pwrite_at(append ? RWF_NOAPPEND : 0);
  if (r < 0 && append && (errno == EOPNOTSUPP || errno == EINVAL)) {
    // The description is private to the guest (owned), so clearing O_APPEND briefly is safe.
    const int fl = ::fcntl(host, F_GETFL);
    if (fl >= 0 && ::fcntl(host, F_SETFL, fl & ~O_APPEND) == 0) {
      r = pwrite_at(0);
      const int saved = errno;
      ::fcntl(host, F_SETFL, fl);
      errno = saved;
    }
  }
  if (e->counts_storage) RecordGrowth(*e, size_before);
  if (r < 0) return LastErrno();
  mem_.StoreUnchecked<std::uint32_t>(nwritten_ptr, static_cast<std::uint32_t>(r));
  return Errno::kSuccess;
}

// ---- position --------------------------------------------------------------------------------

// Streams answer ESPIPE before any rights check: it is what libc expects from lseek on a pipe
// or tty (stdio buffering probes it), and no right would make it succeed.
HostImpl::Errno HostImpl::FdSeek(std::uint32_t fd, std::uint64_t offset, std::uint32_t whence,
                                 std::uint32_t newoffset_ptr) {
  FdEntry* e = fds_.Get(fd);
  if (e == nullptr) return Errno::kBadf;
  if (e->kind == FdKind::kStream) return Errno::kSpipe;
  // Reading the position needs only FD_TELL (spec: offset 0 from CUR).
  const bool tell_only = offset == 0 && whence == abi::kWhenceCur;
  if (!e->Has(rights::kFdSeek) && !(tell_only && e->Has(rights::kFdTell))) {
    return Errno::kNotcapable;
  }
  int host_whence;
  switch (whence) {
    case abi::kWhenceSet:
      host_whence = SEEK_SET;
      break;
    case abi::kWhenceCur:
      host_whence = SEEK_CUR;
      break;
    case abi::kWhenceEnd:
      host_whence = SEEK_END;
      break;
    default:
      return Errno::kInval;
  }
  if (!mem_.Contains(newoffset_ptr, 8)) return Errno::kFault;
  // The offset is a signed filedelta; reinterpreting the u64 is the two's complement value.
  const off_t result = ::lseek(e->host.get(), static_cast<off_t>(offset), host_whence);
  if (result < 0) return LastErrno();
  mem_.StoreUnchecked<std::uint64_t>(newoffset_ptr, static_cast<std::uint64_t>(result));
  return Errno::kSuccess;
}

HostImpl::Errno HostImpl::FdTell(std::uint32_t fd, std::uint32_t offset_ptr) {
  FdEntry* e = fds_.Get(fd);
  if (e == nullptr) return Errno::kBadf;
  if (e->kind == FdKind::kStream) return Errno::kSpipe;
  if (!e->Has(rights::kFdTell)) return Errno::kNotcapable;
  if (!mem_.Contains(offset_ptr, 8)) return Errno::kFault;
  const off_t result = ::lseek(e->host.get(), 0, SEEK_CUR);
  if (result < 0) return LastErrno();
  mem_.StoreUnchecked<std::uint64_t>(offset_ptr, static_cast<std::uint64_t>(result));
  return Errno::kSuccess;
}

// ---- descriptor state ------------------------------------------------------------------------

HostImpl::Errno HostImpl::FdFdstatGet(std::uint32_t fd, std::uint32_t buf) {
  namespace L = abi::layout;
  FdEntry* e = fds_.Get(fd);
  if (e == nullptr) return Errno::kBadf;
  if (!mem_.Contains(buf, L::kFdstatSize)) return Errno::kFault;
  std::memset(mem_.Bytes(buf, L::kFdstatSize)->data(), 0, L::kFdstatSize);
  mem_.StoreUnchecked<std::uint8_t>(buf + L::kFdstatFiletype,
                                    static_cast<std::uint8_t>(e->filetype));
  mem_.StoreUnchecked<std::uint16_t>(buf + L::kFdstatFlags, e->fdflags);
  mem_.StoreUnchecked<std::uint64_t>(buf + L::kFdstatRightsBase, e->rights_base);
  mem_.StoreUnchecked<std::uint64_t>(buf + L::kFdstatRightsInheriting, e->rights_inheriting);
  return Errno::kSuccess;
}

// APPEND and NONBLOCK can change; the sync flags are fixed at open (Linux cannot change them on
// an open description), so passing them back unchanged is accepted and changing them is EINVAL.
HostImpl::Errno HostImpl::FdFdstatSetFlags(std::uint32_t fd, std::uint32_t flags) {
  constexpr std::uint16_t kSyncFlags = abi::kFdflagDsync | abi::kFdflagRsync | abi::kFdflagSync;
  FdEntry* e;
  ELASTOS_WASI_TRY(FindWithRights(fd, rights::kFdFdstatSetFlags, &e));
  if (flags & ~std::uint32_t{abi::kFdflagsAll}) return Errno::kInval;
  if ((flags & kSyncFlags) != (e->fdflags & kSyncFlags)) return Errno::kInval;
  if (e->host.owned()) {
    const int fl = ::fcntl(e->host.get(), F_GETFL);
    if (fl < 0) return LastErrno();
    int want = fl & ~(O_APPEND | O_NONBLOCK);
    if (flags & abi::kFdflagAppend) want |= O_APPEND;
    if (flags & abi::kFdflagNonblock) want |= O_NONBLOCK;
    if (::fcntl(e->host.get(), F_SETFL, want) != 0) return LastErrno();
  }
  e->fdflags = static_cast<std::uint16_t>(flags);
  return Errno::kSuccess;
}

// Rights can only be dropped, never added back (Zircon handle semantics).
HostImpl::Errno HostImpl::FdFdstatSetRights(std::uint32_t fd, std::uint64_t base,
                                            std::uint64_t inheriting) {
  FdEntry* e = fds_.Get(fd);
  if (e == nullptr) return Errno::kBadf;
  if ((base & ~e->rights_base) != 0 || (inheriting & ~e->rights_inheriting) != 0) {
    return Errno::kNotcapable;
  }
  e->rights_base = base;
  e->rights_inheriting = inheriting;
  return Errno::kSuccess;
}

HostImpl::Errno HostImpl::FdClose(std::uint32_t fd) {
  // Any fd may be closed, the /data preopen included (as in wasmtime): the guest then has lost
  // its own access to /data, and nothing else.
  std::optional<FdEntry> entry = fds_.Take(fd);
  if (!entry) return Errno::kBadf;
  Release(std::move(*entry));
  return Errno::kSuccess;
}

// Both numbers must be open (as in wasmtime); what was at `to` is closed.
HostImpl::Errno HostImpl::FdRenumber(std::uint32_t from, std::uint32_t to) {
  if (fds_.Get(from) == nullptr || fds_.Get(to) == nullptr) return Errno::kBadf;
  if (from == to) return Errno::kSuccess;
  Release(std::move(*fds_.Take(to)));
  fds_.Move(from, to);
  return Errno::kSuccess;
}

HostImpl::Errno HostImpl::FdSync(std::uint32_t fd, bool data_only) {
  FdEntry* e;
  ELASTOS_WASI_TRY(FindWithRights(fd, data_only ? rights::kFdDatasync : rights::kFdSync, &e));
  const int r = data_only ? ::fdatasync(e->host.get()) : ::fsync(e->host.get());
  return r == 0 ? Errno::kSuccess : LastErrno();
}

HostImpl::Errno HostImpl::FdAdvise(std::uint32_t fd, std::uint64_t offset, std::uint64_t len,
                                   std::uint32_t advice) {
  FdEntry* e = fds_.Get(fd);
  if (e == nullptr) return Errno::kBadf;
  if (e->kind == FdKind::kStream) return Errno::kSpipe;
  if (!e->Has(rights::kFdAdvise)) return Errno::kNotcapable;
  // WASI's advice values 0-5 are POSIX_FADV_NORMAL … POSIX_FADV_NOREUSE, but Linux numbers them
  // differently, so map them by name.
  static constexpr int kHostAdvice[] = {POSIX_FADV_NORMAL,   POSIX_FADV_SEQUENTIAL,
                                        POSIX_FADV_RANDOM,   POSIX_FADV_WILLNEED,
                                        POSIX_FADV_DONTNEED, POSIX_FADV_NOREUSE};
  if (advice > abi::kAdviceNoreuse || offset > kMaxOffset || len > kMaxOffset) {
    return Errno::kInval;
  }
  const int err = ::posix_fadvise(e->host.get(), static_cast<off_t>(offset),
                                  static_cast<off_t>(len), kHostAdvice[advice]);
  return abi::FromHostErrno(err);
}

HostImpl::Errno HostImpl::FdAllocate(std::uint32_t fd, std::uint64_t offset, std::uint64_t len) {
  FdEntry* e = fds_.Get(fd);
  if (e == nullptr) return Errno::kBadf;
  if (e->kind == FdKind::kStream) return Errno::kSpipe;
  if (e->kind == FdKind::kDirectory) return Errno::kIsdir;
  if (!e->Has(rights::kFdAllocate)) return Errno::kNotcapable;
  if (len == 0) return Errno::kInval;
  std::uint64_t end;
  if (!AddOffsets(offset, len, &end)) return Errno::kFbig;
  std::uint64_t size_before = 0;
  if (e->counts_storage) ELASTOS_WASI_TRY(ChargeGrowth(*e, end, &size_before));
  const int err =
      ::posix_fallocate(e->host.get(), static_cast<off_t>(offset), static_cast<off_t>(len));
  if (e->counts_storage) RecordGrowth(*e, size_before);
  return abi::FromHostErrno(err);
}

// ---- metadata --------------------------------------------------------------------------------

HostImpl::Errno HostImpl::FdFilestatGet(std::uint32_t fd, std::uint32_t buf) {
  FdEntry* e;
  ELASTOS_WASI_TRY(FindWithRights(fd, rights::kFdFilestatGet, &e));
  if (!mem_.Contains(buf, abi::layout::kFilestatSize)) return Errno::kFault;
  struct stat st;
  if (::fstat(e->host.get(), &st) != 0) return LastErrno();
  // The entry's type, so fd_filestat_get and fd_fdstat_get agree on stdio.
  StoreFilestat(buf, st, e->filetype);
  return Errno::kSuccess;
}

HostImpl::Errno HostImpl::FdFilestatSetSize(std::uint32_t fd, std::uint64_t size) {
  FdEntry* e = fds_.Get(fd);
  if (e == nullptr) return Errno::kBadf;
  if (e->kind == FdKind::kDirectory) return Errno::kIsdir;
  if (e->kind == FdKind::kStream) return Errno::kInval;
  if (!e->Has(rights::kFdFilestatSetSize)) return Errno::kNotcapable;
  if (size > kMaxOffset) return Errno::kInval;
  std::uint64_t size_before = 0;
  if (e->counts_storage) ELASTOS_WASI_TRY(ChargeGrowth(*e, size, &size_before));
  const int r = ::ftruncate(e->host.get(), static_cast<off_t>(size));
  const int err = errno;
  if (e->counts_storage) RecordGrowth(*e, size_before);
  return r == 0 ? Errno::kSuccess : abi::FromHostErrno(err);
}

HostImpl::Errno HostImpl::FdFilestatSetTimes(std::uint32_t fd, std::uint64_t atim,
                                             std::uint64_t mtim, std::uint32_t fst_flags) {
  FdEntry* e;
  ELASTOS_WASI_TRY(FindWithRights(fd, rights::kFdFilestatSetTimes, &e));
  struct timespec times[2];
  ELASTOS_WASI_TRY(TimesToSet(atim, mtim, fst_flags, times));
  return ::futimens(e->host.get(), times) == 0 ? Errno::kSuccess : LastErrno();
}

// ---- preopens --------------------------------------------------------------------------------

HostImpl::Errno HostImpl::FdPrestatGet(std::uint32_t fd, std::uint32_t buf) {
  namespace L = abi::layout;
  FdEntry* e = fds_.Get(fd);
  // EBADF for every fd that is not a preopen: wasi-libc scans up from fd 3 and stops there.
  if (e == nullptr || e->preopen_name.empty()) return Errno::kBadf;
  if (!mem_.Contains(buf, L::kPrestatSize)) return Errno::kFault;
  std::memset(mem_.Bytes(buf, L::kPrestatSize)->data(), 0, L::kPrestatSize);
  mem_.StoreUnchecked<std::uint8_t>(buf, abi::kPreopentypeDir);
  mem_.StoreUnchecked<std::uint32_t>(buf + L::kPrestatNameLen,
                                     static_cast<std::uint32_t>(e->preopen_name.size()));
  return Errno::kSuccess;
}

HostImpl::Errno HostImpl::FdPrestatDirName(std::uint32_t fd, std::uint32_t path,
                                           std::uint32_t path_len) {
  FdEntry* e = fds_.Get(fd);
  if (e == nullptr || e->preopen_name.empty()) return Errno::kBadf;
  if (path_len < e->preopen_name.size()) return Errno::kNametoolong;
  std::optional<std::span<std::uint8_t>> dest = mem_.Bytes(path, e->preopen_name.size());
  if (!dest) return Errno::kFault;
  // No NUL: the guest knows the length from fd_prestat_get.
  std::memcpy(dest->data(), e->preopen_name.data(), dest->size());
  return Errno::kSuccess;
}

// ---- directories -----------------------------------------------------------------------------

// Cookies are the kernel's own directory offsets (getdents64 d_off, what telldir returns): 0 is
// the start, each entry's d_next is the offset of the one after it, and a call seeks to its
// cookie first, so any cookie from an earlier call resumes exactly there. "." and ".." are listed
// as the kernel returns them (as wasmtime does). When an entry does not fit, the bytes that do
// are written and bufused = buf_len, which tells wasi-libc to retry with a larger buffer.
HostImpl::Errno HostImpl::FdReaddir(std::uint32_t fd, std::uint32_t buf, std::uint32_t buf_len,
                                    std::uint64_t cookie, std::uint32_t bufused_ptr) {
  FdEntry* e = fds_.Get(fd);
  if (e == nullptr) return Errno::kBadf;
  if (e->kind != FdKind::kDirectory) return Errno::kNotdir;
  if (!e->Has(rights::kFdReaddir)) return Errno::kNotcapable;
  if (cookie > kMaxOffset) return Errno::kInval;
  std::optional<std::span<std::uint8_t>> out = mem_.Bytes(buf, buf_len);
  if (!out || !mem_.Contains(bufused_ptr, 4)) return Errno::kFault;
  const int host = e->host.get();
  if (::lseek(host, static_cast<off_t>(cookie), SEEK_SET) < 0) return LastErrno();

  constexpr std::size_t kBatchBytes = 16 * 1024;
  dirents_.resize(kBatchBytes);
  std::size_t used = 0;
  while (used < out->size()) {
    const long n = ::syscall(SYS_getdents64, host, dirents_.data(), dirents_.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      return LastErrno();
    }
    if (n == 0) break;  // end of directory
    for (long at = 0; at < n && used < out->size();) {
      const auto* d = reinterpret_cast<const struct dirent64*>(dirents_.data() + at);
      at += d->d_reclen;
      used += AppendDirent(host, *d, out->subspan(used));
    }
  }
  mem_.StoreUnchecked<std::uint32_t>(bufused_ptr, static_cast<std::uint32_t>(used));
  return Errno::kSuccess;
}

}  // namespace elastos::compute::wasi
