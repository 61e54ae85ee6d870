// The sandbox, two ways: its parsing and cgroup steps against stand-in files, and the whole of it
// applied by sandbox_probe, which then attempts what must be impossible (each attempt in a fresh
// process: the forbidden ones must die of SIGSYS).
#include "common/testing/temp_dir.h"
#include "compute/worker/sandbox.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include "compute/worker/child_process.h"

namespace elastos::compute::sandbox {
namespace {

using compute::testing::ChildResult;
using compute::testing::RunChild;

std::string ReadText(const std::string& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

using elastos::testing::TempDir;

// ---- cgroup v2 discovery ----

TEST(CgroupTest, FindsTheUnifiedPathInHybridAndPureLayouts) {
  // This build machine: v1 controllers plus an empty unified hierarchy.
  EXPECT_EQ(CgroupV2Path("9:name=systemd:/\n4:memory:/process_api/e6af\n1:cpu:/\n0::/\n"), "/");
  EXPECT_EQ(CgroupV2Path("0::/user.slice/user-1000.slice/session-2.scope\n"),
            "/user.slice/user-1000.slice/session-2.scope");
  EXPECT_EQ(CgroupV2Path("4:memory:/a\n1:cpu:/\n"), std::nullopt);  // v1 only
  EXPECT_EQ(CgroupV2Path(""), std::nullopt);
}

TEST(CgroupTest, MapsThePathOntoTheCgroup2Mount) {
  const std::string pure =
      "24 30 0:22 / /sys/fs/cgroup rw,nosuid,nodev,noexec,relatime shared:9 - cgroup2 cgroup2 "
      "rw,nsdelegate\n";
  EXPECT_EQ(CgroupV2Dir(pure, "/user.slice/a"), "/sys/fs/cgroup/user.slice/a");
  EXPECT_EQ(CgroupV2Dir(pure, "/"), "/sys/fs/cgroup");

  const std::string hybrid =
      "30 25 0:26 / /sys/fs/cgroup rw - tmpfs tmpfs rw\n"
      "38 30 0:33 / /sys/fs/cgroup/memory rw - cgroup cgroup rw,memory\n"
      "41 30 0:36 / /sys/fs/cgroup/unified rw - cgroup2 cgroup2 rw\n";
  EXPECT_EQ(CgroupV2Dir(hybrid, "/"), "/sys/fs/cgroup/unified");

  // A container whose cgroup namespace root is mounted: paths are relative to the mount's root.
  const std::string nested = "50 40 0:30 /docker/abc /sys/fs/cgroup ro - cgroup2 cgroup2 rw\n";
  EXPECT_EQ(CgroupV2Dir(nested, "/docker/abc/worker"), "/sys/fs/cgroup/worker");
  EXPECT_EQ(CgroupV2Dir(nested, "/docker/abc"), "/sys/fs/cgroup");
  EXPECT_EQ(CgroupV2Dir(nested, "/docker/abcdef"), std::nullopt);
  EXPECT_EQ(CgroupV2Dir("38 30 0:33 / /sys/fs/cgroup/memory rw - cgroup cgroup rw,memory\n", "/"),
            std::nullopt);
}

TEST(CgroupTest, EntersAChildCgroupWithTheMemoryLimit) {
  TempDir cgroup;
  std::ofstream(cgroup.path().string() + "/cgroup.controllers") << "cpuset cpu io memory pids\n";
  std::ofstream(cgroup.path().string() + "/cgroup.subtree_control") << "";
  auto entered = EnterMemoryCgroup(cgroup.path().string(), 96ull << 20);
  ASSERT_TRUE(entered.ok()) << entered.status().ToString();
  const std::string child = cgroup.path().string() + "/elastos-worker-" + std::to_string(::getpid());
  EXPECT_EQ(*entered, child);
  EXPECT_EQ(ReadText(child + "/cgroup.procs"), std::to_string(::getpid()));
  EXPECT_EQ(ReadText(child + "/memory.max"), std::to_string(96ull << 20));
  EXPECT_EQ(ReadText(cgroup.path().string() + "/cgroup.subtree_control"), "+memory");
}

TEST(CgroupTest, WithoutADelegatedMemoryControllerNothingIsCreated) {
  TempDir cgroup;
  std::ofstream(cgroup.path().string() + "/cgroup.controllers") << "cpu io pids\n";
  auto entered = EnterMemoryCgroup(cgroup.path().string(), 1 << 20);
  ASSERT_FALSE(entered.ok());
  EXPECT_EQ(entered.status().code(), Code::kUnavailable);
  EXPECT_FALSE(
      std::filesystem::exists(cgroup.path().string() + "/elastos-worker-" + std::to_string(::getpid())));
  EXPECT_FALSE(EnterMemoryCgroup(cgroup.path().string() + "/missing", 1 << 20).ok());
}

// ---- the probe ----

ChildResult Probe(std::vector<std::string> args) {
  args.insert(args.begin(), ELASTOS_SANDBOX_PROBE);
  return RunChild(args);
}

TEST(SandboxProbeTest, AHarmlessRunSurvivesTheSandbox) {
  ChildResult r = Probe({"ok"});
  EXPECT_EQ(r.exit_code(), 0) << r.out << r.err;
  // cgroup v2 delegation is not available on every host; one of the two always applies.
  EXPECT_TRUE(r.out.rfind("memory=rlimit_as ", 0) == 0 || r.out.rfind("memory=cgroup ", 0) == 0)
      << r.out;
}

class ForbiddenTest : public ::testing::TestWithParam<const char*> {};

TEST_P(ForbiddenTest, KillsTheProcessWithSigsys) {
  ChildResult r = Probe({GetParam()});
  EXPECT_EQ(r.signal(), SIGSYS) << "status " << r.status << ": " << r.out << r.err;
  // It died at the forbidden call, before it could say what the call returned.
  EXPECT_EQ(r.out.find("returned"), std::string::npos) << r.out;
}

INSTANTIATE_TEST_SUITE_P(Sandbox, ForbiddenTest,
                         ::testing::Values("socket-inet", "socket-unix", "execve", "fork", "thread",
                                           "mprotect-exec", "tiocsti", "openat"),
                         [](const auto& info) {
                           std::string name = info.param;
                           for (char& c : name) {
                             if (c == '-') c = '_';
                           }
                           return name;
                         });

bool LandlockAvailable() { return Probe({"ok"}).out.find("landlock=1") != std::string::npos; }

TEST(SandboxProbeTest, FilesOutsideTheDataDirectoryAreUnreachable) {
  if (!LandlockAvailable()) GTEST_SKIP() << "kernel without Landlock";
  ChildResult r = Probe({"openat2-outside"});
  EXPECT_EQ(r.exit_code(), 0);
  EXPECT_NE(r.out.find("refused: Permission denied"), std::string::npos) << r.out;
}

TEST(SandboxProbeTest, TheDataDirectoryStaysWritable) {
  TempDir data;
  ChildResult r = Probe({"--data-dir", data.path().string(), "write-data", "out.txt"});
  EXPECT_EQ(r.exit_code(), 0) << r.out << r.err;
  EXPECT_NE(r.out.find("written"), std::string::npos) << r.out;
  EXPECT_EQ(ReadText(data.path().string() + "/out.txt"), "data\n");
}

TEST(SandboxProbeTest, InheritedFdsAreClosedAndNamedOnesKept) {
  // Not O_CLOEXEC: the probe inherits both.
  const int leaked = ::open("/dev/null", O_RDONLY);
  const int named = ::open("/dev/null", O_RDONLY);
  ASSERT_GE(leaked, 3);
  ASSERT_GE(named, 3);
  ChildResult closed =
      Probe({"--keep-fd", std::to_string(named), "fd-closed", std::to_string(leaked)});
  ChildResult kept =
      Probe({"--keep-fd", std::to_string(named), "fd-closed", std::to_string(named)});
  ::close(leaked);
  ::close(named);
  EXPECT_NE(closed.out.find("\nclosed"), std::string::npos) << closed.out;
  EXPECT_NE(kept.out.find("\nopen"), std::string::npos) << kept.out;
}

TEST(SandboxProbeTest, CpuLimitInterruptsThenRlimitCpuKills) {
  // The CPU-clock timer requests the interrupt at 300 ms; a guest thread that ignores it is
  // killed by the kernel at RLIMIT_CPU's hard limit (ceil(0.3 s) + 1 = 2 s of CPU).
  ChildResult r = Probe({"--cpu-ms", "300", "spin"});
  EXPECT_EQ(r.signal(), SIGKILL) << r.status;
  const std::size_t at = r.out.find("interrupted at ");
  ASSERT_NE(at, std::string::npos) << r.out;
  const long ms = std::atol(r.out.c_str() + at + 15);
  EXPECT_GE(ms, 300);
  EXPECT_LT(ms, 600);
  EXPECT_LT(r.took, std::chrono::seconds(60));  // 2 s of CPU; generous for a loaded machine
}

TEST(SandboxProbeTest, WatchdogEndsARunThatIgnoresTheInterrupt) {
  // The wall limit passes at 100 ms; the probe never looks at the flag, so the watchdog's last
  // resort ends it after the grace period (200 ms).
  ChildResult r = Probe({"--wall-ms", "100", "hang"});
  EXPECT_EQ(r.exit_code(), 124) << r.status;
  EXPECT_NE(r.out.find("stuck: wall"), std::string::npos) << r.out;
  EXPECT_GE(r.took, std::chrono::milliseconds(300));
  EXPECT_LT(r.took, std::chrono::seconds(3));
}

}  // namespace
}  // namespace elastos::compute::sandbox
