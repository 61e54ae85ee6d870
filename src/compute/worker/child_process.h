// Tests only: runs a program as a child process with chosen fds and collects what it wrote.
#pragma once

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <string>
#include <vector>

namespace elastos::compute::testing {

struct ChildResult {
  int status = 0;  // as from waitpid
  std::string out, err, report;
  std::chrono::steady_clock::duration took{};

  bool exited() const { return WIFEXITED(status); }
  int exit_code() const { return WIFEXITED(status) ? WEXITSTATUS(status) : -1; }
  int signal() const { return WIFSIGNALED(status) ? WTERMSIG(status) : 0; }
};

struct ChildOptions {
  // The fd number the child sees its report pipe as (-1: none). Put in argv by the caller.
  int report_fd = -1;
  // Keep the child's stdin open and silent (a pipe nobody writes) instead of /dev/null.
  bool silent_stdin = false;
  // Close our end of the child's stdout at once (the child then writes into a broken pipe).
  bool close_stdout = false;
  // Append the child's stdout to this file instead of a pipe.
  std::string stdout_path;
  // Called with the child's pid while it runs.
  void (*while_running)(pid_t pid, void* context) = nullptr;
  void* context = nullptr;
};

inline ChildResult RunChild(const std::vector<std::string>& args,
                            const ChildOptions& options = {}) {
  ChildResult result;
  int out[2], err[2], report[2] = {-1, -1}, in[2];
  if (::pipe2(out, O_CLOEXEC) != 0 || ::pipe2(err, O_CLOEXEC) != 0 || ::pipe2(in, O_CLOEXEC) != 0) {
    return result;
  }
  if (options.report_fd >= 0 && ::pipe2(report, O_CLOEXEC) != 0) return result;

  posix_spawn_file_actions_t actions;
  ::posix_spawn_file_actions_init(&actions);
  if (options.silent_stdin) {
    ::posix_spawn_file_actions_adddup2(&actions, in[0], 0);
  } else {
    ::posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
  }
  if (options.stdout_path.empty()) {
    ::posix_spawn_file_actions_adddup2(&actions, out[1], 1);
  } else {
    ::posix_spawn_file_actions_addopen(&actions, 1, options.stdout_path.c_str(),
                                       O_WRONLY | O_APPEND, 0);
  }
  ::posix_spawn_file_actions_adddup2(&actions, err[1], 2);
  if (options.report_fd >= 0) {
    ::posix_spawn_file_actions_adddup2(&actions, report[1], options.report_fd);
  }
  std::vector<char*> argv;
  for (const std::string& a : args) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  const auto started = std::chrono::steady_clock::now();
  pid_t pid = -1;
  const int rc = ::posix_spawn(&pid, argv[0], &actions, nullptr, argv.data(), environ);
  ::posix_spawn_file_actions_destroy(&actions);
  ::close(out[1]);
  ::close(err[1]);
  ::close(in[0]);
  if (report[1] >= 0) ::close(report[1]);
  if (rc != 0) {
    result.err = "posix_spawn failed";
    return result;
  }
  if (options.close_stdout) {
    ::close(out[0]);
    out[0] = -1;
  }
  if (options.while_running) options.while_running(pid, options.context);

  struct Sink {
    int fd;
    std::string* into;
  } sinks[] = {{out[0], &result.out}, {err[0], &result.err}, {report[0], &result.report}};
  for (;;) {
    std::vector<pollfd> fds;
    std::vector<Sink*> which;
    for (Sink& s : sinks) {
      if (s.fd >= 0) {
        fds.push_back({s.fd, POLLIN, 0});
        which.push_back(&s);
      }
    }
    if (fds.empty()) break;
    if (::poll(fds.data(), fds.size(), -1) < 0) break;
    for (std::size_t i = 0; i < fds.size(); ++i) {
      if (!fds[i].revents) continue;
      char buf[4096];
      const ssize_t n = ::read(which[i]->fd, buf, sizeof buf);
      if (n > 0) {
        which[i]->into->append(buf, static_cast<std::size_t>(n));
      } else {
        ::close(which[i]->fd);
        which[i]->fd = -1;
      }
    }
  }
  ::waitpid(pid, &result.status, 0);
  result.took = std::chrono::steady_clock::now() - started;
  ::close(in[1]);
  return result;
}

}  // namespace elastos::compute::testing
