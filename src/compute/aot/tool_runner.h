// Runs an external tool (wasm2c, the C compiler) as a child process with a deadline.
//
// The child gets: stdin from /dev/null, stdout and stderr captured together, no inherited fds
// beyond those (runtime sockets and files must not leak into a compiler that processes
// guest-derived input), default signal dispositions, an empty signal mask, the environment given
// here and nothing else, and its own process group, so a timeout kills the compiler's
// subprocesses (cc1, as, ld) along with it.
//
// Thread-safety: RunTool may be called from many threads at once.
#pragma once

#include <chrono>
#include <cstddef>
#include <filesystem>
#include <string>
#include <vector>

#include "common/status.h"

namespace elastos::compute::aot {

struct ToolInvocation {
  std::vector<std::string> argv;  // argv[0]: absolute path of the program
  std::filesystem::path cwd;      // empty: inherit
  std::vector<std::string> env;   // "KEY=VALUE", the child's whole environment
  std::chrono::milliseconds timeout{30000};
  std::size_t max_output = 64 * 1024;  // output beyond it is read and dropped
};

struct ToolResult {
  bool timed_out = false;  // killed at the deadline
  int exit_code = -1;      // when it exited
  int signal = 0;          // when a signal ended it
  std::string output;      // stdout and stderr, interleaved, truncated to max_output

  bool ok() const { return !timed_out && signal == 0 && exit_code == 0; }
  // "exit status 1", "killed by signal 9", "timed out after 300 s"
  std::string Describe(std::chrono::milliseconds timeout) const;
  // The first `lines` non-empty lines of output, each cut to 200 characters, control characters
  // blanked.
  std::string FirstLines(int lines) const;
};

// Fails (internal/tool_spawn_failed) only when the child could not be started or waited for; a
// tool that runs and fails is an OK Result whose ok() is false.
Result<ToolResult> RunTool(const ToolInvocation& invocation);

// The absolute path of `name` on `path_env` (a PATH value), or of `name` itself when it contains a
// '/'; not_found if there is no executable file.
Result<std::string> FindExecutable(const std::string& name, const std::string& path_env);

}  // namespace elastos::compute::aot
