// HostImpl: the concrete WASI preview1 host behind wasi::Host. Its member functions are spread
// over wasi.cc (dispatch, args/environ, clocks, random, process, sockets), wasi_fd.cc (fd_*),
// wasi_path.cc (path_*) and wasi_poll.cc (poll_oneoff).
//
// Every function follows the same order of checks, so the errno a guest sees is predictable:
// the descriptor (EBADF), its type (ENOTDIR/ESPIPE/EISDIR), its rights (ENOTCAPABLE), the flag
// and enum arguments (EINVAL), then guest memory (EFAULT) — all before any host side effect, so
// a failing call changes nothing.
//
// Private to compute/wasi. Thread-safety: none; one guest thread calls it.
#pragma once

#include <sys/stat.h>
#include <sys/uio.h>

#include <cstdint>
#include <string>
#include <vector>

#include "common/status.h"
#include "compute/wasi/abi.h"
#include "compute/wasi/fd_table.h"
#include "compute/wasi/guest_memory.h"
#include "compute/wasi/storage_meter.h"
#include "compute/wasi/wasi.h"

namespace elastos::compute::wasi {

// Evaluates an expression yielding abi::Errno and returns it from the enclosing function unless
// it is kSuccess.
#define ELASTOS_WASI_TRY(expr)                                           \
  do {                                                                   \
    if (const ::elastos::compute::wasi::abi::Errno wasi_errno_ = (expr); \
        wasi_errno_ != ::elastos::compute::wasi::abi::Errno::kSuccess) { \
      return wasi_errno_;                                                \
    }                                                                    \
  } while (0)

// Caps on what one call may make the host do, whatever the guest asks.
inline constexpr std::uint32_t kMaxIovecs = 1024;         // IOV_MAX; more is EINVAL
inline constexpr std::uint32_t kMaxSubscriptions = 4096;  // poll_oneoff; more is EINVAL
inline constexpr std::uint32_t kMaxPathBytes = 4095;      // PATH_MAX less the NUL; ENAMETOOLONG

// The WASI filetype of a host st_mode.
abi::Filetype FiletypeOf(mode_t mode);
// Nanoseconds since the epoch of a host timestamp (0 for times before it).
std::uint64_t ToNanos(const struct timespec& ts);
// The utimensat times for a *_set_times call; EINVAL for unknown fst_flags bits or a time given
// both explicitly and as "now".
abi::Errno TimesToSet(std::uint64_t atim, std::uint64_t mtim, std::uint32_t fst_flags,
                      struct timespec times[2]);

// A path split for the calls that act on a name rather than open it (mkdir, unlink, rename, …):
// the directory holding the final component, opened beneath the guest's directory fd, and that
// component, to which the caller applies one *at call that does not follow symlinks.
struct ParentDir {
  HostFd dir;                   // O_PATH descriptor
  std::string leaf;             // the final component: no '/', never empty (may be "." or "..")
  bool trailing_slash = false;  // the guest's path ended in '/': the leaf must be a directory
};

class HostImpl final : public Host {
 public:
  HostImpl(HostConfig config, FdTable fds, StorageMeter storage);

  std::uint32_t Call(Function fn, const std::uint64_t* args, Memory memory) override;
  bool finished() const override { return finished_; }
  std::uint32_t exit_code() const override { return exit_code_; }
  const Status& fatal() const override { return fatal_; }
  std::uint64_t output_bytes() const override { return output_bytes_; }

 private:
  using Errno = abi::Errno;

  Errno Dispatch(Function fn, const std::uint64_t* args);

  // wasi.cc
  Errno StringsSizesGet(const std::vector<std::string>& strings, std::uint32_t count_ptr,
                        std::uint32_t size_ptr);
  Errno StringsGet(const std::vector<std::string>& strings, std::uint32_t ptrs_ptr,
                   std::uint32_t buf_ptr);
  Errno ClockResGet(std::uint32_t id, std::uint32_t res_ptr);
  Errno ClockTimeGet(std::uint32_t id, std::uint64_t precision, std::uint32_t time_ptr);
  Errno RandomGet(std::uint32_t buf, std::uint32_t len);
  Errno ProcExit(std::uint32_t code);
  Errno SockOnNonSocket(std::uint32_t fd);

  // wasi_fd.cc
  Errno FdAdvise(std::uint32_t fd, std::uint64_t offset, std::uint64_t len, std::uint32_t advice);
  Errno FdAllocate(std::uint32_t fd, std::uint64_t offset, std::uint64_t len);
  Errno FdClose(std::uint32_t fd);
  Errno FdSync(std::uint32_t fd, bool data_only);
  Errno FdFdstatGet(std::uint32_t fd, std::uint32_t buf);
  Errno FdFdstatSetFlags(std::uint32_t fd, std::uint32_t flags);
  Errno FdFdstatSetRights(std::uint32_t fd, std::uint64_t base, std::uint64_t inheriting);
  Errno FdFilestatGet(std::uint32_t fd, std::uint32_t buf);
  Errno FdFilestatSetSize(std::uint32_t fd, std::uint64_t size);
  Errno FdFilestatSetTimes(std::uint32_t fd, std::uint64_t atim, std::uint64_t mtim,
                           std::uint32_t fst_flags);
  Errno FdPread(std::uint32_t fd, std::uint32_t iovs, std::uint32_t iovs_len, std::uint64_t offset,
                std::uint32_t nread_ptr);
  Errno FdPrestatGet(std::uint32_t fd, std::uint32_t buf);
  Errno FdPrestatDirName(std::uint32_t fd, std::uint32_t path, std::uint32_t path_len);
  Errno FdPwrite(std::uint32_t fd, std::uint32_t iovs, std::uint32_t iovs_len, std::uint64_t offset,
                 std::uint32_t nwritten_ptr);
  Errno FdRead(std::uint32_t fd, std::uint32_t iovs, std::uint32_t iovs_len,
               std::uint32_t nread_ptr);
  Errno FdReaddir(std::uint32_t fd, std::uint32_t buf, std::uint32_t buf_len, std::uint64_t cookie,
                  std::uint32_t bufused_ptr);
  Errno FdRenumber(std::uint32_t from, std::uint32_t to);
  Errno FdSeek(std::uint32_t fd, std::uint64_t offset, std::uint32_t whence,
               std::uint32_t newoffset_ptr);
  Errno FdTell(std::uint32_t fd, std::uint32_t offset_ptr);
  Errno FdWrite(std::uint32_t fd, std::uint32_t iovs, std::uint32_t iovs_len,
                std::uint32_t nwritten_ptr);

  // wasi_path.cc
  Errno PathCreateDirectory(std::uint32_t fd, std::uint32_t path, std::uint32_t path_len);
  Errno PathFilestatGet(std::uint32_t fd, std::uint32_t flags, std::uint32_t path,
                        std::uint32_t path_len, std::uint32_t buf);
  Errno PathFilestatSetTimes(std::uint32_t fd, std::uint32_t flags, std::uint32_t path,
                             std::uint32_t path_len, std::uint64_t atim, std::uint64_t mtim,
                             std::uint32_t fst_flags);
  Errno PathLink(std::uint32_t old_fd, std::uint32_t old_flags, std::uint32_t old_path,
                 std::uint32_t old_path_len, std::uint32_t new_fd, std::uint32_t new_path,
                 std::uint32_t new_path_len);
  Errno PathOpen(std::uint32_t fd, std::uint32_t dirflags, std::uint32_t path,
                 std::uint32_t path_len, std::uint32_t oflags, std::uint64_t rights_base,
                 std::uint64_t rights_inheriting, std::uint32_t fdflags, std::uint32_t fd_ptr);
  Errno PathReadlink(std::uint32_t fd, std::uint32_t path, std::uint32_t path_len,
                     std::uint32_t buf, std::uint32_t buf_len, std::uint32_t bufused_ptr);
  Errno PathRemoveDirectory(std::uint32_t fd, std::uint32_t path, std::uint32_t path_len);
  Errno PathRename(std::uint32_t fd, std::uint32_t old_path, std::uint32_t old_path_len,
                   std::uint32_t new_fd, std::uint32_t new_path, std::uint32_t new_path_len);
  Errno PathSymlink(std::uint32_t old_path, std::uint32_t old_path_len, std::uint32_t fd,
                    std::uint32_t new_path, std::uint32_t new_path_len);
  Errno PathUnlinkFile(std::uint32_t fd, std::uint32_t path, std::uint32_t path_len);

  // wasi_poll.cc
  Errno PollOneoff(std::uint32_t in, std::uint32_t out, std::uint32_t nsubscriptions,
                   std::uint32_t nevents_ptr);

  // Shared helpers (wasi_fd.cc).
  // The open entry at `fd` holding all of `rights`: EBADF if none, ENOTCAPABLE without them.
  Errno FindWithRights(std::uint32_t fd, std::uint64_t rights, FdEntry** entry);
  // Reads the guest's iovec array into iov_ (bounds-checked pointers into guest memory).
  // EINVAL for more than kMaxIovecs, EFAULT for any entry or buffer outside memory.
  Errno GatherIovecs(std::uint32_t iovs, std::uint32_t iovs_len);
  // Writes iov_ to a stdio entry within the output limit (see FdWrite).
  Errno WriteCountedOutput(FdEntry& entry, std::size_t* written);
  // Checks that a regular file may grow to `end` bytes; ENOSPC and a fatal storage_limit if not.
  // `size_before` receives the current size for RecordGrowth.
  Errno ChargeGrowth(const FdEntry& entry, std::uint64_t end, std::uint64_t* size_before);
  // Records the size change of a counted file after a write, allocate or truncate.
  void RecordGrowth(const FdEntry& entry, std::uint64_t size_before);
  // Drops an entry taken out of the table; a file the guest unlinked while it was open frees
  // its bytes now (if no other guest fd still has it open).
  void Release(FdEntry entry);
  // True if an open guest fd refers to the file `st` describes.
  bool InodeOpen(const struct stat& st) const;
  // Writes a 64-byte filestat at `buf` (already checked to lie in memory).
  void StoreFilestat(std::uint32_t buf, const struct stat& st, abi::Filetype type) const;
  // Ends the run: output/storage limit reached.
  Errno FailOutputLimit();
  Errno FailStorageLimit(std::uint64_t growth);

  // Shared path helpers (wasi_path.cc).
  // The directory entry a path_* call starts from: EBADF, ENOTDIR, ENOTCAPABLE.
  Errno DirectoryFor(std::uint32_t fd, std::uint64_t rights, FdEntry** entry);
  // Copies a guest path (see wasi_path.cc for what is refused).
  Errno ReadPath(std::uint32_t ptr, std::uint32_t len, std::string* path);
  // Opens the parent of `path` beneath `dir_fd`; the caller applies an *at call to the leaf.
  Errno OpenParent(int dir_fd, const std::string& path, ParentDir* parent);

  HostConfig config_;
  FdTable fds_;
  StorageMeter storage_;
  GuestMemory mem_{Memory{}};      // valid during one Call
  std::vector<struct iovec> iov_;  // scratch for GatherIovecs
  std::vector<char> dirents_;      // scratch for getdents64
  bool finished_ = false;
  std::uint32_t exit_code_ = 0;
  Status fatal_;
  std::uint64_t output_bytes_ = 0;
};

}  // namespace elastos::compute::wasi
