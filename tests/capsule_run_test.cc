// `elastos capsule run` end to end: the real binary, the real sandbox worker, the capsules of
// tests/capsules and capsules/examples built from source. Every hostile capsule must be contained
// with its exact typed outcome, on both tiers, within a generous bound of its limit, without
// touching anything outside its /data.
#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <boost/json.hpp>
#include <chrono>
#include <cstdlib>
#include <fstream>
#include <gtest/gtest.h>
#include <sstream>

#include "common/file_util.h"
#include "common/testing/temp_dir.h"
#include "tests/capsules/sdk_doc_example.h"

namespace elastos {
namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

struct Ran {
  int exit_code = -1;
  std::string out, err;
  double seconds = 0;
};

std::string Slurp(const fs::path& p) {
  std::ifstream f(p, std::ios::binary);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

class CapsuleRun : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    const char* bin = std::getenv("ELASTOS_BIN");
    ASSERT_NE(bin, nullptr) << "ELASTOS_BIN must point at build/bin (ctest sets it)";
    elastos_ = fs::path(bin) / "elastos";
    capsules_ = fs::path(bin).parent_path() / "capsules";
    dir_ = tmp_.path();
    data_ = dir_ / "data";
  }

  std::string tier() const { return GetParam(); }

  // Runs `elastos ARGS`; stdout/stderr to files (a flood cannot fill a pipe), stdin from `input`.
  Ran Elastos(std::vector<std::string> args, const std::string& input = "") {
    const fs::path in = dir_ / ".stdin", out = dir_ / ".stdout", err = dir_ / ".stderr";
    EXPECT_TRUE(WriteFileAtomic(in, AsBytes(input)).ok());
    const auto start = Clock::now();
    const pid_t pid = ::fork();
    if (pid == 0) {
      ::dup2(::open(in.c_str(), O_RDONLY), 0);
      ::dup2(::open(out.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600), 1);
      ::dup2(::open(err.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600), 2);
      std::vector<char*> argv{const_cast<char*>(elastos_.c_str())};
      for (auto& a : args) argv.push_back(a.data());
      argv.push_back(nullptr);
      ::setenv("ELASTOS_DATA_DIR", data_.c_str(), 1);
      ::execv(elastos_.c_str(), argv.data());
      ::_exit(127);
    }
    int status = 0;
    ::waitpid(pid, &status, 0);
    Ran r;
    r.seconds = std::chrono::duration<double>(Clock::now() - start).count();
    r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    r.out = Slurp(out);
    r.err = Slurp(err);
    return r;
  }

  // `capsule run --allow-unsigned` of a built capsule directory on this test's tier.
  Ran Run(const std::string& capsule, std::vector<std::string> guest_args = {}, const std::string& input = "",
          std::vector<std::string> options = {}) {
    std::vector<std::string> args = {"capsule", "run", (capsules_ / capsule).string(), "--allow-unsigned",
                                     "--tier", tier()};
    args.insert(args.end(), options.begin(), options.end());
    if (!guest_args.empty()) {
      args.push_back("--");
      args.insert(args.end(), guest_args.begin(), guest_args.end());
    }
    return Elastos(args, input);
  }

  // The last capsule_exit record of the audit log.
  boost::json::object LastExitRecord() {
    Ran tail = Elastos({"audit", "tail", "-n", "50", "--json"});
    EXPECT_EQ(tail.exit_code, 0) << tail.err;
    boost::json::object last;
    std::istringstream lines(tail.out);
    for (std::string line; std::getline(lines, line);) {
      if (line.empty()) continue;
      boost::json::value v = boost::json::parse(line);
      const boost::json::object* rec = &v.as_object();
      if (rec->contains("record")) rec = &rec->at("record").as_object();
      if (rec->at("type").as_string() == "capsule_exit") last = *rec;
    }
    return last;
  }

  void ExpectAuditedExit(const std::string& reason, int exit_code) {
    boost::json::object rec = LastExitRecord();
    ASSERT_FALSE(rec.empty()) << "no capsule_exit record";
    EXPECT_EQ(rec.contains("reason") ? std::string(rec.at("reason").as_string()) : "", reason);
    EXPECT_EQ(rec.at("details").at("exit_code").to_number<int>(), exit_code);
    Ran verify = Elastos({"audit", "verify"});
    EXPECT_EQ(verify.exit_code, 0) << verify.out << verify.err;
  }

  testing::TempDir tmp_;
  fs::path elastos_, capsules_, dir_, data_;
};

TEST_P(CapsuleRun, ExitCodePassesThrough) {
  Ran r = Run("exit42");
  EXPECT_EQ(r.exit_code, 42) << r.err;
  EXPECT_EQ(r.out, "exiting with 42\n");
  ExpectAuditedExit("", 42);
}

TEST_P(CapsuleRun, HelloUsesEnvArgvStdinAndData) {
  Ran r = Run("hello-sdk", {"one", "two words"}, "line from stdin\n");
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_NE(r.out.find("name: hello-sdk\n"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("id: hello-sdk-"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("argv[1]: one\nargv[2]: two words\n"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("line from stdin\n"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("runtime: pong\n"), std::string::npos) << r.out;
  // What it wrote to /data is in its private directory on the host, and nowhere else.
  EXPECT_TRUE(fs::exists(data_ / "capsules" / "hello-sdk" / "data" / "hello.txt"));
}

TEST_P(CapsuleRun, InfiniteLoopIsStoppedByItsTimeLimit) {
  Ran r = Run("spin");
  EXPECT_EQ(r.exit_code, 124) << r.err;
  const bool typed = r.err.find("(cpu_limit)") != std::string::npos || r.err.find("(wall_limit)") != std::string::npos;
  EXPECT_TRUE(typed) << r.err;
  EXPECT_LT(r.seconds, 3.0 + 5.0);  // wall_ms 3000, plus a generous bound for a loaded machine
  boost::json::object rec = LastExitRecord();
  ASSERT_FALSE(rec.empty());
  const std::string reason(rec.at("reason").as_string());
  EXPECT_TRUE(reason == "cpu_limit" || reason == "wall_limit") << reason;
}

TEST_P(CapsuleRun, MemoryBombHitsItsMemoryLimit) {
  Ran r = Run("membomb");
  EXPECT_EQ(r.exit_code, 124) << r.out << r.err;
  EXPECT_NE(r.out.find("malloc failed at"), std::string::npos) << r.out;
  EXPECT_NE(r.err.find("(memory_limit)"), std::string::npos) << r.err;
  ExpectAuditedExit("memory_limit", 124);
}

TEST_P(CapsuleRun, DeepRecursionTrapsAsStackExhausted) {
  // Calls that keep nothing in linear memory exhaust the engine's call stack.
  Ran r = Run("recurse", {"calls"});
  EXPECT_EQ(r.exit_code, 126) << r.out << r.err;
  EXPECT_NE(r.err.find("(trap_stack_exhausted)"), std::string::npos) << r.err;
  ExpectAuditedExit("trap_stack_exhausted", 126);
}

TEST_P(CapsuleRun, ShadowStackOverflowTrapsInsteadOfCorruptingMemory) {
  // Frames with local arrays overflow the C stack that lives in linear memory. Capsules are linked
  // with the stack first (--stack-first), so running off its end leaves memory and traps, where the
  // default layout would silently overwrite the guest's own globals.
  Ran r = Run("recurse");
  EXPECT_EQ(r.exit_code, 126) << r.out << r.err;
  EXPECT_NE(r.err.find("(trap_out_of_bounds)"), std::string::npos) << r.err;
}

TEST_P(CapsuleRun, OutOfBoundsStoreTraps) {
  Ran r = Run("oob");
  EXPECT_EQ(r.exit_code, 126) << r.out << r.err;
  EXPECT_NE(r.err.find("(trap_out_of_bounds)"), std::string::npos) << r.err;
  EXPECT_EQ(r.out.find("store did not trap"), std::string::npos);
  ExpectAuditedExit("trap_out_of_bounds", 126);
}

TEST_P(CapsuleRun, PathEscapesAreRefused) {
  Ran r = Run("escape");
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_EQ(r.out.find("ESCAPED"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("control: path_open . ok"), std::string::npos) << r.out;
}

TEST_P(CapsuleRun, SymlinksCannotLeaveData) {
  // A file beside the data directory that a successful escape would read or overwrite.
  const fs::path outside = data_ / "capsules" / "symlink" / "outside.txt";
  fs::create_directories(outside.parent_path());
  ASSERT_TRUE(WriteFileAtomic(outside, AsBytes(std::string("host secret\n"))).ok());
  const auto before = fs::directory_iterator(outside.parent_path());
  Ran r = Run("symlink");
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_EQ(r.out.find("ESCAPED"), std::string::npos) << r.out;
  EXPECT_EQ(Slurp(outside), "host secret\n");
  // Nothing new beside /data: only data/ and our file are there.
  std::vector<std::string> names;
  for (const auto& e : fs::directory_iterator(outside.parent_path())) names.push_back(e.path().filename());
  std::sort(names.begin(), names.end());
  EXPECT_EQ(names, (std::vector<std::string>{"data", "outside.txt"}));
}

TEST_P(CapsuleRun, StdoutFloodHitsTheOutputLimit) {
  Ran r = Run("flood");
  EXPECT_EQ(r.exit_code, 124) << r.err.substr(0, 500);
  EXPECT_NE(r.err.find("(output_limit)"), std::string::npos) << r.err.substr(0, 500);
  EXPECT_LE(r.out.size(), 1u << 20);  // output_mb 1: nothing past the limit reached us
  EXPECT_LT(r.seconds, 60.0 + 5.0);
  ExpectAuditedExit("output_limit", 124);
}

TEST_P(CapsuleRun, DiskFillerHitsTheStorageLimit) {
  Ran r = Run("diskfill");
  EXPECT_EQ(r.exit_code, 124) << r.out << r.err;
  EXPECT_NE(r.err.find("(storage_limit)"), std::string::npos) << r.err;
  std::uint64_t total = 0;
  for (const auto& e : fs::recursive_directory_iterator(data_ / "capsules" / "diskfill" / "data")) {
    if (e.is_regular_file()) total += e.file_size();
  }
  EXPECT_LE(total, 8u << 20);  // storage_mb 8
  ExpectAuditedExit("storage_limit", 124);
}

TEST_P(CapsuleRun, UnknownImportIsRefusedBeforeItStarts) {
  Ran r = Run("unknown-import");
  EXPECT_EQ(r.exit_code, 125) << r.out << r.err;
  EXPECT_NE(r.err.find("unknown_import"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("env.elastos_secret"), std::string::npos) << r.err;
  EXPECT_EQ(r.out, "");
}

TEST_P(CapsuleRun, SleepWaitsThroughPollOneoff) {
  Ran r = Run("sleep", {"3", "50"});
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_EQ(r.out, "slept 3 x 50 ms\n");
  EXPECT_GE(r.seconds, 0.15);
}

TEST_P(CapsuleRun, CarrierAnswersPingAndRefusesWhatNeedsTheDaemon) {
  Ran r = Run("carrier-ping");
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_NE(r.out.find("pong"), std::string::npos) << r.out;
}

TEST_P(CapsuleRun, AHostileCapsuleDoesNotDisturbAnother) {
  // spin runs in the background (its own data dir and log), exit42 alongside it.
  const fs::path other = dir_ / "other-data";
  const pid_t spinner = ::fork();
  if (spinner == 0) {
    ::setenv("ELASTOS_DATA_DIR", other.c_str(), 1);
    int devnull = ::open("/dev/null", O_RDWR);
    ::dup2(devnull, 1);
    ::dup2(devnull, 2);
    std::string target = (capsules_ / "spin").string();
    std::string t = tier();
    ::execl(elastos_.c_str(), "elastos", "capsule", "run", target.c_str(), "--allow-unsigned", "--tier", t.c_str(),
            static_cast<char*>(nullptr));
    ::_exit(127);
  }
  Ran r = Run("exit42");
  EXPECT_EQ(r.exit_code, 42);
  int status = 0;
  ::waitpid(spinner, &status, 0);
  EXPECT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 124);
}

TEST_P(CapsuleRun, FuelMetersExactlyOnTheInterpreter) {
  if (tier() == "aot") {
    // Fuel is the interpreter's exact meter: asking for it on the AOT tier is refused, not ignored.
    Ran r = Run("spin", {}, "", {"--fuel", "1000000"});
    EXPECT_EQ(r.exit_code, 125);
    EXPECT_NE(r.err.find("tier_conflict"), std::string::npos) << r.err;
    return;
  }
  Ran r = Run("spin", {}, "", {"--fuel", "1000000"});
  EXPECT_EQ(r.exit_code, 124) << r.err;
  EXPECT_NE(r.err.find("(fuel_exhausted)"), std::string::npos) << r.err;
  EXPECT_LT(r.seconds, 5.0);
}

INSTANTIATE_TEST_SUITE_P(Tiers, CapsuleRun, ::testing::Values("interp", "aot"),
                         [](const auto& info) { return info.param; });

// Tier-independent behaviour of the command itself.
class CapsuleRunCommand : public CapsuleRun {};

TEST_P(CapsuleRunCommand, UnsignedDirectoryNeedsExplicitConsentAndIsAudited) {
  Ran r = Elastos({"capsule", "run", (capsules_ / "exit42").string()});
  EXPECT_EQ(r.exit_code, 125);
  EXPECT_NE(r.err.find("capsule_unsigned"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("--allow-unsigned"), std::string::npos) << r.err;
  Ran tail = Elastos({"audit", "tail", "--json"});
  EXPECT_NE(tail.out.find("\"capsule_unsigned\""), std::string::npos) << tail.out;
}

TEST_P(CapsuleRunCommand, SignedCapsuleRunsAndTamperedOneIsRefused) {
  Ran keys = Elastos({"keys", "generate", "--out", (dir_ / "pub").string()});
  ASSERT_EQ(keys.exit_code, 0) << keys.err;
  const std::string did = keys.out.substr(0, keys.out.size() - 1);
  ASSERT_TRUE(WriteFileAtomic(dir_ / "trust", AsBytes(did + " root\n")).ok());
  const std::string file = (dir_ / "exit42.capsule").string();
  Ran pack = Elastos({"capsule", "pack", (capsules_ / "exit42").string(), "--key",
                      (dir_ / "pub" / "private.key").string(), "--out", file});
  ASSERT_EQ(pack.exit_code, 0) << pack.err;

  Ran ok = Elastos({"capsule", "run", file, "--trust", (dir_ / "trust").string(), "--tier", tier()});
  EXPECT_EQ(ok.exit_code, 42) << ok.err;
  EXPECT_EQ(ok.out, "exiting with 42\n");

  // Untrusted publisher: refused, nothing runs.
  ASSERT_TRUE(WriteFileAtomic(dir_ / "empty-trust", AsBytes(std::string("# nobody\n"))).ok());
  Ran untrusted = Elastos({"capsule", "run", file, "--trust", (dir_ / "empty-trust").string()});
  EXPECT_EQ(untrusted.exit_code, 125);
  EXPECT_NE(untrusted.err.find("publisher_unknown"), std::string::npos) << untrusted.err;
  EXPECT_EQ(untrusted.out, "");

  // One flipped byte near the end (inside the module or the envelope): refused.
  std::string bytes = Slurp(file);
  bytes[bytes.size() - 40] ^= 0x01;
  ASSERT_TRUE(WriteFileAtomic(dir_ / "tampered.capsule", AsBytes(bytes)).ok());
  Ran tampered = Elastos({"capsule", "run", (dir_ / "tampered.capsule").string(), "--trust", (dir_ / "trust").string()});
  EXPECT_EQ(tampered.exit_code, 125) << tampered.err;
  EXPECT_EQ(tampered.out, "");
}

TEST_P(CapsuleRunCommand, ConcurrentRunsShareOneIntactAuditLog) {
  std::vector<pid_t> runs;
  for (int i = 0; i < 4; ++i) {
    const pid_t pid = ::fork();
    if (pid == 0) {
      ::setenv("ELASTOS_DATA_DIR", data_.c_str(), 1);
      int devnull = ::open("/dev/null", O_RDWR);
      ::dup2(devnull, 1);
      ::dup2(devnull, 2);
      std::string target = (capsules_ / "exit42").string();
      std::string t = tier();
      ::execl(elastos_.c_str(), "elastos", "capsule", "run", target.c_str(), "--allow-unsigned", "--tier",
              t.c_str(), static_cast<char*>(nullptr));
      ::_exit(127);
    }
    runs.push_back(pid);
  }
  for (pid_t pid : runs) {
    int status = 0;
    ::waitpid(pid, &status, 0);
    EXPECT_EQ(WEXITSTATUS(status), 42);
  }
  Ran verify = Elastos({"audit", "verify"});
  EXPECT_EQ(verify.exit_code, 0) << verify.out << verify.err;
  Ran tail = Elastos({"audit", "tail", "-n", "100", "--json"});
  std::size_t exits = 0;
  for (std::size_t at = 0; (at = tail.out.find("\"capsule_exit\"", at)) != std::string::npos; ++at) ++exits;
  EXPECT_EQ(exits, 4u) << tail.out;
}

TEST_P(CapsuleRunCommand, ALaunchMayLowerButNotRaiseALimit) {
  Ran raised = Run("exit42", {}, "", {"--wall-ms", "999999"});
  EXPECT_EQ(raised.exit_code, 125);
  EXPECT_NE(raised.err.find("limit_raised"), std::string::npos) << raised.err;
  Ran lowered = Run("spin", {}, "", {"--wall-ms", "300", "--cpu-ms", "300"});
  EXPECT_EQ(lowered.exit_code, 124);
  EXPECT_LT(lowered.seconds, 0.3 + 5.0);
}

TEST_P(CapsuleRunCommand, TheSdkDocumentationExampleBuildsAndRunsAsPrinted) {
  auto files = testing::ExtractSdkDocExample(Slurp(fs::path(ELASTOS_SOURCE_TREE) / "docs" / "sdk.md"));
  ASSERT_TRUE(files.has_value());
  const fs::path dir = dir_ / "sdk-example";
  fs::create_directories(dir);
  for (const auto& [name, content] : *files) ASSERT_TRUE(WriteFileAtomic(dir / name, AsBytes(content)).ok());
  Ran build = Elastos({"capsule", "build", dir.string()});
  ASSERT_EQ(build.exit_code, 0) << build.out << build.err;
  Ran first = Elastos({"capsule", "run", dir.string(), "--allow-unsigned", "--tier", tier()});
  ASSERT_EQ(first.exit_code, 0) << first.out << first.err;
  EXPECT_NE(first.out.find("I am sdk-example (instance sdk-example-"), std::string::npos) << first.out;
  EXPECT_NE(first.out.find("visit 1\n"), std::string::npos) << first.out;
  Ran second = Elastos({"capsule", "run", dir.string(), "--allow-unsigned", "--tier", tier()});
  EXPECT_NE(second.out.find("visit 2\n"), std::string::npos) << second.out;
}

INSTANTIATE_TEST_SUITE_P(Tiers, CapsuleRunCommand, ::testing::Values("interp", "aot"),
                         [](const auto& info) { return info.param; });

// The same well-behaved guests give the same stdout and exit code on the interpreter, on compiled
// code, and under Node's own WASI implementation (an independent third opinion).
class TierAgreement : public CapsuleRun {};

TEST_P(TierAgreement, InterpreterCompiledCodeAndNodeAgree) {
  struct Case {
    std::string capsule;
    std::vector<std::string> args;
  };
  const std::vector<Case> cases = {
      {"exit42", {}},           {"bench", {"fib", "24"}}, {"bench", {"sha256", "1"}},
      {"bench", {"sort", "20000"}}, {"bench", {"selftest"}}, {"sleep", {"2", "10"}},
      {"escape", {}},
  };
  const std::string node = "node";
  for (const Case& c : cases) {
    SCOPED_TRACE(c.capsule + (c.args.empty() ? "" : " " + c.args[0]));
    Ran interp = Elastos([&] {
      std::vector<std::string> a = {"capsule", "run", (capsules_ / c.capsule).string(), "--allow-unsigned",
                                    "--tier", "interp", "--"};
      a.insert(a.end(), c.args.begin(), c.args.end());
      return a;
    }());
    Ran aot = Elastos([&] {
      std::vector<std::string> a = {"capsule", "run", (capsules_ / c.capsule).string(), "--allow-unsigned",
                                    "--tier", "aot", "--"};
      a.insert(a.end(), c.args.begin(), c.args.end());
      return a;
    }());
    // Node, with the same guest layout (tests/capsules/wasi_run.mjs): /data at fd 3, carrier 4/5.
    const fs::path node_data = dir_ / ("node-" + c.capsule);
    fs::create_directories(node_data);
    const std::string entry = c.capsule + ".wasm";
    std::string cmd = node + " --no-warnings " + std::string(ELASTOS_SOURCE_TREE) +
                      "/tests/capsules/wasi_run.mjs --data " + node_data.string() + " --name " + c.capsule + " " +
                      (capsules_ / c.capsule / entry).string();
    for (const auto& a : c.args) cmd += " " + a;
    cmd += " > " + (dir_ / ".node-out").string() + " 2>/dev/null";
    const int status = std::system(cmd.c_str());
    ASSERT_TRUE(WIFEXITED(status)) << cmd;
    const int node_exit = WEXITSTATUS(status);
    ASSERT_NE(node_exit, 127) << "node is not installed (scripts/setup.sh installs it)";
    const std::string node_out = Slurp(dir_ / ".node-out");

    EXPECT_EQ(interp.exit_code, aot.exit_code) << interp.err << aot.err;
    EXPECT_EQ(interp.out, aot.out);
    EXPECT_EQ(interp.exit_code, node_exit);
    EXPECT_EQ(interp.out, node_out);
    EXPECT_FALSE(interp.out.empty());
  }
}

INSTANTIATE_TEST_SUITE_P(Once, TierAgreement, ::testing::Values("interp"), [](const auto&) { return "all"; });

}  // namespace
}  // namespace elastos
