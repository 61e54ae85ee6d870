// elastos-worker as the launcher runs it: a separate process, argv from ToArgv, the guest's stdio
// on pipes, the report on fd 3. Exit codes, report lines and limits end to end.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <sstream>
#include <string>
#include <vector>

#include "common/testing/temp_dir.h"
#include "compute/worker/child_process.h"
#include "compute/worker/worker_protocol.h"
#ifdef ELASTOS_WORKER_TEST_AOT
#include "compute/aot/aot_compiler.h"
#include "crypto/sha256.h"
#endif

namespace elastos::compute {
namespace {

using testing::ChildOptions;
using testing::ChildResult;
using testing::RunChild;

constexpr int kReportFd = 3;

std::string WorkerPath() {
  const char* bin = std::getenv("ELASTOS_BIN");
  return std::string(bin ? bin : "build/bin") + "/elastos-worker";
}

std::string Guest(const std::string& name) {
  return std::string(ELASTOS_TEST_GUESTS) + "/" + name + ".wasm";
}

WorkerSpec SpecFor(const std::string& guest) {
  WorkerSpec spec;
  spec.module_path = Guest(guest);
  spec.args = {guest};
  spec.report_fd = kReportFd;
  return spec;
}

struct WorkerRun {
  ChildResult child;
  WorkerReport report;
  bool report_ok = false;
};

WorkerRun RunWorker(const WorkerSpec& spec, ChildOptions options = {}) {
  WorkerRun run;
  options.report_fd = spec.report_fd;
  run.child = RunChild(ToArgv(WorkerPath(), spec), options);
  auto parsed = ParseReport(run.child.report);
  run.report_ok = parsed.ok();
  if (parsed.ok()) run.report = *parsed;
  return run;
}

using elastos::testing::TempDir;

#define EXPECT_REPORT(run, kind_, reason_)                                             \
  do {                                                                                 \
    ASSERT_TRUE((run).report_ok) << "report: '" << (run).child.report                  \
                                 << "' stderr: " << (run).child.err << " status "      \
                                 << (run).child.status;                                \
    EXPECT_EQ((run).report.outcome.kind, (kind_)) << (run).report.outcome.message;     \
    EXPECT_EQ((run).report.outcome.reason, (reason_)) << (run).report.outcome.message; \
  } while (0)

TEST(WorkerProcessTest, HelloRunsSandboxedAndReports) {
  WorkerRun run = RunWorker(SpecFor("hello"));
  EXPECT_EQ(run.child.exit_code(), 0) << run.child.err;
  EXPECT_EQ(run.child.out, "hello\n");
  EXPECT_EQ(run.child.err, "");
  EXPECT_REPORT(run, OutcomeKind::kExited, "exited");
  EXPECT_EQ(run.report.tier, "interp");
  EXPECT_EQ(run.report.output_bytes, 6u);
  EXPECT_EQ(run.report.memory_pages, 1u);
  EXPECT_TRUE(run.report.fuel_used.has_value());
  EXPECT_TRUE(run.report.memory_enforcement == "rlimit_as" ||
              run.report.memory_enforcement == "cgroup")
      << run.report.memory_enforcement;
  EXPECT_GT(run.report.wall_us, 0u);
  EXPECT_TRUE(run.report.filesystem_enforcement == "landlock" ||
              run.report.filesystem_enforcement == "none");
  EXPECT_EQ(run.child.report.back(), '\n');
}

TEST(WorkerProcessTest, GuestExitCodePassesThrough) {
  WorkerRun run = RunWorker(SpecFor("exit42"));
  EXPECT_EQ(run.child.exit_code(), 42);
  EXPECT_REPORT(run, OutcomeKind::kExited, "exited");
  EXPECT_EQ(run.report.outcome.exit_code, 42);
}

TEST(WorkerProcessTest, GuestCodeOutsideThePassThroughRangeBecomes125) {
  WorkerRun run = RunWorker(SpecFor("exit200"));
  EXPECT_EQ(run.child.exit_code(), 125);
  EXPECT_REPORT(run, OutcomeKind::kExited, "exited");
  EXPECT_EQ(run.report.outcome.exit_code, 200);  // the true code stays in the report
  EXPECT_NE(run.report.outcome.message.find("125 stands for its code 200"), std::string::npos)
      << run.report.outcome.message;
}

TEST(WorkerProcessTest, ArgsAndOnlyTheSpecsEnvironmentReachTheGuest) {
  WorkerSpec spec = SpecFor("echo");
  spec.args = {"echo", "one", "two words"};
  spec.env = {"ELASTOS_CAPSULE_NAME=echo", "A=b=c"};
  ::setenv("ELASTOS_WORKER_TEST_SECRET", "must-not-leak", 1);
  WorkerRun run = RunWorker(spec);
  ::unsetenv("ELASTOS_WORKER_TEST_SECRET");
  EXPECT_EQ(run.child.exit_code(), 0) << run.child.err;
  EXPECT_EQ(run.child.out, "echo\none\ntwo words\nELASTOS_CAPSULE_NAME=echo\nA=b=c\n");
}

TEST(WorkerProcessTest, WallLimitStopsASpinningGuest) {
  WorkerSpec spec = SpecFor("spin");
  spec.wall_ms = 200;
  WorkerRun run = RunWorker(spec);
  EXPECT_EQ(run.child.exit_code(), 124);
  EXPECT_REPORT(run, OutcomeKind::kLimit, "wall_limit");
  EXPECT_GE(run.child.took, std::chrono::milliseconds(200));
  EXPECT_LT(run.child.took, std::chrono::seconds(10));  // ends at all, on a loaded machine
}

TEST(WorkerProcessTest, CpuLimitStopsASpinningGuest) {
  WorkerSpec spec = SpecFor("spin");
  spec.cpu_ms = 200;
  WorkerRun run = RunWorker(spec);
  EXPECT_EQ(run.child.exit_code(), 124);
  EXPECT_REPORT(run, OutcomeKind::kLimit, "cpu_limit");
  EXPECT_LT(run.child.took, std::chrono::seconds(10));  // ends at all, on a loaded machine
}

TEST(WorkerProcessTest, WallLimitEndsAGuestBlockedInAHostCall) {
  // The WASI host ends a blocking read with EINTR once the interrupt is pending; the guest then
  // returns normally, which is still the wall limit.
  WorkerSpec spec = SpecFor("read_stdin");
  spec.wall_ms = 200;
  ChildOptions options;
  options.silent_stdin = true;  // fd_read would block forever
  WorkerRun run = RunWorker(spec, options);
  EXPECT_EQ(run.child.exit_code(), 124);
  EXPECT_REPORT(run, OutcomeKind::kLimit, "wall_limit");
  EXPECT_LT(run.child.took, std::chrono::seconds(10));  // ends at all, on a loaded machine
}

TEST(WorkerProcessTest, FuelIsReported) {
  WorkerSpec spec = SpecFor("spin");
  spec.fuel = 1'000'000;
  WorkerRun run = RunWorker(spec);
  EXPECT_EQ(run.child.exit_code(), 124);
  EXPECT_REPORT(run, OutcomeKind::kLimit, "fuel_exhausted");
  EXPECT_EQ(run.report.fuel_used, 1'000'000u);
}

TEST(WorkerProcessTest, MemoryBombIsAMemoryLimit) {
  WorkerSpec spec = SpecFor("membomb");
  spec.max_memory_pages = 64;
  WorkerRun run = RunWorker(spec);
  EXPECT_EQ(run.child.exit_code(), 124);
  EXPECT_REPORT(run, OutcomeKind::kLimit, "memory_limit");
  EXPECT_EQ(run.report.memory_pages, 49u);
}

TEST(WorkerProcessTest, TrapsExit126) {
  WorkerRun run = RunWorker(SpecFor("oob"));
  EXPECT_EQ(run.child.exit_code(), 126);
  EXPECT_REPORT(run, OutcomeKind::kTrap, "trap_out_of_bounds");
}

TEST(WorkerProcessTest, RefusedModulesExit125) {
  WorkerRun run = RunWorker(SpecFor("env_import"));
  EXPECT_EQ(run.child.exit_code(), 125);
  EXPECT_REPORT(run, OutcomeKind::kRefused, "unknown_import");
  EXPECT_NE(run.report.outcome.message.find("env.foo"), std::string::npos);
  EXPECT_EQ(run.report.memory_enforcement, "");  // refused before the sandbox

  TempDir dir;
  const std::string garbage = dir.path().string() + "/garbage.wasm";
  std::ofstream(garbage) << "garbage bytes, not wasm";
  WorkerSpec spec = SpecFor("hello");
  spec.module_path = garbage;
  run = RunWorker(spec);
  EXPECT_EQ(run.child.exit_code(), 125);
  EXPECT_REPORT(run, OutcomeKind::kRefused, "module_invalid");

  spec.module_path = dir.path().string() + "/missing.wasm";
  run = RunWorker(spec);
  EXPECT_EQ(run.child.exit_code(), 125);
  EXPECT_REPORT(run, OutcomeKind::kRefused, "module_unreadable");
}

TEST(WorkerProcessTest, UsageErrorsAreReportedAndExplainedOnStderr) {
  ChildOptions options;
  options.report_fd = kReportFd;
  ChildResult child = RunChild(
      {WorkerPath(), "--report-fd", "3", "--module", Guest("hello"), "--bogus", "1"}, options);
  EXPECT_EQ(child.exit_code(), 125);
  EXPECT_NE(child.err.find("'--bogus'"), std::string::npos) << child.err;
  EXPECT_EQ(std::count(child.err.begin(), child.err.end(), '\n'), 1);
  auto report = ParseReport(child.report);
  ASSERT_TRUE(report.ok()) << child.report;
  EXPECT_EQ(report->outcome.kind, OutcomeKind::kRefused);
  EXPECT_EQ(report->outcome.reason, "worker_usage");

  child = RunChild({WorkerPath()});  // no report fd: stderr only
  EXPECT_EQ(child.exit_code(), 125);
  EXPECT_NE(child.err.find("--module is required"), std::string::npos) << child.err;
}

TEST(WorkerProcessTest, GuestWritesItsDataDirectory) {
  TempDir data;
  WorkerSpec spec = SpecFor("write_file");
  spec.data_dir = data.path().string();
  WorkerRun run = RunWorker(spec);
  EXPECT_EQ(run.child.exit_code(), 0) << run.report.outcome.message << run.child.err;
  std::ifstream in(data.path().string() + "/out.txt");
  std::stringstream text;
  text << in.rdbuf();
  EXPECT_EQ(text.str(), "written by the guest\n");
}

TEST(WorkerProcessTest, FileSizeBackstopLeavesRoomForAStdoutFileThatIsAlreadyLarge) {
  // RLIMIT_FSIZE backs up a 100-byte storage limit, but stdout appends to a 4 KiB file: the
  // limit must sit past the file's end plus the output limit, or the guest could not print.
  TempDir dir;
  const std::string log = dir.path().string() + "/log.txt";
  std::ofstream(log) << std::string(4096, '.');
  WorkerSpec spec = SpecFor("hello");
  spec.storage_limit_bytes = 100;
  spec.output_limit_bytes = 1 << 20;
  ChildOptions options;
  options.stdout_path = log;
  WorkerRun run = RunWorker(spec, options);
  EXPECT_EQ(run.child.exit_code(), 0) << run.report.outcome.message;
  EXPECT_EQ(std::filesystem::file_size(log), 4096u + 6);
}

TEST(WorkerProcessTest, MissingDataDirectoryIsRefused) {
  WorkerSpec spec = SpecFor("hello");
  spec.data_dir = "/nonexistent/elastos/data";
  WorkerRun run = RunWorker(spec);
  EXPECT_EQ(run.child.exit_code(), 125);
  EXPECT_REPORT(run, OutcomeKind::kRefused, "data_dir_unavailable");
}

TEST(WorkerProcessTest, AClosedStdoutDoesNotKillTheWorker) {
  WorkerSpec spec = SpecFor("write_loop");
  spec.wall_ms = 200;
  ChildOptions options;
  options.close_stdout = true;  // every fd_write now meets EPIPE (SIGPIPE is ignored)
  WorkerRun run = RunWorker(spec, options);
  EXPECT_EQ(run.child.exit_code(), 124) << run.child.status;
  EXPECT_REPORT(run, OutcomeKind::kLimit, "wall_limit");
}

void ExpectSandboxedThenKill(pid_t pid, void*) {
  // The guest spins; wait until the worker has finished its setup, look at it from outside, then
  // end it.
  std::string status;
  for (int attempt = 0; attempt < 500; ++attempt) {
    std::ifstream in("/proc/" + std::to_string(pid) + "/status");
    std::stringstream text;
    text << in.rdbuf();
    status = text.str();
    if (status.find("Seccomp:\t2") != std::string::npos) break;
    ::usleep(10'000);
  }
  EXPECT_NE(status.find("Seccomp:\t2"), std::string::npos) << status;
  EXPECT_NE(status.find("NoNewPrivs:\t1"), std::string::npos) << status;
  EXPECT_NE(status.find("Seccomp_filters:\t1"), std::string::npos) << status;
  ::kill(pid, SIGKILL);
}

TEST(WorkerProcessTest, TheRunningWorkerIsUnderSeccomp) {
  WorkerSpec spec = SpecFor("spin");
  spec.wall_ms = 60'000;
  ChildOptions options;
  options.while_running = ExpectSandboxedThenKill;
  WorkerRun run = RunWorker(spec, options);
  EXPECT_EQ(run.child.signal(), SIGKILL);
}

TEST(WorkerProcessTest, NoSandboxSaysSo) {
  WorkerSpec spec = SpecFor("hello");
  spec.sandbox = false;
  WorkerRun run = RunWorker(spec);
  EXPECT_EQ(run.child.exit_code(), 0);
  EXPECT_REPORT(run, OutcomeKind::kExited, "exited");
  EXPECT_EQ(run.report.memory_enforcement, "none");
}

#ifdef ELASTOS_WORKER_TEST_AOT
// The same guests on the AOT tier: wasm2c objects dlopen'ed by the sandboxed worker (RLIMIT_AS
// must leave room for wasm2c's 8 GiB reservation, seccomp must allow its trap handling).
class AotWorkerTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    cache_dir_ = new TempDir();
    auto cache = aot::AotCache::Open(cache_dir_->path().string() + "/aot");
    ASSERT_TRUE(cache.ok()) << cache.status().ToString();
    cache_ = new aot::AotCache(std::move(cache).value());
  }
  static void TearDownTestSuite() {
    delete cache_;
    delete cache_dir_;
  }

  static WorkerSpec AotSpecFor(const std::string& guest) {
    std::ifstream in(Guest(guest), std::ios::binary);
    std::vector<std::uint8_t> wasm{std::istreambuf_iterator<char>(in), {}};
    auto object = cache_->Compile(wasm, aot::Instrumentation::kInterrupt);
    EXPECT_TRUE(object.ok()) << object.status().ToString();
    WorkerSpec spec = SpecFor(guest);
    if (object.ok()) spec.aot_path = object->string();
    return spec;
  }

  static TempDir* cache_dir_;
  static aot::AotCache* cache_;
};
TempDir* AotWorkerTest::cache_dir_ = nullptr;
aot::AotCache* AotWorkerTest::cache_ = nullptr;

TEST_F(AotWorkerTest, HelloRunsSandboxed) {
  WorkerRun run = RunWorker(AotSpecFor("hello"));
  EXPECT_EQ(run.child.exit_code(), 0) << run.child.err << run.child.report;
  EXPECT_EQ(run.child.out, "hello\n");
  EXPECT_REPORT(run, OutcomeKind::kExited, "exited");
  EXPECT_EQ(run.report.tier, "aot");
  EXPECT_EQ(run.report.memory_enforcement, "rlimit_as");
}

TEST_F(AotWorkerTest, ExitCodeTrapAndLimitsMatchTheInterpreter) {
  WorkerRun run = RunWorker(AotSpecFor("exit42"));
  EXPECT_EQ(run.child.exit_code(), 42) << run.child.report;

  run = RunWorker(AotSpecFor("oob"));
  EXPECT_EQ(run.child.exit_code(), 126) << run.child.report;
  EXPECT_REPORT(run, OutcomeKind::kTrap, "trap_out_of_bounds");

  WorkerSpec spec = AotSpecFor("spin");
  spec.wall_ms = 200;
  run = RunWorker(spec);
  EXPECT_EQ(run.child.exit_code(), 124) << run.child.report;
  EXPECT_REPORT(run, OutcomeKind::kLimit, "wall_limit");
  EXPECT_LT(run.child.took, std::chrono::seconds(10));  // ends at all, on a loaded machine

  spec = AotSpecFor("membomb");
  spec.max_memory_pages = 64;
  run = RunWorker(spec);
  EXPECT_EQ(run.child.exit_code(), 124) << run.child.report;
  EXPECT_REPORT(run, OutcomeKind::kLimit, "memory_limit");
}

TEST_F(AotWorkerTest, AMissingObjectIsRefusedNotInterpreted) {
  WorkerSpec spec = SpecFor("hello");
  spec.aot_path = cache_dir_->path().string() + "/missing.so";
  WorkerRun run = RunWorker(spec);
  EXPECT_EQ(run.child.exit_code(), 125);
  EXPECT_EQ(run.child.out, "");  // no silent fallback to the interpreter
  ASSERT_TRUE(run.report_ok) << run.child.report;
  EXPECT_EQ(run.report.outcome.kind, OutcomeKind::kRefused);
}
#endif  // ELASTOS_WORKER_TEST_AOT

}  // namespace
}  // namespace elastos::compute
