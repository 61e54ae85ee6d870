// FaultInjectionEnv: an Env for tests that wraps a real one and, on request, fails writes and
// syncs, tears appends part-way, shortens reads, and runs a controllable clock.
//
// Thread-safety: the knobs are atomics and may be flipped while other threads use the Env.
#pragma once

#include <atomic>
#include <cstdint>

#include "common/env.h"

namespace elastos::testing {

class FaultInjectionEnv final : public Env {
 public:
  explicit FaultInjectionEnv(Env* base) : base_(base) {}

  // Every sync (file, directory, atomic replace, and SQLite's via InterceptSync) fails with EIO.
  void FailSyncs(bool on) { fail_syncs_ = on; }
  // Every append (and SQLite write via InterceptWrite) fails with ENOSPC.
  void FailWrites(bool on) { fail_writes_ = on; }
  // Appends succeed until `bytes` more bytes have been written; the append that crosses the
  // limit writes only the bytes up to it (a torn write) and fails. Negative: no limit.
  void FailAppendsAfter(std::int64_t bytes) { append_budget_ = bytes; }
  // ReadAt returns at most half of what was asked (at least one byte).
  void ShortReads(bool on) { short_reads_ = on; }

  // The wall clock: a fixed value once set, until UseRealClock().
  void SetUnixSeconds(std::int64_t secs) {
    fake_secs_ = secs;
    fake_clock_ = true;
  }
  void AdvanceUnixSeconds(std::int64_t delta) { fake_secs_ += delta; }
  void UseRealClock() { fake_clock_ = false; }
  void AdvanceMonotonicNanos(std::uint64_t delta) { monotonic_offset_ += delta; }

  std::uint64_t syncs() const { return syncs_; }

  Result<std::unique_ptr<WritableFile>> OpenAppendable(const std::filesystem::path& path, mode_t mode) override;
  Result<std::unique_ptr<ReadableFile>> OpenReadable(const std::filesystem::path& path) override;
  Status WriteFileAtomic(const std::filesystem::path& path, ByteView data, mode_t mode) override;
  Result<Bytes> ReadFile(const std::filesystem::path& path, std::uint64_t max_size) override;
  Status Truncate(const std::filesystem::path& path, std::uint64_t size) override;
  Status CreateDirectories(const std::filesystem::path& path, mode_t mode) override;
  Status SyncDirectory(const std::filesystem::path& path) override;
  bool Exists(const std::filesystem::path& path) override { return base_->Exists(path); }
  Status InterceptWrite(const std::filesystem::path& path) override;
  Status InterceptSync(const std::filesystem::path& path) override;
  std::int64_t NowUnixSeconds() override { return fake_clock_ ? fake_secs_.load() : base_->NowUnixSeconds(); }
  std::uint64_t NowMonotonicNanos() override { return base_->NowMonotonicNanos() + monotonic_offset_; }

  // Used by the wrapped files.
  Status CheckSync(const std::filesystem::path& path);
  // How many of `wanted` bytes an append may write now, or the failure.
  Result<std::size_t> AppendAllowance(const std::filesystem::path& path, std::size_t wanted);
  bool short_reads() const { return short_reads_; }

 private:
  Env* base_;
  std::atomic<bool> fail_syncs_{false}, fail_writes_{false}, short_reads_{false}, fake_clock_{false};
  std::atomic<std::int64_t> append_budget_{-1};
  std::atomic<std::int64_t> fake_secs_{0};
  std::atomic<std::uint64_t> monotonic_offset_{0};
  std::atomic<std::uint64_t> syncs_{0};
};

}  // namespace elastos::testing
