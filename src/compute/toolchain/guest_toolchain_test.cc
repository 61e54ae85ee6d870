#include "compute/toolchain/guest_toolchain.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <optional>
#include <sstream>

#include "common/file_util.h"
#include "common/manifest.h"
#include "common/testing/temp_dir.h"
#include "tests/capsules/sdk_doc_example.h"

extern char** environ;

namespace elastos::compute::toolchain {
namespace {
namespace fs = std::filesystem;
using elastos::testing::TempDir;

const fs::path kSourceDir = ELASTOS_SOURCE_DIR;

void WriteText(const fs::path& path, const std::string& text) {
  fs::create_directories(path.parent_path());
  std::ofstream out(path, std::ios::binary);
  out << text;
  ASSERT_TRUE(out.good()) << path;
}

std::string ReadText(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

fs::path BinDir() {
  if (const char* bin = std::getenv("ELASTOS_BIN"); bin && *bin) return bin;
  // Run by hand: the test binary is in <build>/tests, the elastos binary in <build>/bin.
  return fs::read_symlink("/proc/self/exe").parent_path().parent_path() / "bin";
}

struct ProcessResult {
  int exit_code = -1;
  std::string out, err;
};

// Runs argv[0] (an absolute path) with `argv`; `env` entries "K=V" override the inherited
// environment. Stdout and stderr are captured.
ProcessResult RunProcess(std::vector<std::string> argv, const std::vector<std::string>& env = {}) {
  TempDir io;
  const fs::path out = io.path() / "out", err = io.path() / "err";
  std::vector<std::string> envs;
  for (char** e = environ; *e; ++e) {
    const std::string kv = *e;
    const std::string key = kv.substr(0, kv.find('='));
    bool overridden = false;
    for (const std::string& o : env) overridden |= o.substr(0, o.find('=')) == key;
    if (!overridden) envs.push_back(kv);
  }
  envs.insert(envs.end(), env.begin(), env.end());
  std::vector<char*> argp, envp;
  for (auto& a : argv) argp.push_back(a.data());
  argp.push_back(nullptr);
  for (auto& e : envs) envp.push_back(e.data());
  envp.push_back(nullptr);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, out.c_str(),
                                   O_WRONLY | O_CREAT | O_TRUNC, 0600);
  posix_spawn_file_actions_addopen(&actions, STDERR_FILENO, err.c_str(),
                                   O_WRONLY | O_CREAT | O_TRUNC, 0600);
  pid_t pid = -1;
  ProcessResult r;
  if (::posix_spawn(&pid, argp[0], &actions, nullptr, argp.data(), envp.data()) != 0) {
    posix_spawn_file_actions_destroy(&actions);
    r.err = "cannot spawn " + argv[0];
    return r;
  }
  posix_spawn_file_actions_destroy(&actions);
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  r.out = ReadText(out);
  r.err = ReadText(err);
  return r;
}

ProcessResult RunElastos(const std::vector<std::string>& args,
                         const std::vector<std::string>& env = {}) {
  std::vector<std::string> argv = {(BinDir() / "elastos").string()};
  argv.insert(argv.end(), args.begin(), args.end());
  return RunProcess(std::move(argv), env);
}

// Node >= 20 on PATH (node:wasi preview1), for running built capsules with
// tests/capsules/wasi_run.mjs.
std::optional<fs::path> FindNode20() {
  const char* path = std::getenv("PATH");
  std::string_view rest = path ? path : "";
  while (!rest.empty()) {
    const std::size_t colon = rest.find(':');
    const fs::path candidate = fs::path(rest.substr(0, colon)) / "node";
    rest = colon == std::string_view::npos ? std::string_view() : rest.substr(colon + 1);
    if (candidate.is_absolute() && ::access(candidate.c_str(), X_OK) == 0) {
      const ProcessResult v = RunProcess({candidate.string(), "--version"});
      if (v.exit_code == 0 && v.out.size() > 1 && v.out[0] == 'v' &&
          std::atoi(v.out.c_str() + 1) >= 20)
        return candidate;
      return std::nullopt;
    }
  }
  return std::nullopt;
}

bool IsWasmModule(const fs::path& path) {
  const std::string head = ReadText(path).substr(0, 8);
  return head == std::string("\0asm\1\0\0\0", 8);
}

std::vector<std::string> Names(const std::vector<SourceFile>& sources) {
  std::vector<std::string> out;
  for (const auto& s : sources) out.push_back(s.display);
  return out;
}

// ---- SDK include discovery
// -----------------------------------------------------------------------

TEST(FindSdkIncludeDir, ExplicitEnvironmentWins) {
  TempDir t;
  WriteText(t.path() / "inc/elastos/sdk.h", "// sdk\n");
  IncludeSearch s;
  s.env = (t.path() / "inc").string();
  s.source_tree = kSourceDir / "guest/include";
  auto dir = FindSdkIncludeDir(s);
  ASSERT_TRUE(dir.ok()) << dir.status().ToString();
  EXPECT_EQ(*dir, t.path() / "inc");
}

TEST(FindSdkIncludeDir, WrongExplicitEnvironmentIsAnErrorNotAGuess) {
  TempDir t;
  IncludeSearch s;
  s.env = t.path().string();
  s.source_tree = kSourceDir / "guest/include";  // valid, but must not be used silently
  auto dir = FindSdkIncludeDir(s);
  ASSERT_FALSE(dir.ok());
  EXPECT_EQ(dir.status().reason(), "sdk_not_found");
  EXPECT_NE(dir.status().message().find("ELASTOS_GUEST_INCLUDE"), std::string::npos);
}

TEST(FindSdkIncludeDir, InstalledCopyNextToTheBinaryBeatsTheSourceTree) {
  TempDir t;
  WriteText(t.path() / "share/elastos/guest/include/elastos/sdk.h", "// sdk\n");
  IncludeSearch s;
  s.executable = t.path() / "bin/elastos";
  s.source_tree = kSourceDir / "guest/include";
  auto dir = FindSdkIncludeDir(s);
  ASSERT_TRUE(dir.ok()) << dir.status().ToString();
  EXPECT_EQ(*dir, t.path() / "share/elastos/guest/include");
}

TEST(FindSdkIncludeDir, FallsBackToTheSourceTree) {
  TempDir t;
  IncludeSearch s;
  s.executable = t.path() / "bin/elastos";
  s.source_tree = kSourceDir / "guest/include";
  auto dir = FindSdkIncludeDir(s);
  ASSERT_TRUE(dir.ok()) << dir.status().ToString();
  EXPECT_EQ(*dir, kSourceDir / "guest/include");
  EXPECT_TRUE(fs::exists(*dir / "elastos/sdk.h"));
}

TEST(FindSdkIncludeDir, NothingFoundNamesWhereItLooked) {
  TempDir t;
  IncludeSearch s;
  s.executable = t.path() / "bin/elastos";
  s.source_tree = t.path() / "nowhere";
  auto dir = FindSdkIncludeDir(s);
  ASSERT_FALSE(dir.ok());
  EXPECT_EQ(dir.status().code(), Code::kFailedPrecondition);
  EXPECT_NE(dir.status().message().find((t.path() / "nowhere").string()), std::string::npos);
  EXPECT_NE(dir.status().message().find("share/elastos/guest/include"), std::string::npos);
}

// ---- Sources
// -------------------------------------------------------------------------------------

TEST(DiscoverSources, TopLevelAndSrcSortedByRelativePath) {
  TempDir t;
  for (const char* f : {"b.c", "a.cpp", "src/z.cc", "src/a.c", ".hidden.c", "notes.txt", "lib/x.c",
                        "src/deep/y.c", "main.h"}) {
    WriteText(t.path() / f, "int x;\n");
  }
  fs::create_directories(t.path() / "dir.c");  // a directory with a source-like name is skipped
  auto sources = DiscoverSources(t.path());
  ASSERT_TRUE(sources.ok()) << sources.status().ToString();
  EXPECT_EQ(Names(*sources), (std::vector<std::string>{"a.cpp", "b.c", "src/a.c", "src/z.cc"}));
  EXPECT_EQ((*sources)[0].language, Language::kCxx);
  EXPECT_EQ((*sources)[1].language, Language::kC);
}

TEST(DiscoverSources, EmptyDirectoryIsNoSources) {
  TempDir t;
  WriteText(t.path() / "capsule.json", "{}");
  auto sources = DiscoverSources(t.path());
  ASSERT_FALSE(sources.ok());
  EXPECT_EQ(sources.status().reason(), "no_sources");
}

TEST(ResolveSources, KeepsOrderAndChecksEachFile) {
  TempDir t;
  WriteText(t.path() / "z.c", "int z;\n");
  WriteText(t.path() / "src/a.cc", "int a;\n");
  auto ok = ResolveSources(t.path(), {"z.c", "src/a.cc"});
  ASSERT_TRUE(ok.ok()) << ok.status().ToString();
  EXPECT_EQ(Names(*ok), (std::vector<std::string>{"z.c", "src/a.cc"}));

  auto missing = ResolveSources(t.path(), {"nope.c"});
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.status().reason(), "no_sources");
  auto wrong = ResolveSources(t.path(), {"capsule.json"});
  ASSERT_FALSE(wrong.ok());
  EXPECT_EQ(wrong.status().reason(), "bad_source");
}

// ---- Toolchain discovery
// -------------------------------------------------------------------------

TEST(FindGuestToolchain, MissingCompilerNamesThePackagesAndSetupScript) {
  ToolchainSearch s;
  s.path_env = "/nonexistent-elastos-path";
  auto tc = FindGuestToolchain(s, /*need_cxx=*/true);
  ASSERT_FALSE(tc.ok());
  EXPECT_EQ(tc.status().code(), Code::kFailedPrecondition);
  EXPECT_EQ(tc.status().reason(), "guest_toolchain_missing");
  const std::string& m = tc.status().message();
  for (const char* package :
       {"clang-19", "lld-19", "wasi-libc", "libclang-rt-19-dev-wasm32", "libc++-19-dev-wasm32",
        "libc++abi-19-dev-wasm32", "scripts/setup.sh"}) {
    EXPECT_NE(m.find(package), std::string::npos) << package << " not in: " << m;
  }
}

TEST(FindGuestToolchain, RelativeAndEmptyPathEntriesAreNotSearched) {
  // "clang-19" in the current directory must never be picked up through "" or "." on PATH.
  ToolchainSearch s;
  s.path_env = ":.:bin";
  auto tc = FindGuestToolchain(s, false);
  ASSERT_FALSE(tc.ok());
  EXPECT_NE(tc.status().message().find("clang-19 (not on PATH)"), std::string::npos);
}

TEST(FindGuestToolchain, MissingWasiLibcIsReported) {
  TempDir sysroot;
  ToolchainSearch s = DefaultToolchainSearch();
  s.sysroot = sysroot.path();
  auto tc = FindGuestToolchain(s, /*need_cxx=*/true);
  ASSERT_FALSE(tc.ok());
  EXPECT_NE(tc.status().message().find("wasi-libc"), std::string::npos) << tc.status().message();
  EXPECT_NE(tc.status().message().find("libc++"), std::string::npos) << tc.status().message();
}

TEST(FindGuestToolchain, FindsTheInstalledToolchain) {
  auto tc = FindGuestToolchain(DefaultToolchainSearch(), /*need_cxx=*/true);
  ASSERT_TRUE(tc.ok()) << tc.status().ToString() << " (run scripts/setup.sh)";
  EXPECT_TRUE(tc->cc.is_absolute());
  EXPECT_EQ(tc->cc.filename(), "clang-19");
  EXPECT_EQ(tc->cxx.filename(), "clang++-19");
}

// ---- Command lines
// -------------------------------------------------------------------------------

TEST(CompileCommand, FileNamesStaySingleArgumentsAfterDoubleDash) {
  GuestToolchain tc{"/usr/bin/clang-19", "/usr/bin/clang++-19", "/usr"};
  SourceFile hostile{"/caps/-o $(touch pwned); x.cc", "-o $(touch pwned); x.cc", Language::kCxx};
  const auto argv = CompileCommand(tc, hostile, "/tmp/o.o", CompileFlags{false, "/sdk"});
  ASSERT_GE(argv.size(), 2u);
  EXPECT_EQ(argv.front(), "/usr/bin/clang++-19");
  EXPECT_EQ(argv.back(), "/caps/-o $(touch pwned); x.cc");
  EXPECT_EQ(argv[argv.size() - 2], "--");
  for (const char* flag : {"--target=wasm32-wasi", "--sysroot=/usr", "-O2", "-std=c++17",
                           "-fno-exceptions", "-I/sdk"}) {
    EXPECT_NE(std::find(argv.begin(), argv.end(), flag), argv.end()) << flag;
  }
}

TEST(CompileCommand, CIsCompiledByClangWithoutCxxFlagsAndDebugKeepsNames) {
  GuestToolchain tc{"/usr/bin/clang-19", "", "/usr"};
  SourceFile c{"/caps/main.c", "main.c", Language::kC};
  const auto argv = CompileCommand(tc, c, "/tmp/o.o", CompileFlags{true, "/sdk"});
  EXPECT_EQ(argv.front(), "/usr/bin/clang-19");
  EXPECT_EQ(std::find(argv.begin(), argv.end(), "-std=c++17"), argv.end());
  EXPECT_NE(std::find(argv.begin(), argv.end(), "-g"), argv.end());
  EXPECT_NE(std::find(argv.begin(), argv.end(), "-O0"), argv.end());

  const auto link = LinkCommand(tc, {"/tmp/a.o"}, false, "/out.wasm", CompileFlags{true, "/sdk"});
  EXPECT_EQ(std::find(link.begin(), link.end(), "-Wl,--strip-all"), link.end());
  EXPECT_NE(std::find(link.begin(), link.end(), "-Wl,--stack-first"), link.end());
  const auto release =
      LinkCommand(tc, {"/tmp/a.o"}, false, "/out.wasm", CompileFlags{false, "/sdk"});
  EXPECT_NE(std::find(release.begin(), release.end(), "-Wl,--strip-all"), release.end());
}

// ---- Real builds
// ---------------------------------------------------------------------------------

constexpr char kManifest[] =
    R"({"name":"tiny","version":"0.1.0","type":"wasm","entry":"bin/tiny.wasm"})";

TEST(BuildCapsule, BuildsACCapsuleAndReplacesTheEntryAtomically) {
  TempDir t;
  WriteText(t.path() / "capsule.json", kManifest);
  WriteText(t.path() / "main.c",
            "#include <stdio.h>\nint helper(void);\nint main(void) { printf(\"%d\\n\", helper()); "
            "return 0; }\n");
  WriteText(t.path() / "src/helper.c", "int helper(void) { return 42; }\n");
  WriteText(t.path() / "bin/tiny.wasm", "old");
  std::vector<std::string> progress;
  BuildOptions options;
  options.jobs = 2;
  options.progress = [&](const std::string& line) { progress.push_back(line); };
  auto result = BuildCapsule(t.path(), options);
  ASSERT_TRUE(result.ok()) << result.status().ToString();
  EXPECT_EQ(result->output, t.path() / "bin/tiny.wasm");
  EXPECT_EQ(result->sources, 2u);
  EXPECT_TRUE(IsWasmModule(result->output));
  EXPECT_EQ(result->size, fs::file_size(result->output));
  EXPECT_EQ(progress,
            (std::vector<std::string>{"[1/2] compile main.c", "[2/2] compile src/helper.c",
                                      "link bin/tiny.wasm"}));
  for (const auto& e : fs::directory_iterator(t.path() / "bin")) {
    EXPECT_EQ(e.path().filename(), "tiny.wasm") << "leftover " << e.path();
  }
}

TEST(BuildCapsule, RefusesNonWasmCapsulesAndBadEntries) {
  TempDir t;
  WriteText(t.path() / "main.c", "int main(void) { return 0; }\n");
  WriteText(t.path() / "capsule.json",
            R"({"name":"d","version":"0.1.0","type":"data","entry":"index.html"})");
  auto data = BuildCapsule(t.path(), {});
  ASSERT_FALSE(data.ok());
  EXPECT_EQ(data.status().reason(), "not_buildable");
  WriteText(t.path() / "capsule.json",
            R"({"name":"d","version":"0.1.0","type":"wasm","entry":"d.bin"})");
  auto entry = BuildCapsule(t.path(), {});
  ASSERT_FALSE(entry.ok());
  EXPECT_EQ(entry.status().reason(), "not_buildable");
  WriteText(t.path() / "capsule.json",
            R"({"name":"d","version":"0.1.0","type":"wasm","entry":"../d.wasm"})");
  auto escape = BuildCapsule(t.path(), {});
  ASSERT_FALSE(escape.ok());
  EXPECT_EQ(escape.status().reason(), "manifest_invalid");
}

TEST(BuildCapsule, CompileErrorLeavesThePreviousEntryInPlace) {
  TempDir t;
  WriteText(t.path() / "capsule.json", kManifest);
  WriteText(t.path() / "main.c", "int main(void) { return undeclared_name; }\n");
  WriteText(t.path() / "bin/tiny.wasm", "previous");
  auto result = BuildCapsule(t.path(), {});
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.status().reason(), "compile_failed");
  EXPECT_NE(result.status().message().find("main.c"), std::string::npos);
  EXPECT_EQ(ReadText(t.path() / "bin/tiny.wasm"), "previous");
}

// ---- The CLI, through the real binary
// ------------------------------------------------------------

TEST(CapsuleBuildCli, BuildsACxxCapsuleUsingTheSdk) {
  TempDir t;
  const fs::path dir = t.path() / "sdkcap";
  WriteText(dir / "capsule.json",
            R"({"name":"sdkcap","version":"1.0.0","type":"agent","entry":"sdkcap.wasm"})");
  WriteText(
      dir / "main.cpp",
      "#include <elastos/sdk.h>\n#include <cstdio>\n"
      "int main() {\n"
      "  auto client = elastos::sdk::RuntimeClient::Connect();\n"
      "  std::printf(\"%s\\n\", client.ok() ? \"connected\" : client.error().ToString().c_str());\n"
      "  return 0;\n}\n");
  auto r = RunElastos({"capsule", "build", dir.string(), "--jobs", "1"});
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_NE(r.out.find("[1/1] compile main.cpp"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("built sdkcap 1.0.0"), std::string::npos) << r.out;
  EXPECT_TRUE(IsWasmModule(dir / "sdkcap.wasm"));
}

TEST(CapsuleBuildCli, CompilerMessagesReachTheUserAndExitIsOne) {
  TempDir t;
  WriteText(t.path() / "capsule.json", kManifest);
  WriteText(t.path() / "main.c", "int main(void) { return undeclared_name; }\n");
  auto r = RunElastos({"capsule", "build", t.path().string()});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("undeclared_name"), std::string::npos) << r.err;  // clang's own diagnostic
  EXPECT_NE(r.err.find("elastos: error: compiling main.c failed"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("(compile_failed)"), std::string::npos) << r.err;
}

TEST(CapsuleBuildCli, MissingToolchainNamesThePackages) {
  TempDir t;
  WriteText(t.path() / "capsule.json", kManifest);
  WriteText(t.path() / "main.c", "int main(void) { return 0; }\n");
  auto r = RunElastos({"capsule", "build", t.path().string()}, {"PATH=/nonexistent-elastos-path"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("libclang-rt-19-dev-wasm32"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("scripts/setup.sh"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("(guest_toolchain_missing)"), std::string::npos) << r.err;
}

TEST(CapsuleBuildCli, ExplicitSourcesAndUsageErrors) {
  TempDir t;
  WriteText(t.path() / "capsule.json", kManifest);
  WriteText(t.path() / "good.c", "int main(void) { return 0; }\n");
  WriteText(t.path() / "broken.c", "this does not compile\n");
  auto r = RunElastos({"capsule", "build", t.path().string(), "--source", "good.c", "--debug"});
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_NE(r.out.find("debug"), std::string::npos);
  EXPECT_TRUE(IsWasmModule(t.path() / "bin/tiny.wasm"));

  // --source takes one value each time: the directory after it stays the positional argument.
  WriteText(t.path() / "src/other.c", "int other(void) { return 1; }\n");
  auto before = RunElastos(
      {"capsule", "build", "--source", "src/other.c", "--source", "good.c", t.path().string()});
  EXPECT_EQ(before.exit_code, 0) << before.out << before.err;
  EXPECT_NE(before.out.find("[2/2] compile good.c"), std::string::npos) << before.out;
  auto twice = RunElastos(
      {"capsule", "build", "--source", "good.c", "--source", "./good.c", t.path().string()});
  EXPECT_EQ(twice.exit_code, 1);
  EXPECT_NE(twice.err.find("given more than once"), std::string::npos) << twice.err;

  EXPECT_EQ(RunElastos({"capsule", "build"}).exit_code, 2);
  EXPECT_EQ(RunElastos({"capsule", "build", t.path().string(), "--debug", "--release"}).exit_code,
            2);
  auto missing = RunElastos({"capsule", "build", (t.path() / "absent").string()});
  EXPECT_EQ(missing.exit_code, 1);
  EXPECT_NE(missing.err.find("capsule.json"), std::string::npos) << missing.err;
}

// ---- docs/sdk.md
// ---------------------------------------------------------------------------------

TEST(SdkDocExampleExtraction, FindsMarkedBlocksOnly) {
  const std::string md =
      "intro\n```cpp\nnot this\n```\n<!-- sdk-example: main.cpp -->\n```cpp\nint main() {}\n```\n"
      "<!-- sdk-example: capsule.json -->\n```json\n{}\n```\n";
  auto files = elastos::testing::ExtractSdkDocExample(md);
  ASSERT_TRUE(files.has_value());
  EXPECT_EQ(files->size(), 2u);
  EXPECT_EQ(files->at("main.cpp"), "int main() {}\n");
  EXPECT_EQ(files->at("capsule.json"), "{}\n");
  EXPECT_FALSE(
      elastos::testing::ExtractSdkDocExample("<!-- sdk-example: ../x -->\n```\n```\n").has_value());
  EXPECT_FALSE(
      elastos::testing::ExtractSdkDocExample("<!-- sdk-example: a.c -->\n```c\nunterminated\n")
          .has_value());
}

// The example in docs/sdk.md is exactly what builds and runs: extracted once (with
// ExtractSdkDocExample, tests/capsules/sdk_doc_example.h — reuse it for other doc checks),
// compiled with the real CLI, then run under `elastos capsule run` and under Node's WASI.
class SdkDocExample : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new TempDir;
    auto files = elastos::testing::ExtractSdkDocExample(ReadText(kSourceDir / "docs/sdk.md"));
    if (!files || files->count("main.cpp") != 1 || files->count("capsule.json") != 1) {
      problem_ = new std::string("docs/sdk.md: no main.cpp + capsule.json sdk-example blocks");
      return;
    }
    auto parsed = CapsuleManifest::Parse(files->at("capsule.json"));
    if (!parsed.ok()) {
      problem_ = new std::string("docs/sdk.md capsule.json: " + parsed.status().ToString());
      return;
    }
    manifest_ = new CapsuleManifest(std::move(parsed).value());
    for (const auto& [name, content] : *files) WriteText(capsule_dir() / name, content);
    build_ = new ProcessResult(RunElastos({"capsule", "build", capsule_dir().string()}));
  }
  static void TearDownTestSuite() {
    delete build_;
    delete manifest_;
    delete problem_;
    delete dir_;
  }
  static fs::path capsule_dir() { return dir_->path() / "sdk-example"; }

  static TempDir* dir_;
  static std::string* problem_;
  static CapsuleManifest* manifest_;
  static ProcessResult* build_;
};
TempDir* SdkDocExample::dir_ = nullptr;
std::string* SdkDocExample::problem_ = nullptr;
CapsuleManifest* SdkDocExample::manifest_ = nullptr;
ProcessResult* SdkDocExample::build_ = nullptr;

TEST_F(SdkDocExample, BuildsWithElastosCapsuleBuild) {
  ASSERT_EQ(problem_, nullptr) << *problem_;
  ASSERT_EQ(build_->exit_code, 0) << build_->out << build_->err;
  EXPECT_TRUE(build_->err.find("warning") == std::string::npos) << build_->err;
  EXPECT_TRUE(IsWasmModule(capsule_dir() / manifest_->entry));
}

// The built example under the real runtime prints what docs/sdk.md says, and /data persists.
TEST_F(SdkDocExample, RunsAsDocumentedUnderTheRuntime) {
  ASSERT_EQ(problem_, nullptr) << *problem_;
  ASSERT_EQ(build_->exit_code, 0) << build_->out << build_->err;
  const fs::path data_dir = dir_->path() / "runtime-data";
  for (int visit = 1; visit <= 2; ++visit) {
    const ProcessResult r = RunElastos({"--data-dir", data_dir.string(), "capsule", "run",
                                        "--allow-unsigned", capsule_dir().string()});
    ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
    const std::string prefix = "I am sdk-example (instance ";
    ASSERT_EQ(r.out.rfind(prefix, 0), 0u) << r.out;
    const std::size_t close = r.out.find(")\n");
    ASSERT_NE(close, std::string::npos) << r.out;
    EXPECT_GT(close, prefix.size()) << "empty instance id: " << r.out;
    EXPECT_EQ(r.out.substr(close),
              ")\nruntime 0.1.0, protocol 1\nvisit " + std::to_string(visit) + "\n")
        << r.out;
  }
}

// Independent of the runtime: the built example under Node's WASI with the guest layout
// and a fake runtime on the carrier (tests/capsules/wasi_run.mjs) prints what docs/sdk.md says.
TEST_F(SdkDocExample, RunsAsDocumentedUnderAFakeRuntime) {
  ASSERT_EQ(problem_, nullptr) << *problem_;
  ASSERT_EQ(build_->exit_code, 0) << build_->out << build_->err;
  const auto node = FindNode20();
  if (!node) GTEST_SKIP() << "needs Node >= 20 on PATH (node:wasi)";
  const fs::path data = dir_->path() / "data";
  fs::create_directories(data);
  for (int visit = 1; visit <= 2; ++visit) {
    const ProcessResult r = RunProcess(
        {node->string(), "--no-warnings", (kSourceDir / "tests/capsules/wasi_run.mjs").string(),
         "--name", manifest_->name, "--id", "sdk-example-1", "--data", data.string(),
         (capsule_dir() / manifest_->entry).string()});
    EXPECT_EQ(r.exit_code, 0) << r.err;
    EXPECT_EQ(
        r.out,
        "I am sdk-example (instance sdk-example-1)\nruntime 0.0.0-node-fake, protocol 1\nvisit " +
            std::to_string(visit) + "\n")
        << r.err;
  }
  const ProcessResult alone = RunProcess(
      {node->string(), "--no-warnings", (kSourceDir / "tests/capsules/wasi_run.mjs").string(),
       "--no-carrier", (capsule_dir() / manifest_->entry).string()});
  EXPECT_EQ(alone.exit_code, 1);
  EXPECT_NE(alone.err.find("no_runtime"), std::string::npos) << alone.err;
}

// ---- The capsules the test suite builds
// ----------------------------------------------------------

// Every capsule.json under capsules/examples and tests/capsules is one the runtime will accept,
// and the build put each one's entry module next to it in <build>/capsules/<name>/.
TEST(SuiteCapsules, ManifestsAreValidAndModulesWereBuilt) {
  const fs::path built = BinDir().parent_path() / "capsules";
  int count = 0;
  for (const fs::path& root : {kSourceDir / "capsules/examples", kSourceDir / "tests/capsules"}) {
    for (const auto& e : fs::directory_iterator(root)) {
      const fs::path json = e.path() / "capsule.json";
      if (!fs::exists(json)) continue;
      auto manifest = CapsuleManifest::Parse(ReadText(json));
      ASSERT_TRUE(manifest.ok()) << json << ": " << manifest.status().ToString();
      ++count;
      EXPECT_EQ(manifest->name, e.path().filename().string()) << json;
      EXPECT_TRUE(IsWasmModule(built / manifest->name / manifest->entry))
          << built / manifest->name / manifest->entry;
      EXPECT_EQ(ReadText(built / manifest->name / "capsule.json"), ReadText(json));
    }
  }
  EXPECT_GE(count, 15);  // hello (WAT), hello-sdk, bench + the 12 test guests
}

}  // namespace
}  // namespace elastos::compute::toolchain
