#include "compute/aot/tool_runner.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <sstream>

namespace elastos::compute::aot {
namespace {

using Clock = std::chrono::steady_clock;

class UniqueFd {
 public:
  UniqueFd() = default;
  explicit UniqueFd(int fd) : fd_(fd) {}
  ~UniqueFd() { Reset(); }
  UniqueFd(const UniqueFd&) = delete;
  UniqueFd& operator=(const UniqueFd&) = delete;
  int get() const { return fd_; }
  void Reset() {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
  }

 private:
  int fd_ = -1;
};

Status SpawnError(std::string_view what, int err) {
  return Internal("tool_spawn_failed", std::string(what) + ": " + std::strerror(err));
}

// posix_spawn's attribute and file-action objects, destroyed on every path.
struct SpawnSetup {
  posix_spawnattr_t attr;
  posix_spawn_file_actions_t actions;
  SpawnSetup() {
    posix_spawnattr_init(&attr);
    posix_spawn_file_actions_init(&actions);
  }
  ~SpawnSetup() {
    posix_spawn_file_actions_destroy(&actions);
    posix_spawnattr_destroy(&attr);
  }
};

int PidfdOpen(pid_t pid) {
#ifdef SYS_pidfd_open
  return static_cast<int>(::syscall(SYS_pidfd_open, pid, 0));
#else
  (void)pid;
  errno = ENOSYS;
  return -1;
#endif
}

int RemainingMs(Clock::time_point deadline) {
  const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
  return left.count() <= 0 ? 0 : static_cast<int>(std::min<long long>(left.count(), 1 << 30));
}

}  // namespace

std::string ToolResult::Describe(std::chrono::milliseconds timeout) const {
  if (timed_out) {
    return "timed out after " + std::to_string(timeout.count() / 1000.0).substr(0, 6) + " s";
  }
  if (signal != 0) return "killed by signal " + std::to_string(signal);
  return "exit status " + std::to_string(exit_code);
}

std::string ToolResult::FirstLines(int lines) const {
  std::istringstream in(output);
  std::string line, out;
  while (lines > 0 && std::getline(in, line)) {
    if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
    if (line.size() > 200) line = line.substr(0, 200) + "...";
    // Tool output can echo module-controlled text; it ends up in logs and terminals.
    for (char& c : line) {
      if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) c = ' ';
    }
    if (!out.empty()) out += " | ";
    out += line;
    --lines;
  }
  return out;
}

Result<std::string> FindExecutable(const std::string& name, const std::string& path_env) {
  auto executable = [](const std::string& p) {
    struct stat st;
    return ::stat(p.c_str(), &st) == 0 && S_ISREG(st.st_mode) && ::access(p.c_str(), X_OK) == 0;
  };
  if (name.find('/') != std::string::npos) {
    std::error_code ec;
    const std::string abs = std::filesystem::absolute(name, ec).string();
    if (!ec && executable(abs)) return abs;
    return NotFound("tool_not_found", name + " is not an executable file");
  }
  std::size_t start = 0;
  while (start <= path_env.size()) {
    std::size_t end = path_env.find(':', start);
    if (end == std::string::npos) end = path_env.size();
    const std::string dir = path_env.substr(start, end - start);
    // Relative PATH entries (and the empty one, meaning ".") would make the tool depend on the
    // current directory of whoever started the runtime; only absolute ones count.
    if (!dir.empty() && dir.front() == '/') {
      const std::string candidate = dir + "/" + name;
      if (executable(candidate)) return candidate;
    }
    start = end + 1;
  }
  return NotFound("tool_not_found", name + " was not found on PATH");
}

Result<ToolResult> RunTool(const ToolInvocation& invocation) {
  if (invocation.argv.empty()) return InvalidArgument("tool_argv_empty", "no program to run");

  int pipe_fds[2];
  if (::pipe2(pipe_fds, O_CLOEXEC) != 0) return SpawnError("pipe", errno);
  UniqueFd read_end(pipe_fds[0]);
  UniqueFd write_end(pipe_fds[1]);

  SpawnSetup s;
  int rc = posix_spawn_file_actions_adddup2(&s.actions, write_end.get(), STDOUT_FILENO);
  if (rc == 0) rc = posix_spawn_file_actions_adddup2(&s.actions, write_end.get(), STDERR_FILENO);
  if (rc == 0) {
    rc = posix_spawn_file_actions_addopen(&s.actions, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
  }
  if (rc == 0) rc = posix_spawn_file_actions_addclosefrom_np(&s.actions, STDERR_FILENO + 1);
  if (rc == 0 && !invocation.cwd.empty()) {
    rc = posix_spawn_file_actions_addchdir_np(&s.actions, invocation.cwd.c_str());
  }
  sigset_t none, all;
  sigemptyset(&none);
  sigfillset(&all);
  if (rc == 0) {
    rc = posix_spawnattr_setflags(
        &s.attr, POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
  }
  if (rc == 0) rc = posix_spawnattr_setpgroup(&s.attr, 0);
  if (rc == 0) rc = posix_spawnattr_setsigmask(&s.attr, &none);
  if (rc == 0) rc = posix_spawnattr_setsigdefault(&s.attr, &all);
  if (rc != 0) return SpawnError("posix_spawn setup", rc);

  std::vector<char*> argv, envp;
  for (const std::string& a : invocation.argv) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  for (const std::string& e : invocation.env) envp.push_back(const_cast<char*>(e.c_str()));
  envp.push_back(nullptr);

  const Clock::time_point deadline = Clock::now() + invocation.timeout;
  pid_t pid;
  rc = posix_spawn(&pid, argv[0], &s.actions, &s.attr, argv.data(), envp.data());
  if (rc != 0) return SpawnError("spawn " + invocation.argv[0], rc);
  write_end.Reset();

  // Without pidfd (kernel < 5.3) we notice the exit by polling waitpid between reads.
  UniqueFd pidfd(PidfdOpen(pid));

  ToolResult result;
  bool output_open = true;
  bool exited = false;
  int status = 0;
  char buf[4096];
  while (!exited) {
    const int wait_ms = RemainingMs(deadline);
    if (wait_ms == 0) break;
    pollfd fds[2];
    int nfds = 0;
    if (output_open) fds[nfds++] = {read_end.get(), POLLIN, 0};
    if (pidfd.get() >= 0) fds[nfds++] = {pidfd.get(), POLLIN, 0};
    const int timeout = pidfd.get() >= 0 ? wait_ms : std::min(wait_ms, 20);
    const int n = nfds ? ::poll(fds, nfds, timeout) : (::usleep(timeout * 1000), 0);
    if (n < 0 && errno != EINTR) return SpawnError("poll", errno);
    if (output_open && n > 0 && (fds[0].revents & (POLLIN | POLLHUP | POLLERR))) {
      const ssize_t got = ::read(read_end.get(), buf, sizeof buf);
      if (got > 0) {
        const std::size_t room =
            invocation.max_output - std::min(invocation.max_output, result.output.size());
        result.output.append(buf, std::min<std::size_t>(room, static_cast<std::size_t>(got)));
      } else if (got == 0 || (errno != EINTR && errno != EAGAIN)) {
        output_open = false;
      }
    }
    // The child has exited once its pidfd is readable (or, without one, waitpid says so). It
    // stays a zombie until reaped, so its process-group id cannot have been reused yet.
    const bool pid_ready = pidfd.get() >= 0 && n > 0 && (fds[nfds - 1].revents & POLLIN);
    if (pid_ready || pidfd.get() < 0) {
      siginfo_t info{};
      if (::waitid(P_PID, static_cast<id_t>(pid), &info, WEXITED | WNOHANG | WNOWAIT) == 0 &&
          info.si_pid == pid) {
        exited = true;
      }
    }
  }
  // Whatever the outcome, nothing the tool started may outlive it (a timed-out cc leaves cc1
  // running otherwise).
  ::kill(-pid, SIGKILL);
  if (!exited) result.timed_out = true;
  while (::waitpid(pid, &status, 0) < 0) {
    if (errno != EINTR) return SpawnError("waitpid", errno);
  }
  // Drain what the tool wrote just before it exited.
  if (output_open && !result.timed_out) {
    ::fcntl(read_end.get(), F_SETFL, O_NONBLOCK);
    ssize_t got;
    while ((got = ::read(read_end.get(), buf, sizeof buf)) > 0) {
      const std::size_t room =
          invocation.max_output - std::min(invocation.max_output, result.output.size());
      result.output.append(buf, std::min<std::size_t>(room, static_cast<std::size_t>(got)));
    }
  }
  if (!result.timed_out) {
    if (WIFEXITED(status)) result.exit_code = WEXITSTATUS(status);
    if (WIFSIGNALED(status)) result.signal = WTERMSIG(status);
  }
  return result;
}

}  // namespace elastos::compute::aot
