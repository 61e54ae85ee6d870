// The function table, Host::Create, the dispatcher, and the functions that touch no descriptor:
// args/environ, clocks, random, process and sockets.
#include "compute/wasi/wasi.h"

#include <fcntl.h>
#include <sched.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <limits>
#include <memory>
#include <utility>

#include "compute/wasi/host_impl.h"
#include "compute/wasi/stream_io.h"

namespace elastos::compute::wasi {
namespace {

using abi::Errno;

constexpr FunctionInfo kFunctions[kFunctionCount] = {
    {"args_get", Function::kArgsGet, "ii", true},
    {"args_sizes_get", Function::kArgsSizesGet, "ii", true},
    {"environ_get", Function::kEnvironGet, "ii", true},
    {"environ_sizes_get", Function::kEnvironSizesGet, "ii", true},
    {"clock_res_get", Function::kClockResGet, "ii", true},
    {"clock_time_get", Function::kClockTimeGet, "iIi", true},
    {"fd_advise", Function::kFdAdvise, "iIIi", true},
    {"fd_allocate", Function::kFdAllocate, "iII", true},
    {"fd_close", Function::kFdClose, "i", true},
    {"fd_datasync", Function::kFdDatasync, "i", true},
    {"fd_fdstat_get", Function::kFdFdstatGet, "ii", true},
    {"fd_fdstat_set_flags", Function::kFdFdstatSetFlags, "ii", true},
    {"fd_fdstat_set_rights", Function::kFdFdstatSetRights, "iII", true},
    {"fd_filestat_get", Function::kFdFilestatGet, "ii", true},
    {"fd_filestat_set_size", Function::kFdFilestatSetSize, "iI", true},
    {"fd_filestat_set_times", Function::kFdFilestatSetTimes, "iIIi", true},
    {"fd_pread", Function::kFdPread, "iiiIi", true},
    {"fd_prestat_get", Function::kFdPrestatGet, "ii", true},
    {"fd_prestat_dir_name", Function::kFdPrestatDirName, "iii", true},
    {"fd_pwrite", Function::kFdPwrite, "iiiIi", true},
    {"fd_read", Function::kFdRead, "iiii", true},
    {"fd_readdir", Function::kFdReaddir, "iiiIi", true},
    {"fd_renumber", Function::kFdRenumber, "ii", true},
    {"fd_seek", Function::kFdSeek, "iIii", true},
    {"fd_sync", Function::kFdSync, "i", true},
    {"fd_tell", Function::kFdTell, "ii", true},
    {"fd_write", Function::kFdWrite, "iiii", true},
    {"path_create_directory", Function::kPathCreateDirectory, "iii", true},
    {"path_filestat_get", Function::kPathFilestatGet, "iiiii", true},
    {"path_filestat_set_times", Function::kPathFilestatSetTimes, "iiiiIIi", true},
    {"path_link", Function::kPathLink, "iiiiiii", true},
    {"path_open", Function::kPathOpen, "iiiiiIIii", true},
    {"path_readlink", Function::kPathReadlink, "iiiiii", true},
    {"path_remove_directory", Function::kPathRemoveDirectory, "iii", true},
    {"path_rename", Function::kPathRename, "iiiiii", true},
    {"path_symlink", Function::kPathSymlink, "iiiii", true},
    {"path_unlink_file", Function::kPathUnlinkFile, "iii", true},
    {"poll_oneoff", Function::kPollOneoff, "iiii", true},
    {"proc_exit", Function::kProcExit, "i", false},
    {"proc_raise", Function::kProcRaise, "i", true},
    {"sched_yield", Function::kSchedYield, "", true},
    {"random_get", Function::kRandomGet, "ii", true},
    {"sock_accept", Function::kSockAccept, "iii", true},
    {"sock_recv", Function::kSockRecv, "iiiiii", true},
    {"sock_send", Function::kSockSend, "iiiii", true},
    {"sock_shutdown", Function::kSockShutdown, "ii", true},
};

constexpr bool TableInEnumOrder() {
  for (int i = 0; i < kFunctionCount; ++i) {
    if (static_cast<int>(kFunctions[i].function) != i) return false;
  }
  return true;
}
static_assert(TableInEnumOrder(), "kFunctions must list the functions in enum order");
static_assert(static_cast<int>(Function::kSockShutdown) == kFunctionCount - 1);

constexpr std::uint64_t kNanosPerSecond = 1'000'000'000;

// The host clock behind a WASI clock id, or false for an id preview1 does not define.
bool HostClock(std::uint32_t id, clockid_t* clock) {
  // clang-format off
  switch (id) {
    case abi::kClockRealtime: *clock = CLOCK_REALTIME; return true;
    case abi::kClockMonotonic: *clock = CLOCK_MONOTONIC; return true;
    case abi::kClockProcessCputime: *clock = CLOCK_PROCESS_CPUTIME_ID; return true;
    case abi::kClockThreadCputime: *clock = CLOCK_THREAD_CPUTIME_ID; return true;
    default: return false;
  }
  // clang-format on
}

// args and env reach the guest as NUL-terminated strings in one buffer whose size is a u32.
Status ValidateStrings(const std::vector<std::string>& strings, std::string_view what) {
  std::uint64_t total = 0;
  for (const std::string& s : strings) {
    if (s.find('\0') != std::string::npos) {
      return InvalidArgument("wasi_bad_" + std::string(what),
                             std::string(what) + " entry contains a NUL byte");
    }
    total += s.size() + 1;
  }
  if (total > std::numeric_limits<std::uint32_t>::max() ||
      strings.size() > std::numeric_limits<std::uint32_t>::max() / 4) {
    return InvalidArgument("wasi_bad_" + std::string(what),
                           std::string(what) + " is larger than a wasm32 guest can address");
  }
  return OkStatus();
}

// Guest fds 0-2 and the carrier: the worker's descriptors, used but not owned.
Result<FdEntry> StreamEntry(int host_fd, std::uint64_t rights, bool counts_output,
                            std::string_view what) {
  struct stat st;
  if (::fstat(host_fd, &st) != 0) {
    return InvalidArgument("wasi_bad_fd", std::string(what) + " fd " + std::to_string(host_fd) +
                                              " is not open: " + std::strerror(errno));
  }
  FdEntry entry;
  entry.host = HostFd(host_fd, /*owned=*/false);
  entry.kind = FdKind::kStream;
  // Only what a guest can act on: a tty is a character device (wasi-libc's isatty() looks for
  // that), a file redirected in is a regular file; pipes and sockets are "unknown" because
  // preview1 has no pipe type and the guest gets no socket API here (sock_* is ENOTSOCK).
  entry.filetype = S_ISCHR(st.st_mode)   ? abi::Filetype::kCharacterDevice
                   : S_ISREG(st.st_mode) ? abi::Filetype::kRegularFile
                                         : abi::Filetype::kUnknown;
  entry.rights_base = rights;
  entry.counts_output = counts_output;
  return entry;
}

// Guest fd 3, "/data". Reopened so the host has a private file description (its own readdir
// offset, O_CLOEXEC) whatever the worker passed, even an O_PATH descriptor.
Result<FdEntry> DataDirEntry(const HostFd& given) {
  const int fd = ::openat(given.get(), ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) {
    return InvalidArgument(
        "wasi_bad_data_dir",
        std::string("the data directory cannot be opened: ") + std::strerror(errno));
  }
  FdEntry entry;
  entry.host = HostFd(fd, /*owned=*/true);
  entry.kind = FdKind::kDirectory;
  entry.filetype = abi::Filetype::kDirectory;
  entry.rights_base = abi::rights::kDirectory;
  entry.rights_inheriting = abi::rights::kDirectoryInheriting;
  entry.preopen_name = "/data";
  return entry;
}

}  // namespace

const FunctionInfo (&Functions())[kFunctionCount] { return kFunctions; }

const FunctionInfo* Lookup(std::string_view name) {
  for (const FunctionInfo& info : kFunctions) {
    if (info.name == name) return &info;
  }
  return nullptr;
}

abi::Filetype FiletypeOf(mode_t mode) {
  if (S_ISREG(mode)) return abi::Filetype::kRegularFile;
  if (S_ISDIR(mode)) return abi::Filetype::kDirectory;
  if (S_ISLNK(mode)) return abi::Filetype::kSymbolicLink;
  if (S_ISCHR(mode)) return abi::Filetype::kCharacterDevice;
  if (S_ISBLK(mode)) return abi::Filetype::kBlockDevice;
  if (S_ISSOCK(mode)) return abi::Filetype::kSocketStream;
  return abi::Filetype::kUnknown;  // FIFOs: preview1 has no type for them
}

std::uint64_t ToNanos(const struct timespec& ts) {
  if (ts.tv_sec < 0) return 0;
  return static_cast<std::uint64_t>(ts.tv_sec) * kNanosPerSecond +
         static_cast<std::uint64_t>(ts.tv_nsec);
}

Result<std::unique_ptr<Host>> Host::Create(HostConfig config) {
  // Owned from here on, so every early return below closes it.
  HostFd data_dir(config.data_dir_fd, /*owned=*/true);
  config.data_dir_fd = -1;
  ELASTOS_RETURN_IF_ERROR(ValidateStrings(config.args, "args"));
  ELASTOS_RETURN_IF_ERROR(ValidateStrings(config.env, "env"));

  FdTable fds;
  struct StreamSlot {
    std::uint32_t guest_fd;
    int host_fd;
    std::uint64_t rights;
    bool counts_output;
    std::string_view what;
  };
  const StreamSlot streams[] = {
      {0, config.stdin_fd, abi::rights::kStreamIn, false, "stdin"},
      {1, config.stdout_fd, abi::rights::kStreamOut, true, "stdout"},
      {2, config.stderr_fd, abi::rights::kStreamOut, true, "stderr"},
      {4, config.carrier_in_fd, abi::rights::kStreamIn, false, "carrier in"},
      {5, config.carrier_out_fd, abi::rights::kStreamOut, false, "carrier out"},
  };
  for (const StreamSlot& slot : streams) {
    if (slot.host_fd < 0) continue;  // absent: the guest fd is EBADF
    ELASTOS_ASSIGN_OR_RETURN(FdEntry entry,
                             StreamEntry(slot.host_fd, slot.rights, slot.counts_output, slot.what));
    fds.Put(slot.guest_fd, std::move(entry));
  }

  std::uint64_t stored = 0;
  if (data_dir.get() >= 0) {
    ELASTOS_ASSIGN_OR_RETURN(FdEntry entry, DataDirEntry(data_dir));
    // Measuring a large /data costs a walk; without a limit there is nothing to measure for.
    if (config.storage_limit_bytes != std::numeric_limits<std::uint64_t>::max()) {
      ELASTOS_ASSIGN_OR_RETURN(stored, MeasureStorage(entry.host.get()));
    }
    fds.Put(3, std::move(entry));
  }
  StorageMeter storage(config.storage_limit_bytes, stored);
  return std::unique_ptr<Host>(new HostImpl(std::move(config), std::move(fds), storage));
}

HostImpl::HostImpl(HostConfig config, FdTable fds, StorageMeter storage)
    : config_(std::move(config)), fds_(std::move(fds)), storage_(storage) {}

std::uint32_t HostImpl::Call(Function fn, const std::uint64_t* args, Memory memory) {
  // The engine must stop the guest once finished() is true; a call that still arrives changes
  // nothing.
  if (finished_) return static_cast<std::uint32_t>(Errno::kCanceled);
  mem_ = GuestMemory(memory);
  return static_cast<std::uint32_t>(Dispatch(fn, args));
}

HostImpl::Errno HostImpl::Dispatch(Function fn, const std::uint64_t* a) {
  // i32 arguments arrive zero-extended; truncating makes that true whatever the engine passed.
  auto i = [a](int k) { return static_cast<std::uint32_t>(a[k]); };
  // clang-format off
  switch (fn) {
    case Function::kArgsGet: return StringsGet(config_.args, i(0), i(1));
    case Function::kArgsSizesGet: return StringsSizesGet(config_.args, i(0), i(1));
    case Function::kEnvironGet: return StringsGet(config_.env, i(0), i(1));
    case Function::kEnvironSizesGet: return StringsSizesGet(config_.env, i(0), i(1));
    case Function::kClockResGet: return ClockResGet(i(0), i(1));
    case Function::kClockTimeGet: return ClockTimeGet(i(0), a[1], i(2));
    case Function::kFdAdvise: return FdAdvise(i(0), a[1], a[2], i(3));
    case Function::kFdAllocate: return FdAllocate(i(0), a[1], a[2]);
    case Function::kFdClose: return FdClose(i(0));
    case Function::kFdDatasync: return FdSync(i(0), /*data_only=*/true);
    case Function::kFdFdstatGet: return FdFdstatGet(i(0), i(1));
    case Function::kFdFdstatSetFlags: return FdFdstatSetFlags(i(0), i(1));
    case Function::kFdFdstatSetRights: return FdFdstatSetRights(i(0), a[1], a[2]);
    case Function::kFdFilestatGet: return FdFilestatGet(i(0), i(1));
    case Function::kFdFilestatSetSize: return FdFilestatSetSize(i(0), a[1]);
    case Function::kFdFilestatSetTimes: return FdFilestatSetTimes(i(0), a[1], a[2], i(3));
    case Function::kFdPread: return FdPread(i(0), i(1), i(2), a[3], i(4));
    case Function::kFdPrestatGet: return FdPrestatGet(i(0), i(1));
    case Function::kFdPrestatDirName: return FdPrestatDirName(i(0), i(1), i(2));
    case Function::kFdPwrite: return FdPwrite(i(0), i(1), i(2), a[3], i(4));
    case Function::kFdRead: return FdRead(i(0), i(1), i(2), i(3));
    case Function::kFdReaddir: return FdReaddir(i(0), i(1), i(2), a[3], i(4));
    case Function::kFdRenumber: return FdRenumber(i(0), i(1));
    case Function::kFdSeek: return FdSeek(i(0), a[1], i(2), i(3));
    case Function::kFdSync: return FdSync(i(0), /*data_only=*/false);
    case Function::kFdTell: return FdTell(i(0), i(1));
    case Function::kFdWrite: return FdWrite(i(0), i(1), i(2), i(3));
    case Function::kPathCreateDirectory: return PathCreateDirectory(i(0), i(1), i(2));
    case Function::kPathFilestatGet: return PathFilestatGet(i(0), i(1), i(2), i(3), i(4));
    case Function::kPathFilestatSetTimes:
      return PathFilestatSetTimes(i(0), i(1), i(2), i(3), a[4], a[5], i(6));
    case Function::kPathLink: return PathLink(i(0), i(1), i(2), i(3), i(4), i(5), i(6));
    case Function::kPathOpen:
      return PathOpen(i(0), i(1), i(2), i(3), i(4), a[5], a[6], i(7), i(8));
    case Function::kPathReadlink: return PathReadlink(i(0), i(1), i(2), i(3), i(4), i(5));
    case Function::kPathRemoveDirectory: return PathRemoveDirectory(i(0), i(1), i(2));
    case Function::kPathRename: return PathRename(i(0), i(1), i(2), i(3), i(4), i(5));
    case Function::kPathSymlink: return PathSymlink(i(0), i(1), i(2), i(3), i(4));
    case Function::kPathUnlinkFile: return PathUnlinkFile(i(0), i(1), i(2));
    case Function::kPollOneoff: return PollOneoff(i(0), i(1), i(2), i(3));
    case Function::kProcExit: return ProcExit(i(0));
    // Deprecated in preview1 and not provided by wasmtime either: a guest cannot signal itself.
    case Function::kProcRaise: return Errno::kNosys;
    case Function::kSchedYield: ::sched_yield(); return Errno::kSuccess;
    case Function::kRandomGet: return RandomGet(i(0), i(1));
    case Function::kSockAccept:
    case Function::kSockRecv:
    case Function::kSockSend:
    case Function::kSockShutdown: return SockOnNonSocket(i(0));
  }
  // clang-format on
  return Errno::kNosys;  // a value outside the enum
}

HostImpl::Errno HostImpl::StringsSizesGet(const std::vector<std::string>& strings,
                                          std::uint32_t count_ptr, std::uint32_t size_ptr) {
  std::uint64_t total = 0;
  for (const std::string& s : strings) total += s.size() + 1;
  if (!mem_.Contains(count_ptr, 4) || !mem_.Contains(size_ptr, 4)) return Errno::kFault;
  mem_.StoreUnchecked<std::uint32_t>(count_ptr, static_cast<std::uint32_t>(strings.size()));
  mem_.StoreUnchecked<std::uint32_t>(size_ptr, static_cast<std::uint32_t>(total));
  return Errno::kSuccess;
}

// The layout wasi-libc expects: `ptrs` gets one u32 guest pointer per string; the strings follow
// each other in `buf`, each NUL-terminated.
HostImpl::Errno HostImpl::StringsGet(const std::vector<std::string>& strings,
                                     std::uint32_t ptrs_ptr, std::uint32_t buf_ptr) {
  std::uint64_t total = 0;
  for (const std::string& s : strings) total += s.size() + 1;
  if (!mem_.Contains(ptrs_ptr, 4ull * strings.size()) || !mem_.Contains(buf_ptr, total)) {
    return Errno::kFault;
  }
  std::uint64_t offset = 0;
  for (std::size_t k = 0; k < strings.size(); ++k) {
    // buf_ptr + total fits the memory, which a wasm32 guest addresses with u32.
    mem_.StoreUnchecked<std::uint32_t>(ptrs_ptr + 4ull * k,
                                       static_cast<std::uint32_t>(buf_ptr + offset));
    std::span<std::uint8_t> dest = *mem_.Bytes(buf_ptr + offset, strings[k].size() + 1);
    std::memcpy(dest.data(), strings[k].c_str(), dest.size());
    offset += dest.size();
  }
  return Errno::kSuccess;
}

HostImpl::Errno HostImpl::ClockResGet(std::uint32_t id, std::uint32_t res_ptr) {
  clockid_t clock;
  if (!HostClock(id, &clock)) return Errno::kInval;
  if (!mem_.Contains(res_ptr, 8)) return Errno::kFault;
  struct timespec ts;
  if (::clock_getres(clock, &ts) != 0) return abi::FromHostErrno(errno);
  mem_.StoreUnchecked<std::uint64_t>(res_ptr, ToNanos(ts));
  return Errno::kSuccess;
}

// `precision` is a hint the host may ignore: every clock is read at its full resolution.
HostImpl::Errno HostImpl::ClockTimeGet(std::uint32_t id, std::uint64_t /*precision*/,
                                       std::uint32_t time_ptr) {
  clockid_t clock;
  if (!HostClock(id, &clock)) return Errno::kInval;
  if (!mem_.Contains(time_ptr, 8)) return Errno::kFault;
  struct timespec ts;
  if (::clock_gettime(clock, &ts) != 0) return abi::FromHostErrno(errno);
  mem_.StoreUnchecked<std::uint64_t>(time_ptr, ToNanos(ts));
  return Errno::kSuccess;
}

// Fills guest memory directly (no host buffer of guest-chosen size), in bounded steps so a huge
// request still notices an interrupt.
HostImpl::Errno HostImpl::RandomGet(std::uint32_t buf, std::uint32_t len) {
  constexpr std::size_t kStep = 1 << 20;
  std::optional<std::span<std::uint8_t>> dest = mem_.Bytes(buf, len);
  if (!dest) return Errno::kFault;
  std::size_t done = 0;
  while (done < dest->size()) {
    if (InterruptPending()) return Errno::kIntr;
    const ssize_t n = ::getrandom(dest->data() + done, std::min(kStep, dest->size() - done), 0);
    if (n < 0) {
      if (errno == EINTR) continue;
      return abi::FromHostErrno(errno);
    }
    done += static_cast<std::size_t>(n);
  }
  return Errno::kSuccess;
}

HostImpl::Errno HostImpl::ProcExit(std::uint32_t code) {
  finished_ = true;
  exit_code_ = code;
  return Errno::kSuccess;
}

// The guest never holds a socket (there is no sock_open in preview1 and no socket is preopened),
// so these answer what wasmtime answers for a descriptor that is not one.
HostImpl::Errno HostImpl::SockOnNonSocket(std::uint32_t fd) {
  return fds_.Get(fd) == nullptr ? Errno::kBadf : Errno::kNotsock;
}

}  // namespace elastos::compute::wasi
