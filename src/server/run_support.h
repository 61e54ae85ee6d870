// Pieces of `capsule run` / `capsule compile` shared by the CLI commands (and later the daemon).
#pragma once

#include <filesystem>
#include <memory>
#include <optional>
#include <string>

#include "common/env.h"
#include "common/status.h"
#include "compute/limits.h"
#include "runtime/audit/audit_log.h"
#include "runtime/capsule/artifact.h"

namespace elastos::cli {

// The largest WASM module the runtime loads.
inline constexpr std::uint64_t kMaxModuleBytes = 256ull << 20;

// DATA_DIR/audit, signed with DATA_DIR/keys/audit.key (created on first use, 0600).
Result<std::unique_ptr<audit::AuditLog>> OpenAuditLog(Env& env, const std::filesystem::path& data_dir,
                                                       const audit::AuditLogOptions& options = {});

// Held by a command that works on DATA_DIR without a runtime (`capsule run`): a shared lock on
// DATA_DIR/runtime.lock, which `elastos serve` holds exclusively. While a runtime runs, the
// runtime alone writes the audit log and the state; a second writer would fork the log.
class StandaloneLease {
 public:
  // Errors: unavailable/`runtime_running` (use `elastos run`, which goes through the runtime).
  static Result<StandaloneLease> Acquire(const std::filesystem::path& data_dir);
  StandaloneLease(StandaloneLease&& o) noexcept : fd_(o.fd_) { o.fd_ = -1; }
  StandaloneLease& operator=(StandaloneLease&&) = delete;
  ~StandaloneLease();

 private:
  explicit StandaloneLease(int fd) : fd_(fd) {}
  int fd_;
};

// Appends `record` durably to DATA_DIR/audit and closes the log again, holding an exclusive lock
// on DATA_DIR/audit.lock meanwhile. The log has one writer at a time: concurrent commands (two
// `capsule run`s) each open it, recover its current state, append and close under the lock, so
// their records interleave without forking the Merkle tree. The caller holds a StandaloneLease. The record and the closing
// checkpoint share one write and one fdatasync. The daemon will own the log instead.
Status AppendAuditRecord(Env& env, const std::filesystem::path& data_dir,
                                        const audit::AuditRecord& record);

struct TierChoice {
  std::optional<std::filesystem::path> object;  // a verified compiled object: run on the AOT tier
  bool compile_after = false;  // interpreting now; compile in the background for next time
};

// The entry module of a verified .capsule, written once to DATA_DIR/cache/modules/<sha256>.wasm
// (content-addressed, so concurrent runs and repeated runs share it).
Result<std::filesystem::path> ExtractModule(const capsule::VerifiedCapsule& v,
                                            const std::filesystem::path& data_dir);

// `tier` is auto, interp or aot (see `capsule run --help`). A metered run (fuel) always
// interprets: only the interpreter counts instructions exactly.
Result<TierChoice> ChooseTier(const std::string& tier, const std::filesystem::path& module,
                              const compute::Limits& limits, const std::filesystem::path& data_dir);

// The verified compiled object for `module`, compiling it into DATA_DIR/cache/aot if needed.
// `instrumentation` is "interrupt" (what runs use) or "none" (benchmarks only: such objects can be
// stopped only by killing the worker, and no run picks them).
Result<std::filesystem::path> CompileModule(const std::filesystem::path& module,
                                            const std::filesystem::path& data_dir,
                                            const std::string& instrumentation = "interrupt");

// Compiles `module` into DATA_DIR/cache/aot in a detached process that outlives this command, so
// the next run starts on native code. Failures go to DATA_DIR/cache/aot/compile.log.
void StartBackgroundCompile(const std::filesystem::path& module, const std::filesystem::path& data_dir);

}  // namespace elastos::cli
