// Tests only (sandbox_test.cc): applies exactly the sandbox elastos-worker applies to itself, then
// performs one action the test names and reports on stdout. Actions the sandbox must forbid are
// expected to kill the probe (SIGSYS); the rest print what happened and exit 0.
//
//   sandbox_probe [--data-dir DIR] [--cpu-ms N] [--wall-ms N] [--keep-fd FD] ACTION [ARG]
#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <pthread.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "compute/engine.h"
#include "compute/worker/sandbox.h"

namespace {

using elastos::Status;
namespace sandbox = elastos::compute::sandbox;

void Say(const std::string& line) {
  const std::string text = line + "\n";
  if (::write(1, text.data(), text.size()) < 0) _exit(99);
}

double CpuMs() {
  struct timespec ts;
  ::clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

long OpenBeneath(int dir, const char* path, int flags) {
  struct open_how how = {};
  how.flags = static_cast<unsigned long long>(flags) | O_CLOEXEC;
  how.mode = (flags & O_CREAT) ? 0644 : 0;
  return ::syscall(SYS_openat2, dir, path, &how, sizeof how);
}

void* Nothing(void*) { return nullptr; }

// The watchdog's last resort, as the worker's: say so and end with the limit's exit code.
void OnStuck(elastos::compute::InterruptReason reason, void*) {
  Say(std::string("stuck: ") +
      (reason == elastos::compute::InterruptReason::kWall ? "wall" : "cpu"));
  _exit(124);
}

}  // namespace

int main(int argc, char** argv) {
  std::string data_dir;
  long cpu_ms = 0, wall_ms = 0;
  std::vector<int> keep;
  int i = 1;
  for (; i + 1 < argc && std::strncmp(argv[i], "--", 2) == 0; i += 2) {
    const std::string option = argv[i];
    if (option == "--data-dir") {
      data_dir = argv[i + 1];
    } else if (option == "--cpu-ms") {
      cpu_ms = std::atol(argv[i + 1]);
    } else if (option == "--wall-ms") {
      wall_ms = std::atol(argv[i + 1]);
    } else if (option == "--keep-fd") {
      keep.push_back(std::atoi(argv[i + 1]));
    } else {
      Say("bad option " + option);
      return 2;
    }
  }
  if (i >= argc) {
    Say("usage: sandbox_probe [--data-dir DIR] [--cpu-ms N] [--wall-ms N] [--keep-fd FD] ACTION");
    return 2;
  }
  const std::string action = argv[i];
  const char* arg = i + 1 < argc ? argv[i + 1] : "";

  int data_fd = -1;
  if (!data_dir.empty()) data_fd = ::open(data_dir.c_str(), O_DIRECTORY | O_RDONLY | O_CLOEXEC);
  keep.push_back(data_fd);
  if (Status s = sandbox::CloseInheritedFds(keep); !s.ok()) {
    Say("close: " + s.ToString());
    return 3;
  }
  sandbox::SandboxConfig config;
  config.memory_limit_bytes = 64ull << 20;
  config.data_dir_fd = data_fd;
  auto start = [cpu_ms, wall_ms]() -> Status {
    // --cpu-ms alone: the RLIMIT_CPU backstop without a watchdog, so the test sees the kernel's
    // SIGKILL. --wall-ms: the watchdog, whose last resort the test sees.
    if (cpu_ms > 0) {
      if (Status s = sandbox::StartCpuLimit(static_cast<std::uint64_t>(cpu_ms)); !s.ok()) return s;
    }
    if (wall_ms == 0) return Status();
    sandbox::WatchdogOptions watchdog;
    watchdog.wall_deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(wall_ms);
    watchdog.on_stuck = OnStuck;
    return sandbox::StartWatchdog(watchdog);
  };
  auto applied = sandbox::ApplySandbox(config, start);
  if (!applied.ok()) {
    Say("sandbox: " + applied.status().ToString());
    return 4;
  }
  Say("memory=" + applied->memory_enforcement + " landlock=" + (applied->landlock ? "1" : "0"));

  if (action == "ok") {
    return 0;
  } else if (action == "socket-inet") {
    Say("socket returned " + std::to_string(::socket(AF_INET, SOCK_STREAM, 0)));
  } else if (action == "socket-unix") {
    Say("socket returned " + std::to_string(::socket(AF_UNIX, SOCK_STREAM, 0)));
  } else if (action == "execve") {
    char* const args[] = {const_cast<char*>("/bin/true"), nullptr};
    ::execve("/bin/true", args, nullptr);
    Say(std::string("execve failed: ") + std::strerror(errno));
  } else if (action == "fork") {
    Say("fork returned " + std::to_string(::fork()));
  } else if (action == "thread") {
    pthread_t thread;
    Say("pthread_create returned " +
        std::to_string(::pthread_create(&thread, nullptr, Nothing, nullptr)));
  } else if (action == "mprotect-exec") {
    void* page = ::mmap(nullptr, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    Say("mprotect returned " + std::to_string(::mprotect(page, 4096, PROT_READ | PROT_EXEC)));
  } else if (action == "tiocsti") {
    char c = 'x';
    Say("ioctl returned " + std::to_string(::ioctl(0, TIOCSTI, &c)));
  } else if (action == "openat") {
    Say("openat returned " + std::to_string(::openat(AT_FDCWD, "/etc/hostname", O_RDONLY)));
  } else if (action == "openat2-outside") {
    // Allowed by seccomp; Landlock must refuse it.
    const long fd = OpenBeneath(AT_FDCWD, "/etc/hostname", O_RDONLY);
    Say(fd >= 0 ? "opened" : std::string("refused: ") + std::strerror(errno));
  } else if (action == "write-data") {
    const long fd = OpenBeneath(data_fd, arg, O_WRONLY | O_CREAT | O_TRUNC);
    if (fd < 0) {
      Say(std::string("refused: ") + std::strerror(errno));
    } else {
      Say(::write(static_cast<int>(fd), "data\n", 5) == 5 ? "written" : "write failed");
    }
  } else if (action == "fd-closed") {
    const int fd = std::atoi(arg);
    Say(::fcntl(fd, F_GETFD) < 0 && errno == EBADF ? "closed" : "open");
  } else if (action == "hang") {
    // Like a host call that ignores the interrupt: only the watchdog can end this.
    for (;;) ::sleep(1000);
  } else if (action == "spin") {
    // Spins past the CPU interrupt (which a real engine would obey) into RLIMIT_CPU's hard limit.
    bool said = false;
    for (;;) {
      if (!said &&
          elastos::compute::PendingInterrupt() == elastos::compute::InterruptReason::kCpu) {
        Say("interrupted at " + std::to_string(static_cast<long>(CpuMs())) + " ms");
        said = true;
      }
    }
  } else {
    Say("unknown action " + action);
    return 2;
  }
  return 0;
}
