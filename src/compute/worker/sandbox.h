// What `elastos-worker` does to itself before the guest runs, so that a guest that escapes the
// engine (a WABT or wasm2c bug, a WASI host bug) still holds almost nothing: no inherited fds, no
// new processes, no network, no files outside its data directory, a bounded share of memory and
// CPU, and a watchdog that ends the run when a time limit passes.
//
// The order is part of the design, and the worker follows it:
//   1. CloseInheritedFds    — before the WASI host opens its own fds (it reopens /data), so only
//   the
//                             fds the worker names survive.
//   2. ApplySandbox         — memory (cgroup v2, else RLIMIT_AS), rlimits, not dumpable, Landlock;
//                             then `start_threads` (the watchdog, the CPU timer): after Landlock,
//                             whose domain new threads inherit, and before seccomp, which forbids
//                             clone; then no_new_privs + the seccomp allowlist on every thread
//                             (seccomp_policy.cc: what it allows and why, compiled at build time).
// The time limits (StartCpuLimit, Watchdog) also apply without the sandbox (--no-sandbox).
//
// Thread-safety: call everything from the main thread, once per process. The interrupt flag and
// the watchdog are process-global because a worker runs exactly one guest.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "common/status.h"
#include "compute/engine.h"

namespace elastos::compute::sandbox {

// Closes every fd but 0, 1, 2 and `keep` (negative entries are ignored).
Status CloseInheritedFds(std::span<const int> keep);

struct SandboxConfig {
  // What the guest may use: its linear memory plus what the engine allocates for it. The cgroup's
  // memory.max, or the part of RLIMIT_AS beyond what is mapped now.
  std::uint64_t memory_limit_bytes = 0;
  // Address space the engine will reserve without using it (wasm2c maps 8 GiB of PROT_NONE per
  // memory); only RLIMIT_AS counts it.
  std::uint64_t address_space_reserve_bytes = 0;
  // RLIMIT_FSIZE: a backstop of the storage limit the WASI host enforces; UINT64_MAX = none.
  std::uint64_t file_size_limit_bytes = UINT64_MAX;
  // The guest's data directory, the only part of the filesystem it may reach after Landlock
  // (-1 = none at all).
  int data_dir_fd = -1;
  // Tests only: the directory of "our" cgroup v2 (instead of finding it in /proc/self).
  std::optional<std::string> cgroup_dir_for_test;
};

struct SandboxReport {
  std::string memory_enforcement;  // "cgroup" or "rlimit_as"
  std::string cgroup_path;         // set with "cgroup": the directory the worker moved into
  bool landlock = false;           // false on a kernel without Landlock
};

// Step 2 of the file comment. Fails (and the worker refuses to run the guest) when a protection
// that should be available cannot be applied; a missing optional one (cgroup v2 delegation,
// Landlock) falls back and says so in the report.
Result<SandboxReport> ApplySandbox(const SandboxConfig& config,
                                   const std::function<Status()>& start_threads);

// ---- Memory: cgroup v2 ----

// The cgroup v2 path of this process ("/a/b") from /proc/self/cgroup, if it has one.
std::optional<std::string> CgroupV2Path(std::string_view proc_self_cgroup);
// The directory of cgroup `path` on the cgroup2 mount described by /proc/self/mountinfo.
std::optional<std::string> CgroupV2Dir(std::string_view mountinfo, std::string_view path);
// Creates `<cgroup_dir>/elastos-worker-<pid>`, moves this process into it and sets memory.max to
// `limit_bytes` and memory.swap.max to 0. Unavailable if `cgroup_dir` lacks a delegated, writable
// memory controller (the caller then falls back to RLIMIT_AS). Returns the new directory.
Result<std::string> EnterMemoryCgroup(const std::string& cgroup_dir, std::uint64_t limit_bytes);

// ---- Time limits ----

// RLIMIT_CPU (whole seconds: soft = ceil(cpu_ms / 1000) sends SIGXCPU, hard = soft + 1 is the
// kernel's SIGKILL backstop) plus a timer on the process CPU clock for millisecond precision.
// Either signal requests an InterruptReason::kCpu and wakes the watchdog. Counts the worker's CPU
// time from its start.
Status StartCpuLimit(std::uint64_t cpu_ms);

// A thread that requests InterruptReason::kWall at `wall_deadline`, and — whatever the reason —
// calls `on_stuck` if the guest has not stopped `grace` after an interrupt (it may be blocked in a
// host call, or an AOT object without interrupt checks may be spinning). `on_stuck` runs on the
// watchdog thread and must not return: it reports the limit and _exits.
struct WatchdogOptions {
  std::optional<std::chrono::steady_clock::time_point> wall_deadline;
  std::chrono::milliseconds grace{200};
  void (*on_stuck)(InterruptReason reason, void* context) = nullptr;
  void* context = nullptr;
};
Status StartWatchdog(const WatchdogOptions& options);

}  // namespace elastos::compute::sandbox
