// exec_timer: times a command from fork+exec to its first byte on stdout (--first-output) or to its
// exit, N times, and prints the median and 90th percentile in microseconds. bench/wasm.sh uses it
// for cold starts, so every number it prints comes from the same clock and the same spawn path.
//
//   exec_timer [--first-output] N -- CMD [ARGS...]
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

extern char** environ;

int main(int argc, char** argv) {
  bool first_output = false;
  int i = 1;
  if (i < argc && std::strcmp(argv[i], "--first-output") == 0) first_output = true, ++i;
  if (i + 2 >= argc || std::strcmp(argv[i + 1], "--") != 0) {
    std::fprintf(stderr, "usage: exec_timer [--first-output] N -- CMD [ARGS...]\n");
    return 2;
  }
  const int n = std::atoi(argv[i]);
  char** cmd = argv + i + 2;
  std::vector<double> us;
  for (int r = 0; r < n; ++r) {
    int out[2];
    if (::pipe(out) != 0) return 1;
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_adddup2(&fa, out[1], 1);
    posix_spawn_file_actions_addclose(&fa, out[0]);
    const auto t0 = std::chrono::steady_clock::now();
    pid_t pid;
    if (::posix_spawn(&pid, cmd[0], &fa, nullptr, cmd, environ) != 0) {
      std::perror(cmd[0]);
      return 1;
    }
    ::close(out[1]);
    char buf[65536];
    double t = -1;
    for (ssize_t k; (k = ::read(out[0], buf, sizeof buf)) > 0;) {
      if (t < 0 && first_output) {
        t = std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - t0).count();
      }
    }
    int status;
    ::waitpid(pid, &status, 0);
    if (!first_output) t = std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - t0).count();
    ::close(out[0]);
    posix_spawn_file_actions_destroy(&fa);
    if (t < 0) {
      std::fprintf(stderr, "exec_timer: %s printed nothing\n", cmd[0]);
      return 1;
    }
    us.push_back(t);
  }
  std::sort(us.begin(), us.end());
  std::printf("median_us %.0f p90_us %.0f runs %d\n", us[us.size() / 2], us[us.size() * 9 / 10], n);
  return 0;
}
