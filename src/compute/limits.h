// The resource limits a capsule instance runs under, resolved from the manifest's
// `resource_limits`, the runtime's defaults and per-launch overrides.
//
// A launch may only lower a limit, never raise it: whoever launches a capsule (a user at the CLI,
// the shell capsule) must not be able to hand it more than its publisher declared or the runtime
// allows by default.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "common/manifest.h"
#include "common/status.h"

namespace elastos::compute {

struct Limits {
  std::uint64_t memory_mb = 256;   // linear memory cap (and the worker's memory backstop)
  std::uint64_t wall_ms = 60'000;  // wall-clock time from start
  std::uint64_t cpu_ms = 60'000;   // CPU time of the worker
  std::optional<std::uint64_t> fuel;  // exact instruction budget; runs the metered interpreter
  std::uint64_t output_mb = 64;    // stdout + stderr together
  std::uint64_t storage_mb = 256;  // bytes under the capsule's /data

  std::uint32_t memory_pages() const { return static_cast<std::uint32_t>(memory_mb * 16); }
  std::string ToString() const;  // "memory 256 MiB, wall 60000 ms, …" for launch logs
};

// The largest memory a wasm32 module can address: 4 GiB.
inline constexpr std::uint64_t kMaxMemoryMb = 4096;

// Per-launch requests; each must be ≤ the resolved value or the launch is refused.
struct LimitOverrides {
  std::optional<std::uint64_t> memory_mb, wall_ms, cpu_ms, fuel, output_mb, storage_mb;
};

// Defaults, then the manifest's values, then the overrides (lower only). Refuses
// (invalid_argument, limit_raised) an override above the value it would replace, and values that
// cannot work (zero, or memory above 4 GiB).
Result<Limits> ResolveLimits(const ResourceLimits& manifest, const LimitOverrides& overrides);

}  // namespace elastos::compute
