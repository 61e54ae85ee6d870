#include "compute/aot/aot_compiler.h"

#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>
#include <utility>
#include <vector>

#include "common/encoding.h"
#include "common/file_util.h"
#include "compute/aot/aot_abi.h"
#include "compute/aot/generated_c.h"
#include "compute/aot/module_facts.h"
#include "compute/aot/tool_runner.h"

namespace elastos::compute::aot {
namespace {

namespace fs = std::filesystem;

constexpr std::string_view kKeyDomain = "elastos-aot-key/1\n";
constexpr std::string_view kScratchPrefix = ".tmp-";
constexpr auto kProbeTimeout = std::chrono::seconds(30);
constexpr auto kStaleScratchAge = std::chrono::hours(1);

// Why each flag is there:
//  -O2                           the research's measured sweet spot (0.97-1.09x native)
//  -fPIC -shared                 a dlopen-able object
//  -fvisibility=hidden           only the ABI symbols (aot_abi.h) are exported; guest functions
//                                and thunks bind locally, so nothing in the worker can interpose
//                                on them and calls between them need no PLT
//  -fno-optimize-sibling-calls   keeps every WASM call a native call: without it gcc turns tail
//                                and accumulator recursion into loops that neither exhaust the
//                                stack nor pass a loop-head poll (an unstoppable guest)
//  -fstack-clash-protection      a guest function with a frame larger than the stack guard gap
//                                must fault on the guard, not jump over it into other memory
//  -frounding-math -fsignaling-nans -ffp-contract=off
//                                WASM float semantics: no constant folding under another
//                                rounding mode, NaN payloads as WASM has them, no fused
//                                multiply-add (same results as the interpreter tier)
//  -Wl,-z,relro,-z,now,-z,noexecstack   the usual hardening of a loaded object
//  -pipe -w                      no temporaries for assembler input; wasm2c output warns a lot
constexpr std::array<std::string_view, 14> kCompilerFlags = {
    "-O2",
    "-fPIC",
    "-shared",
    "-fvisibility=hidden",
    "-fno-optimize-sibling-calls",
    "-fstack-clash-protection",
    "-frounding-math",
    "-fsignaling-nans",
    "-ffp-contract=off",
    "-Wl,-z,relro",
    "-Wl,-z,now",
    "-Wl,-z,noexecstack",
    "-pipe",
    "-w",
};

std::string DefaultPath() {
  const char* p = ::getenv("PATH");
  return p != nullptr && *p != '\0' ? p : "/usr/local/bin:/usr/bin:/bin";
}

// The children's whole environment. Variables such as CPATH, C_INCLUDE_PATH, GCC_EXEC_PREFIX,
// COMPILER_PATH or LIBRARY_PATH change what gets compiled without changing the cache key, so none
// of the runtime's environment is passed on except PATH (the compiler finds as/ld through it).
std::vector<std::string> ToolEnv(const fs::path& tmpdir) {
  std::vector<std::string> env = {"PATH=" + DefaultPath(), "LC_ALL=C"};
  if (!tmpdir.empty()) env.push_back("TMPDIR=" + tmpdir.string());
  return env;
}

std::string FirstLine(const std::string& s) {
  std::string line = s.substr(0, s.find('\n'));
  while (!line.empty() && (line.back() == '\r' || line.back() == ' ')) line.pop_back();
  return line;
}

Result<std::string> ProbeVersion(const std::string& tool) {
  ToolInvocation inv;
  inv.argv = {tool, "--version"};
  inv.env = ToolEnv({});
  inv.timeout = kProbeTimeout;
  ELASTOS_ASSIGN_OR_RETURN(const ToolResult r, RunTool(inv));
  const std::string line = FirstLine(r.output);
  if (!r.ok() || line.empty()) {
    return Internal(
        "aot_toolchain_unusable",
        tool + " --version failed (" + r.Describe(inv.timeout) + "): " + r.FirstLines(2));
  }
  return line;
}

Status CompileFailed(std::string_view tool, const ToolResult& r,
                     std::chrono::milliseconds timeout) {
  return Internal("aot_compile_failed",
                  std::string(tool) + " failed (" + r.Describe(timeout) + "): " + r.FirstLines(5));
}

// Our directory, writable by nobody else: a directory others can write lets them plant an object
// together with a matching digest file, and every check of ours would then pass.
Status CheckPrivateDir(const fs::path& dir) {
  struct stat st;
  if (::lstat(dir.c_str(), &st) != 0) return IoError("stat " + dir.string(), errno);
  if (!S_ISDIR(st.st_mode)) {
    return PermissionDenied("aot_cache_insecure", dir.string() + " is not a directory");
  }
  if (st.st_uid != ::geteuid() || (st.st_mode & (S_IWGRP | S_IWOTH)) != 0) {
    return PermissionDenied("aot_cache_insecure",
                            dir.string() +
                                " must be owned by this user and writable by no one "
                                "else (chmod 700) before native code is loaded from it");
  }
  return OkStatus();
}

// Creates `dir` (0700) and its parents if needed, then CheckPrivateDir.
Status PreparePrivateDir(const fs::path& dir) {
  std::error_code ec;
  fs::create_directories(dir.parent_path(), ec);
  if (::mkdir(dir.c_str(), 0700) != 0 && errno != EEXIST) {
    return IoError("create " + dir.string(), errno);
  }
  return CheckPrivateDir(dir);
}

class Fd {
 public:
  explicit Fd(int fd) : fd_(fd) {}
  ~Fd() {
    if (fd_ >= 0) ::close(fd_);
  }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  int get() const { return fd_; }

 private:
  int fd_;
};

// The digest of an open file, reading at most `limit` bytes.
Result<crypto::Digest256> HashFd(int fd, std::uint64_t limit, const std::string& what) {
  crypto::Sha256 h;
  std::vector<std::uint8_t> buf(1 << 20);
  std::uint64_t total = 0;
  for (;;) {
    const ssize_t n = ::read(fd, buf.data(), buf.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      return IoError("read " + what, errno);
    }
    if (n == 0) break;
    total += static_cast<std::uint64_t>(n);
    if (total > limit) return ResourceExhausted("aot_object_too_large", what + " is too large");
    h.Update(ByteView(buf.data(), static_cast<std::size_t>(n)));
  }
  return h.Final();
}

// A cache file as we wrote it: a regular file (not a symlink planted in its place: O_NOFOLLOW),
// ours, and writable by no one else. Empty when `fd` passes.
std::string CacheFileProblem(int fd) {
  struct stat st;
  if (::fstat(fd, &st) != 0) return std::string("cannot be examined: ") + std::strerror(errno);
  if (!S_ISREG(st.st_mode)) return "is not a regular file";
  if (st.st_uid != ::geteuid()) return "is owned by another user";
  if (st.st_mode & (S_IWGRP | S_IWOTH)) return "is writable by others";
  return {};
}

// --- Toolchain memo ---------------------------------------------------------------------------

constexpr std::string_view kMemoMagic = "elastos-toolchain-memo/1\n";
constexpr std::string_view kMemoName = "toolchain.memo";

// What identifies an installed tool without running it. Empty if it cannot be examined.
std::string FileIdentity(const std::string& path) {
  struct stat st;
  if (::stat(path.c_str(), &st) != 0) return {};
  std::ostringstream out;
  out << path << ' ' << st.st_dev << ' ' << st.st_ino << ' ' << st.st_size << ' '
      << st.st_mtim.tv_sec << '.' << st.st_mtim.tv_nsec << ' ' << st.st_ctim.tv_sec << '.'
      << st.st_ctim.tv_nsec << '\n';
  return out.str();
}

// The memo's text: magic, both identities, both versions (one line each).
std::string MemoText(std::string_view identities, const Toolchain& t) {
  return std::string(kMemoMagic) + std::string(identities) + t.wasm2c_version + "\n" +
         t.cc_version + "\n";
}

// Fills `t`'s versions from `memo` if it was written for exactly these tool identities.
bool ReadMemo(const fs::path& memo, std::string_view identities, Toolchain& t) {
  Fd fd(::open(memo.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC));
  if (fd.get() < 0 || !CacheFileProblem(fd.get()).empty()) return false;
  char buf[4096];
  const ssize_t n = ::read(fd.get(), buf, sizeof buf);
  if (n <= 0 || static_cast<std::size_t>(n) == sizeof buf) return false;
  std::string_view text(buf, static_cast<std::size_t>(n));
  const std::string prefix = std::string(kMemoMagic) + std::string(identities);
  if (text.substr(0, prefix.size()) != prefix) return false;
  text.remove_prefix(prefix.size());
  const std::size_t a = text.find('\n');
  if (a == std::string_view::npos || a == 0) return false;
  const std::size_t b = text.find('\n', a + 1);
  if (b != text.size() - 1 || b == a + 1) return false;
  t.wasm2c_version = std::string(text.substr(0, a));
  t.cc_version = std::string(text.substr(a + 1, b - a - 1));
  return MemoText(identities, t) == std::string_view(buf, static_cast<std::size_t>(n));
}

// Best effort: a memo that cannot be written only means the next probe spawns the tools again.
void WriteMemo(const fs::path& memo, std::string_view identities, const Toolchain& t) {
  std::string tmp = memo.string() + ".XXXXXX";
  Fd fd(::mkstemp(tmp.data()));
  if (fd.get() < 0) return;
  const std::string text = MemoText(identities, t);
  const bool written =
      ::write(fd.get(), text.data(), text.size()) == static_cast<ssize_t>(text.size());
  if (!written || ::rename(tmp.c_str(), memo.c_str()) != 0) ::unlink(tmp.c_str());
}

// A scratch directory inside the cache (so the finished object can be renamed into place),
// removed with everything in it when it goes out of scope.
class Scratch {
 public:
  static Result<Scratch> Create(const fs::path& dir) {
    std::string tmpl = (dir / (std::string(kScratchPrefix) + "XXXXXX")).string();
    if (::mkdtemp(tmpl.data()) == nullptr) return IoError("mkdtemp in " + dir.string(), errno);
    return Scratch(tmpl);
  }
  Scratch(Scratch&& other) noexcept : path_(std::exchange(other.path_, {})) {}
  Scratch& operator=(Scratch&&) = delete;
  ~Scratch() {
    if (path_.empty()) return;
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  const fs::path& path() const { return path_; }

 private:
  explicit Scratch(fs::path p) : path_(std::move(p)) {}
  fs::path path_;
};

// Scratch directories of compiles that crashed. Anything older than an hour is far past the
// compile timeout, so no live compile still uses it.
void RemoveStaleScratch(const fs::path& dir) {
  std::error_code ec;
  const auto now = fs::file_time_type::clock::now();
  for (auto it = fs::directory_iterator(dir, ec); !ec && it != fs::directory_iterator();
       it.increment(ec)) {
    const std::string name = it->path().filename().string();
    if (name.rfind(kScratchPrefix, 0) != 0) continue;
    std::error_code e2;
    const auto mtime = it->last_write_time(e2);
    if (!e2 && now - mtime > kStaleScratchAge) fs::remove_all(it->path(), e2);
  }
}

Status WriteTextFile(const fs::path& path, std::string_view text) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << text;
  out.close();
  if (!out) return Internal("aot_compile_failed", "could not write " + path.string());
  return OkStatus();
}

Result<std::string> ReadTextFile(const fs::path& path, std::uint64_t limit) {
  ELASTOS_ASSIGN_OR_RETURN(Bytes b, ReadFileLimited(path, limit));
  return std::string(AsChars(b));
}

}  // namespace

std::string_view InstrumentationName(Instrumentation instrumentation) {
  switch (instrumentation) {
    case Instrumentation::kNone:
      return "none";
    case Instrumentation::kInterrupt:
      return "interrupt";
  }
  return "unknown";
}

std::string_view CompilerFlags() {
  static const std::string flags = [] {
    std::string s;
    for (std::string_view f : kCompilerFlags) {
      if (!s.empty()) s += ' ';
      s += f;
    }
    return s;
  }();
  return flags;
}

std::string Toolchain::Identity() const {
  std::ostringstream out;
  out << "abi=" << ELASTOS_AOT_ABI_VERSION << "\n"
      << "wasm2c=" << wasm2c << "\n"
      << "wasm2c_version=" << wasm2c_version << "\n"
      << "cc=" << cc << "\n"
      << "cc_version=" << cc_version << "\n"
      << "flags=" << CompilerFlags() << "\n"
      << "shim=" << ShimDigestHex() << "\n";
  return out.str();
}

Result<Toolchain> ProbeToolchain(const fs::path& memo) {
  const std::string path = DefaultPath();
  Toolchain t;
  ELASTOS_ASSIGN_OR_RETURN(t.wasm2c, FindExecutable("wasm2c", path));
  const char* override_cc = ::getenv("ELASTOS_CC");
  if (override_cc != nullptr && *override_cc != '\0') {
    ELASTOS_ASSIGN_OR_RETURN(t.cc, FindExecutable(override_cc, path));
  } else {
    Result<std::string> gcc = FindExecutable("gcc", path);
    if (gcc.ok()) {
      t.cc = *gcc;
    } else {
      ELASTOS_ASSIGN_OR_RETURN(t.cc, FindExecutable("cc", path));
    }
  }
  const std::string wasm2c_id = FileIdentity(t.wasm2c);
  const std::string cc_id = FileIdentity(t.cc);
  const bool memoable = !memo.empty() && !wasm2c_id.empty() && !cc_id.empty();
  const std::string identities = wasm2c_id + cc_id;
  if (memoable && ReadMemo(memo, identities, t)) return t;
  ELASTOS_ASSIGN_OR_RETURN(t.wasm2c_version, ProbeVersion(t.wasm2c));
  ELASTOS_ASSIGN_OR_RETURN(t.cc_version, ProbeVersion(t.cc));
  if (memoable) WriteMemo(memo, identities, t);
  return t;
}

AotCache::AotCache(fs::path dir, Toolchain toolchain, AotCacheOptions options)
    : dir_(std::move(dir)),
      toolchain_(std::move(toolchain)),
      identity_(toolchain_.Identity()),
      options_(options) {}

Result<AotCache> AotCache::Open(const fs::path& dir, AotCacheOptions options) {
  ELASTOS_RETURN_IF_ERROR(PreparePrivateDir(dir));
  ELASTOS_ASSIGN_OR_RETURN(Toolchain toolchain, ProbeToolchain(dir / kMemoName));
  std::error_code ec;
  return AotCache(fs::absolute(dir, ec), std::move(toolchain), options);
}

Result<AotCache> AotCache::Open(const fs::path& dir, Toolchain toolchain, AotCacheOptions options) {
  ELASTOS_RETURN_IF_ERROR(PreparePrivateDir(dir));
  std::error_code ec;
  return AotCache(fs::absolute(dir, ec), std::move(toolchain), options);
}

crypto::Digest256 AotCache::Key(const crypto::Digest256& module_sha256,
                                Instrumentation instrumentation) const {
  crypto::Sha256 h;
  h.Update(AsBytes(kKeyDomain));
  h.Update(module_sha256);
  const std::string rest = std::to_string(identity_.size()) + ":" + identity_ +
                           "instrumentation=" + std::string(InstrumentationName(instrumentation));
  h.Update(AsBytes(rest));
  return h.Final();
}

Result<std::optional<fs::path>> AotCache::Find(const crypto::Digest256& module_sha256,
                                               Instrumentation instrumentation) const {
  const std::string key = HexEncode(Key(module_sha256, instrumentation));
  const fs::path object = dir_ / (key + ".so");
  const fs::path digest_file = dir_ / (key + ".sha256");

  auto corrupt = [&](const std::string& why) -> Status {
    // Remove both: the next Compile replaces them. Failing to remove changes nothing for
    // safety: we still refuse to hand the object out.
    ::unlink(object.c_str());
    ::unlink(digest_file.c_str());
    return Internal("aot_object_corrupt", "AOT object " + object.string() + " " + why +
                                              "; removed it, the module will be recompiled");
  };

  Fd o(::open(object.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC));
  if (o.get() < 0) {
    if (errno == ENOENT) return std::optional<fs::path>();
    if (errno == ELOOP) return corrupt("is a symbolic link");
    return IoError("open " + object.string(), errno);
  }
  Fd d(::open(digest_file.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC));
  if (d.get() < 0) {
    // An object without its digest yet: a compile is between its rename and the digest write.
    if (errno == ENOENT) return std::optional<fs::path>();
    if (errno == ELOOP) return corrupt("has a symbolic link for its digest file");
    return IoError("open " + digest_file.string(), errno);
  }
  if (std::string why = CacheFileProblem(o.get()); !why.empty()) return corrupt(why);
  if (std::string why = CacheFileProblem(d.get()); !why.empty())
    return corrupt("digest file " + why);

  char text[80];
  const ssize_t n = ::read(d.get(), text, sizeof text);
  std::string_view recorded(text, n > 0 ? static_cast<std::size_t>(n) : 0);
  if (!recorded.empty() && recorded.back() == '\n') recorded.remove_suffix(1);
  Result<Bytes> expected = HexDecode(recorded);
  if (!expected.ok() || expected->size() != 32) return corrupt("has an unreadable digest file");

  ELASTOS_ASSIGN_OR_RETURN(const crypto::Digest256 actual,
                           HashFd(o.get(), options_.max_object_bytes, object.string()));
  // Native code we are about to load: any difference from what we built is refused.
  if (!std::equal(actual.begin(), actual.end(), expected->begin())) {
    return corrupt("does not match its recorded SHA-256");
  }
  return std::optional<fs::path>(object);
}

Result<fs::path> AotCache::Compile(ByteView wasm, Instrumentation instrumentation) const {
  if (wasm.size() > options_.max_module_bytes) {
    return ResourceExhausted("module_too_large", "module of " + std::to_string(wasm.size()) +
                                                     " bytes exceeds the AOT limit of " +
                                                     std::to_string(options_.max_module_bytes));
  }
  // The gate runs before any tool sees the module.
  ELASTOS_ASSIGN_OR_RETURN(const ModuleFacts facts, InspectModule(wasm));

  const auto deadline = std::chrono::steady_clock::now() + options_.compile_timeout;
  auto remaining = [&] {
    return std::max(std::chrono::milliseconds(1),
                    std::chrono::duration_cast<std::chrono::milliseconds>(
                        deadline - std::chrono::steady_clock::now()));
  };

  RemoveStaleScratch(dir_);
  ELASTOS_ASSIGN_OR_RETURN(const Scratch scratch, Scratch::Create(dir_));
  const fs::path& work = scratch.path();
  {
    std::ofstream out(work / "module.wasm", std::ios::binary);
    out.write(reinterpret_cast<const char*>(wasm.data()),
              static_cast<std::streamsize>(wasm.size()));
    out.close();
    if (!out)
      return Internal("aot_compile_failed", "could not write the module to " + work.string());
  }

  // 1. Translate. Relative file names throughout: no scratch path ends up in the object, so
  // equal inputs give byte-identical objects (concurrent compiles of one module agree).
  ToolInvocation translate;
  translate.argv = {toolchain_.wasm2c, "-n", "guest",  "--no-debug-names",
                    "module.wasm",     "-o", "guest.c"};
  translate.cwd = work;
  translate.env = ToolEnv(work);
  translate.timeout = remaining();
  ELASTOS_ASSIGN_OR_RETURN(const ToolResult translated, RunTool(translate));
  if (!translated.ok()) return CompileFailed("wasm2c", translated, options_.compile_timeout);

  // 2. Rewrite and instrument guest.c into module.c; generate the shim.
  std::error_code ec;
  const auto raw_size = fs::file_size(work / "guest.c", ec);
  if (ec || raw_size > options_.max_object_bytes) {
    return Internal("aot_compile_failed", "wasm2c output missing or too large");
  }
  {
    std::ifstream in(work / "guest.c", std::ios::binary);
    std::ofstream out(work / "module.c", std::ios::binary | std::ios::trunc);
    ELASTOS_RETURN_IF_ERROR(RewriteGuestC(in, out, instrumentation));
    out.close();
    if (!out) return Internal("aot_compile_failed", "could not write module.c");
  }
  fs::remove(work / "guest.c", ec);
  {
    // Proportional to the module's imports and exports; bounded so a module of a million
    // exports cannot make the runtime hold a huge header in memory.
    ELASTOS_ASSIGN_OR_RETURN(
        const std::string header,
        ReadTextFile(work / "guest.h",
                     std::min<std::uint64_t>(options_.max_object_bytes, 64 << 20)));
    ELASTOS_RETURN_IF_ERROR(CheckImportDeclarations(header, facts));
  }
  ELASTOS_RETURN_IF_ERROR(WriteTextFile(work / "elastos_aot_abi.h", AbiHeaderSource()));
  ELASTOS_RETURN_IF_ERROR(WriteTextFile(work / "shim.c", ShimSource(facts)));

  // 3. Compile.
  ToolInvocation compile;
  compile.argv = {toolchain_.cc};
  for (std::string_view f : kCompilerFlags) compile.argv.emplace_back(f);
  for (const char* a : {"-o", "guest.so", "module.c", "shim.c"}) compile.argv.emplace_back(a);
  compile.cwd = work;
  compile.env = ToolEnv(work);
  compile.timeout = remaining();
  ELASTOS_ASSIGN_OR_RETURN(const ToolResult compiled, RunTool(compile));
  if (!compiled.ok()) return CompileFailed(toolchain_.cc, compiled, options_.compile_timeout);

  // 4. Install: object first (read-only, synced), then its digest. A reader that sees the object
  // without the digest treats it as a miss; rename makes concurrent installs last-writer-wins.
  const fs::path built = work / "guest.so";
  Fd so(::open(built.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC));
  if (so.get() < 0) return IoError("open " + built.string(), errno);
  if (::fchmod(so.get(), 0444) != 0) return IoError("chmod " + built.string(), errno);
  if (::fsync(so.get()) != 0) return IoError("fsync " + built.string(), errno);
  ELASTOS_ASSIGN_OR_RETURN(const crypto::Digest256 digest,
                           HashFd(so.get(), options_.max_object_bytes, built.string()));

  const std::string key = HexEncode(Key(crypto::Sha256::Hash(wasm), instrumentation));
  const fs::path object = dir_ / (key + ".so");
  if (::rename(built.c_str(), object.c_str()) != 0)
    return IoError("rename to " + object.string(), errno);
  ELASTOS_RETURN_IF_ERROR(
      WriteFileAtomic(dir_ / (key + ".sha256"), AsBytes(HexEncode(digest) + "\n"), 0444));
  ELASTOS_RETURN_IF_ERROR(SyncDirectory(dir_));
  return object;
}

}  // namespace elastos::compute::aot
