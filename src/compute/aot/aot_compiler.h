// The ahead-of-time tier's compiler and cache (runtime side): a WASM module is translated to C by
// wasm2c, instrumented, compiled with the host C compiler into a shared object together with our
// ABI shim (aot_abi.h), and cached under a key that covers everything that shapes the native code.
// The worker loads the object with LoadAot (compute/engine.h).
//
// Native code is the trust boundary here, so the cache is defensive: an object is only handed out
// after its SHA-256 matches the digest recorded when it was built, by us, in a directory only we
// can write. Module imports are gated before wasm2c ever sees the module (module_facts.h).
//
// Cache layout (`<data-dir>/cache/aot/`, mode 0700):
//   <key>.so       the object, mode 0444
//   <key>.sha256   hex SHA-256 of <key>.so and a newline
//   .tmp-XXXXXX/   scratch of a compile in progress (removed after; stale ones after an hour)
// key = SHA-256("elastos-aot-key/1\n" || module SHA-256 || toolchain identity || instrumentation).
//
// Thread-safety: an AotCache is immutable after construction; Find and Compile may run
// concurrently, from any number of threads and processes (last writer wins, atomically).
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>

#include "common/bytes.h"
#include "common/status.h"
#include "crypto/sha256.h"

namespace elastos::compute::aot {

// What is compiled into the guest code besides the module itself.
enum class Instrumentation {
  // Nothing: the guest can only be stopped at a host call or by killing the worker.
  kNone,
  // A relaxed load of `elastos_guest_interrupt` at every loop head; when set, the guest traps and
  // LoadAot's engine reports the pending InterruptReason as wall_limit / cpu_limit. Calls are not
  // instrumented: unbounded recursion ends in trap_stack_exhausted (objects are built without
  // sibling-call optimisation so recursion cannot become a loop), and the launcher's SIGKILL is the
  // backstop for the rest (deep but bounded call trees, blocking host calls). The default.
  // Measured (bench/wasm.sh, docs/performance.md): within noise of kNone on loop-heavy code; on
  // call-heavy code gcc loses some freedom to restructure recursion (clang turns one of fib's two
  // recursive calls into a loop, and that loop is then polled once per call).
  kInterrupt,
};
inline constexpr Instrumentation kDefaultInstrumentation = Instrumentation::kInterrupt;
std::string_view InstrumentationName(Instrumentation instrumentation);  // "none", "interrupt"

// The tools that turn a module into native code, and what identifies their output.
struct Toolchain {
  std::string wasm2c;          // absolute path
  std::string wasm2c_version;  // `wasm2c --version`
  std::string cc;              // absolute path of the C compiler
  std::string cc_version;      // first line of `cc --version`

  // Everything that shapes an object besides the module: the tools above, our compiler flags,
  // ELASTOS_AOT_ABI_VERSION and the digest of our shim sources. Part of every cache key.
  std::string Identity() const;
};

// Finds wasm2c on PATH and the C compiler (ELASTOS_CC if set, a name on PATH or a path; else gcc,
// else cc on PATH) and asks both for their versions: two process spawns. With a `memo` file the
// versions are remembered there together with each tool's file identity (device, inode, size,
// modification and change time), and a later probe whose tools are the same files reads them
// back instead of spawning: replacing or upgrading a tool changes its identity. The memo must
// live in a directory only we can write (the AOT cache's); one that is not ours is ignored.
Result<Toolchain> ProbeToolchain(const std::filesystem::path& memo = {});

// The C compiler flags every object is built with (part of Toolchain::Identity()).
std::string_view CompilerFlags();

struct AotCacheOptions {
  // For translate + compile together; the tools are killed (with their process group) past it.
  std::chrono::milliseconds compile_timeout = std::chrono::seconds(300);
  // Larger modules are refused (resource_exhausted/module_too_large): compile time and compiler
  // memory grow with the module, roughly 23 s per MB of code.
  std::uint64_t max_module_bytes = 32ull << 20;
  // Objects (and generated C) larger than this are refused rather than read.
  std::uint64_t max_object_bytes = 1ull << 30;
};

class AotCache {
 public:
  // Creates `dir` (0700) if needed and probes the toolchain with its memo in `dir`. Refuses (permission_denied/
  // aot_cache_insecure) a directory that is not ours or that others can write: anyone who can
  // write there can plant an object together with a matching digest file.
  static Result<AotCache> Open(const std::filesystem::path& dir, AotCacheOptions options = {});
  // With an explicit toolchain (tests, or a caller that probed it itself). Same checks.
  static Result<AotCache> Open(const std::filesystem::path& dir, Toolchain toolchain,
                               AotCacheOptions options = {});

  // The verified object for the module, or nullopt on a miss (also when a compile is half-way:
  // object present, digest not yet). An object whose bytes do not match its recorded digest, or
  // that is not a regular file owned by us and unwritable by others, is removed and reported as
  // internal/aot_object_corrupt; the caller treats that as a miss and recompiles.
  Result<std::optional<std::filesystem::path>> Find(const crypto::Digest256& module_sha256,
                                                    Instrumentation instrumentation) const;

  // Translates, instruments and compiles `wasm`, then installs the object atomically (temp file,
  // fsync, rename, fsync of the directory) and returns its path. Always compiles: callers Find()
  // first. Refuses the module (invalid_argument: module_invalid, unknown_import, import_signature,
  // no_start) before any tool runs; a tool failure or timeout is internal/aot_compile_failed with
  // the tool's first lines of output.
  Result<std::filesystem::path> Compile(ByteView wasm, Instrumentation instrumentation) const;

  // The cache key of a module under this cache's toolchain.
  crypto::Digest256 Key(const crypto::Digest256& module_sha256,
                        Instrumentation instrumentation) const;

  const std::filesystem::path& dir() const { return dir_; }
  const Toolchain& toolchain() const { return toolchain_; }

 private:
  AotCache(std::filesystem::path dir, Toolchain toolchain, AotCacheOptions options);

  std::filesystem::path dir_;
  Toolchain toolchain_;
  std::string identity_;
  AotCacheOptions options_;
};

}  // namespace elastos::compute::aot
