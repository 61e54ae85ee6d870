// aot_bench: the AOT tier against native code on call-heavy and loop-heavy work.
//
//   aot_bench GUEST.wasm NATIVE [RUNS]      (bench/run_aot_bench.sh builds both from bench_guest.c)
//
// Compiles GUEST.wasm with each Instrumentation into a scratch cache, then runs every benchmark
// RUNS times natively and on each object (a forked worker-like child per run: LoadAot, the real
// WASI host, Run), round-robin, and prints the median CPU time of the work as the guest itself
// reports it, with the ratio to native. Numbers are for the report, not asserts: the machine is
// shared.
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "common/file_util.h"
#include "common/testing/temp_dir.h"
#include "compute/aot/aot_compiler.h"
#include "compute/engine.h"
#include "compute/wasi/wasi.h"

namespace {

using namespace elastos;
using namespace elastos::compute;

struct Bench {
  const char* name;
  const char* arg;
};

// Runs `argv` (native) or `object` (AOT) in a child whose stdout is a pipe; returns the "ms=" the
// guest printed, or a negative number on failure.
double RunOnce(const std::vector<std::string>& argv, const std::string& object) {
  int fds[2];
  if (::pipe(fds) != 0) return -1;
  const pid_t pid = ::fork();
  if (pid == 0) {
    ::dup2(fds[1], 1);
    ::close(fds[0]);
    ::close(fds[1]);
    if (object.empty()) {
      std::vector<char*> args;
      for (const std::string& a : argv) args.push_back(const_cast<char*>(a.c_str()));
      args.push_back(nullptr);
      ::execv(args[0], args.data());
      ::_exit(127);
    }
    auto engine = LoadAot(object, EngineOptions{});
    if (!engine.ok()) {
      std::fprintf(stderr, "LoadAot: %s\n", engine.status().ToString().c_str());
      ::_exit(1);
    }
    wasi::HostConfig config;
    config.args = argv;
    auto host = wasi::Host::Create(config);
    if (!host.ok()) ::_exit(1);
    const Outcome outcome = (*engine)->Run(**host);
    if (outcome.kind != OutcomeKind::kExited || outcome.exit_code != 0) {
      std::fprintf(stderr, "run: %s %s\n", outcome.reason.c_str(), outcome.message.c_str());
      ::_exit(1);
    }
    ::_exit(0);
  }
  ::close(fds[1]);
  std::string out;
  char buf[512];
  ssize_t n;
  while ((n = ::read(fds[0], buf, sizeof buf)) > 0) out.append(buf, static_cast<std::size_t>(n));
  ::close(fds[0]);
  int status = 0;
  ::waitpid(pid, &status, 0);
  const std::size_t at = out.find("ms=");
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0 || at == std::string::npos) return -1;
  return std::atof(out.c_str() + at + 3);
}

struct Summary {
  double min = -1, median = -1;
};

Summary Summarize(std::vector<double> t) {
  if (t.empty() || *std::min_element(t.begin(), t.end()) < 0) return {};
  std::sort(t.begin(), t.end());
  return {t.front(), t[t.size() / 2]};
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 3) {
    std::fprintf(stderr, "usage: aot_bench GUEST.wasm NATIVE [RUNS]\n");
    return 2;
  }
  const int runs = argc > 3 ? std::atoi(argv[3]) : 5;
  Result<Bytes> wasm = ReadFileLimited(argv[1], 64 << 20);
  if (!wasm.ok()) {
    std::fprintf(stderr, "%s\n", wasm.status().ToString().c_str());
    return 1;
  }
  testing::TempDir tmp;
  Result<aot::AotCache> cache = aot::AotCache::Open(tmp.path() / "aot");
  if (!cache.ok()) {
    std::fprintf(stderr, "%s\n", cache.status().ToString().c_str());
    return 1;
  }
  std::printf("toolchain: %s | %s\nflags: %s\n", cache->toolchain().wasm2c_version.c_str(),
              cache->toolchain().cc_version.c_str(), std::string(aot::CompilerFlags()).c_str());

  const aot::Instrumentation modes[] = {aot::Instrumentation::kNone,
                                        aot::Instrumentation::kInterrupt};
  std::string objects[2];
  for (int m = 0; m < 2; ++m) {
    const auto t0 = std::chrono::steady_clock::now();
    Result<std::filesystem::path> object = cache->Compile(*wasm, modes[m]);
    const auto ms =
        std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0);
    if (!object.ok()) {
      std::fprintf(stderr, "%s\n", object.status().ToString().c_str());
      return 1;
    }
    objects[m] = object->string();
    std::printf("compile (%s): %.0f ms, %zu-byte module\n",
                std::string(aot::InstrumentationName(modes[m])).c_str(), ms.count(), wasm->size());
  }

  const Bench benches[] = {{"fib", "38"}, {"sha256", "64"}, {"sort", "5000000"}};
  std::printf("\n%-8s %21s %29s %29s\n", "", "native", "aot none", "aot interrupt");
  std::printf("%-8s %10s %10s %10s %10s %8s %10s %10s %8s\n", "bench", "min", "median", "min",
              "median", "ratio", "min", "median", "ratio");
  for (const Bench& b : benches) {
    // Round-robin, so the three see the same background load on a shared machine.
    std::vector<double> native, none, interrupt;
    for (int i = 0; i < runs; ++i) {
      native.push_back(RunOnce({argv[2], b.name, b.arg}, ""));
      none.push_back(RunOnce({"bench", b.name, b.arg}, objects[0]));
      interrupt.push_back(RunOnce({"bench", b.name, b.arg}, objects[1]));
    }
    const Summary n = Summarize(native), a = Summarize(none), c = Summarize(interrupt);
    std::printf("%-8s %10.1f %10.1f %10.1f %10.1f %7.2fx %10.1f %10.1f %7.2fx\n", b.name, n.min,
                n.median, a.min, a.median, a.min / n.min, c.min, c.median, c.min / n.min);
  }
  std::printf(
      "(CPU ms of the work as the guest measures it, %d runs each, round-robin; ratio = min / "
      "native min, the least noisy estimate on a shared machine)\n",
      runs);
  return 0;
}
