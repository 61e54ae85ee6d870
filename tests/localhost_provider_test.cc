// The localhost provider (capsules/localhost-provider, docs/providers.md) end to end: the real
// wasm32-wasi module in the real sandboxed worker (build/bin/elastos-worker), on both tiers, with
// this test acting as the runtime on the provider pipes. Every op's happy path, every error row of
// providers.md §2, the framing rules of protocol.md §2, and on the host file system that files land
// where they should and nothing outside the data directory changes.
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <boost/json.hpp>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <gtest/gtest.h>
#include <map>
#include <optional>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "common/manifest.h"
#include "common/testing/temp_dir.h"
#include "compute/worker/worker_protocol.h"
#ifdef ELASTOS_LP_TEST_AOT
#include "compute/aot/aot_compiler.h"
#include "crypto/sha256.h"
#endif

namespace elastos {
namespace {

namespace fs = std::filesystem;
namespace json = boost::json;

// A guard against a wedged provider, not a timing assertion: a response that takes this long
// means the test has failed anyway, and the test should say so instead of hanging.
constexpr int kHangGuardMs = 180'000;
constexpr std::size_t kCap = 1 << 20;        // line cap
constexpr std::size_t kChunk = 524288;       // content / read cap
// Worker fds of the provider pipes and the report (WorkerSpec names them to the worker).
constexpr int kWorkerRequestsFd = 3;   // guest fd 4
constexpr int kWorkerResponsesFd = 4;  // guest fd 5
constexpr int kWorkerReportFd = 5;

const char* const kRoots[] = {"AppCapsules", "ElastOS", "Local", "MyWebSite",
                              "PC2Host",     "Public",  "Users", "UsersAI"};  // bytewise order

fs::path BuildDir() {
  if (const char* bin = std::getenv("ELASTOS_BIN")) return fs::path(bin).parent_path();
  return fs::path(ELASTOS_LP_BUILD_DIR);
}
fs::path WorkerPath() { return BuildDir() / "bin" / "elastos-worker"; }
fs::path ModulePath() { return BuildDir() / "capsules" / "localhost-provider" / "localhost-provider.wasm"; }

std::string Slurp(const fs::path& p) {
  std::ifstream f(p, std::ios::binary);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

void Spit(const fs::path& p, std::string_view content) {
  std::ofstream f(p, std::ios::binary | std::ios::trunc);
  f.write(content.data(), static_cast<std::streamsize>(content.size()));
}

// ---- base64 (the test's own, an independent check of the provider's) -----------------------------

std::string Base64(std::string_view in) {
  static const char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  std::size_t i = 0;
  for (; i + 3 <= in.size(); i += 3) {
    const unsigned v = (static_cast<unsigned char>(in[i]) << 16) | (static_cast<unsigned char>(in[i + 1]) << 8) |
                       static_cast<unsigned char>(in[i + 2]);
    for (int s : {18, 12, 6, 0}) out.push_back(kAlphabet[(v >> s) & 63]);
  }
  if (in.size() - i == 1) {
    const unsigned v = static_cast<unsigned char>(in[i]) << 16;
    out += {kAlphabet[(v >> 18) & 63], kAlphabet[(v >> 12) & 63], '=', '='};
  } else if (in.size() - i == 2) {
    const unsigned v = (static_cast<unsigned char>(in[i]) << 16) | (static_cast<unsigned char>(in[i + 1]) << 8);
    out += {kAlphabet[(v >> 18) & 63], kAlphabet[(v >> 12) & 63], kAlphabet[(v >> 6) & 63], '='};
  }
  return out;
}

std::optional<std::string> Unbase64(std::string_view in) {
  auto value = [](char c) -> int {
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    if (c == '+') return 62;
    if (c == '/') return 63;
    return -1;
  };
  if (in.size() % 4 != 0) return std::nullopt;  // the provider writes padded base64
  while (!in.empty() && in.back() == '=') in.remove_suffix(1);
  std::string out;
  unsigned acc = 0;
  int bits = 0;
  for (char c : in) {
    const int v = value(c);
    if (v < 0) return std::nullopt;
    acc = (acc << 6) | static_cast<unsigned>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out.push_back(static_cast<char>((acc >> bits) & 0xFF));
    }
  }
  return out;
}

// ---- The AOT object, compiled once into a cache in the build tree ----------------------------------

#ifdef ELASTOS_LP_TEST_AOT
// Compiling the module takes a while, and ctest runs every test in its own process: the cache in
// the build tree (keyed by the module's digest and the toolchain) makes that cost once per build.
std::optional<fs::path> AotObject(std::string* error) {
  static std::optional<fs::path> object;
  static std::string failure;
  static bool tried = false;
  if (!tried) {
    tried = true;
    const std::string module = Slurp(ModulePath());
    auto cache = compute::aot::AotCache::Open(ELASTOS_LP_AOT_CACHE);
    if (!cache.ok()) {
      failure = cache.status().ToString();
    } else {
      const auto bytes = AsBytes(module);
      auto found = cache->Find(crypto::Sha256::Hash(bytes), compute::aot::kDefaultInstrumentation);
      if (found.ok() && found->has_value()) {
        object = **found;
      } else {
        auto compiled = cache->Compile(bytes, compute::aot::kDefaultInstrumentation);
        if (compiled.ok()) {
          object = *compiled;
        } else {
          failure = compiled.status().ToString();
        }
      }
    }
  }
  *error = failure;
  return object;
}
#endif

// ---- The provider process ----------------------------------------------------------------------

struct ProcessOptions {
  std::uint64_t storage_limit_bytes = UINT64_MAX;
  bool provider_env = true;  // set ELASTOS_PROVIDER_FDS
};

// One elastos-worker running the provider; this object is the runtime's end of its pipes.
class ProviderProcess {
 public:
  ~ProviderProcess() { Kill(); }

  bool Start(const fs::path& data, const fs::path& logs, const std::optional<fs::path>& aot,
             const ProcessOptions& options, std::string* error) {
    compute::WorkerSpec spec;
    spec.module_path = ModulePath().string();
    if (aot) spec.aot_path = aot->string();
    spec.max_memory_pages = 64 * 16;  // the manifest's memory_mb 64
    spec.wall_ms = 600'000;
    spec.cpu_ms = 600'000;
    spec.output_limit_bytes = 1 << 20;
    spec.storage_limit_bytes = options.storage_limit_bytes;
    spec.data_dir = data.string();
    spec.args = {"localhost-provider"};
    spec.env = {"ELASTOS_CAPSULE_NAME=localhost-provider", "ELASTOS_CAPSULE_ID=localhost-provider-test"};
    if (options.provider_env) spec.env.push_back("ELASTOS_PROVIDER_FDS=4,5");
    spec.carrier_in_fd = kWorkerRequestsFd;
    spec.carrier_out_fd = kWorkerResponsesFd;
    spec.report_fd = kWorkerReportFd;

    int requests[2], responses[2], report[2];
    if (::pipe2(requests, O_CLOEXEC) != 0 || ::pipe2(responses, O_CLOEXEC) != 0 || ::pipe2(report, O_CLOEXEC) != 0) {
      *error = "pipe2 failed";
      return false;
    }
    // Child ends above the fds the spawn dup2s onto, so no dup2 clobbers a source still needed.
    auto high = [](int fd) {
      const int h = ::fcntl(fd, F_DUPFD_CLOEXEC, 16);
      ::close(fd);
      return h;
    };
    requests[0] = high(requests[0]);
    responses[1] = high(responses[1]);
    report[1] = high(report[1]);

    posix_spawn_file_actions_t actions;
    ::posix_spawn_file_actions_init(&actions);
    ::posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
    ::posix_spawn_file_actions_addopen(&actions, 1, (logs / "stdout").c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    ::posix_spawn_file_actions_addopen(&actions, 2, (logs / "stderr").c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    ::posix_spawn_file_actions_adddup2(&actions, requests[0], kWorkerRequestsFd);
    ::posix_spawn_file_actions_adddup2(&actions, responses[1], kWorkerResponsesFd);
    ::posix_spawn_file_actions_adddup2(&actions, report[1], kWorkerReportFd);
    std::vector<std::string> args = compute::ToArgv(WorkerPath().string(), spec);
    std::vector<char*> argv;
    for (std::string& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    char* envp[] = {nullptr};  // as the runtime: nothing of the host's environment
    const int rc = ::posix_spawn(&pid_, argv[0], &actions, nullptr, argv.data(), envp);
    ::posix_spawn_file_actions_destroy(&actions);
    ::close(requests[0]);
    ::close(responses[1]);
    ::close(report[1]);
    requests_ = requests[1];
    responses_ = responses[0];
    report_ = report[0];
    if (rc != 0) {
      pid_ = -1;
      *error = std::string("posix_spawn of ") + argv[0] + ": " + std::strerror(rc);
      return false;
    }
    return true;
  }

  bool running() const { return pid_ > 0; }

  // Writes raw bytes to the request pipe. False when the provider is gone.
  bool Send(std::string_view bytes) {
    while (!bytes.empty()) {
      const ssize_t n = ::write(requests_, bytes.data(), bytes.size());
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) return false;
      bytes.remove_prefix(static_cast<std::size_t>(n));
    }
    return true;
  }

  // The next response line without its '\n'; nullopt at end of stream (or a wedged provider).
  std::optional<std::string> ReadLine() {
    for (;;) {
      const std::size_t nl = buffer_.find('\n');
      if (nl != std::string::npos) {
        std::string line = buffer_.substr(0, nl);
        buffer_.erase(0, nl + 1);
        return line;
      }
      pollfd p{responses_, POLLIN, 0};
      const int ready = ::poll(&p, 1, kHangGuardMs);
      if (ready < 0 && errno == EINTR) continue;
      if (ready <= 0) {
        ADD_FAILURE() << "no response from the provider within " << kHangGuardMs / 1000 << " s";
        return std::nullopt;
      }
      char buf[65536];
      const ssize_t n = ::read(responses_, buf, sizeof buf);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) return std::nullopt;
      buffer_.append(buf, static_cast<std::size_t>(n));
    }
  }

  // Closes the request pipe (end of stream: "shut down"), waits for the worker and returns its
  // exit code; the report line is parsed into *report.
  int Finish(compute::WorkerReport* report, std::string* report_line) {
    CloseRequests();
    std::string line;
    for (;;) {
      pollfd p{report_, POLLIN, 0};
      const int ready = ::poll(&p, 1, kHangGuardMs);
      if (ready < 0 && errno == EINTR) continue;
      if (ready <= 0) break;
      char buf[4096];
      const ssize_t n = ::read(report_, buf, sizeof buf);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) break;
      line.append(buf, static_cast<std::size_t>(n));
    }
    if (pid_ <= 0) return -1;
    int status = 0;
    ::waitpid(pid_, &status, 0);
    pid_ = -1;
    if (report_line) *report_line = line;
    auto parsed = compute::ParseReport(line);
    if (parsed.ok() && report) *report = *parsed;
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  }

  void CloseRequests() {
    if (requests_ >= 0) ::close(requests_);
    requests_ = -1;
  }

  void Kill() {
    if (pid_ > 0) {
      ::kill(pid_, SIGKILL);
      ::waitpid(pid_, nullptr, 0);
      pid_ = -1;
    }
    for (int* fd : {&requests_, &responses_, &report_}) {
      if (*fd >= 0) ::close(*fd);
      *fd = -1;
    }
  }

 private:
  pid_t pid_ = -1;
  int requests_ = -1, responses_ = -1, report_ = -1;
  std::string buffer_;
};

// ---- Assertions on responses ------------------------------------------------------------------

::testing::AssertionResult IsError(const json::object& r, std::string_view code, std::string_view reason) {
  const json::value* type = r.if_contains("type");
  if (type == nullptr || !type->is_string() || type->get_string() != "error") {
    return ::testing::AssertionFailure() << "expected error " << code << "/" << reason << ", got "
                                         << json::serialize(r);
  }
  if (r.size() != 4 || !r.at("code").is_string() || !r.at("reason").is_string() || !r.at("message").is_string()) {
    return ::testing::AssertionFailure() << "malformed error response " << json::serialize(r);
  }
  if (r.at("code").get_string() != code || r.at("reason").get_string() != reason) {
    return ::testing::AssertionFailure() << "expected " << code << "/" << reason << ", got " << json::serialize(r);
  }
  return ::testing::AssertionSuccess();
}

::testing::AssertionResult IsOk(const json::object& r, std::string_view op) {
  const json::value* type = r.if_contains("type");
  if (type == nullptr || !type->is_string() || type->get_string() != "resource_response") {
    return ::testing::AssertionFailure() << "expected resource_response, got " << json::serialize(r);
  }
  const json::value* got = r.if_contains("op");
  if (got == nullptr || !got->is_string() || got->get_string() != op) {
    return ::testing::AssertionFailure() << "expected op " << op << ", got " << json::serialize(r);
  }
  return ::testing::AssertionSuccess();
}

json::object Op(std::string_view op, std::string_view path, json::object extra = {}) {
  json::object r{{"type", "provider_request"}, {"op", op}, {"path", path}};
  for (const auto& kv : extra) r[kv.key()] = kv.value();
  return r;
}

// A snapshot of a host tree: relative path → content ("<dir>" / "<link:target>").
std::map<std::string, std::string> Snapshot(const fs::path& dir) {
  std::map<std::string, std::string> out;
  std::error_code ec;
  for (auto it = fs::recursive_directory_iterator(dir, ec); !ec && it != fs::recursive_directory_iterator();
       it.increment(ec)) {
    const fs::path rel = fs::relative(it->path(), dir);
    if (it->is_symlink()) {
      out[rel.string()] = "<link:" + fs::read_symlink(it->path()).string() + ">";
    } else if (it->is_directory()) {
      out[rel.string()] = "<dir>";
    } else {
      out[rel.string()] = Slurp(it->path());
    }
  }
  return out;
}

std::vector<std::string> HostNames(const fs::path& dir) {
  std::vector<std::string> names;
  for (const auto& e : fs::directory_iterator(dir)) names.push_back(e.path().filename().string());
  std::sort(names.begin(), names.end());
  return names;
}

// ---- The fixture ---------------------------------------------------------------------------------

class LocalhostProvider : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    ::signal(SIGPIPE, SIG_IGN);  // a provider that died must fail a write, not kill the test
    ASSERT_TRUE(fs::exists(WorkerPath())) << WorkerPath() << " (build the elastos-worker target)";
    ASSERT_TRUE(fs::exists(ModulePath())) << ModulePath() << " (build the capsule_localhost-provider target)";
    dir_ = tmp_.path();
    data_ = dir_ / "roots";
    outside_ = dir_ / "outside";
    logs_ = dir_ / "logs";
    fs::create_directories(data_);
    fs::create_directories(outside_ / "keep");
    fs::create_directories(logs_);
    Spit(outside_ / "secret.txt", "host secret\n");
    Spit(outside_ / "keep" / "inner.txt", "inner\n");
    outside_before_ = Snapshot(outside_);
    if (GetParam() == "aot") {
#ifdef ELASTOS_LP_TEST_AOT
      std::string error;
      aot_ = AotObject(&error);
      ASSERT_TRUE(aot_.has_value()) << "AOT compile of the provider failed: " << error;
#else
      GTEST_SKIP() << "this build has no AOT tier";
#endif
    }
  }

  void TearDown() override {
    provider_.Kill();
    // Nothing outside the data directory changed: the sentinel tree is intact and the test
    // directory holds only what the test made.
    EXPECT_EQ(Snapshot(outside_), outside_before_);
    EXPECT_EQ(HostNames(dir_), (std::vector<std::string>{"logs", "outside", "roots"}));
  }

  void Start(const ProcessOptions& options = {}) {
    std::string error;
    ASSERT_TRUE(provider_.Start(data_, logs_, aot_, options, &error)) << error;
  }

  // Sends `request` in an envelope and returns the response object (empty on failure, which is
  // recorded).
  json::object Call(const json::object& request) {
    const std::uint64_t id = next_id_++;
    json::object env{{"id", id}, {"request", request}};
    if (!provider_.Send(json::serialize(env) + "\n")) {
      ADD_FAILURE() << "the provider is gone (request pipe closed); stderr: " << Slurp(logs_ / "stderr");
      return {};
    }
    return Expect(id);
  }

  // Reads one response line and checks that it is an envelope for `id`.
  json::object Expect(std::uint64_t id) {
    std::optional<std::string> line = provider_.ReadLine();
    if (!line) {
      ADD_FAILURE() << "no response (end of stream); stderr: " << Slurp(logs_ / "stderr");
      return {};
    }
    if (line->size() > kCap) ADD_FAILURE() << "response line of " << line->size() << " bytes exceeds the cap";
    boost::system::error_code ec;
    json::value v = json::parse(*line, ec);
    if (ec || !v.is_object()) {
      ADD_FAILURE() << "response is not a JSON object: " << line->substr(0, 300);
      return {};
    }
    const json::object& env = v.get_object();
    if (env.size() != 2 || !env.contains("id") || !env.contains("response") || !env.at("response").is_object()) {
      ADD_FAILURE() << "response is not an {id, response} envelope: " << line->substr(0, 300);
      return {};
    }
    const auto got = env.at("id").to_number<std::uint64_t>();
    EXPECT_EQ(got, id) << line->substr(0, 300);
    return env.at("response").get_object();
  }

  // Sends a raw line and returns the envelope it is answered with.
  json::object Raw(std::string_view line, std::uint64_t expect_id) {
    EXPECT_TRUE(provider_.Send(std::string(line) + "\n"));
    return Expect(expect_id);
  }

  // Ends the provider with end of stream and expects a clean exit 0 (and, unless told otherwise,
  // a silent one: requests are not logged).
  void ExpectCleanExit(bool quiet = true) {
    compute::WorkerReport report;
    std::string line;
    const int code = provider_.Finish(&report, &line);
    EXPECT_EQ(code, 0) << line << " stderr: " << Slurp(logs_ / "stderr");
    EXPECT_EQ(report.outcome.kind, compute::OutcomeKind::kExited) << line;
    EXPECT_EQ(report.outcome.exit_code, 0) << line;
    EXPECT_EQ(report.tier, GetParam()) << line;
    EXPECT_EQ(Slurp(logs_ / "stdout"), "");
    if (quiet) {
      EXPECT_EQ(Slurp(logs_ / "stderr"), "");
    }
  }

  json::object Write(std::string_view path, std::string_view content, bool append = false) {
    json::object extra{{"content", Base64(content)}};
    if (append) extra["append"] = true;
    return Call(Op("write", path, extra));
  }

  // read → the data, checking the response's shape.
  std::string ReadOk(std::string_view path, json::object extra = {}) {
    json::object r = Call(Op("read", path, std::move(extra)));
    EXPECT_TRUE(IsOk(r, "read"));
    if (!r.contains("data") || !r.at("data").is_string()) return "<no data>";
    EXPECT_TRUE(r.contains("eof") && r.at("eof").is_bool());
    EXPECT_TRUE(r.contains("size") && r.at("size").is_number());
    auto data = Unbase64(r.at("data").get_string());
    EXPECT_TRUE(data.has_value());
    return data.value_or("<bad base64>");
  }

  testing::TempDir tmp_;
  fs::path dir_, data_, outside_, logs_;
  std::map<std::string, std::string> outside_before_;
  std::optional<fs::path> aot_;
  ProviderProcess provider_;
  std::uint64_t next_id_ = 1;
};

// ---- Start, ping, shutdown ---------------------------------------------------------------------

TEST_P(LocalhostProvider, CreatesTheRootsAnswersPingAndExitsZeroAtEndOfStream) {
  // A root that exists keeps its content; something that is not a root is not listed.
  fs::create_directories(data_ / "Users" / "self");
  Spit(data_ / "Users" / "self" / "kept.txt", "kept");
  fs::create_directories(data_ / "NotARoot");
  Start();
  json::object pong = Call({{"type", "ping"}});
  EXPECT_EQ(json::serialize(pong), R"({"type":"pong"})");
  for (const char* root : kRoots) {
    EXPECT_TRUE(fs::is_directory(data_ / root)) << root;
  }
  EXPECT_EQ(Slurp(data_ / "Users" / "self" / "kept.txt"), "kept");

  json::object list = Call(Op("list", ""));
  ASSERT_TRUE(IsOk(list, "list"));
  std::vector<std::string> names;
  for (const auto& e : list.at("entries").as_array()) {
    names.emplace_back(e.at("name").as_string());
    EXPECT_EQ(e.at("is_dir"), json::value(true));
    EXPECT_EQ(e.at("size").to_number<std::uint64_t>(), 0u);
  }
  EXPECT_EQ(names, std::vector<std::string>(std::begin(kRoots), std::end(kRoots)));
  ExpectCleanExit();
  EXPECT_TRUE(fs::is_directory(data_ / "NotARoot"));  // not the provider's, left alone
}

TEST_P(LocalhostProvider, WithoutItsPipesItRefusesToStart) {
  Start(ProcessOptions{.provider_env = false});
  compute::WorkerReport report;
  std::string line;
  EXPECT_EQ(provider_.Finish(&report, &line), 2) << line;
  EXPECT_NE(Slurp(logs_ / "stderr").find("ELASTOS_PROVIDER_FDS"), std::string::npos);
}

TEST_P(LocalhostProvider, EndOfStreamInsideALineIsAShutdownToo) {
  Start();
  ASSERT_TRUE(provider_.Send(R"({"id":1,"request":{"type":"pi)"));
  ExpectCleanExit(/*quiet=*/false);
  EXPECT_NE(Slurp(logs_ / "stderr").find("end of stream inside a request line"), std::string::npos);
}

// ---- The ops -------------------------------------------------------------------------------------

TEST_P(LocalhostProvider, WriteThenReadStatExistsRoundTrip) {
  Start();
  std::string all_bytes;
  for (int i = 0; i < 256; ++i) all_bytes.push_back(static_cast<char>(i));
  json::object w = Write("Users/a.bin", all_bytes);
  ASSERT_TRUE(IsOk(w, "write"));
  EXPECT_EQ(w.at("written").to_number<std::uint64_t>(), 256u);
  EXPECT_EQ(w.size(), 3u) << json::serialize(w);  // type, op, written
  EXPECT_EQ(Slurp(data_ / "Users" / "a.bin"), all_bytes);  // really on the host, where expected

  json::object r = Call(Op("read", "Users/a.bin"));
  ASSERT_TRUE(IsOk(r, "read"));
  EXPECT_EQ(r.size(), 5u) << json::serialize(r);  // type, op, data, eof, size
  EXPECT_EQ(r.at("data").as_string(), Base64(all_bytes));
  EXPECT_EQ(r.at("eof"), json::value(true));
  EXPECT_EQ(r.at("size").to_number<std::uint64_t>(), 256u);

  json::object s = Call(Op("stat", "Users/a.bin"));
  ASSERT_TRUE(IsOk(s, "stat"));
  struct stat host;
  ASSERT_EQ(::stat((data_ / "Users" / "a.bin").c_str(), &host), 0);
  const json::object& st = s.at("stat").as_object();
  EXPECT_EQ(st.size(), 3u);
  EXPECT_EQ(st.at("is_dir"), json::value(false));
  EXPECT_EQ(st.at("size").to_number<std::uint64_t>(), 256u);
  EXPECT_EQ(st.at("modified").to_number<std::int64_t>(), host.st_mtim.tv_sec);

  json::object ds = Call(Op("stat", "Users"));
  ASSERT_TRUE(IsOk(ds, "stat"));
  EXPECT_EQ(ds.at("stat").at("is_dir"), json::value(true));
  EXPECT_EQ(ds.at("stat").at("size").to_number<std::uint64_t>(), 0u);
  EXPECT_TRUE(IsOk(Call(Op("stat", "")), "stat"));

  json::object e = Call(Op("exists", "Users/a.bin"));
  ASSERT_TRUE(IsOk(e, "exists"));
  EXPECT_EQ(e.at("exists"), json::value(true));
  EXPECT_EQ(Call(Op("exists", "Users/missing")).at("exists"), json::value(false));
  EXPECT_EQ(Call(Op("exists", "Users/a.bin/under-a-file")).at("exists"), json::value(false));
  EXPECT_EQ(Call(Op("exists", "Public")).at("exists"), json::value(true));
  EXPECT_EQ(Call(Op("exists", "")).at("exists"), json::value(true));

  // Content as an array of byte values (the reference runtime's form) and empty content.
  json::object arr = Call(Op("write", "Users/arr.txt", {{"content", json::array{104, 105}}}));
  EXPECT_TRUE(IsOk(arr, "write"));
  EXPECT_EQ(Slurp(data_ / "Users" / "arr.txt"), "hi");
  json::object empty = Write("Public/empty", "");
  EXPECT_TRUE(IsOk(empty, "write"));
  EXPECT_EQ(empty.at("written").to_number<std::uint64_t>(), 0u);
  EXPECT_TRUE(fs::is_regular_file(data_ / "Public" / "empty"));
  EXPECT_EQ(fs::file_size(data_ / "Public" / "empty"), 0u);
  json::object re = Call(Op("read", "Public/empty"));
  EXPECT_EQ(re.at("data").as_string(), "");
  EXPECT_EQ(re.at("eof"), json::value(true));
  EXPECT_EQ(re.at("size").to_number<std::uint64_t>(), 0u);

  // The largest content one write takes.
  const std::string big(kChunk, 'z');
  json::object wb = Write("UsersAI/big", big);
  ASSERT_TRUE(IsOk(wb, "write"));
  EXPECT_EQ(wb.at("written").to_number<std::uint64_t>(), kChunk);
  EXPECT_EQ(Slurp(data_ / "UsersAI" / "big"), big);
  EXPECT_EQ(ReadOk("UsersAI/big"), big);
  ExpectCleanExit();
}

TEST_P(LocalhostProvider, ReadHonoursOffsetAndLengthAndReportsEofAndSize) {
  std::string content;
  for (int i = 0; i < 1000; ++i) content.push_back(static_cast<char>('a' + i % 26));
  fs::create_directories(data_ / "Local");
  Spit(data_ / "Local" / "f.txt", content);
  const std::string large(kChunk + 1000, 'L');
  Spit(data_ / "Local" / "large", large);
  Start();

  auto read = [&](std::uint64_t offset, std::optional<std::uint64_t> length) {
    json::object extra{{"offset", offset}};
    if (length) extra["length"] = *length;
    return Call(Op("read", "Local/f.txt", extra));
  };
  json::object r = read(10, 20);
  ASSERT_TRUE(IsOk(r, "read"));
  EXPECT_EQ(Unbase64(r.at("data").as_string()), content.substr(10, 20));
  EXPECT_EQ(r.at("eof"), json::value(false));
  EXPECT_EQ(r.at("size").to_number<std::uint64_t>(), 1000u);

  r = read(990, 20);
  EXPECT_EQ(Unbase64(r.at("data").as_string()), content.substr(990));
  EXPECT_EQ(r.at("eof"), json::value(true));

  r = read(980, 20);  // ends exactly at the end
  EXPECT_EQ(Unbase64(r.at("data").as_string()), content.substr(980));
  EXPECT_EQ(r.at("eof"), json::value(true));

  r = read(1000, std::nullopt);
  EXPECT_EQ(r.at("data").as_string(), "");
  EXPECT_EQ(r.at("eof"), json::value(true));
  EXPECT_EQ(r.at("size").to_number<std::uint64_t>(), 1000u);

  r = read(1ull << 62, 5);  // far past the end: nothing, eof
  EXPECT_EQ(r.at("data").as_string(), "");
  EXPECT_EQ(r.at("eof"), json::value(true));

  r = read(0, 0);
  EXPECT_EQ(r.at("data").as_string(), "");
  EXPECT_EQ(r.at("eof"), json::value(false));

  r = read(0, kChunk);
  EXPECT_EQ(Unbase64(r.at("data").as_string()), content);

  // Without a length, at most 524,288 bytes: a large file is read in pieces.
  json::object first = Call(Op("read", "Local/large"));
  ASSERT_TRUE(IsOk(first, "read"));
  EXPECT_EQ(Unbase64(first.at("data").as_string())->size(), kChunk);
  EXPECT_EQ(first.at("eof"), json::value(false));
  EXPECT_EQ(first.at("size").to_number<std::uint64_t>(), large.size());
  json::object rest = Call(Op("read", "Local/large", {{"offset", kChunk}}));
  EXPECT_EQ(Unbase64(rest.at("data").as_string()), std::string(1000, 'L'));
  EXPECT_EQ(rest.at("eof"), json::value(true));
  ExpectCleanExit();
}

TEST_P(LocalhostProvider, AppendAddsAndReplaceSwapsTheWholeFile) {
  Start();
  ASSERT_TRUE(IsOk(Write("Users/log.txt", "one\n"), "write"));
  json::object a = Write("Users/log.txt", "two\n", /*append=*/true);
  ASSERT_TRUE(IsOk(a, "write"));
  EXPECT_EQ(a.at("written").to_number<std::uint64_t>(), 4u);
  EXPECT_EQ(Slurp(data_ / "Users" / "log.txt"), "one\ntwo\n");
  // append:false is an explicit replace; append to a missing file creates it.
  ASSERT_TRUE(IsOk(Call(Op("write", "Users/log.txt", {{"content", Base64("new")}, {"append", false}})), "write"));
  EXPECT_EQ(Slurp(data_ / "Users" / "log.txt"), "new");
  ASSERT_TRUE(IsOk(Write("Users/fresh.txt", "x", /*append=*/true), "write"));
  EXPECT_EQ(Slurp(data_ / "Users" / "fresh.txt"), "x");

  // A replace is a new file renamed over the old one (temp file + rename), and leaves no
  // temporary file behind.
  struct stat before, after;
  ASSERT_EQ(::stat((data_ / "Users" / "log.txt").c_str(), &before), 0);
  ASSERT_TRUE(IsOk(Write("Users/log.txt", "newer"), "write"));
  ASSERT_EQ(::stat((data_ / "Users" / "log.txt").c_str(), &after), 0);
  EXPECT_NE(before.st_ino, after.st_ino);
  EXPECT_EQ(Slurp(data_ / "Users" / "log.txt"), "newer");
  // An append is in place.
  ASSERT_TRUE(IsOk(Write("Users/log.txt", "!", true), "write"));
  struct stat appended;
  ASSERT_EQ(::stat((data_ / "Users" / "log.txt").c_str(), &appended), 0);
  EXPECT_EQ(appended.st_ino, after.st_ino);
  EXPECT_EQ(HostNames(data_ / "Users"), (std::vector<std::string>{"fresh.txt", "log.txt"}));
  ExpectCleanExit();
}

TEST_P(LocalhostProvider, AReplacingWriteIsAtomicForAConcurrentReader) {
  // A host reader opens and reads the file in a loop while the provider replaces it again and
  // again with contents of different lengths: every read sees one whole version, never a mixture,
  // a truncated file or an empty one.
  const std::string a(120'000, 'a'), b(80'000, 'b');
  fs::create_directories(data_ / "Users");
  Spit(data_ / "Users" / "doc", a);
  Start();
  std::atomic<bool> stop{false};
  std::atomic<int> reads{0}, torn{0};
  std::string torn_example;
  std::thread reader([&] {
    const fs::path file = data_ / "Users" / "doc";
    do {
      const std::string seen = Slurp(file);
      ++reads;
      if (seen != a && seen != b) {
        if (torn++ == 0) torn_example = std::to_string(seen.size()) + " bytes";
      }
      std::this_thread::yield();  // a shared machine: leave the provider its share
    } while (!stop.load());
  });
  for (int i = 0; i < 16; ++i) {
    json::object w = Write("Users/doc", i % 2 == 0 ? b : a);
    if (!IsOk(w, "write")) {
      ADD_FAILURE() << json::serialize(w);
      break;
    }
  }
  stop = true;
  reader.join();
  EXPECT_GE(reads.load(), 1);
  EXPECT_EQ(torn.load(), 0) << "a reader saw a partial file: " << torn_example;
  EXPECT_EQ(Slurp(data_ / "Users" / "doc"), a);
  EXPECT_EQ(HostNames(data_ / "Users"), std::vector<std::string>{"doc"});
  ExpectCleanExit();
}

TEST_P(LocalhostProvider, ListSortsBytewiseAndDescribesEntries) {
  const fs::path dir = data_ / "Public" / "mix";
  fs::create_directories(dir / "A");
  fs::create_directories(dir / "dir");
  Spit(dir / "b.txt", "bbb");
  Spit(dir / "a", "1");
  Spit(dir / "Z.md", "zz");
  Spit(dir / "_x", "");
  Spit(dir / "10", "ten!!!!!!!");
  Spit(dir / "9", "9");
  Spit(dir / "\xC3\xA9t\xC3\xA9", "summer");  // "été": bytes above ASCII sort last
  Spit(dir / ".hidden", "h");
  Spit(dir / "%2e%2e", "literal");
  // Names the namespace cannot address are not listed: a leftover temporary file of the
  // provider, a name that is not UTF-8, one with a backslash or a control character.
  Spit(dir / ".elastos-tmp-0123456789abcdef", "temp");
  Spit(dir / "bad\xFF", "x");
  Spit(dir / "back\\slash", "x");
  Spit(dir / "new\nline", "x");
  fs::create_directories(data_ / "Public" / "empty");
  Start();

  json::object r = Call(Op("list", "Public/mix"));
  ASSERT_TRUE(IsOk(r, "list"));
  EXPECT_EQ(r.size(), 3u) << json::serialize(r);  // type, op, entries
  struct Want {
    std::string name;
    bool is_dir;
    std::uint64_t size;
  };
  const std::vector<Want> want = {{"%2e%2e", false, 7}, {".hidden", false, 1}, {"10", false, 10}, {"9", false, 1},
                                  {"A", true, 0},        {"Z.md", false, 2},    {"_x", false, 0},  {"a", false, 1},
                                  {"b.txt", false, 3},   {"dir", true, 0},      {"\xC3\xA9t\xC3\xA9", false, 6}};
  const json::array& entries = r.at("entries").as_array();
  ASSERT_EQ(entries.size(), want.size()) << json::serialize(r);
  for (std::size_t i = 0; i < want.size(); ++i) {
    const json::object& e = entries[i].as_object();
    EXPECT_EQ(e.size(), 3u);
    EXPECT_EQ(e.at("name").as_string(), want[i].name) << i;
    EXPECT_EQ(e.at("is_dir"), json::value(want[i].is_dir)) << want[i].name;
    EXPECT_EQ(e.at("size").to_number<std::uint64_t>(), want[i].size) << want[i].name;
  }
  json::object empty = Call(Op("list", "Public/empty"));
  ASSERT_TRUE(IsOk(empty, "list"));
  EXPECT_TRUE(empty.at("entries").as_array().empty());
  ExpectCleanExit();
}

TEST_P(LocalhostProvider, AListingIsCappedAtTenThousandEntriesAndOneLine) {
  const fs::path many = data_ / "Local" / "many";
  fs::create_directories(many);
  for (int i = 0; i < 10000; ++i) Spit(many / ("f" + std::to_string(i)), "");
  // 4,000 names of 250 bytes: fewer than 10,000 entries, but more than a 1 MiB line can carry.
  const fs::path wide = data_ / "Local" / "wide";
  fs::create_directories(wide);
  for (int i = 0; i < 4000; ++i) {
    std::string name = std::to_string(i);
    name += std::string(250 - name.size(), 'w');
    Spit(wide / name, "");
  }
  Start();
  json::object r = Call(Op("list", "Local/many"));
  ASSERT_TRUE(IsOk(r, "list"));
  EXPECT_EQ(r.at("entries").as_array().size(), 10000u);
  Spit(many / "one-too-many", "");
  EXPECT_TRUE(IsError(Call(Op("list", "Local/many")), "resource_exhausted", "too_many_entries"));
  EXPECT_TRUE(IsError(Call(Op("list", "Local/wide")), "resource_exhausted", "too_many_entries"));
  EXPECT_EQ(json::serialize(Call({{"type", "ping"}})), R"({"type":"pong"})");  // still in step
  ExpectCleanExit();
}

TEST_P(LocalhostProvider, MkdirAndDelete) {
  Start();
  EXPECT_TRUE(IsOk(Call(Op("mkdir", "Users/d")), "mkdir"));
  EXPECT_TRUE(fs::is_directory(data_ / "Users" / "d"));
  EXPECT_TRUE(IsError(Call(Op("mkdir", "Users/d")), "failed_precondition", "already_exists"));
  EXPECT_TRUE(IsError(Call(Op("mkdir", "Users")), "failed_precondition", "already_exists"));
  EXPECT_TRUE(IsError(Call(Op("mkdir", "Users/x/y/z")), "not_found", "no_parent"));
  EXPECT_FALSE(fs::exists(data_ / "Users" / "x"));
  json::object p = Call(Op("mkdir", "Users/x/y/z", {{"parents", true}}));
  EXPECT_TRUE(IsOk(p, "mkdir"));
  EXPECT_EQ(p.size(), 2u) << json::serialize(p);  // type, op
  EXPECT_TRUE(fs::is_directory(data_ / "Users" / "x" / "y" / "z"));
  EXPECT_TRUE(IsOk(Call(Op("mkdir", "Users/x/y/z", {{"parents", true}})), "mkdir"));  // like mkdir -p
  EXPECT_TRUE(IsOk(Call(Op("mkdir", "Users", {{"parents", true}})), "mkdir"));
  EXPECT_TRUE(IsOk(Call(Op("mkdir", "Users/d/e", {{"parents", false}})), "mkdir"));

  ASSERT_TRUE(IsOk(Write("Users/file", "f"), "write"));
  EXPECT_TRUE(IsError(Call(Op("mkdir", "Users/file/sub", {{"parents", true}})), "failed_precondition",
                      "not_a_directory"));
  EXPECT_TRUE(IsError(Call(Op("mkdir", "Users/file/sub")), "failed_precondition", "not_a_directory"));
  EXPECT_TRUE(IsError(Call(Op("mkdir", "Users/file", {{"parents", true}})), "failed_precondition",
                      "already_exists"));
  EXPECT_TRUE(IsError(Call(Op("mkdir", "Users/file")), "failed_precondition", "already_exists"));

  // delete: a file, an empty directory, a full one only with recursive.
  json::object d = Call(Op("delete", "Users/file"));
  EXPECT_TRUE(IsOk(d, "delete"));
  EXPECT_EQ(d.size(), 2u);
  EXPECT_FALSE(fs::exists(data_ / "Users" / "file"));
  EXPECT_TRUE(IsOk(Call(Op("delete", "Users/d/e")), "delete"));
  EXPECT_FALSE(fs::exists(data_ / "Users" / "d" / "e"));
  ASSERT_TRUE(IsOk(Write("Users/x/y/z/deep.txt", "deep"), "write"));
  ASSERT_TRUE(IsOk(Write("Users/x/top.txt", "top"), "write"));
  EXPECT_TRUE(IsError(Call(Op("delete", "Users/x")), "failed_precondition", "not_empty"));
  EXPECT_TRUE(IsError(Call(Op("delete", "Users/x", {{"recursive", false}})), "failed_precondition", "not_empty"));
  EXPECT_TRUE(fs::exists(data_ / "Users" / "x" / "y" / "z" / "deep.txt"));
  // A link inside the tree to a directory outside: recursive delete removes the link, never
  // what it points at.
  fs::create_directory_symlink(outside_ / "keep", data_ / "Users" / "x" / "y" / "out");
  EXPECT_TRUE(IsOk(Call(Op("delete", "Users/x", {{"recursive", true}})), "delete"));
  EXPECT_FALSE(fs::exists(data_ / "Users" / "x"));
  EXPECT_TRUE(fs::exists(outside_ / "keep" / "inner.txt"));
  EXPECT_TRUE(IsOk(Call(Op("delete", "Users/d", {{"recursive", true}})), "delete"));  // recursive on empty
  EXPECT_TRUE(IsError(Call(Op("delete", "Users/d")), "not_found", "not_found"));
  EXPECT_EQ(HostNames(data_ / "Users"), std::vector<std::string>{});
  ExpectCleanExit();
}

TEST_P(LocalhostProvider, RecursiveDeleteOfALargeTree) {
  const fs::path tree = data_ / "Local" / "tree";
  for (int i = 0; i < 3; ++i) {
    fs::create_directories(tree / ("d" + std::to_string(i)) / "sub");
    for (int j = 0; j < 1500; ++j) Spit(tree / ("d" + std::to_string(i)) / ("f" + std::to_string(j)), "x");
  }
  Start();
  EXPECT_TRUE(IsOk(Call(Op("delete", "Local/tree", {{"recursive", true}})), "delete"));
  EXPECT_FALSE(fs::exists(tree));
  EXPECT_TRUE(fs::is_directory(data_ / "Local"));
  ExpectCleanExit();
}

// ---- The error table of docs/providers.md §2 ----------------------------------------------------

TEST_P(LocalhostProvider, EveryErrorRowOfTheContract) {
  fs::create_directories(data_ / "Users" / "dir" / "inner");
  Spit(data_ / "Users" / "file.txt", "content");
  Start();

  // not_found / not_found: the path does not exist.
  for (const char* op : {"read", "list", "stat", "delete"}) {
    EXPECT_TRUE(IsError(Call(Op(op, "Users/missing")), "not_found", "not_found")) << op;
    EXPECT_TRUE(IsError(Call(Op(op, "Users/missing/deeper")), "not_found", "not_found")) << op;
    EXPECT_TRUE(IsError(Call(Op(op, "Users/file.txt/under")), "not_found", "not_found")) << op;
  }
  // not_found / no_parent: write or mkdir under a missing directory.
  EXPECT_TRUE(IsError(Write("Users/missing/a.txt", "x"), "not_found", "no_parent"));
  EXPECT_TRUE(IsError(Write("Users/missing/a.txt", "x", true), "not_found", "no_parent"));
  EXPECT_TRUE(IsError(Call(Op("mkdir", "Users/missing/d")), "not_found", "no_parent"));
  EXPECT_FALSE(fs::exists(data_ / "Users" / "missing"));
  // failed_precondition / already_exists.
  EXPECT_TRUE(IsError(Call(Op("mkdir", "Users/dir")), "failed_precondition", "already_exists"));
  // is_a_directory / not_a_directory.
  EXPECT_TRUE(IsError(Call(Op("read", "Users/dir")), "failed_precondition", "is_a_directory"));
  EXPECT_TRUE(IsError(Call(Op("read", "Users")), "failed_precondition", "is_a_directory"));
  EXPECT_TRUE(IsError(Write("Users/dir", "x"), "failed_precondition", "is_a_directory"));
  EXPECT_TRUE(IsError(Write("Users/dir", "x", true), "failed_precondition", "is_a_directory"));
  EXPECT_TRUE(IsError(Call(Op("list", "Users/file.txt")), "failed_precondition", "not_a_directory"));
  EXPECT_TRUE(IsError(Write("Users/file.txt/x", "x"), "failed_precondition", "not_a_directory"));
  // not_empty.
  EXPECT_TRUE(IsError(Call(Op("delete", "Users/dir")), "failed_precondition", "not_empty"));
  // root_protected: a root, or the data root, is never written or deleted.
  for (const char* root : {"Users", "Public", "UsersAI", "PC2Host"}) {
    EXPECT_TRUE(IsError(Call(Op("delete", root)), "permission_denied", "root_protected")) << root;
    EXPECT_TRUE(IsError(Call(Op("delete", root, {{"recursive", true}})), "permission_denied", "root_protected"));
    EXPECT_TRUE(IsError(Write(root, "x"), "permission_denied", "root_protected")) << root;
  }
  EXPECT_TRUE(IsError(Call(Op("delete", "", {{"recursive", true}})), "permission_denied", "root_protected"));
  EXPECT_TRUE(IsError(Write("", "x"), "permission_denied", "root_protected"));
  EXPECT_TRUE(fs::exists(data_ / "Users" / "dir" / "inner"));
  EXPECT_TRUE(fs::is_directory(data_ / "Public"));
  // no_such_root.
  EXPECT_TRUE(IsError(Call(Op("read", "Nope/x")), "not_found", "no_such_root"));
  EXPECT_TRUE(IsError(Call(Op("list", "users")), "not_found", "no_such_root"));  // case matters
  EXPECT_TRUE(IsError(Call(Op("exists", "Shared")), "not_found", "no_such_root"));
  EXPECT_TRUE(IsError(Write("Elsewhere/x", "x"), "not_found", "no_such_root"));
  EXPECT_TRUE(IsError(Call(Op("mkdir", "Elsewhere/x", {{"parents", true}})), "not_found", "no_such_root"));
  EXPECT_FALSE(fs::exists(data_ / "Elsewhere"));
  // unknown_request: an unknown op or request type.
  EXPECT_TRUE(IsError(Call(Op("rename", "Users/file.txt")), "invalid_argument", "unknown_request"));
  EXPECT_TRUE(IsError(Call(Op("READ", "Users/file.txt")), "invalid_argument", "unknown_request"));
  EXPECT_TRUE(IsError(Call({{"type", "resource_request"}, {"op", "read"}, {"uri", "localhost://Users/file.txt"}}),
                      "invalid_argument", "unknown_request"));
  EXPECT_TRUE(IsError(Call({{"type", "nope"}}), "invalid_argument", "unknown_request"));
  ExpectCleanExit();
}

TEST_P(LocalhostProvider, MembersAreCheckedStrictly) {
  fs::create_directories(data_ / "Users");
  Spit(data_ / "Users" / "f", "f");
  Start();
  auto bad_field = [&](json::object request) {
    return IsError(Call(request), "invalid_argument", "bad_field");
  };
  // A member that does not apply to the op.
  EXPECT_TRUE(bad_field(Op("read", "Users/f", {{"content", Base64("x")}})));
  EXPECT_TRUE(bad_field(Op("read", "Users/f", {{"append", true}})));
  EXPECT_TRUE(bad_field(Op("list", "Users", {{"offset", 0}})));
  EXPECT_TRUE(bad_field(Op("write", "Users/f", {{"content", ""}, {"offset", 1}})));
  EXPECT_TRUE(bad_field(Op("write", "Users/f", {{"content", ""}, {"length", 1}})));
  EXPECT_TRUE(bad_field(Op("mkdir", "Users/m", {{"recursive", true}})));
  EXPECT_TRUE(bad_field(Op("delete", "Users/f", {{"parents", true}})));
  EXPECT_TRUE(bad_field(Op("stat", "Users/f", {{"recursive", false}})));
  EXPECT_TRUE(bad_field(Op("exists", "Users/f", {{"parents", false}})));
  // Wrong types and ranges; null is not "omitted".
  EXPECT_TRUE(bad_field(Op("write", "Users/f", {{"content", ""}, {"append", "yes"}})));
  EXPECT_TRUE(bad_field(Op("write", "Users/f", {{"content", ""}, {"append", nullptr}})));
  EXPECT_TRUE(bad_field(Op("read", "Users/f", {{"offset", -1}})));
  EXPECT_TRUE(bad_field(Op("read", "Users/f", {{"offset", 1.5}})));
  EXPECT_TRUE(bad_field(Op("read", "Users/f", {{"offset", "1"}})));
  EXPECT_TRUE(bad_field(Op("read", "Users/f", {{"length", kChunk + 1}})));
  EXPECT_TRUE(bad_field(Op("delete", "Users/f", {{"recursive", nullptr}})));
  EXPECT_TRUE(bad_field(Op("mkdir", "Users/m", {{"parents", 1}})));
  EXPECT_TRUE(bad_field(Op("write", "Users/f", {})));                                // content missing
  EXPECT_TRUE(bad_field(Op("write", "Users/f", {{"content", "not base64!"}})));
  EXPECT_TRUE(bad_field(Op("write", "Users/f", {{"content", json::array{256}}})));
  EXPECT_TRUE(bad_field(Op("write", "Users/f", {{"content", 7}})));
  EXPECT_TRUE(bad_field(Op("write", "Users/f", {{"content", Base64(std::string(kChunk + 1, 'c'))}})));
  EXPECT_TRUE(bad_field({{"type", "provider_request"}, {"op", "read"}}));            // path missing
  EXPECT_TRUE(bad_field({{"type", "provider_request"}, {"op", "read"}, {"path", 42}}));
  EXPECT_TRUE(bad_field({{"type", "provider_request"}, {"path", "Users/f"}}));       // op missing
  EXPECT_TRUE(bad_field({{"type", "provider_request"}, {"op", 7}, {"path", "Users/f"}}));
  EXPECT_EQ(Slurp(data_ / "Users" / "f"), "f");  // none of the refused writes wrote
  EXPECT_FALSE(fs::exists(data_ / "Users" / "m"));
  // unknown_field: a member the request does not define, naming it.
  for (const char* member : {"uri", "token", "extra", "Path"}) {
    json::object r = Call(Op("read", "Users/f", {{member, "x"}}));
    EXPECT_TRUE(IsError(r, "invalid_argument", "unknown_field")) << member;
    if (r.contains("message")) {
      EXPECT_NE(std::string(r.at("message").as_string()).find(member), std::string::npos);
    }
  }
  EXPECT_TRUE(IsError(Call({{"type", "ping"}, {"x", 1}}), "invalid_argument", "unknown_field"));
  ExpectCleanExit();
}

TEST_P(LocalhostProvider, PathsThatAreNotNormalisedAreBadPath) {
  fs::create_directories(data_ / "Users");
  Spit(data_ / "Users" / "f", "f");
  Start();
  const std::vector<std::string> bad = {
      "..", ".", "Users/..", "Users/.", "Users/./f", "Users/../Users/f", "../Users/f", "Users//f", "a//b",
      "/Users/f", "/abs", "Users/", "/", "//", "Users\\f", "Users/a\\b", std::string("Users/a\0b", 9),
      "Users/a\nb", "Users/\x7f", std::string(4097, 'U')};
  for (const std::string& path : bad) {
    for (const char* op : {"read", "list", "stat", "exists", "delete", "mkdir"}) {
      EXPECT_TRUE(IsError(Call(Op(op, path)), "invalid_argument", "bad_path")) << op << " '" << path << "'";
    }
    EXPECT_TRUE(IsError(Write(path, "x"), "invalid_argument", "bad_path")) << "'" << path << "'";
  }
  // The data root itself is only listed, stat'ed or tested.
  EXPECT_TRUE(IsError(Call(Op("read", "")), "invalid_argument", "bad_path"));
  EXPECT_TRUE(IsError(Call(Op("mkdir", "")), "invalid_argument", "bad_path"));
  EXPECT_TRUE(IsError(Call(Op("mkdir", "", {{"parents", true}})), "invalid_argument", "bad_path"));
  EXPECT_EQ(HostNames(data_ / "Users"), std::vector<std::string>{"f"});
  ExpectCleanExit();
}

TEST_P(LocalhostProvider, PercentEncodingIsJustPartOfAName) {
  // The runtime decodes URIs; what reaches the provider is a name, and "%2e%2e" is an ordinary one.
  Start();
  ASSERT_TRUE(IsOk(Write("Users/%2e%2e", "pct"), "write"));
  EXPECT_EQ(Slurp(data_ / "Users" / "%2e%2e"), "pct");
  EXPECT_EQ(ReadOk("Users/%2e%2e"), "pct");
  ASSERT_TRUE(IsOk(Call(Op("mkdir", "Users/%2E%2E/%2f", {{"parents", true}})), "mkdir"));
  EXPECT_TRUE(fs::is_directory(data_ / "Users" / "%2E%2E" / "%2f"));
  ASSERT_TRUE(IsOk(Write("Users/...", "three dots"), "write"));  // not '..'
  EXPECT_EQ(Slurp(data_ / "Users" / "..."), "three dots");
  ASSERT_TRUE(IsOk(Write("Users/a b \xE2\x82\xAC.txt", "euro"), "write"));
  EXPECT_EQ(Slurp(data_ / "Users" / "a b \xE2\x82\xAC.txt"), "euro");
  EXPECT_FALSE(fs::exists(data_ / "Users" / ".."  / "pct"));
  EXPECT_EQ(HostNames(data_ / "Users"),
            (std::vector<std::string>{"%2E%2E", "%2e%2e", "...", "a b \xE2\x82\xAC.txt"}));
  ExpectCleanExit();
}

// No link is followed at all — not even one that stays inside /data — because the runtime checks
// tokens against paths and a link would make a path name something its token does not cover.
// (Links leading out of /data would also die in the WASI host, the second line.)
TEST_P(LocalhostProvider, SymbolicLinksAreNeverFollowed) {
  fs::create_directories(data_ / "Users" / "self");
  fs::create_directories(data_ / "Public");
  Spit(data_ / "Users" / "self" / "a.txt", "inside");
  fs::create_directory_symlink("/etc", data_ / "Users" / "etc-link");                     // absolute, outside
  fs::create_symlink(outside_ / "secret.txt", data_ / "Public" / "secret");               // a file outside
  fs::create_directory_symlink(outside_, data_ / "Public" / "outdir");                    // a directory outside
  fs::create_directory_symlink("../../outside", data_ / "Users" / "up");                  // relative, outside
  fs::create_directory_symlink("self", data_ / "Users" / "alias");                        // relative, inside
  const std::string probe = "elastos-localhost-provider-test-" + std::to_string(::getpid());
  Start();

  auto escape = [&](const json::object& r) { return IsError(r, "permission_denied", "symlink_refused"); };
  EXPECT_TRUE(escape(Call(Op("read", "Users/etc-link/hostname"))));
  EXPECT_TRUE(escape(Call(Op("read", "Users/etc-link/passwd"))));
  EXPECT_TRUE(escape(Call(Op("list", "Users/etc-link"))));
  EXPECT_TRUE(escape(Call(Op("stat", "Users/etc-link"))));
  EXPECT_TRUE(escape(Call(Op("exists", "Users/etc-link/hostname"))));
  EXPECT_TRUE(escape(Write("Users/etc-link/" + probe, "x")));
  EXPECT_TRUE(escape(Write("Users/etc-link/" + probe, "x", true)));
  EXPECT_TRUE(escape(Call(Op("mkdir", "Users/etc-link/" + probe))));
  EXPECT_TRUE(escape(Call(Op("mkdir", "Users/etc-link/" + probe + "/sub", {{"parents", true}}))));
  EXPECT_TRUE(escape(Call(Op("delete", "Users/etc-link/" + probe))));
  EXPECT_FALSE(fs::exists(fs::path("/etc") / probe));

  EXPECT_TRUE(escape(Call(Op("read", "Public/secret"))));
  EXPECT_TRUE(escape(Write("Public/secret", "overwritten")));
  EXPECT_TRUE(escape(Write("Public/secret", "appended", true)));
  EXPECT_TRUE(escape(Call(Op("read", "Public/outdir/secret.txt"))));
  EXPECT_TRUE(escape(Write("Public/outdir/secret.txt", "overwritten")));
  EXPECT_TRUE(escape(Write("Public/outdir/new.txt", "planted")));
  EXPECT_TRUE(escape(Call(Op("delete", "Public/outdir/secret.txt"))));
  EXPECT_TRUE(escape(Call(Op("delete", "Public/outdir/keep", {{"recursive", true}}))));
  EXPECT_TRUE(escape(Call(Op("list", "Public/outdir"))));
  EXPECT_TRUE(escape(Call(Op("read", "Users/up/secret.txt"))));
  EXPECT_TRUE(escape(Write("Users/up/new.txt", "planted")));

  // The links themselves are listed (as files of size 0: they cannot be followed) ...
  json::object list = Call(Op("list", "Public"));
  ASSERT_TRUE(IsOk(list, "list"));
  EXPECT_EQ(json::serialize(list.at("entries")),
            R"([{"name":"outdir","is_dir":false,"size":0},{"name":"secret","is_dir":false,"size":0}])");
  // ... a link that stays inside is refused just the same ...
  EXPECT_TRUE(escape(Call(Op("read", "Users/alias/a.txt"))));
  EXPECT_TRUE(escape(Write("Users/alias/b.txt", "via alias")));
  EXPECT_FALSE(fs::exists(data_ / "Users" / "self" / "b.txt"));
  // ... and deleting a link removes the link, not its target.
  EXPECT_TRUE(IsOk(Call(Op("delete", "Public/secret")), "delete"));
  EXPECT_FALSE(fs::is_symlink(data_ / "Public" / "secret"));
  EXPECT_TRUE(IsOk(Call(Op("delete", "Public/outdir", {{"recursive", true}})), "delete"));
  EXPECT_FALSE(fs::is_symlink(data_ / "Public" / "outdir"));
  ExpectCleanExit();
  // TearDown checks that outside/ is byte for byte what it was.
}

// ---- Framing (docs/protocol.md §2) -------------------------------------------------------------

TEST_P(LocalhostProvider, MalformedLinesAreAnsweredAndTheChannelCarriesOn) {
  Start();
  auto at0 = [&](std::string_view line, std::string_view reason) {
    return IsError(Raw(line, 0), "invalid_argument", reason);
  };
  EXPECT_TRUE(at0("not json", "malformed_request"));
  EXPECT_TRUE(at0("[1,2]", "malformed_request"));
  EXPECT_TRUE(at0("\"a string\"", "malformed_request"));
  EXPECT_TRUE(at0(R"({"id":1,"request":{"type":"ping"},})", "malformed_request"));  // trailing comma
  EXPECT_TRUE(at0("{\"id\":1,\"request\":{\"type\":\"p\xFFing\"}}", "malformed_request"));  // not UTF-8
  EXPECT_TRUE(at0(R"({"id":1,"id":2,"request":{"type":"ping"}})", "malformed_request"));  // duplicate key
  EXPECT_TRUE(at0(std::string(70, '[') + std::string(70, ']'), "malformed_request"));     // too deep
  EXPECT_TRUE(at0(R"({"id":NaN,"request":{"type":"ping"}})", "malformed_request"));
  EXPECT_TRUE(at0(R"({"request":{"type":"ping"}})", "bad_id"));
  EXPECT_TRUE(at0(R"({"id":0,"request":{"type":"ping"}})", "bad_id"));
  EXPECT_TRUE(at0(R"({"id":-1,"request":{"type":"ping"}})", "bad_id"));
  EXPECT_TRUE(at0(R"({"id":1.5,"request":{"type":"ping"}})", "bad_id"));
  EXPECT_TRUE(at0(R"({"id":1e2,"request":{"type":"ping"}})", "bad_id"));
  EXPECT_TRUE(at0(R"({"id":"1","request":{"type":"ping"}})", "bad_id"));
  EXPECT_TRUE(at0(R"({"id":9007199254740992,"request":{"type":"ping"}})", "bad_id"));
  // A readable id is echoed, even for a malformed envelope.
  EXPECT_TRUE(IsError(Raw(R"({"id":5})", 5), "invalid_argument", "malformed_request"));
  EXPECT_TRUE(IsError(Raw(R"({"id":6,"request":[]})", 6), "invalid_argument", "malformed_request"));
  EXPECT_TRUE(IsError(Raw(R"({"id":7,"request":{"type":"ping"},"x":1})", 7), "invalid_argument",
                      "malformed_request"));
  EXPECT_TRUE(IsError(Raw(R"({"id":8,"request":{}})", 8), "invalid_argument", "malformed_request"));
  EXPECT_TRUE(IsError(Raw(R"({"id":9,"request":{"type":3}})", 9), "invalid_argument", "malformed_request"));
  // Ids need not increase; the largest one is fine; '\r' before '\n' is whitespace.
  EXPECT_EQ(json::serialize(Raw(R"({"id":9007199254740991,"request":{"type":"ping"}})", 9007199254740991ull)),
            R"({"type":"pong"})");
  EXPECT_EQ(json::serialize(Raw(R"({"request":{"type":"ping"},"id":3})", 3)), R"({"type":"pong"})");
  EXPECT_EQ(json::serialize(Raw("{\"id\":4,\"request\":{\"type\":\"ping\"}}\r", 4)), R"({"type":"pong"})");
  // Blank lines get no answer: the next line read answers the ping after them.
  ASSERT_TRUE(provider_.Send("\n   \r\n\t\n"));
  EXPECT_EQ(json::serialize(Raw(R"({"id":11,"request":{"type":"ping"}})", 11)), R"({"type":"pong"})");
  // Pipelined requests are answered in order.
  ASSERT_TRUE(provider_.Send("{\"id\":21,\"request\":{\"type\":\"ping\"}}\nbroken\n"
                             "{\"id\":22,\"request\":{\"type\":\"provider_request\",\"op\":\"exists\",\"path\":\"Users\"}}\n"));
  EXPECT_EQ(json::serialize(Expect(21)), R"({"type":"pong"})");
  EXPECT_TRUE(IsError(Expect(0), "invalid_argument", "malformed_request"));
  EXPECT_EQ(Expect(22).at("exists"), json::value(true));
  ExpectCleanExit();
}

TEST_P(LocalhostProvider, OversizedLinesAreDiscardedAndAnsweredWithIdZero) {
  Start();
  // Exactly 1 MiB (a ping padded with spaces) is accepted.
  std::string exact = R"({"id":1,"request":{"type":"ping"}})";
  exact += std::string(kCap - exact.size(), ' ');
  ASSERT_EQ(exact.size(), kCap);
  EXPECT_EQ(json::serialize(Raw(exact, 1)), R"({"type":"pong"})");
  // One byte more is not, whatever it holds; the next request still works.
  std::string over = R"({"id":2,"request":{"type":"ping"}})";
  over += std::string(kCap + 1 - over.size(), ' ');
  EXPECT_TRUE(IsError(Raw(over, 0), "resource_exhausted", "line_too_long"));
  EXPECT_EQ(json::serialize(Raw(R"({"id":3,"request":{"type":"ping"}})", 3)), R"({"type":"pong"})");
  // 3 MiB of garbage and a request in the same write: the discard stops at the '\n'.
  ASSERT_TRUE(provider_.Send(std::string(3 * kCap, 'x') + "\n" + R"({"id":4,"request":{"type":"ping"}})" + "\n"));
  EXPECT_TRUE(IsError(Expect(0), "resource_exhausted", "line_too_long"));
  EXPECT_EQ(json::serialize(Expect(4)), R"({"type":"pong"})");
  // A write request that is too large as a line (content far over the cap) is refused the same way,
  // and writes nothing.
  std::string huge = R"({"id":5,"request":{"type":"provider_request","op":"write","path":"Users/huge","content":")" +
                     Base64(std::string(kCap, 'h')) + "\"}}";
  EXPECT_TRUE(IsError(Raw(huge, 0), "resource_exhausted", "line_too_long"));
  EXPECT_FALSE(fs::exists(data_ / "Users" / "huge"));
  EXPECT_TRUE(IsOk(Call(Op("exists", "Users")), "exists"));
  ExpectCleanExit();
}

// ---- Limits --------------------------------------------------------------------------------------

TEST_P(LocalhostProvider, TheHostsStorageLimitEndsTheProviderAndWritesNothing) {
  // The WASI host enforces the provider's storage limit itself: the write that would pass it
  // writes nothing and ends the run (docs/wasi.md "Limits"), so the runtime sees the provider
  // stop with storage_limit rather than an answer (docs/providers.md §2).
  Start(ProcessOptions{.storage_limit_bytes = 1 << 20});
  const std::string part(400'000, 's');
  ASSERT_TRUE(IsOk(Write("Users/one", part), "write"));
  ASSERT_TRUE(IsOk(Write("Users/two", part), "write"));
  ASSERT_TRUE(provider_.Send(json::serialize(json::object{
                                 {"id", 99}, {"request", Op("write", "Users/three", {{"content", Base64(part)}})}}) +
                             "\n"));
  EXPECT_FALSE(provider_.ReadLine().has_value());  // no answer: the provider was stopped
  compute::WorkerReport report;
  std::string line;
  EXPECT_EQ(provider_.Finish(&report, &line), 124) << line;
  EXPECT_EQ(report.outcome.kind, compute::OutcomeKind::kLimit) << line;
  EXPECT_EQ(report.outcome.reason, "storage_limit") << line;
  EXPECT_EQ(Slurp(data_ / "Users" / "one"), part);
  EXPECT_EQ(Slurp(data_ / "Users" / "two"), part);
  EXPECT_FALSE(fs::exists(data_ / "Users" / "three"));
  std::uint64_t total = 0;
  for (const auto& e : fs::recursive_directory_iterator(data_)) {
    if (e.is_regular_file()) total += e.file_size();
  }
  EXPECT_LE(total, 1u << 20);
}

TEST(LocalhostProviderManifest, LoadsAndDeclaresWhatItProvides) {
  auto manifest = CapsuleManifest::Parse(Slurp(fs::path(ELASTOS_SOURCE_TREE) / "capsules" / "localhost-provider" /
                                               "capsule.json"));
  ASSERT_TRUE(manifest.ok()) << manifest.status().ToString();
  EXPECT_EQ(manifest->name, "localhost-provider");
  EXPECT_EQ(manifest->type, CapsuleType::kWasm);
  EXPECT_EQ(manifest->entry, "localhost-provider.wasm");
  EXPECT_EQ(manifest->provides, "localhost://*");
  EXPECT_TRUE(manifest->permissions.empty());
  EXPECT_TRUE(manifest->warnings.empty());
}

#ifdef ELASTOS_LP_TEST_AOT
INSTANTIATE_TEST_SUITE_P(Tiers, LocalhostProvider, ::testing::Values("interp", "aot"),
                         [](const auto& info) { return info.param; });
#else
INSTANTIATE_TEST_SUITE_P(Tiers, LocalhostProvider, ::testing::Values("interp"),
                         [](const auto& info) { return info.param; });
#endif

}  // namespace
}  // namespace elastos
