#include "server/run_support.h"

#include <fcntl.h>
#include <spawn.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fmt/format.h>

#include "common/encoding.h"
#include "common/file_util.h"
#include "compute/aot/aot_compiler.h"
#include "crypto/sha256.h"
#include "identity/key_file.h"
#include "namespace/unixfs.h"

extern char** environ;  // the compile inherits ours: it needs PATH to find wasm2c and cc

namespace elastos::cli {

namespace fs = std::filesystem;

Result<std::unique_ptr<audit::AuditLog>> OpenAuditLog(Env& env, const fs::path& data_dir,
                                                       const audit::AuditLogOptions& options) {
  ELASTOS_RETURN_IF_ERROR(env.CreateDirectories(data_dir / "keys", 0700));
  ELASTOS_ASSIGN_OR_RETURN(crypto::Ed25519PrivateKey key,
                           identity::LoadOrCreatePrivateKey(env, data_dir / "keys" / "audit.key"));
  return audit::AuditLog::Open(env, data_dir / "audit", key, options);
}

Result<StandaloneLease> StandaloneLease::Acquire(const fs::path& data_dir) {
  std::error_code ec;
  fs::create_directories(data_dir, ec);
  const fs::path path = data_dir / "runtime.lock";
  const int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0) return IoError("open " + path.string(), errno);
  while (::flock(fd, LOCK_SH | LOCK_NB) != 0) {
    if (errno == EINTR) continue;
    const int err = errno;
    ::close(fd);
    if (err == EWOULDBLOCK) {
      return Unavailable("runtime_running",
                         "a runtime (elastos serve) is running on " + data_dir.string() +
                             " and owns its audit log; run the capsule through it with "
                             "'elastos run', or stop the runtime first");
    }
    return IoError("flock " + path.string(), err);
  }
  return StandaloneLease(fd);
}

StandaloneLease::~StandaloneLease() {
  if (fd_ >= 0) ::close(fd_);
}

Status AppendAuditRecord(Env& env, const fs::path& data_dir, const audit::AuditRecord& record) {
  ELASTOS_RETURN_IF_ERROR(env.CreateDirectories(data_dir, 0700));
  const fs::path lock_path = data_dir / "audit.lock";
  const int lock = ::open(lock_path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (lock < 0) return IoError("open " + lock_path.string(), errno);
  struct Unlock {
    int fd;
    ~Unlock() { ::close(fd); }  // closing releases the flock
  } unlock{lock};
  while (::flock(lock, LOCK_EX) != 0) {
    if (errno != EINTR) return IoError("flock " + lock_path.string(), errno);
  }
  // No flusher thread: Close() writes the queued record and the final checkpoint as one batch.
  audit::AuditLogOptions options;
  options.background_flusher = false;
  ELASTOS_ASSIGN_OR_RETURN(std::unique_ptr<audit::AuditLog> log,
                           OpenAuditLog(env, data_dir, options));
  Status queued = log->AppendAsync(record);
  Status closed = log->Close();  // durable (or failed) once this returns
  return queued.ok() ? closed : queued;
}

void StartBackgroundCompile(const fs::path& module, const fs::path& data_dir) {
  std::error_code ec;
  const fs::path cache = data_dir / "cache" / "aot";
  fs::create_directories(cache, ec);
  fs::path self = fs::read_symlink("/proc/self/exe", ec);
  if (ec) return;
  const std::string log = (cache / "compile.log").string();
  std::vector<std::string> args = {self.string(), "--data-dir", data_dir.string(), "capsule", "compile",
                                   "--quiet", module.string()};
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);

  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_addopen(&actions, 1, log.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0600);
  posix_spawn_file_actions_adddup2(&actions, 1, 2);
  posix_spawnattr_t attr;
  posix_spawnattr_init(&attr);
  // Its own session: the compile outlives this command and is not killed by the terminal's ^C.
  posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSID);
  pid_t pid;
  int err = ::posix_spawn(&pid, self.c_str(), &actions, &attr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  posix_spawnattr_destroy(&attr);
  if (err != 0) {
    std::fprintf(stderr, "elastos: note: could not start the background compile: %s\n", std::strerror(err));
  }
  // Not waited for: when this process exits, init adopts and reaps it.
}

}  // namespace elastos::cli

namespace elastos::cli {

Result<TierChoice> ChooseTier(const std::string& tier, const fs::path& module, const compute::Limits& limits,
                              const fs::path& data_dir) {
  if (limits.fuel) {
    if (tier == "aot") {
      return InvalidArgument("tier_conflict",
                             "a fuel limit meters instructions, which only the interpreter counts; drop "
                             "--tier aot or the fuel limit");
    }
    return TierChoice{};
  }
  if (tier == "interp") return TierChoice{};

  auto cache = compute::aot::AotCache::Open(data_dir / "cache" / "aot");
  if (!cache.ok()) {
    if (tier == "aot") return cache.status();
    // No compiler here (or an unusable cache): the interpreter runs everything, just slower.
    std::fprintf(stderr, "elastos: note: running on the interpreter: %s\n", cache.status().ToString().c_str());
    return TierChoice{};
  }
  ELASTOS_ASSIGN_OR_RETURN(Bytes wasm, ReadFileLimited(module, kMaxModuleBytes));
  const crypto::Digest256 digest = crypto::Sha256::Hash(wasm);
  auto found = cache->Find(digest, compute::aot::Instrumentation::kInterrupt);
  if (found.ok() && found->has_value()) return TierChoice{**found, false};
  if (!found.ok()) {
    std::fprintf(stderr, "elastos: note: %s; recompiling\n", found.status().ToString().c_str());
  }
  if (tier == "aot") {
    std::fprintf(stderr, "elastos: compiling %s to native code (once; cached in %s)...\n",
                 module.filename().c_str(), cache->dir().c_str());
    ELASTOS_ASSIGN_OR_RETURN(fs::path object, cache->Compile(wasm, compute::aot::Instrumentation::kInterrupt));
    return TierChoice{object, false};
  }
  return TierChoice{std::nullopt, true};
}

Result<fs::path> ExtractModule(const capsule::VerifiedCapsule& v, const fs::path& data_dir) {
  ELASTOS_ASSIGN_OR_RETURN(ipld::Cid entry, ipld::ResolvePath(v.file.capsule, v.manifest.entry, *v.file.blocks));
  ELASTOS_ASSIGN_OR_RETURN(Bytes module, ipld::ReadFile(entry, *v.file.blocks, kMaxModuleBytes));
  const fs::path path = data_dir / "cache" / "modules" / (HexEncode(crypto::Sha256::Hash(module)) + ".wasm");
  std::error_code ec;
  if (!fs::exists(path, ec)) {
    fs::create_directories(path.parent_path(), ec);
    if (ec) return IoError("create " + path.parent_path().string(), ec.value());
    ELASTOS_RETURN_IF_ERROR(WriteFileAtomic(path, module));
  }
  return path;
}

Result<fs::path> CompileModule(const fs::path& module, const fs::path& data_dir, const std::string& instrumentation) {
  const auto mode = instrumentation == "none" ? compute::aot::Instrumentation::kNone
                                              : compute::aot::Instrumentation::kInterrupt;
  ELASTOS_ASSIGN_OR_RETURN(compute::aot::AotCache cache, compute::aot::AotCache::Open(data_dir / "cache" / "aot"));
  ELASTOS_ASSIGN_OR_RETURN(Bytes wasm, ReadFileLimited(module, kMaxModuleBytes));
  const crypto::Digest256 digest = crypto::Sha256::Hash(wasm);
  ELASTOS_ASSIGN_OR_RETURN(auto found, cache.Find(digest, mode));
  if (found) return *found;
  return cache.Compile(wasm, mode);
}

}  // namespace elastos::cli
