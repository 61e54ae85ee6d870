// The WASI preview1 host: the 46 functions of `wasi_snapshot_preview1`, independent of the engine
// that runs the guest. Both tiers (the WABT interpreter and wasm2c objects) bind every import of
// that module to Host::Call; the host reads and writes guest memory only through the bounds-checked
// view the engine passes on each call.
//
// Sandbox: the only host directory a guest can reach is its preopened data directory (guest path
// "/data"); every path is resolved beneath it with openat2(RESOLVE_BENEATH|RESOLVE_NO_MAGICLINKS).
// Guest fds 0-2 are the worker's stdio; guest fd 3 is /data (wasi-libc discovers preopens by
// scanning upwards from fd 3 and stops at the first fd that is not one, so the preopen must come
// first); the runtime carrier follows at guest fds 4 (responses in) and 5 (requests out), named to
// the guest by ELASTOS_CARRIER_FDS.
//
// Errno choices other components rely on (docs/wasi.md has the full list): a path that leaves
// /data (absolute, "..", or a symlink pointing out) is ENOTCAPABLE (76); the write that passes the
// output limit is EFBIG (22) and the one that would pass the storage limit ENOSPC (51), both
// ending the run; a blocking call that sees a pending interrupt returns EINTR (27).
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"

namespace elastos::compute::wasi {

// Every function of wasi_snapshot_preview1, in the order of the WASI specification's witx.
enum class Function : std::uint8_t {
  kArgsGet, kArgsSizesGet, kEnvironGet, kEnvironSizesGet, kClockResGet, kClockTimeGet,
  kFdAdvise, kFdAllocate, kFdClose, kFdDatasync, kFdFdstatGet, kFdFdstatSetFlags,
  kFdFdstatSetRights, kFdFilestatGet, kFdFilestatSetSize, kFdFilestatSetTimes, kFdPread,
  kFdPrestatGet, kFdPrestatDirName, kFdPwrite, kFdRead, kFdReaddir, kFdRenumber, kFdSeek,
  kFdSync, kFdTell, kFdWrite, kPathCreateDirectory, kPathFilestatGet, kPathFilestatSetTimes,
  kPathLink, kPathOpen, kPathReadlink, kPathRemoveDirectory, kPathRename, kPathSymlink,
  kPathUnlinkFile, kPollOneoff, kProcExit, kProcRaise, kSchedYield, kRandomGet, kSockAccept,
  kSockRecv, kSockSend, kSockShutdown,
};
inline constexpr int kFunctionCount = 46;

// The core-wasm signature of an import: `params` has one letter per parameter, 'i' for i32 and
// 'I' for i64; every function returns an i32 errno except proc_exit, which returns nothing.
struct FunctionInfo {
  std::string_view name;  // "fd_write"
  Function function;
  std::string_view params;  // "iiii"
  bool returns_errno;
};

// The table of all 46 functions, in enum order.
const FunctionInfo (&Functions())[kFunctionCount];
// The function a `wasi_snapshot_preview1` import names, or nullptr if there is none of that name.
const FunctionInfo* Lookup(std::string_view name);

// The guest's linear memory as it is at the moment of a call (it can move when the guest grows it).
struct Memory {
  std::uint8_t* data = nullptr;
  std::uint64_t size = 0;
};

struct HostConfig {
  std::vector<std::string> args;  // argv, argv[0] included
  std::vector<std::string> env;   // "KEY=VALUE"
  // Worker fds that become guest fds 0, 1 and 2.
  int stdin_fd = 0, stdout_fd = 1, stderr_fd = 2;
  // Worker fd of the directory preopened as guest "/data" (guest fd 3), or -1 for none. The host
  // takes ownership.
  int data_dir_fd = -1;
  // Worker fds of the carrier (guest fd 4 reads responses, guest fd 5 writes requests), or -1.
  int carrier_in_fd = -1, carrier_out_fd = -1;
  // Bytes the guest may write to fds 1 and 2 together; past it the call fails and the run ends
  // with resource_exhausted/output_limit. The write that crosses it still delivers the bytes up
  // to the limit, then fails with EFBIG.
  std::uint64_t output_limit_bytes = UINT64_MAX;
  // Bytes /data may hold (existing content counts); a write that would pass it fails with ENOSPC
  // and the run ends with resource_exhausted/storage_limit. Counted as the st_size of regular
  // files; measured at Create (which fails, failed_precondition/data_dir_unmeasurable, if the
  // tree cannot be walked) unless the limit is UINT64_MAX.
  std::uint64_t storage_limit_bytes = UINT64_MAX;
};

// Thread-safety: a Host is used by the one thread that runs the guest; its methods must not be
// called concurrently. (The interrupt flag it polls is the only state shared with other threads.)
class Host {
 public:
  static Result<std::unique_ptr<Host>> Create(HostConfig config);
  virtual ~Host() = default;

  // Runs `fn` with the raw core-wasm arguments (i32 values zero-extended) and returns the WASI errno
  // (0 = success). Every guest pointer is checked against `memory`; an out-of-range one gives
  // EFAULT, never a host fault. `args` may be null for sched_yield (no parameters). Once
  // finished(), every call returns ECANCELED (11) and does nothing.
  virtual std::uint32_t Call(Function fn, const std::uint64_t* args, Memory memory) = 0;

  // After proc_exit (or a fatal limit) the engine must stop the guest at once (unwind/trap) and
  // not call into it again.
  virtual bool finished() const = 0;
  // The code given to proc_exit (meaningful when finished() and fatal() is OK).
  virtual std::uint32_t exit_code() const = 0;
  // A limit the host enforced that ends the run (resource_exhausted with reason output_limit or
  // storage_limit); OK otherwise.
  virtual const Status& fatal() const = 0;
  // Bytes written to fds 1 and 2.
  virtual std::uint64_t output_bytes() const = 0;
};

}  // namespace elastos::compute::wasi
