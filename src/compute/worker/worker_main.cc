// elastos-worker: runs one capsule instance (one WASM guest) in this process and reports how it
// ended. The runtime starts it with fork+exec, a WorkerSpec as argv (worker_protocol.h) and the
// guest's stdio as fds 0-2.
//
//   parse argv → load the engine (read + validate the .wasm, or dlopen the AOT object) → open /data
//   → close inherited fds → create the WASI host → sandbox + time limits → run → report → _exit.
//
// Startup is on the hot path of every capsule run (target: exec to the guest's first output in
// about a millisecond for a cached AOT object), so nothing here has a static initialiser that
// does work, and the worker uses raw syscalls rather than iostreams or a logger. stdout and stderr
// belong to the guest: the worker itself writes to stderr only when it cannot report otherwise.
#include <fcntl.h>
#include <malloc.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstring>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "compute/engine.h"
#include "compute/wasi/wasi.h"
#include "compute/worker/sandbox.h"
#include "compute/worker/worker_protocol.h"

namespace elastos::compute {
namespace {

constexpr std::uint64_t kMaxModuleBytes = 256ull << 20;
constexpr std::uint64_t kPageBytes = 65536;
// What the engine allocates for a guest beyond its linear memory (interpreter stacks, tables, the
// WASI host's buffers), added to the cap when the spec gives no explicit memory limit.
constexpr std::uint64_t kEngineOverheadBytes = 32ull << 20;
// wasm2c 1.0.32 (WASM_RT_MEMCHECK_GUARD_PAGES) reserves 8 GiB of PROT_NONE address space per
// memory at instantiation; RLIMIT_AS must leave room for it.
constexpr std::uint64_t kAotReservationBytes = 8ull << 30;
// How long after an interrupt the watchdog waits for the engine to stop before it reports for it.
constexpr std::chrono::milliseconds kInterruptGrace{200};
constexpr std::uint64_t kMaxWallMs = 365ull * 24 * 3600 * 1000;

// What the report says besides the outcome. Shared with the watchdog thread, which may report
// first (a guest stuck in a host call), hence the mutex; `claimed` makes the report exactly once.
struct ReportState {
  std::mutex mu;
  bool claimed = false;
  int fd = -1;
  std::chrono::steady_clock::time_point started;
  std::string tier;
  std::string memory_enforcement;
  std::string cgroup_path;
  std::string filesystem_enforcement;
};
ReportState g_report;

void WriteAll(int fd, const std::string& text) {
  std::size_t done = 0;
  while (done < text.size()) {
    const ssize_t n = ::write(fd, text.data() + done, text.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return;  // the launcher went away: nothing left to tell
    done += static_cast<std::size_t>(n);
  }
}

// Writes the report (once: whichever thread comes first) and ends the process with the outcome's
// exit code. _exit: no destructors or atexit handlers run after the guest (they could block on
// locks the guest's thread holds, and cost time).
[[noreturn]] void Finish(Outcome outcome, const Engine* engine, const wasi::Host* host) {
  std::unique_lock<std::mutex> lock(g_report.mu);
  if (g_report.claimed) {
    // The other thread is reporting and will _exit. (sleep, not pause: nanosleep is in the
    // seccomp allowlist, pause is not.)
    lock.unlock();
    for (;;) ::sleep(1000);
  }
  g_report.claimed = true;
  // The report's vocabulary, whichever engine ran: an exit always says "exited".
  if (outcome.kind == OutcomeKind::kExited && outcome.reason.empty()) outcome.reason = "exited";
  if (outcome.kind == OutcomeKind::kExited && outcome.message.empty()) {
    outcome.message = "the guest exited with code " + std::to_string(outcome.exit_code);
  }
  if (outcome.kind == OutcomeKind::kExited && ExitCodeFor(outcome) != outcome.exit_code) {
    outcome.message += "; exit status 125 stands for its code " +
                       std::to_string(outcome.exit_code) +
                       " (only 0-123 pass through; 124-126 mean limit, refused, trap)";
  }
  if (g_report.fd >= 0) {
    WorkerReport report;
    report.outcome = outcome;
    report.tier = g_report.tier;
    report.memory_enforcement = g_report.memory_enforcement;
    report.cgroup_path = g_report.cgroup_path;
    report.filesystem_enforcement = g_report.filesystem_enforcement;
    if (engine != nullptr) {
      report.memory_pages = engine->memory_pages();
      report.fuel_used = engine->fuel_used();
    }
    if (host != nullptr) report.output_bytes = host->output_bytes();
    report.wall_us =
        static_cast<std::uint64_t>(std::chrono::duration_cast<std::chrono::microseconds>(
                                       std::chrono::steady_clock::now() - g_report.started)
                                       .count());
    WriteAll(g_report.fd, FormatReport(report));
  } else if (outcome.kind == OutcomeKind::kRefused) {
    // No report channel: stderr is the only way left to say why nothing ran.
    WriteAll(2, "elastos-worker: " + outcome.message + " (" + outcome.reason + ")\n");
  }
  ::_exit(ExitCodeFor(outcome));
}

[[noreturn]] void Refuse(const Status& status) {
  Outcome outcome;
  outcome.kind = OutcomeKind::kRefused;
  outcome.reason = status.reason();
  outcome.message = status.message();
  Finish(std::move(outcome), nullptr, nullptr);
}

// The watchdog's last resort (sandbox.h): the engine did not stop after an interrupt.
void OnStuck(InterruptReason reason, void*) {
  Outcome outcome;
  outcome.kind = OutcomeKind::kLimit;
  const bool cpu = reason == InterruptReason::kCpu;
  outcome.reason = cpu ? "cpu_limit" : "wall_limit";
  outcome.message = std::string(cpu ? "the guest used up its CPU time; raise resource_limits.cpu_ms"
                                    : "the guest ran past its wall-clock limit; raise "
                                      "resource_limits.wall_ms") +
                    " (it did not stop at the interrupt, so the worker ended it)";
  // The engine and host belong to the guest's thread, which is still running: report without
  // their counters rather than read them mid-call.
  Finish(std::move(outcome), nullptr, nullptr);
}

// The report fd, when argv is too broken to parse: the launcher still gets a report if it named
// one.
int FindReportFd(int argc, char** argv) {
  for (int i = 1; i + 1 < argc; ++i) {
    if (std::strcmp(argv[i], "--") == 0) break;
    if (std::strcmp(argv[i], "--report-fd") == 0) {
      char* end = nullptr;
      const long fd = std::strtol(argv[i + 1], &end, 10);
      if (end != argv[i + 1] && *end == '\0' && fd >= 3 && fd <= INT32_MAX) {
        return static_cast<int>(fd);
      }
    }
  }
  return -1;
}

Result<std::vector<std::uint8_t>> ReadModule(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    return NotFound("module_unreadable",
                    "cannot open the module " + path + ": " + std::strerror(errno));
  }
  struct stat st;
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    ::close(fd);
    return InvalidArgument("module_unreadable", path + " is not a regular file");
  }
  if (static_cast<std::uint64_t>(st.st_size) > kMaxModuleBytes) {
    ::close(fd);
    return InvalidArgument("module_too_large", "the module " + path + " is " +
                                                   std::to_string(st.st_size >> 20) +
                                                   " MiB; the limit is 256 MiB");
  }
  std::vector<std::uint8_t> bytes(static_cast<std::size_t>(st.st_size));
  std::size_t done = 0;
  while (done < bytes.size()) {
    const ssize_t n = ::read(fd, bytes.data() + done, bytes.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      const int err = n < 0 ? errno : EIO;
      ::close(fd);
      return IoError("read " + path, err);
    }
    done += static_cast<std::size_t>(n);
  }
  ::close(fd);
  return bytes;
}

Result<std::unique_ptr<Engine>> LoadEngine(const WorkerSpec& spec) {
  EngineOptions options;
  options.max_memory_pages = spec.max_memory_pages;
  options.fuel = spec.fuel;
  if (spec.aot_path) {
#ifdef ELASTOS_WORKER_HAS_AOT
    // No silent fallback to the interpreter: the launcher chose the tier and must learn why it
    // failed (a stale or corrupt cache entry).
    return LoadAot(*spec.aot_path, options);
#else
    return Unavailable("aot_unavailable",
                       "this elastos-worker was built without the AOT engine (elastos_aot_engine)");
#endif
  }
  ELASTOS_ASSIGN_OR_RETURN(std::vector<std::uint8_t> wasm, ReadModule(spec.module_path));
  return LoadInterpreter(wasm.data(), wasm.size(), options);
}

// RLIMIT_FSIZE backs up the storage limit, but it limits every file the worker writes, stdout and
// stderr included when they are redirected to files that may already be large: leave room for
// the output limit past their current size, or set no limit when output is unlimited.
std::uint64_t FileSizeLimit(const WorkerSpec& spec) {
  std::uint64_t limit = spec.storage_limit_bytes;
  if (limit == UINT64_MAX) return limit;
  for (int fd : {1, 2}) {
    struct stat st;
    if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) continue;
    if (spec.output_limit_bytes == UINT64_MAX) return UINT64_MAX;
    const std::uint64_t size = static_cast<std::uint64_t>(st.st_size);
    const std::uint64_t need =
        size > UINT64_MAX - spec.output_limit_bytes ? UINT64_MAX : size + spec.output_limit_bytes;
    limit = std::max(limit, need);
  }
  return limit;
}

[[noreturn]] void Main(int argc, char** argv) {
  g_report.started = std::chrono::steady_clock::now();
  // One malloc arena: a second one (first malloc on another thread) would reserve 64 MiB of
  // address space that RLIMIT_AS must then allow for.
  ::mallopt(M_ARENA_MAX, 1);
  // A reader that closes the guest's stdout must give the guest EPIPE, not kill the worker before
  // it reports.
  ::signal(SIGPIPE, SIG_IGN);
  // Threat: with a stdio fd missing, the next file the worker opens (the module, /data) would take
  // its number and the guest's "stdout" would be that file. Fill the gaps with /dev/null.
  for (int fd = 0; fd <= 2; ++fd) {
    if (::fcntl(fd, F_GETFD) < 0 && errno == EBADF) {
      if (::open("/dev/null", O_RDWR) != fd) ::_exit(125);
    }
  }

  g_report.fd = FindReportFd(argc, argv);
  Result<WorkerSpec> parsed = ParseWorkerArgv(argc, argv);
  if (!parsed.ok()) {
    WriteAll(2, "elastos-worker: " + parsed.status().message() + "\n");
    Refuse(parsed.status());
  }
  const WorkerSpec& spec = *parsed;
  g_report.fd = spec.report_fd;
  g_report.tier = spec.aot_path ? "aot" : "interp";

  Result<std::unique_ptr<Engine>> engine = LoadEngine(spec);
  if (!engine.ok()) Refuse(engine.status());
  g_report.tier = std::string((*engine)->tier());

  int data_dir = -1;
  if (spec.data_dir) {
    data_dir = ::open(spec.data_dir->c_str(), O_DIRECTORY | O_RDONLY | O_CLOEXEC);
    if (data_dir < 0) {
      Refuse(FailedPrecondition(
          "data_dir_unavailable",
          "cannot open the data directory " + *spec.data_dir + ": " + std::strerror(errno)));
    }
  }
  if (spec.sandbox) {
    // Threat: fds the launcher leaked (its database, sockets, the user's other files) would be
    // reachable by a guest that escapes the engine.
    const int keep[] = {data_dir, spec.carrier_in_fd, spec.carrier_out_fd, spec.report_fd};
    Status closed = sandbox::CloseInheritedFds(keep);
    if (!closed.ok()) Refuse(closed);
  }

  wasi::HostConfig config;
  config.args = spec.args;
  config.env = spec.env;  // only what the spec names: the runtime's own environment stays here
  if (data_dir >= 0) {
    // The host owns its copy; ours stays open for Landlock.
    config.data_dir_fd = ::fcntl(data_dir, F_DUPFD_CLOEXEC, 3);
    if (config.data_dir_fd < 0) Refuse(IoError("dup data dir", errno));
  }
  config.carrier_in_fd = spec.carrier_in_fd;
  config.carrier_out_fd = spec.carrier_out_fd;
  config.output_limit_bytes = spec.output_limit_bytes;
  config.storage_limit_bytes = spec.storage_limit_bytes;
  Result<std::unique_ptr<wasi::Host>> host = wasi::Host::Create(std::move(config));
  if (!host.ok()) Refuse(host.status());

  auto start_limits = [&spec]() -> Status {
    if (spec.cpu_ms) ELASTOS_RETURN_IF_ERROR(sandbox::StartCpuLimit(*spec.cpu_ms));
    if (!spec.wall_ms && !spec.cpu_ms) return OkStatus();
    sandbox::WatchdogOptions watchdog;
    if (spec.wall_ms) {
      // Clamped so the deadline cannot overflow the clock; a year is "unlimited" for a worker.
      const auto ms = std::min<std::uint64_t>(*spec.wall_ms, kMaxWallMs);
      watchdog.wall_deadline = g_report.started + std::chrono::milliseconds(ms);
    }
    watchdog.grace = kInterruptGrace;
    watchdog.on_stuck = OnStuck;
    return sandbox::StartWatchdog(watchdog);
  };
  if (spec.sandbox) {
    sandbox::SandboxConfig sandbox_config;
    sandbox_config.memory_limit_bytes =
        spec.memory_limit_bytes != 0
            ? spec.memory_limit_bytes
            : std::uint64_t{spec.max_memory_pages} * kPageBytes + kEngineOverheadBytes;
    sandbox_config.address_space_reserve_bytes = spec.aot_path ? kAotReservationBytes : 0;
    sandbox_config.file_size_limit_bytes = FileSizeLimit(spec);
    sandbox_config.data_dir_fd = data_dir;
    Result<sandbox::SandboxReport> applied = sandbox::ApplySandbox(sandbox_config, start_limits);
    if (!applied.ok()) {
      Refuse(Internal("sandbox_failed",
                      "the worker could not sandbox itself: " + applied.status().message()));
    }
    std::lock_guard<std::mutex> lock(g_report.mu);
    g_report.memory_enforcement = applied->memory_enforcement;
    g_report.cgroup_path = applied->cgroup_path;
    g_report.filesystem_enforcement = applied->landlock ? "landlock" : "none";
  } else {
    Status started = start_limits();
    if (!started.ok()) Refuse(started);
    std::lock_guard<std::mutex> lock(g_report.mu);
    g_report.memory_enforcement = "none";
    g_report.filesystem_enforcement = "none";
  }
  if (data_dir >= 0) ::close(data_dir);

  Outcome outcome = (*engine)->Run(**host);
  Finish(std::move(outcome), engine->get(), host->get());
}

}  // namespace
}  // namespace elastos::compute

int main(int argc, char** argv) { elastos::compute::Main(argc, argv); }
