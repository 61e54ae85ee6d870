// Tests of the AOT tier: the module gate, the generated-C rewrite, the object cache, and LoadAot
// running real objects. wasm2c's runtime is process-global, so every engine case runs in a forked
// child that reports its outcome over a pipe.
#include <fcntl.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <fstream>
#include <functional>
#include <set>
#include <sstream>
#include <thread>

#include "common/encoding.h"
#include "common/file_util.h"
#include "common/testing/temp_dir.h"
#include "compute/aot/aot_compiler.h"
#include "compute/aot/generated_c.h"
#include "compute/aot/module_facts.h"
#include "compute/aot/tool_runner.h"
#include "compute/engine.h"
#include "crypto/sha256.h"

namespace elastos::compute::aot {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;
using ::testing::StartsWith;

std::vector<std::string> TestEnv() {
  const char* path = ::getenv("PATH");
  return {std::string("PATH=") + (path ? path : "/usr/bin:/bin"), "LC_ALL=C"};
}

// Assembles WAT with wat2wasm (`extra` e.g. "--no-check" for deliberately invalid modules).
Bytes Wat(std::string_view text, std::vector<std::string> extra = {}) {
  testing::TempDir dir;
  { std::ofstream(dir.path() / "m.wat") << text; }
  ToolInvocation inv;
  inv.argv = {ELASTOS_WAT2WASM, "m.wat", "-o", "m.wasm"};
  inv.argv.insert(inv.argv.end(), extra.begin(), extra.end());
  inv.cwd = dir.path();
  inv.env = TestEnv();
  Result<ToolResult> r = RunTool(inv);
  if (!r.ok() || !r->ok()) {
    ADD_FAILURE() << "wat2wasm failed: " << (r.ok() ? r->output : r.status().ToString());
    return {};
  }
  Result<Bytes> b = ReadFileLimited(dir.path() / "m.wasm", 1 << 24);
  return b.ok() ? *b : Bytes{};
}

// ---------------------------------------------------------------------------------------------
// A WASI host with just enough behaviour for the tests.

class FakeHost final : public wasi::Host {
 public:
  std::uint32_t Call(wasi::Function fn, const std::uint64_t* args, wasi::Memory memory) override {
    calls.push_back(fn);
    switch (fn) {
      case wasi::Function::kFdWrite: {
        std::uint64_t written = 0;
        for (std::uint64_t i = 0; i < args[2]; ++i) {
          const std::uint64_t iov = args[1] + 8 * i;
          if (iov + 8 > memory.size) return 21;  // EFAULT
          std::uint32_t buf, len;
          std::memcpy(&buf, memory.data + iov, 4);
          std::memcpy(&len, memory.data + iov + 4, 4);
          if (std::uint64_t{buf} + len > memory.size) return 21;
          output.append(reinterpret_cast<const char*>(memory.data + buf), len);
          written += len;
        }
        if (output.size() > output_limit) {
          fatal_ = ResourceExhausted("output_limit", "the guest wrote more than its output limit");
          finished_ = true;
          return 29;  // EIO
        }
        if (args[3] + 4 > memory.size) return 21;
        const auto w = static_cast<std::uint32_t>(written);
        std::memcpy(memory.data + args[3], &w, 4);
        return 0;
      }
      case wasi::Function::kProcExit:
        finished_ = true;
        exit_code_ = static_cast<std::uint32_t>(args[0]);
        return 0;
      case wasi::Function::kSchedYield:
        return 0;
      default:
        return 52;  // ENOSYS
    }
  }
  bool finished() const override { return finished_; }
  std::uint32_t exit_code() const override { return exit_code_; }
  const Status& fatal() const override { return fatal_; }
  std::uint64_t output_bytes() const override { return output.size(); }

  std::string output;
  std::vector<wasi::Function> calls;
  std::uint64_t output_limit = UINT64_MAX;

 private:
  bool finished_ = false;
  std::uint32_t exit_code_ = 0;
  Status fatal_;
};

// ---------------------------------------------------------------------------------------------
// Running an object in a forked child.

struct ChildRun {
  bool load_ok = false;
  std::string load_reason;  // LoadAot's Status reason when !load_ok
  Outcome outcome;
  std::string output;
  std::uint64_t pages = 0;
  std::string calls;          // comma-separated wasi::Function values the host saw
  std::string child_failure;  // set if the child crashed or hung
};

struct ChildOptions {
  EngineOptions engine;
  std::uint64_t output_limit = UINT64_MAX;
  // Called in the child right before Run (e.g. to start an interrupting thread).
  std::function<void()> before_run;
  // Run the guest on a pthread with this stack size instead of the main thread.
  std::size_t thread_stack = 0;
  // Load a second engine while the first is alive, and report that attempt instead.
  bool load_twice = false;
  // Call Run twice and report the second outcome.
  bool run_twice = false;
  // Run against this host (created in the child) instead of a FakeHost.
  std::function<Result<std::unique_ptr<wasi::Host>>()> make_host;
};

void PutField(std::string& out, std::string_view v) {
  out += std::to_string(v.size());
  out += ':';
  out += v;
}

bool GetField(std::string_view& in, std::string& v) {
  const std::size_t colon = in.find(':');
  if (colon == std::string_view::npos) return false;
  const std::size_t n = std::stoul(std::string(in.substr(0, colon)));
  if (colon + 1 + n > in.size()) return false;
  v = std::string(in.substr(colon + 1, n));
  in.remove_prefix(colon + 1 + n);
  return true;
}

std::string ChildMain(const fs::path& object, const ChildOptions& opts) {
  std::string out;
  Result<std::unique_ptr<Engine>> engine = LoadAot(object.string(), opts.engine);
  if (!engine.ok()) {
    PutField(out, "load_failed");
    PutField(out, engine.status().reason());
    return out;
  }
  if (opts.load_twice) {
    Result<std::unique_ptr<Engine>> second = LoadAot(object.string(), opts.engine);
    PutField(out, "load_failed");
    PutField(out, second.ok() ? "loaded" : second.status().reason());
    return out;
  }
  FakeHost fake;
  fake.output_limit = opts.output_limit;
  std::unique_ptr<wasi::Host> real;
  if (opts.make_host) {
    Result<std::unique_ptr<wasi::Host>> created = opts.make_host();
    if (!created.ok()) {
      PutField(out, "load_failed");
      PutField(out, "host: " + created.status().ToString());
      return out;
    }
    real = std::move(*created);
  }
  wasi::Host& host = real ? *real : fake;
  if (opts.before_run) opts.before_run();
  Outcome outcome;
  auto run = [&] {
    outcome = (*engine)->Run(host);
    if (opts.run_twice) outcome = (*engine)->Run(host);
  };
  if (opts.thread_stack == 0) {
    run();
  } else {
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setstacksize(&attr, opts.thread_stack);
    pthread_t t;
    auto trampoline = [](void* f) -> void* {
      (*static_cast<std::function<void()>*>(f))();
      return nullptr;
    };
    std::function<void()> f = run;
    pthread_create(&t, &attr, trampoline, &f);
    pthread_join(t, nullptr);
  }
  PutField(out, "ran");
  PutField(out, std::to_string(static_cast<int>(outcome.kind)));
  PutField(out, std::to_string(outcome.exit_code));
  PutField(out, outcome.reason);
  PutField(out, outcome.message);
  PutField(out, fake.output);
  PutField(out, std::to_string((*engine)->memory_pages()));
  std::string calls;
  for (wasi::Function f : fake.calls) calls += std::to_string(static_cast<int>(f)) + ",";
  PutField(out, calls);
  return out;
}

ChildRun RunInChild(const fs::path& object, const ChildOptions& opts = {}) {
  ChildRun result;
  int fds[2];
  if (::pipe(fds) != 0) {
    result.child_failure = "pipe failed";
    return result;
  }
  const pid_t pid = ::fork();
  if (pid == 0) {
    ::close(fds[0]);
    const std::string report = ChildMain(object, opts);
    const char* p = report.data();
    std::size_t left = report.size();
    while (left > 0) {
      const ssize_t n = ::write(fds[1], p, left);
      if (n <= 0) break;
      p += n;
      left -= static_cast<std::size_t>(n);
    }
    ::_exit(0);
  }
  ::close(fds[1]);
  std::string report;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  char buf[4096];
  for (;;) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    pollfd pfd{fds[0], POLLIN, 0};
    if (left.count() <= 0 || ::poll(&pfd, 1, static_cast<int>(left.count())) == 0) {
      ::kill(pid, SIGKILL);
      result.child_failure = "child hung";
      break;
    }
    const ssize_t n = ::read(fds[0], buf, sizeof buf);
    if (n <= 0) break;
    report.append(buf, static_cast<std::size_t>(n));
  }
  ::close(fds[0]);
  int status = 0;
  ::waitpid(pid, &status, 0);
  if (result.child_failure.empty() && !(WIFEXITED(status) && WEXITSTATUS(status) == 0)) {
    result.child_failure = WIFSIGNALED(status)
                               ? "child killed by signal " + std::to_string(WTERMSIG(status))
                               : "child exited " + std::to_string(WEXITSTATUS(status));
  }
  std::string_view in = report;
  std::string tag;
  if (!GetField(in, tag)) {
    if (result.child_failure.empty()) result.child_failure = "no report";
    return result;
  }
  if (tag == "load_failed") {
    GetField(in, result.load_reason);
    return result;
  }
  result.load_ok = true;
  std::string kind, code, pages;
  GetField(in, kind);
  GetField(in, code);
  GetField(in, result.outcome.reason);
  GetField(in, result.outcome.message);
  GetField(in, result.output);
  GetField(in, pages);
  GetField(in, result.calls);
  result.outcome.kind = static_cast<OutcomeKind>(std::stoi(kind));
  result.outcome.exit_code = std::stoi(code);
  result.pages = std::stoull(pages);
  return result;
}

std::string Describe(const ChildRun& r) {
  if (!r.child_failure.empty()) return r.child_failure;
  if (!r.load_ok) return "load failed: " + r.load_reason;
  return "kind=" + std::to_string(static_cast<int>(r.outcome.kind)) +
         " exit=" + std::to_string(r.outcome.exit_code) + " reason=" + r.outcome.reason + " (" +
         r.outcome.message + ")";
}

// ---------------------------------------------------------------------------------------------
// Guests (the same programs as the interpreter's testdata, so both tiers are held to one
// behaviour, plus AOT-specific ones).

constexpr std::string_view kExit42 = R"((module
  (import "wasi_snapshot_preview1" "proc_exit" (func $proc_exit (param i32)))
  (memory (export "memory") 1)
  (func (export "_start") (call $proc_exit (i32.const 42)) unreachable)))";

constexpr std::string_view kHello = R"((module
  (import "wasi_snapshot_preview1" "fd_write" (func $fd_write (param i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 1)
  (data (i32.const 16) "hello\n")
  (func (export "_start")
    (i32.store (i32.const 0) (i32.const 16))
    (i32.store (i32.const 4) (i32.const 6))
    (drop (call $fd_write (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 8))))))";

constexpr std::string_view kEmpty = R"((module (func (export "_start"))))";

constexpr std::string_view kSpin = R"((module
  (func (export "_start") (loop $forever (br $forever)))))";

// A spin loop that yields to the host on every iteration: stoppable even without polls.
constexpr std::string_view kYieldLoop = R"((module
  (import "wasi_snapshot_preview1" "sched_yield" (func $yield (result i32)))
  (func (export "_start") (loop $again (drop (call $yield)) (br $again)))))";

constexpr std::string_view kWriteLoop = R"((module
  (import "wasi_snapshot_preview1" "fd_write" (func $fd_write (param i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 1)
  (data (i32.const 16) "x")
  (func (export "_start")
    (i32.store (i32.const 0) (i32.const 16))
    (i32.store (i32.const 4) (i32.const 1))
    (loop $again
      (drop (call $fd_write (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 8)))
      (br $again)))))";

constexpr std::string_view kGrowProbe = R"((module
  (import "wasi_snapshot_preview1" "proc_exit" (func $proc_exit (param i32)))
  (memory (export "memory") 1)
  (func (export "_start")
    (if (i32.eq (memory.grow (i32.const 10)) (i32.const -1))
      (then (call $proc_exit (i32.const 0)))
      (else (call $proc_exit (i32.const 3)))))))";

// The start section grows memory before _start runs: the cap must already hold.
constexpr std::string_view kGrowInStartSection = R"((module
  (import "wasi_snapshot_preview1" "proc_exit" (func $proc_exit (param i32)))
  (memory (export "memory") 1)
  (global $grew (mut i32) (i32.const 0))
  (func $init (global.set $grew (memory.grow (i32.const 10))))
  (start $init)
  (func (export "_start")
    (if (i32.eq (global.get $grew) (i32.const -1))
      (then (call $proc_exit (i32.const 0)))
      (else (call $proc_exit (i32.const 3)))))))";

constexpr std::string_view kMembomb = R"((module
  (memory (export "memory") 1)
  (func (export "_start")
    (loop $more (br_if $more (i32.ne (memory.grow (i32.const 16)) (i32.const -1))))
    unreachable)))";

constexpr std::string_view kMembombOwnMax = R"((module
  (memory (export "memory") 1 32)
  (func (export "_start")
    (loop $more (br_if $more (i32.ne (memory.grow (i32.const 16)) (i32.const -1))))
    unreachable)))";

constexpr std::string_view kBigMemory = R"((module
  (memory (export "memory") 100)
  (func (export "_start"))))";

constexpr std::string_view kOob = R"((module
  (memory (export "memory") 1)
  (func (export "_start") (i32.store (i32.const 0x7ffffff0) (i32.const 1)))))";

constexpr std::string_view kUnreachable = R"((module (func (export "_start") unreachable)))";

constexpr std::string_view kDivZero = R"((module
  (func (export "_start") (local $zero i32)
    (drop (i32.div_s (i32.const 7) (local.get $zero))))))";

constexpr std::string_view kOverflow = R"((module
  (func (export "_start") (local $m i32)
    (local.set $m (i32.const -1))
    (drop (i32.div_s (i32.const 0x80000000) (local.get $m))))))";

constexpr std::string_view kConversion = R"((module
  (func (export "_start")
    (drop (i32.trunc_f32_s (f32.div (f32.const 0) (f32.const 0)))))))";

constexpr std::string_view kIndirect = R"((module
  (type $void (func))
  (table 1 funcref)
  (elem (i32.const 0) $other)
  (func $other (param i32))
  (func (export "_start") (call_indirect (type $void) (i32.const 0)))))";

// f(x) = f(x+1) + 1: gcc turns this into a loop unless sibling-call optimisation is off.
constexpr std::string_view kRecurse = R"((module
  (func $f (param i32) (result i32)
    (i32.add (call $f (i32.add (local.get 0) (i32.const 1))) (i32.const 1)))
  (func (export "_start") (drop (call $f (i32.const 0))))))";

// Recursion that uses its frames: locals live across the call and feed the result.
constexpr std::string_view kRecurseWithFrames = R"((module
  (memory 1)
  (func $f (param $n i32) (result i32)
    (local $a i64) (local $b i64) (local $c i64) (local $d i64)
    (local.set $a (i64.extend_i32_u (local.get $n)))
    (local.set $b (i64.mul (local.get $a) (i64.const 31)))
    (local.set $c (i64.xor (local.get $b) (i64.const 0x5555)))
    (local.set $d (i64.rotl (local.get $c) (local.get $a)))
    (i32.store (i32.and (i32.mul (local.get $n) (i32.const 4)) (i32.const 0xfffc)) (local.get $n))
    (i32.xor
      (call $f (i32.add (local.get $n) (i32.const 1)))
      (i32.wrap_i64 (i64.add (i64.add (local.get $a) (local.get $b))
                             (i64.add (local.get $c) (local.get $d))))))
  (func (export "_start") (drop (call $f (i32.const 0))))))";

// A module importing all 46 WASI functions and calling each once, in table order, with zeros;
// proc_exit last. Proves every thunk's C signature (gcc checks it against wasm2c's declaration)
// and its Function number (the host records what it was called with).
std::string AllImportsWat() {
  std::ostringstream imports, calls;
  const wasi::FunctionInfo* exit = nullptr;
  for (const wasi::FunctionInfo& f : wasi::Functions()) {
    imports << "  (import \"wasi_snapshot_preview1\" \"" << f.name << "\" (func $" << f.name;
    if (!f.params.empty()) {
      imports << " (param";
      for (char c : f.params) imports << (c == 'I' ? " i64" : " i32");
      imports << ")";
    }
    if (f.returns_errno) imports << " (result i32)";
    imports << "))\n";
    if (f.function == wasi::Function::kProcExit) {
      exit = &f;
      continue;
    }
    calls << "    (drop (call $" << f.name;
    for (char c : f.params) calls << (c == 'I' ? " (i64.const 0)" : " (i32.const 0)");
    calls << "))\n";
  }
  std::ostringstream wat;
  wat << "(module\n"
      << imports.str() << "  (memory (export \"memory\") 1)\n"
      << "  (func (export \"_start\")\n"
      << calls.str() << "    (call $" << exit->name << " (i32.const 0))))\n";
  return wat.str();
}

// ---------------------------------------------------------------------------------------------

class AotTest : public ::testing::Test {
 protected:
  void SetUp() override {
    Result<AotCache> cache = AotCache::Open(tmp_.path() / "cache" / "aot");
    ASSERT_TRUE(cache.ok()) << cache.status().ToString();
    cache_.emplace(std::move(*cache));
  }

  // Compiles a module (through the cache) and returns the verified object.
  fs::path Object(std::string_view wat,
                  Instrumentation instrumentation = Instrumentation::kInterrupt) {
    const Bytes wasm = Wat(wat);
    const crypto::Digest256 sha = crypto::Sha256::Hash(wasm);
    Result<std::optional<fs::path>> found = cache_->Find(sha, instrumentation);
    EXPECT_TRUE(found.ok()) << found.status().ToString();
    if (found.ok() && *found) return **found;
    Result<fs::path> compiled = cache_->Compile(wasm, instrumentation);
    EXPECT_TRUE(compiled.ok()) << compiled.status().ToString();
    return compiled.ok() ? *compiled : fs::path();
  }

  ChildRun Run(std::string_view wat, const ChildOptions& opts = {},
               Instrumentation instrumentation = Instrumentation::kInterrupt) {
    const fs::path object = Object(wat, instrumentation);
    if (object.empty()) return ChildRun{.child_failure = "no object"};
    return RunInChild(object, opts);
  }

  testing::TempDir tmp_;
  std::optional<AotCache> cache_;
};

// --- The module gate ----------------------------------------------------------------------------

Status Inspect(std::string_view wat, std::vector<std::string> extra = {}) {
  return InspectModule(Wat(wat, std::move(extra))).status();
}

TEST(ModuleFactsTest, AcceptsWasiImportsAndReadsMemory) {
  Result<ModuleFacts> facts = InspectModule(Wat(R"((module
    (import "wasi_snapshot_preview1" "fd_write" (func (param i32 i32 i32 i32) (result i32)))
    (import "wasi_snapshot_preview1" "fd_seek" (func (param i32 i64 i32 i32) (result i32)))
    (import "wasi_snapshot_preview1" "fd_write" (func $again (param i32 i32 i32 i32) (result i32)))
    (memory (export "memory") 2 9)
    (func (export "_start"))))"));
  ASSERT_TRUE(facts.ok()) << facts.status().ToString();
  ASSERT_EQ(facts->imports.size(), 2u);  // distinct functions
  EXPECT_EQ(facts->imports[0]->function, wasi::Function::kFdWrite);
  EXPECT_EQ(facts->imports[1]->function, wasi::Function::kFdSeek);
  EXPECT_TRUE(facts->has_memory);
  EXPECT_EQ(facts->memory_initial_pages, 2u);
  EXPECT_EQ(facts->memory_max_pages, std::optional<std::uint32_t>(9));
}

TEST(ModuleFactsTest, RefusesForeignImports) {
  Status s =
      Inspect(R"((module (import "env" "foo" (func (param i32))) (func (export "_start"))))");
  EXPECT_EQ(s.reason(), "unknown_import");
  EXPECT_THAT(s.message(), HasSubstr("env.foo"));

  s = Inspect(R"((module (import "wasi_snapshot_preview1" "fd_frobnicate" (func))
                          (func (export "_start"))))");
  EXPECT_EQ(s.reason(), "unknown_import");
  EXPECT_THAT(s.message(), HasSubstr("fd_frobnicate"));
}

TEST(ModuleFactsTest, RefusesWrongSignatureNamingIt) {
  Status s = Inspect(R"((module
    (import "wasi_snapshot_preview1" "fd_write" (func (param i32 i32) (result i32)))
    (func (export "_start"))))");
  EXPECT_EQ(s.reason(), "import_signature");
  EXPECT_THAT(s.message(), HasSubstr("fd_write"));
  EXPECT_THAT(s.message(), HasSubstr("(i32, i32, i32, i32) -> (i32)"));

  // i64 where WASI has i32, and a missing result.
  EXPECT_EQ(Inspect(R"((module
    (import "wasi_snapshot_preview1" "fd_seek" (func (param i32 i32 i32 i32) (result i32)))
    (func (export "_start"))))")
                .reason(),
            "import_signature");
  EXPECT_EQ(Inspect(R"((module
    (import "wasi_snapshot_preview1" "fd_close" (func (param i32)))
    (func (export "_start"))))")
                .reason(),
            "import_signature");
  EXPECT_EQ(Inspect(R"((module
    (import "wasi_snapshot_preview1" "proc_exit" (func (param i32) (result i32)))
    (func (export "_start"))))")
                .reason(),
            "import_signature");
}

TEST(ModuleFactsTest, RefusesNonFunctionImports) {
  for (
      std::string_view wat : {
          R"((module (import "env" "memory" (memory 1)) (func (export "_start"))))",
          R"((module (import "wasi_snapshot_preview1" "memory" (memory 1)) (func (export "_start"))))",
          R"((module (import "env" "t" (table 1 funcref)) (func (export "_start"))))",
          R"((module (import "env" "g" (global i32)) (func (export "_start"))))",
      }) {
    Status s = Inspect(wat);
    EXPECT_EQ(s.reason(), "unknown_import") << wat;
  }
}

TEST(ModuleFactsTest, RequiresStart) {
  EXPECT_EQ(Inspect(R"((module (func (export "main"))))").reason(), "no_start");
  EXPECT_EQ(Inspect(R"((module (func (export "_start") (param i32))))").reason(), "no_start");
  EXPECT_EQ(Inspect(R"((module (func (export "_start") (result i32) (i32.const 0))))").reason(),
            "no_start");
  EXPECT_EQ(Inspect(R"((module (memory (export "_start") 1)))").reason(), "no_start");
}

TEST(ModuleFactsTest, RefusesExportNamesThatWouldEscapeIntoC) {
  // wasm2c 1.0.32 writes export names into C comments verbatim; "*/" would end the comment and
  // make the rest of the name native code.
  Status s = Inspect(R"((module
    (func (export "*/ int injected = 1; /*"))
    (func (export "_start"))))");
  EXPECT_EQ(s.reason(), "module_invalid");
  EXPECT_THAT(s.message(), HasSubstr("*/"));
  EXPECT_EQ(Inspect(R"((module (func (export "a\nb")) (func (export "_start"))))").reason(),
            "module_invalid");
  // Ordinary punctuation is fine.
  EXPECT_TRUE(Inspect(R"((module (func (export "a*b/c.d-e$f")) (func (export "_start"))))").ok());
}

TEST(ModuleFactsTest, RefusesMalformedInput) {
  EXPECT_EQ(InspectModule(AsBytes("")).status().reason(), "module_invalid");
  EXPECT_EQ(InspectModule(AsBytes("not wasm at all")).status().reason(), "module_invalid");
  const Bytes good = Wat(kHello);
  // Section boundaries: a module cut there is well-formed as far as it goes (wasm2c judges the
  // rest). Every cut inside a section or the header must be refused, never over-read.
  std::set<std::size_t> boundaries = {8};
  for (std::size_t pos = 8; pos < good.size();) {
    std::size_t size = 0, shift = 0, i = pos + 1;
    while (good[i] & 0x80) size |= std::size_t{good[i++] & 0x7fu} << (shift += 7, shift - 7);
    size |= std::size_t{good[i++]} << shift;
    pos = i + size;
    boundaries.insert(pos);
  }
  for (std::size_t n = 0; n < good.size(); ++n) {
    Result<ModuleFacts> r = InspectModule(ByteView(good.data(), n));
    if (boundaries.count(n) == 0) {
      EXPECT_FALSE(r.ok()) << "prefix of " << n << " bytes";
    }
  }
  // A forged huge count.
  Bytes forged = {0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00,
                  0x02, 0x05, 0xff, 0xff, 0xff, 0xff, 0x0f};
  EXPECT_EQ(InspectModule(forged).status().reason(), "module_invalid");
  // Over-long LEB128.
  Bytes overlong = {0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00,
                    0x01, 0x80, 0x80, 0x80, 0x80, 0x80, 0x00};
  EXPECT_EQ(InspectModule(overlong).status().reason(), "module_invalid");
}

// --- Generated C ------------------------------------------------------------------------------

TEST(GeneratedCTest, PollsEveryLoopHead) {
  const std::string c =
      "/* Automatically generated by wasm2c */\n"
      "#include \"guest.h\"\n"
      "/* export: 'w2c_L9:' */\n"  // a label-looking name in a comment is not a label
      "static u32 w2c_f0(Z_guest_instance_t* instance, u32 w2c_p0) {\n"
      "  w2c_L0: \n"
      "    w2c_L1: \n"
      "    if (w2c_i0) {goto w2c_L1;}\n"
      "    switch (w2c_i0) { case 0: goto w2c_B2; default: goto w2c_L0; }\n"
      "  w2c_B2:;\n"
      "}\n";
  std::istringstream in(c);
  std::ostringstream out;
  std::size_t polls = 0;
  ASSERT_TRUE(RewriteGuestC(in, out, Instrumentation::kInterrupt, &polls).ok());
  EXPECT_EQ(polls, 2u);
  const std::string s = out.str();
  EXPECT_THAT(s, StartsWith("/* ElastOS AOT prelude"));
  EXPECT_THAT(s, HasSubstr("#define wasm_rt_grow_memory elastos_aot_grow_memory\n"));
  EXPECT_THAT(s, HasSubstr("extern int elastos_guest_interrupt;"));
  EXPECT_THAT(s, HasSubstr("  w2c_L0:  ELASTOS_AOT_POLL();\n"));
  EXPECT_THAT(s, HasSubstr("    w2c_L1:  ELASTOS_AOT_POLL();\n"));
  EXPECT_THAT(s, HasSubstr("  w2c_B2:;\n"));  // blocks are not loops
}

TEST(GeneratedCTest, NoneKeepsTheMemoryHooksButNoPolls) {
  std::istringstream in("#include \"guest.h\"\n  w2c_L0: \n  goto w2c_L0;\n");
  std::ostringstream out;
  ASSERT_TRUE(RewriteGuestC(in, out, Instrumentation::kNone).ok());
  EXPECT_THAT(out.str(), HasSubstr("#define wasm_rt_allocate_memory elastos_aot_allocate_memory"));
  EXPECT_THAT(out.str(), ::testing::Not(HasSubstr("ELASTOS_AOT_POLL")));
  EXPECT_THAT(out.str(), ::testing::Not(HasSubstr("elastos_guest_interrupt")));
}

TEST(GeneratedCTest, RefusesLoopLabelsItCannotInstrument) {
  std::istringstream in("#include \"guest.h\"\n  w2c_L0: w2c_i0 = 1;\n  goto w2c_L0;\n");
  std::ostringstream out;
  Status s = RewriteGuestC(in, out, Instrumentation::kInterrupt);
  EXPECT_EQ(s.reason(), "aot_instrumentation_failed");

  std::istringstream no_include("  w2c_L0: \n");
  std::ostringstream out2;
  EXPECT_EQ(RewriteGuestC(no_include, out2, Instrumentation::kInterrupt).reason(),
            "aot_instrumentation_failed");
}

TEST(GeneratedCTest, ImportDeclarationsMustUseOurSymbols) {
  ModuleFacts facts;
  facts.imports = {wasi::Lookup("fd_write")};
  const std::string ok =
      "/* import: 'wasi_snapshot_preview1' 'fd_write' */\n"
      "u32 Z_wasi_snapshot_preview1Z_fd_write(struct Z_wasi_snapshot_preview1_instance_t*, u32, "
      "u32, u32, u32);\n";
  EXPECT_TRUE(CheckImportDeclarations(ok, facts).ok());
  const std::string renamed =
      "/* import: 'wasi_snapshot_preview1' 'fd_write' */\n"
      "u32 w2c_wasi__snapshot__preview1_fd__write(struct w2c_wasi*, u32, u32, u32, u32);\n";
  EXPECT_EQ(CheckImportDeclarations(renamed, facts).reason(), "aot_compile_failed");
  EXPECT_EQ(CheckImportDeclarations("", facts).reason(), "aot_compile_failed");
}

TEST(GeneratedCTest, ShimThunksFollowTheWasiTable) {
  ModuleFacts facts;
  facts.imports = {wasi::Lookup("fd_seek"), wasi::Lookup("proc_exit"), wasi::Lookup("sched_yield")};
  facts.has_memory = true;
  facts.memory_initial_pages = 3;
  const std::string shim = ShimSource(facts);
  EXPECT_THAT(shim, HasSubstr("#define ELASTOS_AOT_HAS_IMPORTS 1\n"));
  EXPECT_THAT(shim, HasSubstr("#define ELASTOS_AOT_MEMORY_INITIAL 3u\n"));
  EXPECT_THAT(shim, HasSubstr("#define ELASTOS_AOT_MEMORY_MAX 4294967295u\n"));
  EXPECT_THAT(shim, HasSubstr("u32 Z_wasi_snapshot_preview1Z_fd_seek(struct "
                              "Z_wasi_snapshot_preview1_instance_t* wasi, u32 a0, u64 a1, u32 a2, "
                              "u32 a3) {\n"));
  EXPECT_THAT(
      shim, HasSubstr("elastos_forward(wasi, " +
                      std::to_string(static_cast<int>(wasi::Function::kFdSeek)) + "u, args, 4u)"));
  EXPECT_THAT(shim, HasSubstr("void Z_wasi_snapshot_preview1Z_proc_exit("));
  EXPECT_THAT(shim, HasSubstr("elastos_forward(wasi, " +
                              std::to_string(static_cast<int>(wasi::Function::kSchedYield)) +
                              "u, NULL, 0u)"));
}

// --- Toolchain and cache ----------------------------------------------------------------------

TEST(ToolchainTest, ProbesWasm2cAndCompiler) {
  const Result<Toolchain> t = ProbeToolchain();
  ASSERT_TRUE(t.ok()) << t.status().ToString();
  EXPECT_EQ(t->wasm2c_version, "1.0.32");
  EXPECT_THAT(t->wasm2c, StartsWith("/"));
  EXPECT_THAT(t->cc, StartsWith("/"));
  EXPECT_FALSE(t->cc_version.empty());
  const std::string id = t->Identity();
  EXPECT_THAT(id, HasSubstr("wasm2c_version=1.0.32\n"));
  EXPECT_THAT(id, HasSubstr(std::string(CompilerFlags())));
  EXPECT_THAT(id, HasSubstr("shim=" + ShimDigestHex()));
}

// The memo spares every `capsule run` two tool spawns, and must never outlive the tool it
// describes: a replaced compiler is probed again.
TEST(ToolchainTest, MemoIsReusedUntilTheToolChanges) {
  elastos::testing::TempDir dir;
  const fs::path cc = dir.path() / "fakecc";
  const fs::path memo = dir.path() / "toolchain.memo";
  auto write_cc = [&](const std::string& version) {
    std::ofstream(cc, std::ios::trunc) << "#!/bin/sh\necho '" << version << "'\n";
    fs::permissions(cc, fs::perms::owner_all);
  };
  const char* before = ::getenv("ELASTOS_CC");
  const std::string saved = before ? before : "";
  ::setenv("ELASTOS_CC", cc.c_str(), 1);
  auto probe = [&] {
    Result<Toolchain> t = ProbeToolchain(memo);
    return t.ok() ? t->cc_version : t.status().ToString();
  };

  write_cc("fakecc 1");
  EXPECT_EQ(probe(), "fakecc 1");
  ASSERT_TRUE(fs::exists(memo));
  // Prove the second probe reads the memo rather than running the tool.
  const Result<Bytes> memo_bytes = ReadFileLimited(memo, 4096);
  ASSERT_TRUE(memo_bytes.ok());
  std::string text(AsChars(*memo_bytes));
  text.replace(text.find("fakecc 1"), 8, "from-memo");
  std::ofstream(memo, std::ios::trunc) << text;
  EXPECT_EQ(probe(), "from-memo");
  // A memo others could have written is not believed.
  fs::permissions(memo, fs::perms::others_write, fs::perm_options::add);
  EXPECT_EQ(probe(), "fakecc 1");
  // The tool replaced: new identity, probed again (and the memo rewritten for it).
  write_cc("fakecc 2, a longer version line");
  EXPECT_EQ(probe(), "fakecc 2, a longer version line");
  EXPECT_EQ(probe(), "fakecc 2, a longer version line");
  // A damaged memo is ignored, not an error.
  std::ofstream(memo, std::ios::trunc) << "elastos-toolchain-memo/1\ngarbage";
  EXPECT_EQ(probe(), "fakecc 2, a longer version line");

  if (before) {
    ::setenv("ELASTOS_CC", saved.c_str(), 1);
  } else {
    ::unsetenv("ELASTOS_CC");
  }
}

TEST(ToolchainTest, ElastosCcChoosesTheCompiler) {
  const char* before = ::getenv("ELASTOS_CC");
  const std::string saved = before ? before : "";
  ::setenv("ELASTOS_CC", "cc", 1);
  Result<Toolchain> t = ProbeToolchain();
  ::setenv("ELASTOS_CC", "/nonexistent/cc", 1);
  Result<Toolchain> missing = ProbeToolchain();
  if (before) {
    ::setenv("ELASTOS_CC", saved.c_str(), 1);
  } else {
    ::unsetenv("ELASTOS_CC");
  }
  ASSERT_TRUE(t.ok()) << t.status().ToString();
  EXPECT_THAT(t->cc, ::testing::EndsWith("/cc"));
  EXPECT_EQ(missing.status().reason(), "tool_not_found");
}

TEST_F(AotTest, MissCompileHit) {
  const Bytes wasm = Wat(kHello);
  const crypto::Digest256 sha = crypto::Sha256::Hash(wasm);
  Result<std::optional<fs::path>> miss = cache_->Find(sha, Instrumentation::kInterrupt);
  ASSERT_TRUE(miss.ok());
  EXPECT_FALSE(miss->has_value());

  Result<fs::path> compiled = cache_->Compile(wasm, Instrumentation::kInterrupt);
  ASSERT_TRUE(compiled.ok()) << compiled.status().ToString();
  const std::string key = HexEncode(cache_->Key(sha, Instrumentation::kInterrupt));
  EXPECT_EQ(*compiled, cache_->dir() / (key + ".so"));

  Result<std::optional<fs::path>> hit = cache_->Find(sha, Instrumentation::kInterrupt);
  ASSERT_TRUE(hit.ok()) << hit.status().ToString();
  ASSERT_TRUE(hit->has_value());
  EXPECT_EQ(**hit, *compiled);

  // The digest file records the object's SHA-256; the object is read-only.
  Result<Bytes> so = ReadFileLimited(*compiled, 1 << 28);
  Result<Bytes> digest = ReadFileLimited(cache_->dir() / (key + ".sha256"), 100);
  ASSERT_TRUE(so.ok() && digest.ok());
  EXPECT_EQ(AsChars(*digest), HexEncode(crypto::Sha256::Hash(*so)) + "\n");
  struct stat st;
  ASSERT_EQ(::stat(compiled->c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0444u);
  ASSERT_EQ(::stat(cache_->dir().c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0700u);

  // Equal inputs give byte-identical objects (what makes concurrent installs harmless).
  ASSERT_TRUE(cache_->Compile(wasm, Instrumentation::kInterrupt).ok());
  Result<Bytes> digest2 = ReadFileLimited(cache_->dir() / (key + ".sha256"), 100);
  ASSERT_TRUE(digest2.ok());
  EXPECT_EQ(*digest2, *digest);

  // No scratch left behind.
  for (const auto& e : fs::directory_iterator(cache_->dir())) {
    EXPECT_THAT(e.path().filename().string(), ::testing::Not(StartsWith(".tmp-")));
  }
}

TEST_F(AotTest, KeyCoversInstrumentationAndModule) {
  const crypto::Digest256 a = crypto::Sha256::Hash(Wat(kHello));
  const crypto::Digest256 b = crypto::Sha256::Hash(Wat(kEmpty));
  EXPECT_NE(cache_->Key(a, Instrumentation::kNone), cache_->Key(a, Instrumentation::kInterrupt));
  EXPECT_NE(cache_->Key(a, Instrumentation::kNone), cache_->Key(b, Instrumentation::kNone));
  EXPECT_EQ(cache_->Key(a, Instrumentation::kNone), cache_->Key(a, Instrumentation::kNone));

  // Another toolchain identity (here: another compiler version) is another key.
  Toolchain other = cache_->toolchain();
  other.cc_version += " (patched)";
  Result<AotCache> cache2 = AotCache::Open(cache_->dir(), other);
  ASSERT_TRUE(cache2.ok());
  EXPECT_NE(cache2->Key(a, Instrumentation::kNone), cache_->Key(a, Instrumentation::kNone));

  // An object compiled with one instrumentation is not found under the other.
  const Bytes wasm = Wat(kHello);
  ASSERT_TRUE(cache_->Compile(wasm, Instrumentation::kInterrupt).ok());
  Result<std::optional<fs::path>> none = cache_->Find(a, Instrumentation::kNone);
  ASSERT_TRUE(none.ok());
  EXPECT_FALSE(none->has_value());
}

TEST_F(AotTest, TamperedObjectIsRefusedAndRemoved) {
  const Bytes wasm = Wat(kHello);
  const crypto::Digest256 sha = crypto::Sha256::Hash(wasm);
  Result<fs::path> object = cache_->Compile(wasm, Instrumentation::kNone);
  ASSERT_TRUE(object.ok()) << object.status().ToString();
  const fs::path digest = object->string().substr(0, object->string().size() - 3) + ".sha256";

  ASSERT_EQ(::chmod(object->c_str(), 0644), 0);
  {
    std::fstream f(*object, std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(200);
    f.put('\x90');
  }
  ASSERT_EQ(::chmod(object->c_str(), 0444), 0);

  Result<std::optional<fs::path>> found = cache_->Find(sha, Instrumentation::kNone);
  ASSERT_FALSE(found.ok());
  EXPECT_EQ(found.status().reason(), "aot_object_corrupt");
  EXPECT_FALSE(fs::exists(*object));
  EXPECT_FALSE(fs::exists(digest));
  Result<std::optional<fs::path>> again = cache_->Find(sha, Instrumentation::kNone);
  ASSERT_TRUE(again.ok());
  EXPECT_FALSE(again->has_value());
}

TEST_F(AotTest, ObjectsThatOthersCouldHaveWrittenAreRefused) {
  const Bytes wasm = Wat(kHello);
  const crypto::Digest256 sha = crypto::Sha256::Hash(wasm);
  Result<fs::path> object = cache_->Compile(wasm, Instrumentation::kNone);
  ASSERT_TRUE(object.ok());
  ASSERT_EQ(::chmod(object->c_str(), 0666), 0);
  Result<std::optional<fs::path>> found = cache_->Find(sha, Instrumentation::kNone);
  EXPECT_EQ(found.status().reason(), "aot_object_corrupt");

  // A symlink planted in place of the object.
  ASSERT_TRUE(cache_->Compile(wasm, Instrumentation::kNone).ok());
  fs::remove(*object);
  fs::create_symlink("/bin/true", *object);
  found = cache_->Find(sha, Instrumentation::kNone);
  EXPECT_EQ(found.status().reason(), "aot_object_corrupt");
  EXPECT_FALSE(fs::is_symlink(*object));
}

TEST_F(AotTest, ObjectWithoutDigestIsAMissNotCorruption) {
  const Bytes wasm = Wat(kHello);
  const crypto::Digest256 sha = crypto::Sha256::Hash(wasm);
  Result<fs::path> object = cache_->Compile(wasm, Instrumentation::kNone);
  ASSERT_TRUE(object.ok());
  fs::remove(object->string().substr(0, object->string().size() - 3) + ".sha256");
  Result<std::optional<fs::path>> found = cache_->Find(sha, Instrumentation::kNone);
  ASSERT_TRUE(found.ok());
  EXPECT_FALSE(found->has_value());
  EXPECT_TRUE(fs::exists(*object));  // possibly a compile in progress: left alone
}

TEST_F(AotTest, RefusesAnInsecureDirectory) {
  const fs::path dir = tmp_.path() / "open";
  ASSERT_TRUE(AotCache::Open(dir, cache_->toolchain()).ok());
  ASSERT_EQ(::chmod(dir.c_str(), 0777), 0);
  Result<AotCache> c = AotCache::Open(dir, cache_->toolchain());
  EXPECT_EQ(c.status().reason(), "aot_cache_insecure");
}

TEST_F(AotTest, ImportsAreRefusedBeforeAnyToolRuns) {
  // A toolchain that cannot run at all: the gate must answer first.
  Toolchain broken = cache_->toolchain();
  broken.wasm2c = "/nonexistent/wasm2c";
  broken.cc = "/nonexistent/cc";
  Result<AotCache> cache = AotCache::Open(tmp_.path() / "broken", broken);
  ASSERT_TRUE(cache.ok());
  Result<fs::path> r =
      cache->Compile(Wat(R"((module (import "env" "foo" (func)) (func (export "_start"))))"),
                     Instrumentation::kNone);
  EXPECT_EQ(r.status().reason(), "unknown_import");
  r = cache->Compile(Wat(R"((module
      (import "wasi_snapshot_preview1" "fd_write" (func (param i32 i32) (result i32)))
      (func (export "_start"))))"),
                     Instrumentation::kNone);
  EXPECT_EQ(r.status().reason(), "import_signature");
  // Only a module that passes reaches the (missing) tool.
  r = cache->Compile(Wat(kEmpty), Instrumentation::kNone);
  EXPECT_EQ(r.status().reason(), "tool_spawn_failed");
}

TEST_F(AotTest, TranslationFailureIsReportedWithTheToolsWords) {
  // Valid binary encoding, invalid code (the function leaves an i32 on the stack).
  const Bytes bad = Wat(R"((module (func (export "_start") (i32.const 1))))", {"--no-check"});
  Result<fs::path> r = cache_->Compile(bad, Instrumentation::kInterrupt);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().reason(), "aot_compile_failed");
  EXPECT_THAT(r.status().message(), HasSubstr("wasm2c failed (exit status 1)"));
  EXPECT_THAT(r.status().message(), HasSubstr("error"));
}

TEST_F(AotTest, CompilerFailureAndTimeout) {
  Toolchain failing = cache_->toolchain();
  failing.cc = "/bin/false";
  Result<AotCache> cache = AotCache::Open(tmp_.path() / "failing", failing);
  ASSERT_TRUE(cache.ok());
  Result<fs::path> r = cache->Compile(Wat(kEmpty), Instrumentation::kNone);
  EXPECT_EQ(r.status().reason(), "aot_compile_failed");
  EXPECT_THAT(r.status().message(), HasSubstr("/bin/false failed (exit status 1)"));

  // A compiler that hangs (and starts a child of its own) is killed at the deadline.
  const fs::path script = tmp_.path() / "slow-cc";
  { std::ofstream(script) << "#!/bin/sh\nsleep 30 &\nsleep 30\n"; }
  ASSERT_EQ(::chmod(script.c_str(), 0755), 0);
  Toolchain slow = cache_->toolchain();
  slow.cc = script.string();
  AotCacheOptions options;
  options.compile_timeout = std::chrono::milliseconds(1500);
  Result<AotCache> slow_cache = AotCache::Open(tmp_.path() / "slow", slow, options);
  ASSERT_TRUE(slow_cache.ok());
  const auto start = std::chrono::steady_clock::now();
  r = slow_cache->Compile(Wat(kEmpty), Instrumentation::kNone);
  const auto took = std::chrono::steady_clock::now() - start;
  EXPECT_EQ(r.status().reason(), "aot_compile_failed");
  EXPECT_THAT(r.status().message(), HasSubstr("timed out"));
  EXPECT_LT(took, std::chrono::seconds(10));
}

TEST_F(AotTest, RefusesOversizedModules) {
  AotCacheOptions options;
  options.max_module_bytes = 16;
  Result<AotCache> small = AotCache::Open(tmp_.path() / "small", cache_->toolchain(), options);
  ASSERT_TRUE(small.ok());
  EXPECT_EQ(small->Compile(Wat(kHello), Instrumentation::kNone).status().reason(),
            "module_too_large");
}

TEST_F(AotTest, ConcurrentCompilesOfOneModuleAgree) {
  const Bytes wasm = Wat(kHello);
  Result<fs::path> a = Status(), b = Status();
  std::thread t([&] { a = cache_->Compile(wasm, Instrumentation::kInterrupt); });
  b = cache_->Compile(wasm, Instrumentation::kInterrupt);
  t.join();
  ASSERT_TRUE(a.ok()) << a.status().ToString();
  ASSERT_TRUE(b.ok()) << b.status().ToString();
  EXPECT_EQ(*a, *b);
  Result<std::optional<fs::path>> found =
      cache_->Find(crypto::Sha256::Hash(wasm), Instrumentation::kInterrupt);
  ASSERT_TRUE(found.ok()) << found.status().ToString();
  EXPECT_TRUE(found->has_value());
}

TEST_F(AotTest, RefusesTheExportNameInjection) {
  Result<fs::path> r = cache_->Compile(
      Wat(R"((module (func (export "*/ __attribute__((constructor)) static void x(void) {} /*"))
                     (func (export "_start"))))"),
      Instrumentation::kNone);
  EXPECT_EQ(r.status().reason(), "module_invalid");
}

// --- Running objects --------------------------------------------------------------------------

TEST_F(AotTest, ExitCodeFromProcExit) {
  const ChildRun r = Run(kExit42);
  ASSERT_TRUE(r.load_ok) << Describe(r);
  EXPECT_EQ(r.outcome.kind, OutcomeKind::kExited) << Describe(r);
  EXPECT_EQ(r.outcome.exit_code, 42);
  EXPECT_EQ(r.pages, 1u);
}

TEST_F(AotTest, HelloWritesThroughTheHost) {
  const ChildRun r = Run(kHello);
  EXPECT_EQ(r.outcome.kind, OutcomeKind::kExited) << Describe(r);
  EXPECT_EQ(r.outcome.exit_code, 0);
  EXPECT_EQ(r.output, "hello\n");
}

TEST_F(AotTest, ModuleWithoutImportsOrMemory) {
  for (Instrumentation i : {Instrumentation::kNone, Instrumentation::kInterrupt}) {
    const ChildRun r = Run(kEmpty, {}, i);
    EXPECT_EQ(r.outcome.kind, OutcomeKind::kExited) << Describe(r);
    EXPECT_EQ(r.pages, 0u);
  }
}

TEST_F(AotTest, EveryWasiImportReachesTheHostAsItsFunction) {
  const ChildRun r = Run(AllImportsWat());
  ASSERT_EQ(r.outcome.kind, OutcomeKind::kExited) << Describe(r);
  std::string expected;
  for (const wasi::FunctionInfo& f : wasi::Functions()) {
    if (f.function != wasi::Function::kProcExit)
      expected += std::to_string(static_cast<int>(f.function)) + ",";
  }
  expected += std::to_string(static_cast<int>(wasi::Function::kProcExit)) + ",";
  EXPECT_EQ(r.calls, expected);
}

TEST_F(AotTest, TrapsAreClassified) {
  const std::pair<std::string_view, std::string_view> cases[] = {
      {kOob, "trap_out_of_bounds"},
      {kUnreachable, "trap_unreachable"},
      {kDivZero, "trap_divide_by_zero"},
      {kOverflow, "trap_integer_overflow"},
      {kConversion, "trap_invalid_conversion"},
      {kIndirect, "trap_indirect_call"},
  };
  for (const auto& [wat, reason] : cases) {
    const ChildRun r = Run(wat);
    EXPECT_EQ(r.outcome.kind, OutcomeKind::kTrap) << reason << ": " << Describe(r);
    EXPECT_EQ(r.outcome.reason, reason) << Describe(r);
  }
}

TEST_F(AotTest, UnboundedRecursionExhaustsTheStack) {
  for (std::string_view wat : {kRecurse, kRecurseWithFrames}) {
    for (Instrumentation i : {Instrumentation::kNone, Instrumentation::kInterrupt}) {
      const ChildRun r = Run(wat, {}, i);
      EXPECT_EQ(r.outcome.kind, OutcomeKind::kTrap) << Describe(r);
      EXPECT_EQ(r.outcome.reason, "trap_stack_exhausted") << Describe(r);
    }
  }
}

TEST_F(AotTest, StackExhaustionOnAThreadIsNotOutOfBounds) {
  // A pthread's guard page is PROT_NONE (SEGV_ACCERR), which wasm-rt alone reports as OOB.
  ChildOptions opts;
  opts.thread_stack = 1 << 20;
  const ChildRun r = Run(kRecurseWithFrames, opts);
  EXPECT_EQ(r.outcome.reason, "trap_stack_exhausted") << Describe(r);
  // A real out-of-bounds access on the same thread is still one.
  const ChildRun oob = Run(kOob, opts);
  EXPECT_EQ(oob.outcome.reason, "trap_out_of_bounds") << Describe(oob);
}

TEST_F(AotTest, MemoryCap) {
  ChildOptions capped;
  capped.engine.max_memory_pages = 5;
  // The guest sees the refusal as memory.grow returning -1 and handles it (exit 0).
  ChildRun r = Run(kGrowProbe, capped);
  EXPECT_EQ(r.outcome.kind, OutcomeKind::kExited) << Describe(r);
  EXPECT_EQ(r.outcome.exit_code, 0);
  // Without the cap the grow succeeds (exit 3).
  r = Run(kGrowProbe);
  EXPECT_EQ(r.outcome.exit_code, 3) << Describe(r);
  EXPECT_EQ(r.pages, 11u);
  // The cap already holds while the start section runs.
  r = Run(kGrowInStartSection, capped);
  EXPECT_EQ(r.outcome.exit_code, 0) << Describe(r);
  r = Run(kGrowInStartSection);
  EXPECT_EQ(r.outcome.exit_code, 3) << Describe(r);
}

TEST_F(AotTest, GuestDyingAfterRefusedGrowIsAMemoryLimit) {
  ChildOptions capped;
  capped.engine.max_memory_pages = 64;
  ChildRun r = Run(kMembomb, capped);
  EXPECT_EQ(r.outcome.kind, OutcomeKind::kLimit) << Describe(r);
  EXPECT_EQ(r.outcome.reason, "memory_limit");
  EXPECT_LE(r.pages, 64u);
  // The module's own maximum refusing the grow is the guest's business: a plain trap.
  r = Run(kMembombOwnMax, capped);
  EXPECT_EQ(r.outcome.kind, OutcomeKind::kTrap) << Describe(r);
  EXPECT_EQ(r.outcome.reason, "trap_unreachable");
}

TEST_F(AotTest, InitialMemoryAboveTheCapIsRefusedAtLoad) {
  ChildOptions capped;
  capped.engine.max_memory_pages = 50;
  const ChildRun r = Run(kBigMemory, capped);
  EXPECT_FALSE(r.load_ok);
  EXPECT_EQ(r.load_reason, "memory_too_large") << Describe(r);
  EXPECT_TRUE(Run(kBigMemory).load_ok);
}

ChildOptions InterruptAfter(std::chrono::milliseconds delay, InterruptReason reason) {
  ChildOptions opts;
  opts.before_run = [delay, reason] {
    std::thread([delay, reason] {
      std::this_thread::sleep_for(delay);
      RequestInterrupt(reason);
    }).detach();
  };
  return opts;
}

TEST_F(AotTest, InterruptStopsAnInfiniteLoop) {
  const auto start = std::chrono::steady_clock::now();
  ChildRun r = Run(kSpin, InterruptAfter(std::chrono::milliseconds(200), InterruptReason::kWall));
  EXPECT_EQ(r.outcome.kind, OutcomeKind::kLimit) << Describe(r);
  EXPECT_EQ(r.outcome.reason, "wall_limit");
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(20));

  r = Run(kSpin, InterruptAfter(std::chrono::milliseconds(100), InterruptReason::kCpu));
  EXPECT_EQ(r.outcome.reason, "cpu_limit") << Describe(r);
}

TEST_F(AotTest, UninstrumentedGuestsStopAtTheirNextHostCall) {
  const ChildRun r =
      Run(kYieldLoop, InterruptAfter(std::chrono::milliseconds(100), InterruptReason::kWall),
          Instrumentation::kNone);
  EXPECT_EQ(r.outcome.kind, OutcomeKind::kLimit) << Describe(r);
  EXPECT_EQ(r.outcome.reason, "wall_limit");
}

TEST_F(AotTest, HostLimitEndsTheRun) {
  ChildOptions opts;
  opts.output_limit = 1000;
  const ChildRun r = Run(kWriteLoop, opts);
  EXPECT_EQ(r.outcome.kind, OutcomeKind::kLimit) << Describe(r);
  EXPECT_EQ(r.outcome.reason, "output_limit");
  EXPECT_EQ(r.output.size(), 1001u);
}

TEST_F(AotTest, OneEngineAtATimeAndOneRunPerEngine) {
  ChildOptions twice;
  twice.load_twice = true;
  ChildRun r = Run(kEmpty, twice);
  EXPECT_EQ(r.load_reason, "aot_engine_busy") << Describe(r);

  ChildOptions rerun;
  rerun.run_twice = true;
  r = Run(kEmpty, rerun);
  EXPECT_EQ(r.outcome.kind, OutcomeKind::kRefused) << Describe(r);
  EXPECT_EQ(r.outcome.reason, "engine_reused");
}

TEST_F(AotTest, LoadRefusals) {
  ChildOptions fuel;
  fuel.engine.fuel = 1000;
  EXPECT_EQ(Run(kEmpty, fuel).load_reason, "fuel_unsupported");

  // Not an object at all.
  const fs::path junk = tmp_.path() / "junk.so";
  { std::ofstream(junk) << "junk"; }
  EXPECT_EQ(RunInChild(junk).load_reason, "aot_load_failed");
}

// --- With the real WASI host and a C guest ------------------------------------------------------

// Builds a C guest with clang-19 and Debian's wasi-libc; empty (and the test skips) if that
// toolchain is not installed.
Bytes BuildCGuest(const fs::path& dir, std::string_view source) {
  const char* path = ::getenv("PATH");
  Result<std::string> clang = FindExecutable("clang-19", path ? path : "/usr/bin:/bin");
  if (!clang.ok()) return {};
  { std::ofstream(dir / "guest.c") << source; }
  ToolInvocation inv;
  inv.argv = {*clang,
              "--target=wasm32-wasi",
              "--sysroot=/usr",
              "-O2",
              "-Wl,--strip-all",
              "guest.c",
              "-o",
              "guest.wasm"};
  inv.cwd = dir;
  inv.env = TestEnv();
  inv.timeout = std::chrono::seconds(120);
  Result<ToolResult> r = RunTool(inv);
  if (!r.ok() || !r->ok()) return {};
  Result<Bytes> wasm = ReadFileLimited(dir / "guest.wasm", 1 << 24);
  return wasm.ok() ? *wasm : Bytes{};
}

constexpr std::string_view kCGuest = R"(
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
char* volatile sink;  /* keeps clang from eliding the allocations below */
int main(int argc, char** argv) {
  const char* greeting = getenv("GREETING");
  FILE* f = fopen("/data/out.txt", "w");
  if (!f) return 2;
  fprintf(f, "%s,%d", greeting ? greeting : "?", argc);
  fclose(f);
  char buf[64] = {0};
  f = fopen("/data/out.txt", "r");
  if (!f) return 3;
  fread(buf, 1, sizeof buf - 1, f);
  fclose(f);
  if (argc > 1 && strcmp(argv[1], "oom") == 0) {
    for (;;) {
      char* p = malloc(1 << 20);
      if (!p) return 1;
      memset(p, 1, 1 << 20);
      sink = p;
    }
  }
  printf("%s [%s]\n", argc > 1 ? argv[1] : "-", buf);
  return 7;
}
)";

TEST_F(AotTest, CGuestWithTheRealWasiHost) {
  const fs::path src = tmp_.path() / "src";
  fs::create_directories(src);
  const Bytes wasm = BuildCGuest(src, kCGuest);
  if (wasm.empty()) GTEST_SKIP() << "clang-19 with wasi-libc is not installed";
  Result<fs::path> object = cache_->Compile(wasm, Instrumentation::kInterrupt);
  ASSERT_TRUE(object.ok()) << object.status().ToString();

  const fs::path data = tmp_.path() / "data";
  const fs::path stdout_path = tmp_.path() / "stdout.txt";
  fs::create_directories(data);
  auto host_with = [&](std::vector<std::string> args) {
    return [=]() -> Result<std::unique_ptr<wasi::Host>> {
      wasi::HostConfig config;
      config.args = args;
      config.env = {"GREETING=hello"};
      config.stdout_fd =
          ::open(stdout_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
      config.data_dir_fd = ::open(data.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
      return wasi::Host::Create(std::move(config));
    };
  };

  ChildOptions opts;
  opts.make_host = host_with({"guest", "hi", "there"});
  ChildRun r = RunInChild(*object, opts);
  EXPECT_EQ(r.outcome.kind, OutcomeKind::kExited) << Describe(r);
  EXPECT_EQ(r.outcome.exit_code, 7);
  Result<Bytes> out = ReadFileLimited(stdout_path, 4096);
  ASSERT_TRUE(out.ok());
  EXPECT_EQ(AsChars(*out), "hi [hello,3]\n");
  Result<Bytes> file = ReadFileLimited(data / "out.txt", 4096);
  ASSERT_TRUE(file.ok());
  EXPECT_EQ(AsChars(*file), "hello,3");

  // malloc fails at the cap, the guest exits 1: reported as our memory limit.
  ChildOptions oom;
  oom.make_host = host_with({"guest", "oom"});
  oom.engine.max_memory_pages = 64;
  r = RunInChild(*object, oom);
  EXPECT_EQ(r.outcome.kind, OutcomeKind::kLimit) << Describe(r);
  EXPECT_EQ(r.outcome.reason, "memory_limit");
  EXPECT_LE(r.pages, 64u);
}

}  // namespace
}  // namespace elastos::compute::aot
