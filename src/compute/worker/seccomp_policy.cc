// Build tool: the worker's system-call allowlist, compiled with libseccomp into classic BPF and
// written out as a C++ array (seccomp_filter.inc) that sandbox.cc loads with seccomp(2).
//
// Why at build time: the policy is the same for every worker, and building it with libseccomp at
// run time cost about half a millisecond and two dozen page faults on each start, in the process
// whose startup we are trying to keep near a millisecond. It also keeps libseccomp out of the
// worker. The tool runs on the build host, so the filter is for the host's architecture (the
// filter checks it and kills a process of any other); cross-compiling needs this tool built for
// the target.
//
// The policy: everything the guest run needs after the sandbox is in place, and nothing else —
// the WASI host's file and stream operations on fds it already holds or opens beneath /data
// (openat2), time, randomness, memory management, signal return (the CPU timer, wasm2c's trap
// handler) and exit. Absent on purpose, each answering a threat:
//   socket, socketpair, connect, bind, accept, sendto: no network — a guest reaches the world only
//     through its carrier to the runtime;
//   execve, execveat, fork, vfork, clone, clone3: no new programs or processes (the watchdog
//     thread is started before the filter);
//   open, openat, creat, chdir, mount, pivot_root: no path outside the WASI host's openat2, which
//     Landlock confines to /data;
//   ptrace, process_vm_readv/writev, kill, tkill, tgkill: no reach into other processes (abort()
//     then dies of SIGSYS rather than SIGABRT: a crash either way);
//   prctl, seccomp, setuid & co, bpf, perf_event_open, keyctl, add_key, io_uring_*, userfaultfd:
//     no privilege or attack surface the run does not need.
// Any other call kills the whole worker (SIGSYS), which the launcher reports.
#include <fcntl.h>
#include <linux/filter.h>
#include <seccomp.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <termios.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

namespace {

constexpr int kAllowed[] = {
    // I/O on fds the worker holds (stdio, carrier, /data and what the guest opened under it).
    SCMP_SYS(read),
    SCMP_SYS(write),
    SCMP_SYS(readv),
    SCMP_SYS(writev),
    SCMP_SYS(pread64),
    SCMP_SYS(pwrite64),
    SCMP_SYS(preadv),
    SCMP_SYS(pwritev),
    SCMP_SYS(preadv2),
    SCMP_SYS(pwritev2),
    SCMP_SYS(sendmsg),
    SCMP_SYS(lseek),
    SCMP_SYS(close),
    SCMP_SYS(fstat),
    SCMP_SYS(newfstatat),
    SCMP_SYS(statx),
    SCMP_SYS(fstatfs),
    SCMP_SYS(getdents64),
    SCMP_SYS(fsync),
    SCMP_SYS(fdatasync),
    SCMP_SYS(ftruncate),
    SCMP_SYS(fallocate),
    SCMP_SYS(fadvise64),
    SCMP_SYS(ppoll),
    SCMP_SYS(poll),
    // Paths beneath /data (resolved with openat2 RESOLVE_BENEATH; Landlock confines all of these
    // to /data).
    SCMP_SYS(openat2),
    SCMP_SYS(mkdirat),
    SCMP_SYS(unlinkat),
    SCMP_SYS(renameat),
    SCMP_SYS(renameat2),
    SCMP_SYS(linkat),
    SCMP_SYS(symlinkat),
    SCMP_SYS(readlinkat),
    SCMP_SYS(utimensat),
    // Time, randomness, scheduling, futexes (malloc and the watchdog's semaphore).
    SCMP_SYS(clock_gettime),
    SCMP_SYS(clock_getres),
    SCMP_SYS(clock_nanosleep),
    SCMP_SYS(nanosleep),
    SCMP_SYS(gettimeofday),
    SCMP_SYS(getrandom),
    SCMP_SYS(sched_yield),
    SCMP_SYS(futex),
    SCMP_SYS(restart_syscall),
    // Memory (mmap and mprotect are below, without PROT_EXEC).
    SCMP_SYS(brk),
    SCMP_SYS(munmap),
    SCMP_SYS(mremap),
    SCMP_SYS(madvise),
    // Signals: returning from our handlers and wasm2c's SIGSEGV handler on its alternate stack.
    SCMP_SYS(rt_sigreturn),
    SCMP_SYS(rt_sigprocmask),
    SCMP_SYS(rt_sigaction),
    SCMP_SYS(sigaltstack),
    // Identity of this process only, and the end.
    SCMP_SYS(getpid),
    SCMP_SYS(gettid),
    SCMP_SYS(exit),
    SCMP_SYS(exit_group),
};

bool Check(int rc, const char* what) {
  if (rc == 0) return true;
  std::fprintf(stderr, "seccomp_policy: %s: %s\n", what, std::strerror(-rc));
  return false;
}

bool AddPolicy(scmp_filter_ctx ctx) {
  // Threat: calls made through another ABI (int 0x80 i386 numbers, x32) would be looked up in the
  // wrong table; they kill the process like any other refused call.
  if (!Check(seccomp_attr_set(ctx, SCMP_FLTATR_ACT_BADARCH, SCMP_ACT_KILL_PROCESS), "BADARCH")) {
    return false;
  }
  for (int nr : kAllowed) {
    if (!Check(seccomp_rule_add(ctx, SCMP_ACT_ALLOW, nr, 0), "rule")) return false;
  }
  // Threat: making memory executable turns a memory-corruption bug into injected native code.
  // wasm2c objects are mapped by dlopen before the filter; nothing later needs PROT_EXEC.
  for (int nr : {SCMP_SYS(mmap), SCMP_SYS(mprotect)}) {
    if (!Check(
            seccomp_rule_add(ctx, SCMP_ACT_ALLOW, nr, 1, SCMP_A2(SCMP_CMP_MASKED_EQ, PROT_EXEC, 0)),
            "mmap/mprotect rule")) {
      return false;
    }
  }
  // Threat: the guest's stdio is often the user's terminal, and TIOCSTI injects keystrokes into
  // it. Only the read-only queries the host uses: FIONREAD (poll_oneoff) and TCGETS (isatty).
  for (unsigned long request :
       {static_cast<unsigned long>(FIONREAD), static_cast<unsigned long>(TCGETS)}) {
    if (!Check(seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(ioctl), 1,
                                SCMP_A1(SCMP_CMP_EQ, request)),
               "ioctl rule")) {
      return false;
    }
  }
  // fcntl: flags only (the WASI host toggles O_APPEND/O_NONBLOCK); no F_DUPFD, locks, leases,
  // F_SETOWN signals or pipe resizing.
  for (int cmd : {F_GETFL, F_SETFL, F_GETFD, F_SETFD}) {
    if (!Check(seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(fcntl), 1,
                                SCMP_A1(SCMP_CMP_EQ, static_cast<scmp_datum_t>(cmd))),
               "fcntl rule")) {
      return false;
    }
  }
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: seccomp_policy OUTPUT.inc\n");
    return 2;
  }
  std::unique_ptr<void, void (*)(scmp_filter_ctx)> ctx(seccomp_init(SCMP_ACT_KILL_PROCESS),
                                                       seccomp_release);
  if (!ctx || !AddPolicy(ctx.get())) return 1;

  // libseccomp writes the program to an fd; a memory file keeps it off the disk.
  const int fd = memfd_create("seccomp-bpf", MFD_CLOEXEC);
  if (fd < 0 || !Check(seccomp_export_bpf(ctx.get(), fd), "export")) return 1;
  std::vector<unsigned char> bytes;
  unsigned char buf[4096];
  ssize_t n;
  lseek(fd, 0, SEEK_SET);
  while ((n = read(fd, buf, sizeof buf)) > 0) bytes.insert(bytes.end(), buf, buf + n);
  close(fd);
  if (bytes.empty() || bytes.size() % sizeof(sock_filter) != 0) {
    std::fprintf(stderr, "seccomp_policy: unexpected BPF size %zu\n", bytes.size());
    return 1;
  }

  std::string out =
      "// Generated by seccomp_policy (src/compute/worker/seccomp_policy.cc); do not edit.\n"
      "// The worker's system-call allowlist as classic BPF for seccomp(SECCOMP_SET_MODE_FILTER).\n"
      "static const struct sock_filter kWorkerSeccompFilter[] = {\n";
  for (std::size_t i = 0; i < bytes.size(); i += sizeof(sock_filter)) {
    sock_filter insn;
    std::memcpy(&insn, &bytes[i], sizeof insn);
    char line[96];
    std::snprintf(line, sizeof line, "    {0x%04x, %u, %u, 0x%08x},\n", insn.code, insn.jt, insn.jf,
                  insn.k);
    out += line;
  }
  out += "};\n";

  // Written only when it changed, so an unchanged policy rebuilds nothing downstream.
  if (FILE* old = std::fopen(argv[1], "rb")) {
    std::string existing;
    while ((n = static_cast<ssize_t>(std::fread(buf, 1, sizeof buf, old))) > 0) {
      existing.append(reinterpret_cast<char*>(buf), static_cast<std::size_t>(n));
    }
    std::fclose(old);
    if (existing == out) return 0;
  }
  FILE* f = std::fopen(argv[1], "wb");
  if (f == nullptr || std::fwrite(out.data(), 1, out.size(), f) != out.size() ||
      std::fclose(f) != 0) {
    std::fprintf(stderr, "seccomp_policy: cannot write %s\n", argv[1]);
    return 1;
  }
  return 0;
}
