// Env: the one seam through which the durable parts of ElastOS (audit log, capability store,
// secure time) touch files and clocks, after LevelDB's Env. Production code uses NewPosixEnv();
// tests wrap it in a FaultInjectionEnv (common/testing/fault_env.h) to fail writes and fsyncs,
// shorten reads and move the clock.
//
// Thread-safety: Env implementations are safe to use from many threads. A WritableFile or
// ReadableFile is used by one thread at a time.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <filesystem>
#include <memory>
#include <span>
#include <string>

#include "common/bytes.h"
#include "common/status.h"

namespace elastos {

// An append-only file.
class WritableFile {
 public:
  virtual ~WritableFile() = default;
  [[nodiscard]] virtual Status Append(ByteView data) = 0;
  // Makes every byte appended so far durable (fdatasync).
  [[nodiscard]] virtual Status Sync() = 0;
  [[nodiscard]] virtual Status Close() = 0;
};

class ReadableFile {
 public:
  virtual ~ReadableFile() = default;
  // Reads up to out.size() bytes at `offset`; fewer only at end of file (or when a test injects
  // a short read: callers must loop until they get 0).
  virtual Result<std::size_t> ReadAt(std::uint64_t offset, std::span<std::uint8_t> out) = 0;
  virtual Result<std::uint64_t> Size() = 0;
};

class Env {
 public:
  virtual ~Env() = default;

  // Opens `path` for appending, creating it with `mode` if absent.
  virtual Result<std::unique_ptr<WritableFile>> OpenAppendable(const std::filesystem::path& path,
                                                               mode_t mode) = 0;
  virtual Result<std::unique_ptr<ReadableFile>> OpenReadable(const std::filesystem::path& path) = 0;
  // Replaces `path` with `data` atomically and durably (temp file, fsync, rename, fsync dir).
  [[nodiscard]] virtual Status WriteFileAtomic(const std::filesystem::path& path, ByteView data,
                                               mode_t mode) = 0;
  virtual Result<Bytes> ReadFile(const std::filesystem::path& path, std::uint64_t max_size) = 0;
  // Cuts `path` to `size` bytes and syncs it.
  [[nodiscard]] virtual Status Truncate(const std::filesystem::path& path, std::uint64_t size) = 0;
  [[nodiscard]] virtual Status CreateDirectories(const std::filesystem::path& path, mode_t mode) = 0;
  [[nodiscard]] virtual Status SyncDirectory(const std::filesystem::path& path) = 0;
  virtual bool Exists(const std::filesystem::path& path) = 0;

  // For storage engines that do their own file I/O (SQLite, through runtime/store's VFS shim):
  // consulted before each write and sync of their files, so injected faults reach them too.
  // The POSIX Env always allows.
  [[nodiscard]] virtual Status InterceptWrite(const std::filesystem::path& /*path*/) { return OkStatus(); }
  [[nodiscard]] virtual Status InterceptSync(const std::filesystem::path& /*path*/) { return OkStatus(); }

  // Wall-clock seconds since the Unix epoch. May jump, even backwards: code that needs order
  // uses SecureClock (runtime/time/), which never goes back.
  virtual std::int64_t NowUnixSeconds() = 0;
  // Monotonic nanoseconds (CLOCK_MONOTONIC); only differences are meaningful.
  virtual std::uint64_t NowMonotonicNanos() = 0;
};

// The real thing: POSIX files, CLOCK_REALTIME and CLOCK_MONOTONIC.
std::unique_ptr<Env> NewPosixEnv();

}  // namespace elastos
