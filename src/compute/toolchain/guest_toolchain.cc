#include "compute/toolchain/guest_toolchain.h"

#include <fcntl.h>
#include <spawn.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <thread>

#include "common/file_util.h"

#ifndef ELASTOS_SOURCE_DIR
#error "ELASTOS_SOURCE_DIR must be defined by the build (src/compute/toolchain/CMakeLists.txt)"
#endif

extern char** environ;

namespace elastos::compute::toolchain {
namespace fs = std::filesystem;
namespace {

constexpr std::uint64_t kMaxManifestBytes = kMaxManifestSize;
constexpr std::string_view kStackSize = "-Wl,-z,stack-size=1048576";

std::string InstallHint() {
  return "install the guest toolchain: apt-get install " + std::string(kGuestPackages) +
         " (scripts/setup.sh installs everything the project needs)";
}

bool IsExecutableFile(const fs::path& p) {
  std::error_code ec;
  return fs::is_regular_file(p, ec) && ::access(p.c_str(), X_OK) == 0;
}

bool IsRegularFile(const fs::path& p) {
  std::error_code ec;
  return fs::is_regular_file(p, ec);
}

// The first executable `name` in the colon-separated `path_env`; empty components are skipped
// (a stray "::" must not mean "the current directory" when choosing what to execute).
std::optional<fs::path> FindOnPath(std::string_view name, std::string_view path_env) {
  while (!path_env.empty()) {
    const std::size_t colon = path_env.find(':');
    const std::string_view dir = path_env.substr(0, colon);
    path_env = colon == std::string_view::npos ? std::string_view() : path_env.substr(colon + 1);
    if (dir.empty() || dir.front() != '/') continue;
    fs::path candidate = fs::path(dir) / name;
    if (IsExecutableFile(candidate)) return candidate;
  }
  return std::nullopt;
}

std::optional<Language> LanguageOf(const fs::path& p) {
  const std::string ext = p.extension().string();
  if (ext == ".c") return Language::kC;
  if (ext == ".cc" || ext == ".cpp") return Language::kCxx;
  return std::nullopt;
}

std::string Display(const fs::path& dir, const fs::path& file) {
  std::error_code ec;
  fs::path rel = fs::relative(file, dir, ec);
  if (ec || rel.empty() || *rel.begin() == "..") return file.string();
  return rel.string();
}

// Spawns argv[0] (an absolute path) with argv, inheriting stdio and the environment. No shell.
Result<pid_t> Spawn(const std::vector<std::string>& argv) {
  std::vector<char*> args;
  args.reserve(argv.size() + 1);
  for (const std::string& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  pid_t pid = -1;
  const int rc = ::posix_spawn(&pid, args[0], nullptr, nullptr, args.data(), environ);
  if (rc != 0) return Internal("spawn_failed", "cannot run " + argv[0] + ": " + std::strerror(rc));
  return pid;
}

// Waits for one specific child. Returns its exit code, or a description of how it died.
Result<int> WaitFor(pid_t pid, const std::string& what) {
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0) {
    if (errno != EINTR) return IoError("wait for " + what, errno);
  }
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  if (WIFSIGNALED(status)) {
    return InvalidArgument("compiler_killed",
                           what + " was killed by signal " + std::to_string(WTERMSIG(status)));
  }
  return Internal("compiler_status", what + " ended with status " + std::to_string(status));
}

// A private directory for objects, removed with its contents.
class ScratchDir {
 public:
  static Result<ScratchDir> Create() {
    std::error_code ec;
    fs::path base = fs::temp_directory_path(ec);
    if (ec) base = "/tmp";
    std::string tmpl = (base / "elastos-build-XXXXXX").string();
    if (::mkdtemp(tmpl.data()) == nullptr)
      return IoError("create a scratch directory in " + base.string(), errno);
    return ScratchDir(tmpl);
  }
  ScratchDir(ScratchDir&& other) noexcept : path_(std::move(other.path_)) { other.path_.clear(); }
  ScratchDir& operator=(ScratchDir&&) = delete;
  ~ScratchDir() {
    if (path_.empty()) return;
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  const fs::path& path() const { return path_; }

 private:
  explicit ScratchDir(fs::path p) : path_(std::move(p)) {}
  fs::path path_;
};

}  // namespace

ToolchainSearch DefaultToolchainSearch() {
  ToolchainSearch s;
  if (const char* path = std::getenv("PATH")) s.path_env = path;
  return s;
}

Result<GuestToolchain> FindGuestToolchain(const ToolchainSearch& search, bool need_cxx) {
  std::vector<std::string> missing;
  GuestToolchain tc;
  tc.sysroot = search.sysroot;

  if (auto cc = FindOnPath("clang-19", search.path_env)) {
    tc.cc = *cc;
  } else {
    missing.push_back("clang-19 (not on PATH)");
  }
  if (need_cxx) {
    if (auto cxx = FindOnPath("clang++-19", search.path_env)) {
      tc.cxx = *cxx;
    } else {
      missing.push_back("clang++-19 (not on PATH)");
    }
  }
  const fs::path wasi_include = search.sysroot / "include/wasm32-wasi";
  const fs::path wasi_lib = search.sysroot / "lib/wasm32-wasi";
  if (!IsRegularFile(wasi_include / "stdio.h") || !IsRegularFile(wasi_lib / "libc.a")) {
    missing.push_back("wasi-libc (no " + (wasi_lib / "libc.a").string() + ")");
  }
  if (need_cxx &&
      (!IsRegularFile(wasi_include / "c++/v1/vector") || !IsRegularFile(wasi_lib / "libc++.a"))) {
    missing.push_back("libc++ for wasm32 (no " + (wasi_lib / "libc++.a").string() + ")");
  }
  if (need_cxx && !IsRegularFile(wasi_lib / "libc++abi.a")) {
    missing.push_back("libc++abi for wasm32 (no " + (wasi_lib / "libc++abi.a").string() + ")");
  }
  if (!tc.cc.empty()) {
    // clang finds wasm-ld and its compiler runtime next to its real location, not on PATH.
    std::error_code ec;
    const fs::path real = fs::canonical(tc.cc, ec);
    const fs::path bin = ec ? tc.cc.parent_path() : real.parent_path();
    if (!IsExecutableFile(bin / "wasm-ld") && !FindOnPath("wasm-ld-19", search.path_env)) {
      missing.push_back("wasm-ld (lld-19)");
    }
    bool builtins = false;
    for (auto it = fs::directory_iterator(bin.parent_path() / "lib/clang", ec);
         !ec && it != fs::directory_iterator(); it.increment(ec)) {
      if (IsRegularFile(it->path() / "lib/wasi/libclang_rt.builtins-wasm32.a")) builtins = true;
    }
    if (!builtins) missing.push_back("the wasm32 compiler runtime (libclang_rt.builtins-wasm32.a)");
  }
  if (!missing.empty()) {
    std::string list;
    for (const std::string& m : missing) list += (list.empty() ? "" : ", ") + m;
    return FailedPrecondition("guest_toolchain_missing",
                              "cannot build WASM capsules: missing " + list + "; " + InstallHint());
  }
  return tc;
}

IncludeSearch DefaultIncludeSearch() {
  IncludeSearch s;
  if (const char* env = std::getenv("ELASTOS_GUEST_INCLUDE"); env && *env) s.env = env;
  std::error_code ec;
  s.executable = fs::read_symlink("/proc/self/exe", ec);
  s.source_tree = fs::path(ELASTOS_SOURCE_DIR) / "guest/include";
  return s;
}

Result<fs::path> FindSdkIncludeDir(const IncludeSearch& search) {
  auto has_sdk = [](const fs::path& dir) { return IsRegularFile(dir / "elastos/sdk.h"); };
  if (search.env) {
    // An explicit setting that is wrong is an error, not a hint to guess elsewhere: the user
    // asked for those headers.
    if (has_sdk(*search.env)) return fs::path(*search.env);
    return FailedPrecondition("sdk_not_found",
                              "ELASTOS_GUEST_INCLUDE=" + *search.env + " has no elastos/sdk.h");
  }
  std::vector<fs::path> tried;
  if (!search.executable.empty()) {
    const fs::path installed =
        search.executable.parent_path().parent_path() / "share/elastos/guest/include";
    if (has_sdk(installed)) return installed;
    tried.push_back(installed);
  }
  if (!search.source_tree.empty()) {
    if (has_sdk(search.source_tree)) return search.source_tree;
    tried.push_back(search.source_tree);
  }
  std::string list;
  for (const fs::path& p : tried) list += (list.empty() ? "" : ", ") + p.string();
  return FailedPrecondition("sdk_not_found",
                            "the ElastOS guest SDK headers (elastos/sdk.h) are not in " +
                                (list.empty() ? std::string("any known place") : list) +
                                "; set ELASTOS_GUEST_INCLUDE to their directory");
}

Result<std::vector<SourceFile>> DiscoverSources(const fs::path& dir) {
  std::vector<std::pair<std::string, SourceFile>> found;  // relative path → source
  for (const fs::path& sub : {fs::path(), fs::path("src")}) {
    const fs::path where = dir / sub;
    std::error_code ec;
    if (!sub.empty() && !fs::is_directory(where, ec)) continue;
    for (auto it = fs::directory_iterator(where, ec); !ec && it != fs::directory_iterator();
         it.increment(ec)) {
      const fs::path& p = it->path();
      const std::string name = p.filename().string();
      if (name.empty() || name[0] == '.') continue;
      const auto lang = LanguageOf(p);
      if (!lang || !IsRegularFile(p)) continue;
      const std::string rel = (sub / name).string();
      found.push_back({rel, SourceFile{p, rel, *lang}});
    }
    if (ec) return IoError("list " + where.string(), ec.value());
  }
  if (found.empty()) {
    return NotFound("no_sources", "no *.c, *.cc or *.cpp files in " + dir.string() + " or " +
                                      (dir / "src").string() + " (name them with --source)");
  }
  std::sort(found.begin(), found.end(),
            [](const auto& a, const auto& b) { return a.first < b.first; });
  std::vector<SourceFile> out;
  out.reserve(found.size());
  for (auto& f : found) out.push_back(std::move(f.second));
  return out;
}

Result<std::vector<SourceFile>> ResolveSources(const fs::path& dir,
                                               const std::vector<std::string>& given) {
  std::vector<SourceFile> out;
  for (const std::string& name : given) {
    const fs::path p = fs::path(name).is_absolute() ? fs::path(name) : dir / name;
    const auto lang = LanguageOf(p);
    if (!lang)
      return InvalidArgument("bad_source", name + ": not a C or C++ source (.c, .cc, .cpp)");
    if (!IsRegularFile(p))
      return NotFound("no_sources", name + ": no such file (looked at " + p.string() + ")");
    // The same file twice would only fail later, at link time, with duplicate symbols.
    std::error_code ec;
    const fs::path canonical = fs::weakly_canonical(p, ec);
    for (const SourceFile& seen : out) {
      std::error_code ec2;
      if (!ec && fs::weakly_canonical(seen.path, ec2) == canonical && !ec2) {
        return InvalidArgument("bad_source", name + ": given more than once");
      }
    }
    out.push_back(SourceFile{p, Display(dir, p), *lang});
  }
  if (out.empty()) return NotFound("no_sources", "no sources given");
  return out;
}

std::vector<std::string> CompileCommand(const GuestToolchain& tc, const SourceFile& source,
                                        const fs::path& object, const CompileFlags& flags) {
  const bool cxx = source.language == Language::kCxx;
  std::vector<std::string> argv = {(cxx ? tc.cxx : tc.cc).string(), "--target=wasm32-wasi",
                                   "--sysroot=" + tc.sysroot.string()};
  if (flags.debug) {
    argv.insert(argv.end(), {"-O0", "-g"});
  } else {
    argv.push_back("-O2");
  }
  if (cxx) argv.insert(argv.end(), {"-std=c++17", "-fno-exceptions"});
  argv.push_back("-I" + flags.sdk_include.string());
  // "--" ends the options: a file named "-o…" or "-fplugin=…" cannot become a flag.
  argv.insert(argv.end(), {"-c", "-o", object.string(), "--", source.path.string()});
  return argv;
}

std::vector<std::string> LinkCommand(const GuestToolchain& tc, const std::vector<fs::path>& objects,
                                     bool cxx, const fs::path& output, const CompileFlags& flags) {
  std::vector<std::string> argv = {(cxx ? tc.cxx : tc.cc).string(), "--target=wasm32-wasi",
                                   "--sysroot=" + tc.sysroot.string()};
  if (cxx) argv.push_back("-fno-exceptions");
  argv.insert(argv.end(), {"-Wl,--stack-first", std::string(kStackSize)});
  if (!flags.debug) argv.push_back("-Wl,--strip-all");
  argv.insert(argv.end(), {"-o", output.string()});
  for (const fs::path& o : objects) argv.push_back(o.string());
  return argv;
}

Result<BuildResult> BuildCapsule(const fs::path& dir, const BuildOptions& options) {
  const fs::path manifest_path = dir / "capsule.json";
  auto text = ReadFileLimited(manifest_path, kMaxManifestBytes);
  if (!text.ok()) return text.status().WithContext(manifest_path.string());
  auto manifest = CapsuleManifest::Parse(
      std::string_view(reinterpret_cast<const char*>(text->data()), text->size()));
  if (!manifest.ok()) return manifest.status().WithContext(manifest_path.string());
  if (manifest->type != CapsuleType::kWasm && manifest->type != CapsuleType::kAgent) {
    return InvalidArgument(
        "not_buildable", manifest_path.string() + ": a '" +
                             std::string(CapsuleTypeName(manifest->type)) +
                             "' capsule has no WASM module to build (type must be wasm or agent)");
  }
  if (manifest->microvm) {
    return InvalidArgument(
        "not_buildable",
        manifest_path.string() + ": an agent with microvm_config runs in a VM, not as WASM");
  }
  const std::string& entry = manifest->entry;
  if (entry.size() <= 5 || entry.compare(entry.size() - 5, 5, ".wasm") != 0) {
    return InvalidArgument(
        "not_buildable", manifest_path.string() + ": entry '" + entry + "' must name a .wasm file");
  }

  auto sources =
      options.sources.empty() ? DiscoverSources(dir) : ResolveSources(dir, options.sources);
  if (!sources.ok()) return sources.status();
  const bool cxx = std::any_of(sources->begin(), sources->end(),
                               [](const SourceFile& s) { return s.language == Language::kCxx; });
  auto tc = FindGuestToolchain(options.toolchain, cxx);
  if (!tc.ok()) return tc.status();
  auto include = FindSdkIncludeDir(options.include);
  if (!include.ok()) return include.status();
  const CompileFlags flags{options.debug, *include};

  auto scratch = ScratchDir::Create();
  if (!scratch.ok()) return scratch.status();

  // Compile, at most `jobs` at a time. Children are reaped oldest first by pid: slightly less
  // overlap than waiting for whichever ends first, but it never touches another component's
  // children.
  const std::size_t n = sources->size();
  unsigned jobs = options.jobs;
  if (jobs == 0) jobs = std::max(1u, std::thread::hardware_concurrency());
  jobs = static_cast<unsigned>(std::min<std::size_t>(jobs, n));
  std::vector<fs::path> objects(n);
  struct Running {
    pid_t pid;
    std::size_t index;
  };
  std::deque<Running> running;
  std::size_t next = 0;
  Status failure;
  while (next < n || !running.empty()) {
    while (failure.ok() && next < n && running.size() < jobs) {
      const SourceFile& src = (*sources)[next];
      objects[next] =
          scratch->path() / (std::to_string(next) + "-" + src.path.filename().string() + ".o");
      if (options.progress)
        options.progress("[" + std::to_string(next + 1) + "/" + std::to_string(n) + "] compile " +
                         src.display);
      auto pid = Spawn(CompileCommand(*tc, src, objects[next], flags));
      if (!pid.ok()) {
        failure = pid.status();
        break;
      }
      running.push_back({*pid, next});
      ++next;
    }
    if (running.empty()) break;
    const Running r = running.front();
    running.pop_front();
    const std::string& name = (*sources)[r.index].display;
    auto code = WaitFor(r.pid, "compiling " + name);
    if (failure.ok() && !code.ok()) failure = code.status();
    if (failure.ok() && *code != 0) {
      failure = InvalidArgument(
          "compile_failed", "compiling " + name + " failed (the compiler's messages are above)");
    }
  }
  if (!failure.ok()) return failure;

  // Link next to the destination, then rename over it: the runtime never sees a partial module.
  const fs::path output = dir / entry;
  std::error_code ec;
  fs::create_directories(output.parent_path(), ec);
  if (ec) return IoError("create " + output.parent_path().string(), ec.value());
  std::string tmp_name =
      (output.parent_path() / ("." + output.filename().string() + ".build-XXXXXX")).string();
  const int tmp_fd = ::mkstemp(tmp_name.data());
  if (tmp_fd < 0) return IoError("create a temporary file next to " + output.string(), errno);
  ::close(tmp_fd);
  const fs::path tmp = tmp_name;
  struct RemoveOnFailure {
    const fs::path& path;
    bool armed = true;
    ~RemoveOnFailure() {
      std::error_code ignored;
      if (armed) fs::remove(path, ignored);
    }
  } cleanup{tmp};

  if (options.progress) options.progress("link " + entry);
  auto pid = Spawn(LinkCommand(*tc, objects, cxx, tmp, flags));
  if (!pid.ok()) return pid.status();
  auto code = WaitFor(*pid, "linking " + entry);
  if (!code.ok()) return code.status();
  if (*code != 0)
    return InvalidArgument("link_failed",
                           "linking " + entry + " failed (the linker's messages are above)");

  const int fd = ::open(tmp.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return IoError("open " + tmp.string(), errno);
  struct stat st {};
  const bool synced = ::fstat(fd, &st) == 0 && ::fsync(fd) == 0;
  const int err = errno;
  ::close(fd);
  if (!synced) return IoError("sync " + tmp.string(), err);
  if (::chmod(tmp.c_str(), 0644) != 0) return IoError("chmod " + tmp.string(), errno);
  if (::rename(tmp.c_str(), output.c_str()) != 0)
    return IoError("rename to " + output.string(), errno);
  cleanup.armed = false;
  if (Status s = SyncDirectory(output.parent_path()); !s.ok()) return s;

  BuildResult result;
  result.manifest = std::move(manifest).value();
  result.output = output;
  result.size = static_cast<std::uint64_t>(st.st_size);
  result.sources = n;
  return result;
}

}  // namespace elastos::compute::toolchain
