#include "runtime/store/crash_harness.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>

namespace elastos::runtime::testing {

std::filesystem::path HelperPath(std::string_view name) {
  std::error_code ec;
  const std::filesystem::path self = std::filesystem::read_symlink("/proc/self/exe", ec);
  return self.parent_path() / name;
}

Result<ChildRun> RunAndKill(const std::vector<std::string>& argv,
                            std::chrono::microseconds kill_after, std::string_view start_marker) {
  std::vector<char*> args;
  for (const std::string& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);

  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) return IoError("pipe", errno);
  const auto start = std::chrono::steady_clock::now();
  const pid_t pid = ::fork();
  if (pid < 0) return IoError("fork", errno);
  if (pid == 0) {
    // Child: only async-signal-safe calls until exec.
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    ::dup2(fds[1], STDOUT_FILENO);  // dup2 clears O_CLOEXEC on the new descriptor
    ::execv(args[0], args.data());
    ::_exit(127);
  }
  ::close(fds[1]);

  ChildRun run;
  std::string buffer;
  const auto read_available = [&](int timeout_ms) -> bool {  // false at end of file
    pollfd p{fds[0], POLLIN, 0};
    if (::poll(&p, 1, timeout_ms) <= 0) return true;
    char chunk[4096];
    const ssize_t n = ::read(fds[0], chunk, sizeof chunk);
    if (n <= 0) return n < 0 && errno == EINTR;
    buffer.append(chunk, static_cast<std::size_t>(n));
    return true;
  };
  // Until the marker shows up, the deadline is a generous startup limit rather than the kill time.
  constexpr auto kStartupLimit = std::chrono::seconds(30);
  bool started = start_marker.empty();
  auto deadline = started ? start + kill_after : start + kStartupLimit;
  bool eof = false;
  while (!eof) {
    const auto now = std::chrono::steady_clock::now();
    if (!started) {
      const std::string marker = std::string(start_marker) + "\n";
      if (buffer.starts_with(marker) || buffer.find("\n" + marker) != std::string::npos) {
        started = true;
        deadline = now + kill_after;
      }
    }
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - now);
    if (left.count() < 0) break;
    // poll() wakes on output, so the marker is seen promptly; sub-millisecond waits spin
    // through poll(0), which is fine for a test.
    eof = !read_available(static_cast<int>(left.count()));
  }
  if (!eof) {
    ::kill(pid, SIGKILL);
  }
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  // The child is gone: whatever it wrote is in the pipe. Drain it.
  while (!eof) eof = !read_available(-1);
  ::close(fds[0]);

  run.killed = WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL;
  run.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  std::size_t start_of_line = 0;
  for (std::size_t nl; (nl = buffer.find('\n', start_of_line)) != std::string::npos;
       start_of_line = nl + 1) {
    run.lines.push_back(buffer.substr(start_of_line, nl - start_of_line));
  }
  return run;
}

}  // namespace elastos::runtime::testing
