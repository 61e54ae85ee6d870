#include "compute/wasm_provider.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdlib>
#include <fmt/format.h>

#include "compute/worker/worker_protocol.h"

namespace elastos::compute {
namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

// Worker fd numbers of the carrier and report pipes (WorkerSpec names them to the worker).
constexpr int kWorkerCarrierIn = 3;
constexpr int kWorkerCarrierOut = 4;
constexpr int kWorkerReport = 5;
constexpr std::size_t kMaxReportBytes = 64 << 10;

class Fd {
 public:
  Fd() = default;
  explicit Fd(int fd) : fd_(fd) {}
  Fd(Fd&& o) noexcept : fd_(std::exchange(o.fd_, -1)) {}
  Fd& operator=(Fd&& o) noexcept {
    if (this != &o) Reset(std::exchange(o.fd_, -1));
    return *this;
  }
  ~Fd() { Reset(); }
  int get() const { return fd_; }
  void Reset(int fd = -1) {
    if (fd_ >= 0) ::close(fd_);
    fd_ = fd;
  }

 private:
  int fd_ = -1;
};

// A pipe whose child end is moved above the fds posix_spawn will dup2 onto (0-5), so the order of
// the dup2 actions can never clobber a source that is still needed.
struct Pipe {
  Fd read, write;
};
Result<Pipe> MakePipe() {
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) return IoError("pipe2", errno);
  Pipe p{Fd(fds[0]), Fd(fds[1])};
  for (Fd* end : {&p.read, &p.write}) {
    int high = ::fcntl(end->get(), F_DUPFD_CLOEXEC, 16);
    if (high < 0) return IoError("fcntl(F_DUPFD_CLOEXEC)", errno);
    end->Reset(high);
  }
  return p;
}

std::uint64_t Micros(Clock::duration d) {
  return static_cast<std::uint64_t>(std::chrono::duration_cast<std::chrono::microseconds>(d).count());
}

class WasmInstance final : public Instance {
 public:
  WasmInstance(const WasmProviderOptions& options, LaunchConfig config)
      : options_(options), config_(std::move(config)) {}

  ~WasmInstance() override {
    // No capsule outlives its Instance: kill and reap it.
    if (state_ == InstanceState::kRunning) {
      Stop();
      (void)Wait();
    }
  }

  Status Start() override;
  void Stop() override {
    if (state_ != InstanceState::kRunning || pidfd_.get() < 0) return;
    stopped_.store(true);
    ::syscall(SYS_pidfd_send_signal, pidfd_.get(), SIGKILL, nullptr, 0);
  }
  Result<ExitStatus> Wait() override;
  InstanceState state() const override { return state_; }
  ResourceUsage usage() const override { return usage_; }

  int stdin_fd() const override { return stdin_.get(); }
  int stdout_fd() const override { return stdout_.get(); }
  int stderr_fd() const override { return stderr_.get(); }
  int requests_fd() const override { return requests_.get(); }
  int responses_fd() const override { return responses_.get(); }
  void CloseStdin() override { stdin_.Reset(); }

 private:
  WorkerSpec MakeSpec() const;
  ExitStatus Interpret(int wait_status, const std::string& report_line) const;

  const WasmProviderOptions options_;  // a copy: an Instance may outlive its provider
  LaunchConfig config_;
  InstanceState state_ = InstanceState::kLoaded;
  pid_t pid_ = -1;
  Fd pidfd_;
  Fd stdin_, stdout_, stderr_, requests_, responses_, report_;
  Clock::time_point started_;
  std::atomic<bool> stopped_{false};
  bool backstop_fired_ = false;
  ResourceUsage usage_;
};

WorkerSpec WasmInstance::MakeSpec() const {
  WorkerSpec spec;
  spec.module_path = config_.module.string();
  if (config_.aot_object) spec.aot_path = config_.aot_object->string();
  const Limits& l = config_.limits;
  spec.max_memory_pages = l.memory_pages();
  spec.wall_ms = l.wall_ms;
  spec.cpu_ms = l.cpu_ms;
  spec.fuel = l.fuel;
  spec.output_limit_bytes = l.output_mb << 20;
  spec.storage_limit_bytes = l.storage_mb << 20;
  if (config_.data_dir) spec.data_dir = config_.data_dir->string();
  spec.args.push_back(config_.capsule_name);
  spec.args.insert(spec.args.end(), config_.args.begin(), config_.args.end());
  spec.env.push_back("ELASTOS_CAPSULE_NAME=" + config_.capsule_name);
  spec.env.push_back("ELASTOS_CAPSULE_ID=" + config_.instance_id);
  if (config_.carrier) {
    spec.env.push_back("ELASTOS_CARRIER_FDS=4,5");  // guest fds, see compute/wasi/wasi.h
    spec.carrier_in_fd = kWorkerCarrierIn;
    spec.carrier_out_fd = kWorkerCarrierOut;
  }
  spec.env.insert(spec.env.end(), config_.env.begin(), config_.env.end());
  spec.report_fd = kWorkerReport;
  return spec;
}

Status WasmInstance::Start() {
  if (state_ != InstanceState::kLoaded) {
    return FailedPrecondition("instance_started", "the instance was already started");
  }
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  struct ActionsGuard {
    posix_spawn_file_actions_t* a;
    ~ActionsGuard() { posix_spawn_file_actions_destroy(a); }
  } guard{&actions};
  std::vector<Fd> child_ends;  // closed in the parent once the worker has them

  // One stdio stream: the guest's fd `target` (0, 1 or 2).
  auto plan_stdio = [&](const Stdio& s, int target, Fd& host_end) -> Status {
    const bool input = target == 0;
    switch (s.mode) {
      case Stdio::Mode::kInherit:
        return OkStatus();
      case Stdio::Mode::kNull:
        posix_spawn_file_actions_addopen(&actions, target, "/dev/null", input ? O_RDONLY : O_WRONLY, 0);
        return OkStatus();
      case Stdio::Mode::kFile:
        posix_spawn_file_actions_addopen(&actions, target, s.file.c_str(),
                                         input ? O_RDONLY : O_WRONLY | O_CREAT | O_TRUNC, 0644);
        return OkStatus();
      case Stdio::Mode::kPipe: {
        ELASTOS_ASSIGN_OR_RETURN(Pipe p, MakePipe());
        Fd& child = input ? p.read : p.write;
        posix_spawn_file_actions_adddup2(&actions, child.get(), target);
        host_end = std::move(input ? p.write : p.read);
        child_ends.push_back(std::move(child));
        return OkStatus();
      }
    }
    return OkStatus();
  };
  ELASTOS_RETURN_IF_ERROR(plan_stdio(config_.stdin_stream, 0, stdin_));
  ELASTOS_RETURN_IF_ERROR(plan_stdio(config_.stdout_stream, 1, stdout_));
  ELASTOS_RETURN_IF_ERROR(plan_stdio(config_.stderr_stream, 2, stderr_));

  if (config_.carrier) {
    ELASTOS_ASSIGN_OR_RETURN(Pipe responses, MakePipe());
    ELASTOS_ASSIGN_OR_RETURN(Pipe requests, MakePipe());
    posix_spawn_file_actions_adddup2(&actions, responses.read.get(), kWorkerCarrierIn);
    posix_spawn_file_actions_adddup2(&actions, requests.write.get(), kWorkerCarrierOut);
    responses_ = std::move(responses.write);
    requests_ = std::move(requests.read);
    child_ends.push_back(std::move(responses.read));
    child_ends.push_back(std::move(requests.write));
  }
  ELASTOS_ASSIGN_OR_RETURN(Pipe report, MakePipe());
  posix_spawn_file_actions_adddup2(&actions, report.write.get(), kWorkerReport);
  report_ = std::move(report.read);
  child_ends.push_back(std::move(report.write));

  std::vector<std::string> argv_strings = ToArgv(options_.worker.string(), MakeSpec());
  std::vector<char*> argv;
  for (auto& a : argv_strings) argv.push_back(a.data());
  argv.push_back(nullptr);
  // The worker gets no environment of the runtime's: the guest's environment travels in argv,
  // and nothing of the host's (tokens, paths, proxies) leaks into the sandbox.
  char* envp[] = {nullptr};

  started_ = Clock::now();
  int err = ::posix_spawn(&pid_, options_.worker.c_str(), &actions, nullptr, argv.data(), envp);
  if (err != 0) {
    return Unavailable("worker_spawn_failed",
                       fmt::format("cannot start the sandbox worker {}: {} (is elastos-worker installed "
                                   "beside elastos?)",
                                   options_.worker.string(), std::strerror(err)));
  }
  child_ends.clear();
  int pidfd = static_cast<int>(::syscall(SYS_pidfd_open, pid_, 0));
  if (pidfd < 0) {
    int e = errno;
    ::kill(pid_, SIGKILL);
    ::waitpid(pid_, nullptr, 0);
    return IoError("pidfd_open", e);
  }
  pidfd_.Reset(pidfd);
  state_ = InstanceState::kRunning;
  return OkStatus();
}

Result<ExitStatus> WasmInstance::Wait() {
  if (state_ == InstanceState::kLoaded) {
    return FailedPrecondition("instance_not_started", "the instance was never started");
  }
  if (state_ == InstanceState::kExited) {
    return FailedPrecondition("instance_exited", "Wait was already called for this instance");
  }
  const auto deadline = started_ + std::chrono::milliseconds(config_.limits.wall_ms) + options_.backstop_grace;
  for (;;) {
    pollfd p{pidfd_.get(), POLLIN, 0};
    int timeout_ms = -1;
    if (!backstop_fired_) {
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
      timeout_ms = static_cast<int>(std::max<std::int64_t>(0, std::min<std::int64_t>(left, 1 << 30)));
    }
    int n = ::poll(&p, 1, timeout_ms);
    if (n > 0) break;
    if (n < 0 && errno != EINTR) return IoError("poll(pidfd)", errno);
    if (n == 0 && !backstop_fired_) {
      // The worker should have stopped the guest at wall_ms; it did not, so it is no longer
      // trusted to stop at all.
      backstop_fired_ = true;
      ::syscall(SYS_pidfd_send_signal, pidfd_.get(), SIGKILL, nullptr, 0);
    }
  }
  int wait_status = 0;
  rusage ru{};
  while (::wait4(pid_, &wait_status, 0, &ru) < 0) {
    if (errno != EINTR) return IoError("wait4", errno);
  }
  state_ = InstanceState::kExited;
  usage_.wall_us = Micros(Clock::now() - started_);
  usage_.cpu_us = static_cast<std::uint64_t>(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1'000'000 +
                  static_cast<std::uint64_t>(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec);
  usage_.max_rss_kib = static_cast<std::uint64_t>(ru.ru_maxrss);

  // The worker is gone, so its end of the report pipe is closed: read to EOF, bounded.
  std::string report;
  char buf[4096];
  for (;;) {
    ssize_t r = ::read(report_.get(), buf, sizeof buf);
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) break;
    report.append(buf, static_cast<std::size_t>(r));
    if (report.size() > kMaxReportBytes) break;
  }
  report_.Reset();
  ExitStatus status = Interpret(wait_status, report);
  status.usage = usage_;
  return status;
}

ExitStatus WasmInstance::Interpret(int wait_status, const std::string& report_line) const {
  ExitStatus out;
  const Limits& l = config_.limits;
  auto limit = [&](std::string reason, std::string message) {
    out.outcome = {OutcomeKind::kLimit, 0, std::move(reason), std::move(message)};
  };
  // Decisions of the runtime come first: they do not depend on anything the worker says.
  if (stopped_.load()) {
    limit("stopped", "stopped by the runtime");
  } else if (backstop_fired_) {
    limit("wall_limit", fmt::format("ran past its wall-clock limit of {} ms and was killed by the "
                                    "runtime (raise resource_limits.wall_ms if it needs longer)",
                                    l.wall_ms));
  } else if (auto parsed = ParseReport(report_line); parsed.ok()) {
    out.outcome = parsed->outcome;
    out.tier = parsed->tier;
    out.memory_enforcement = parsed->memory_enforcement;
    out.filesystem_enforcement = parsed->filesystem_enforcement;
    out.output_bytes = parsed->output_bytes;
    out.fuel_used = parsed->fuel_used;
  } else if (WIFSIGNALED(wait_status)) {
    const int sig = WTERMSIG(wait_status);
    if (sig == SIGXCPU || (sig == SIGKILL && usage_.cpu_us / 1000 >= l.cpu_ms)) {
      limit("cpu_limit", fmt::format("used its CPU-time limit of {} ms (raise resource_limits.cpu_ms "
                                     "if it needs more)",
                                     l.cpu_ms));
    } else if (sig == SIGKILL) {
      // Nobody here sent it and CPU time was not the cause: the kernel's memory backstop.
      limit("memory_limit", fmt::format("was killed by the kernel, most likely for exceeding its "
                                        "memory limit of {} MiB (resource_limits.memory_mb)",
                                        l.memory_mb));
    } else if (sig == SIGSYS) {
      out.outcome = {OutcomeKind::kRefused, 0, "sandbox_violation",
                     "the worker attempted a system call the sandbox forbids and was killed"};
    } else {
      out.outcome = {OutcomeKind::kRefused, 0, "worker_crashed",
                     fmt::format("the sandbox worker died of signal {} ({})", sig, strsignal(sig))};
    }
  } else {
    out.outcome = {OutcomeKind::kRefused, 0, "worker_failed",
                   fmt::format("the sandbox worker exited with {} without a report",
                               WIFEXITED(wait_status) ? WEXITSTATUS(wait_status) : -1)};
  }
  out.exit_code = ExitCodeFor(out.outcome);
  return out;
}

}  // namespace

Result<std::unique_ptr<Instance>> WasmProvider::Load(const LaunchConfig& config) {
  std::error_code ec;
  if (!fs::is_regular_file(config.module, ec)) {
    return NotFound("module_missing", "no WASM module at " + config.module.string());
  }
  if (config.aot_object && !fs::is_regular_file(*config.aot_object, ec)) {
    return NotFound("aot_missing", "no compiled object at " + config.aot_object->string());
  }
  if (config.data_dir && !fs::is_directory(*config.data_dir, ec)) {
    return NotFound("data_dir_missing", "the capsule data directory " + config.data_dir->string() +
                                            " does not exist");
  }
  if (::access(options_.worker.c_str(), X_OK) != 0) {
    return Unavailable("worker_missing", "the sandbox worker " + options_.worker.string() +
                                             " is missing or not executable (rebuild, or set "
                                             "ELASTOS_WORKER)");
  }
  return std::unique_ptr<Instance>(new WasmInstance(options_, config));
}

std::filesystem::path WasmProvider::DefaultWorkerPath() {
  if (const char* w = std::getenv("ELASTOS_WORKER"); w && *w) return w;
  std::error_code ec;
  fs::path self = fs::read_symlink("/proc/self/exe", ec);
  return (ec ? fs::path(".") : self.parent_path()) / "elastos-worker";
}

}  // namespace elastos::compute
