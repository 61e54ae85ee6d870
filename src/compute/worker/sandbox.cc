#include "compute/worker/sandbox.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/filter.h>
#include <linux/landlock.h>
#include <linux/seccomp.h>
#include <pthread.h>
#include <semaphore.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <iterator>
#include <memory>
#include <string>
#include <vector>

namespace elastos::compute::sandbox {
namespace {

// ---- Small file helpers (no iostreams: the worker's startup is on the hot path) ----

Result<std::string> ReadSmallFile(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return IoError("open " + path, errno);
  std::string out;
  char buf[4096];
  for (;;) {
    const ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      const int err = errno;
      ::close(fd);
      return IoError("read " + path, err);
    }
    if (n == 0) break;
    out.append(buf, static_cast<std::size_t>(n));
  }
  ::close(fd);
  return out;
}

// O_CREAT is a no-op on cgroupfs, whose files exist already; it lets the tests point
// EnterMemoryCgroup at a plain directory.
Status WriteSmallFile(const std::string& path, std::string_view text) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
  if (fd < 0) return IoError("open " + path, errno);
  ssize_t n;
  do {
    n = ::write(fd, text.data(), text.size());
  } while (n < 0 && errno == EINTR);
  const int err = errno;
  ::close(fd);
  if (n != static_cast<ssize_t>(text.size())) return IoError("write " + path, n < 0 ? err : EIO);
  return OkStatus();
}

bool HasWord(std::string_view list, std::string_view word) {
  std::size_t at = 0;
  while (at < list.size()) {
    std::size_t end = list.find_first_of(" \n", at);
    if (end == std::string_view::npos) end = list.size();
    if (list.substr(at, end - at) == word) return true;
    at = end + 1;
  }
  return false;
}

// ---- Memory ----

// What the worker maps beyond the guest's memory and the engine's reservation: WABT's value
// stack and tables, the WASI host's buffers, malloc's slack. Measured (VmPeak against VmSize
// before the run, clang-built malloc bomb): interpreter at a 16 MiB cap +2 MiB, at 256 MiB +8 MiB;
// wasm2c +0.5 MiB beyond its 8 GiB reservation. 64 MiB leaves room for deep recursion on WABT's
// value stack.
constexpr std::uint64_t kAddressSpaceHeadroom = 64ull << 20;

Result<std::uint64_t> MappedBytes() {
  ELASTOS_ASSIGN_OR_RETURN(std::string statm, ReadSmallFile("/proc/self/statm"));
  return std::strtoull(statm.c_str(), nullptr, 10) * static_cast<std::uint64_t>(::getpagesize());
}

Status SetLimit(int resource, const char* name, rlim_t soft, rlim_t hard) {
  struct rlimit current;
  if (::getrlimit(resource, &current) != 0) return IoError(std::string("getrlimit ") + name, errno);
  // Only ever lower: an inherited stricter limit stays.
  struct rlimit limit = {std::min(soft, current.rlim_max), std::min(hard, current.rlim_max)};
  limit.rlim_cur = std::min(limit.rlim_cur, limit.rlim_max);
  if (::setrlimit(resource, &limit) != 0) return IoError(std::string("setrlimit ") + name, errno);
  return OkStatus();
}

Result<SandboxReport> EnforceMemory(const SandboxConfig& config) {
  SandboxReport report;
  // Preferred: a cgroup v2 memory.max counts what the worker really uses (resident pages, page
  // cache, kernel memory) and makes the kernel reclaim or OOM-kill this worker alone.
  std::optional<std::string> dir = config.cgroup_dir_for_test;
  if (!dir) {
    auto self = ReadSmallFile("/proc/self/cgroup");
    auto mounts = ReadSmallFile("/proc/self/mountinfo");
    if (self.ok() && mounts.ok()) {
      if (auto path = CgroupV2Path(*self)) dir = CgroupV2Dir(*mounts, *path);
    }
  }
  if (dir) {
    auto entered = EnterMemoryCgroup(*dir, config.memory_limit_bytes);
    if (entered.ok()) {
      report.memory_enforcement = "cgroup";
      report.cgroup_path = *entered;
      return report;
    }
  }
  // Fallback: RLIMIT_AS bounds what the worker can map: what it has mapped now (the loaded
  // module, libraries, the WASI host), the engine's reservation, the guest's memory and a fixed
  // headroom. Coarser than a cgroup (it counts address space, not pages), but it always applies.
  ELASTOS_ASSIGN_OR_RETURN(std::uint64_t mapped, MappedBytes());
  const std::uint64_t limit = mapped + config.address_space_reserve_bytes +
                              config.memory_limit_bytes + kAddressSpaceHeadroom;
  ELASTOS_RETURN_IF_ERROR(SetLimit(RLIMIT_AS, "RLIMIT_AS", limit, limit));
  report.memory_enforcement = "rlimit_as";
  return report;
}

// ---- Filesystem: Landlock ----

#ifndef LANDLOCK_ACCESS_FS_TRUNCATE
#define LANDLOCK_ACCESS_FS_TRUNCATE (1ULL << 14)  // Landlock ABI 3 (Linux 6.2)
#endif
#ifndef LANDLOCK_ACCESS_FS_IOCTL_DEV
#define LANDLOCK_ACCESS_FS_IOCTL_DEV (1ULL << 15)  // Landlock ABI 5 (Linux 6.10)
#endif

// Threat: seccomp cannot look inside openat2's `struct open_how`, so it cannot confine paths; a
// compromised worker (running as the runtime's user, often root) could open any file. Landlock
// confines every later open, rename, link and mkdir to the data directory. Returns false when the
// kernel has no Landlock (the report says so).
Result<bool> RestrictFilesystem(int data_dir_fd) {
  const long abi =
      ::syscall(__NR_landlock_create_ruleset, nullptr, 0, LANDLOCK_CREATE_RULESET_VERSION);
  if (abi < 0) {
    if (errno == ENOSYS || errno == EOPNOTSUPP) return false;
    return IoError("landlock_create_ruleset", errno);
  }
  std::uint64_t handled = (1ULL << 13) - 1;  // ABI 1: EXECUTE … MAKE_SYM
  if (abi >= 2) handled |= LANDLOCK_ACCESS_FS_REFER;
  if (abi >= 3) handled |= LANDLOCK_ACCESS_FS_TRUNCATE;
  if (abi >= 5) handled |= LANDLOCK_ACCESS_FS_IOCTL_DEV;
  struct landlock_ruleset_attr attr = {};
  attr.handled_access_fs = handled;
  const int ruleset =
      static_cast<int>(::syscall(__NR_landlock_create_ruleset, &attr, sizeof attr, 0));
  if (ruleset < 0) return IoError("landlock_create_ruleset", errno);

  Status status;
  if (data_dir_fd >= 0) {
    // What WASI can do under /data; no execute, devices, sockets or fifos.
    struct landlock_path_beneath_attr beneath = {};
    beneath.parent_fd = data_dir_fd;
    beneath.allowed_access =
        handled & (LANDLOCK_ACCESS_FS_WRITE_FILE | LANDLOCK_ACCESS_FS_READ_FILE |
                   LANDLOCK_ACCESS_FS_READ_DIR | LANDLOCK_ACCESS_FS_REMOVE_DIR |
                   LANDLOCK_ACCESS_FS_REMOVE_FILE | LANDLOCK_ACCESS_FS_MAKE_DIR |
                   LANDLOCK_ACCESS_FS_MAKE_REG | LANDLOCK_ACCESS_FS_MAKE_SYM |
                   LANDLOCK_ACCESS_FS_REFER | LANDLOCK_ACCESS_FS_TRUNCATE);
    if (::syscall(__NR_landlock_add_rule, ruleset, LANDLOCK_RULE_PATH_BENEATH, &beneath, 0) != 0) {
      status = IoError("landlock_add_rule", errno);
    }
  }
  // Landlock needs no_new_privs (or CAP_SYS_ADMIN); the worker wants it anyway (see
  // InstallSyscallFilter).
  if (status.ok() && ::prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) {
    status = IoError("prctl(PR_SET_NO_NEW_PRIVS)", errno);
  }
  if (status.ok() && ::syscall(__NR_landlock_restrict_self, ruleset, 0) != 0) {
    status = IoError("landlock_restrict_self", errno);
  }
  ::close(ruleset);
  if (!status.ok()) return status;
  return true;
}

// ---- System calls: seccomp ----

// The allowlist, compiled at build time (seccomp_policy.cc says what it allows and why).
#include "seccomp_filter.inc"

// Threat: a guest that gets native code execution in the worker (through an engine or host bug)
// would otherwise hold every system call of the runtime's user. The allowlist turns any other call
// into the death of the worker (SIGSYS), which the launcher reports.
Status InstallSyscallFilter() {
  // Required for an unprivileged filter, and it keeps setuid binaries inert besides.
  if (::prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) {
    return IoError("prctl(PR_SET_NO_NEW_PRIVS)", errno);
  }
  struct sock_fprog program = {};
  program.len = static_cast<unsigned short>(std::size(kWorkerSeccompFilter));
  program.filter = const_cast<struct sock_filter*>(kWorkerSeccompFilter);
  // TSYNC: the watchdog thread exists already; the filter must cover it too, or a hijacked
  // thread would be an unfiltered one. On failure the call returns the id of the thread that
  // could not be synchronised.
  const long rc =
      ::syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, SECCOMP_FILTER_FLAG_TSYNC, &program);
  if (rc != 0) {
    return rc > 0 ? Internal("seccomp_failed",
                             "thread " + std::to_string(rc) + " could not take the seccomp filter")
                  : IoError("seccomp(SECCOMP_SET_MODE_FILTER)", errno);
  }
  return OkStatus();
}

// ---- Time limits ----

sem_t g_wake;  // posted by the CPU-limit signal handler; the watchdog waits on it
bool g_wake_ready = false;
sem_t g_watchdog_running;  // posted by the watchdog once its thread is fully set up

void OnCpuLimit(int) {
  RequestInterrupt(InterruptReason::kCpu);
  if (__atomic_load_n(&g_wake_ready, __ATOMIC_ACQUIRE)) ::sem_post(&g_wake);  // signal-safe
}

struct timespec ToMonotonic(std::chrono::steady_clock::time_point when) {
  // steady_clock is CLOCK_MONOTONIC on Linux.
  const auto ns =
      std::chrono::duration_cast<std::chrono::nanoseconds>(when.time_since_epoch()).count();
  return {static_cast<time_t>(ns / 1'000'000'000), static_cast<long>(ns % 1'000'000'000)};
}

// Waits for a post or `deadline`; true if posted.
bool WaitUntil(const struct timespec* deadline) {
  for (;;) {
    const int rc =
        deadline ? ::sem_clockwait(&g_wake, CLOCK_MONOTONIC, deadline) : ::sem_wait(&g_wake);
    if (rc == 0) return true;
    if (errno != EINTR) return false;
  }
}

WatchdogOptions g_watchdog;

void* WatchdogMain(void*) {
  ::sem_post(&g_watchdog_running);
  if (g_watchdog.wall_deadline) {
    const struct timespec deadline = ToMonotonic(*g_watchdog.wall_deadline);
    if (!WaitUntil(&deadline)) RequestInterrupt(InterruptReason::kWall);
  } else {
    WaitUntil(nullptr);  // only the CPU limit can wake us
  }
  // An interrupt is pending. The engine polls for it within a fraction of a millisecond; if the
  // run has not ended after the grace period, it never will by itself.
  const struct timespec grace = ToMonotonic(std::chrono::steady_clock::now() + g_watchdog.grace);
  while (WaitUntil(&grace)) {
  }
  g_watchdog.on_stuck(PendingInterrupt(), g_watchdog.context);
  return nullptr;
}

}  // namespace

Status CloseInheritedFds(std::span<const int> keep) {
  std::vector<unsigned> kept;
  for (int fd : keep) {
    if (fd > 2) kept.push_back(static_cast<unsigned>(fd));
  }
  std::sort(kept.begin(), kept.end());
  kept.erase(std::unique(kept.begin(), kept.end()), kept.end());
  kept.push_back(~0u);  // sentinel: close up to the end
  // Closes [first, last]; close_range needs Linux 5.9, older kernels get one close per number up
  // to the fd limit.
  auto close_span = [](unsigned first, unsigned last) -> Status {
    if (::close_range(first, last, 0) == 0) return OkStatus();
    if (errno != ENOSYS) return IoError("close_range", errno);
    struct rlimit limit;
    if (::getrlimit(RLIMIT_NOFILE, &limit) != 0) return IoError("getrlimit(RLIMIT_NOFILE)", errno);
    const rlim_t end =
        std::min<rlim_t>(last, limit.rlim_cur == RLIM_INFINITY ? 1u << 20 : limit.rlim_cur);
    for (rlim_t fd = first; fd <= end; ++fd) ::close(static_cast<int>(fd));
    return OkStatus();
  };
  unsigned next = 3;
  for (unsigned fd : kept) {
    if (fd > next) ELASTOS_RETURN_IF_ERROR(close_span(next, fd - 1));
    if (fd == ~0u) break;
    next = fd + 1;
  }
  return OkStatus();
}

std::optional<std::string> CgroupV2Path(std::string_view proc_self_cgroup) {
  std::size_t at = 0;
  while (at < proc_self_cgroup.size()) {
    std::size_t end = proc_self_cgroup.find('\n', at);
    if (end == std::string_view::npos) end = proc_self_cgroup.size();
    std::string_view line = proc_self_cgroup.substr(at, end - at);
    if (line.substr(0, 3) == "0::" && line.size() > 3 && line[3] == '/') {
      return std::string(line.substr(3));
    }
    at = end + 1;
  }
  return std::nullopt;
}

std::optional<std::string> CgroupV2Dir(std::string_view mountinfo, std::string_view path) {
  // mountinfo: "id parent major:minor root mount_point options [optional...] - fstype source ..."
  std::size_t at = 0;
  while (at < mountinfo.size()) {
    std::size_t end = mountinfo.find('\n', at);
    if (end == std::string_view::npos) end = mountinfo.size();
    std::string_view line = mountinfo.substr(at, end - at);
    at = end + 1;
    const std::size_t dash = line.find(" - ");
    if (dash == std::string_view::npos || line.substr(dash + 3, 8) != "cgroup2 ") continue;
    std::vector<std::string_view> fields;
    for (std::size_t p = 0; p < dash && fields.size() < 5;) {
      std::size_t q = line.find(' ', p);
      if (q == std::string_view::npos || q > dash) q = dash;
      fields.push_back(line.substr(p, q - p));
      p = q + 1;
    }
    if (fields.size() < 5) continue;
    std::string_view root = fields[3], mount_point = fields[4];
    // Mount points with spaces are octal-escaped ("\040"); a cgroup mount never has one.
    if (mount_point.find('\\') != std::string_view::npos) continue;
    if (root == "/") return std::string(mount_point) + (path == "/" ? "" : std::string(path));
    if (path == root) return std::string(mount_point);
    if (path.substr(0, root.size()) == root && path.size() > root.size() &&
        path[root.size()] == '/') {
      return std::string(mount_point) + std::string(path.substr(root.size()));
    }
  }
  return std::nullopt;
}

Result<std::string> EnterMemoryCgroup(const std::string& cgroup_dir, std::uint64_t limit_bytes) {
  auto controllers = ReadSmallFile(cgroup_dir + "/cgroup.controllers");
  if (!controllers.ok() || !HasWord(*controllers, "memory")) {
    return Unavailable("no_memory_cgroup",
                       "the memory controller is not delegated to " + cgroup_dir);
  }
  if (::access(cgroup_dir.c_str(), W_OK) != 0) {
    return Unavailable("no_memory_cgroup", cgroup_dir + " is not writable");
  }
  const std::string pid = std::to_string(::getpid());
  const std::string child = cgroup_dir + "/elastos-worker-" + pid;
  if (::mkdir(child.c_str(), 0755) != 0) {
    // A leftover of an earlier worker with the same pid that nobody removed: it is empty (its
    // process is gone), so it can go.
    if (errno != EEXIST || ::rmdir(child.c_str()) != 0 || ::mkdir(child.c_str(), 0755) != 0) {
      return IoError("mkdir " + child, errno);
    }
  }
  auto undo = [&](Status why) -> Status {
    WriteSmallFile(cgroup_dir + "/cgroup.procs", pid).IgnoreError();
    ::rmdir(child.c_str());
    return why;
  };
  // Into the leaf first: cgroup v2 lets a parent enable controllers for its children only when it
  // has no processes of its own ("no internal processes"), and until now we were one of them.
  Status moved = WriteSmallFile(child + "/cgroup.procs", pid);
  if (!moved.ok()) return undo(moved);
  auto subtree = ReadSmallFile(cgroup_dir + "/cgroup.subtree_control");
  if (!subtree.ok()) return undo(subtree.status());
  if (!HasWord(*subtree, "memory")) {
    Status enabled = WriteSmallFile(cgroup_dir + "/cgroup.subtree_control", "+memory");
    if (!enabled.ok()) return undo(enabled);  // EBUSY: other processes share our cgroup
  }
  Status limited = WriteSmallFile(child + "/memory.max", std::to_string(limit_bytes));
  if (!limited.ok()) return undo(limited);
  // Threat: swap would let the guest use disk as memory past the limit. The file is absent when
  // the kernel does not account swap; then there is nothing to turn off.
  const std::string swap = child + "/memory.swap.max";
  if (::access(swap.c_str(), F_OK) == 0) {
    Status no_swap = WriteSmallFile(swap, "0");
    if (!no_swap.ok()) return undo(no_swap);
  }
  return child;
}

Result<SandboxReport> ApplySandbox(const SandboxConfig& config,
                                   const std::function<Status()>& start_threads) {
  ELASTOS_ASSIGN_OR_RETURN(SandboxReport report, EnforceMemory(config));

  // Threat: a core dump would write the guest's memory (its secrets) to disk, past every limit.
  ELASTOS_RETURN_IF_ERROR(SetLimit(RLIMIT_CORE, "RLIMIT_CORE", 0, 0));
  // Threat: fd exhaustion pins kernel memory; the WASI host needs a few dozen at most.
  ELASTOS_RETURN_IF_ERROR(SetLimit(RLIMIT_NOFILE, "RLIMIT_NOFILE", 256, 256));
  // Backstop of the WASI host's storage accounting: no single file grows past the limit. A write
  // past it fails with EFBIG (SIGXFSZ ignored) rather than killing the worker before it reports.
  if (config.file_size_limit_bytes != UINT64_MAX) {
    ::signal(SIGXFSZ, SIG_IGN);
    ELASTOS_RETURN_IF_ERROR(SetLimit(RLIMIT_FSIZE, "RLIMIT_FSIZE", config.file_size_limit_bytes,
                                     config.file_size_limit_bytes));
  }
  // Threat: other processes of the same user attaching with ptrace or reading /proc/<pid>/mem.
  if (::prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) != 0) return IoError("prctl(PR_SET_DUMPABLE)", errno);

  ELASTOS_ASSIGN_OR_RETURN(report.landlock, RestrictFilesystem(config.data_dir_fd));
  // The only moment threads may start (see sandbox.h).
  if (start_threads) ELASTOS_RETURN_IF_ERROR(start_threads());
  ELASTOS_RETURN_IF_ERROR(InstallSyscallFilter());
  return report;
}

Status StartCpuLimit(std::uint64_t cpu_ms) {
  struct sigaction action = {};
  action.sa_handler = OnCpuLimit;
  action.sa_flags = SA_RESTART;  // host calls in progress continue; the engine checks the flag
  sigemptyset(&action.sa_mask);
  if (::sigaction(SIGXCPU, &action, nullptr) != 0) return IoError("sigaction(SIGXCPU)", errno);

  const rlim_t seconds = static_cast<rlim_t>((cpu_ms + 999) / 1000);
  ELASTOS_RETURN_IF_ERROR(SetLimit(RLIMIT_CPU, "RLIMIT_CPU", seconds, seconds + 1));

  struct sigevent event = {};
  event.sigev_notify = SIGEV_SIGNAL;
  event.sigev_signo = SIGXCPU;
  timer_t timer;
  if (::timer_create(CLOCK_PROCESS_CPUTIME_ID, &event, &timer) != 0) {
    return IoError("timer_create", errno);
  }
  struct itimerspec when = {};
  when.it_value.tv_sec = static_cast<time_t>(cpu_ms / 1000);
  when.it_value.tv_nsec = static_cast<long>(cpu_ms % 1000) * 1'000'000;
  // Absolute on the process CPU clock: counts from the worker's start, like RLIMIT_CPU.
  if (::timer_settime(timer, TIMER_ABSTIME, &when, nullptr) != 0) {
    return IoError("timer_settime", errno);
  }
  return OkStatus();
}

Status StartWatchdog(const WatchdogOptions& options) {
  if (options.on_stuck == nullptr) return Internal("watchdog", "StartWatchdog needs on_stuck");
  g_watchdog = options;
  if (::sem_init(&g_wake, 0, 0) != 0 || ::sem_init(&g_watchdog_running, 0, 0) != 0) {
    return IoError("sem_init", errno);
  }
  __atomic_store_n(&g_wake_ready, true, __ATOMIC_RELEASE);

  pthread_attr_t attr;
  ::pthread_attr_init(&attr);
  // A small stack: it counts against RLIMIT_AS, and the watchdog only waits and formats a report.
  ::pthread_attr_setstacksize(&attr, 256 << 10);
  // No signal is for the watchdog: the CPU-limit signals go to the thread running the guest.
  sigset_t all, previous;
  sigfillset(&all);
  ::pthread_sigmask(SIG_SETMASK, &all, &previous);
  pthread_t thread;
  const int rc = ::pthread_create(&thread, &attr, WatchdogMain, nullptr);
  ::pthread_sigmask(SIG_SETMASK, &previous, nullptr);
  ::pthread_attr_destroy(&attr);
  if (rc != 0) return IoError("pthread_create(watchdog)", rc);
  ::pthread_detach(thread);
  // A new thread makes system calls of its own before it reaches WatchdogMain (set_robust_list,
  // rseq); the seccomp filter that follows must not find it halfway through them.
  while (::sem_wait(&g_watchdog_running) != 0 && errno == EINTR) {
  }
  return OkStatus();
}

}  // namespace elastos::compute::sandbox
