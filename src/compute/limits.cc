#include "compute/limits.h"

#include <fmt/format.h>

namespace elastos::compute {
namespace {

Status CheckPositive(std::string_view name, std::uint64_t value) {
  if (value == 0) {
    return InvalidArgument("limit_invalid", fmt::format("resource_limits.{} must be at least 1", name));
  }
  return OkStatus();
}

// Applies `requested` to `value` if given: a launch may lower a limit, never raise it.
Status Lower(std::string_view name, std::uint64_t& value, const std::optional<std::uint64_t>& requested) {
  if (!requested) return OkStatus();
  ELASTOS_RETURN_IF_ERROR(CheckPositive(name, *requested));
  if (*requested > value) {
    return InvalidArgument("limit_raised",
                           fmt::format("--{} {} is above the capsule's limit of {}; a launch can only "
                                       "lower a limit (raise it in capsule.json resource_limits)",
                                       name, *requested, value));
  }
  value = *requested;
  return OkStatus();
}

}  // namespace

std::string Limits::ToString() const {
  std::string s = fmt::format("memory {} MiB, wall {} ms, cpu {} ms, output {} MiB, storage {} MiB",
                              memory_mb, wall_ms, cpu_ms, output_mb, storage_mb);
  if (fuel) s += fmt::format(", fuel {}", *fuel);
  return s;
}

Result<Limits> ResolveLimits(const ResourceLimits& manifest, const LimitOverrides& overrides) {
  Limits limits;
  const auto take = [](std::uint64_t& field, const std::optional<std::uint64_t>& v) {
    if (v) field = *v;
  };
  take(limits.memory_mb, manifest.memory_mb);
  take(limits.wall_ms, manifest.wall_ms);
  // A manifest that only names wall time gets the same CPU budget: CPU time can never usefully
  // exceed wall time for a single-threaded guest.
  limits.cpu_ms = manifest.cpu_ms.value_or(limits.wall_ms);
  limits.fuel = manifest.fuel;
  take(limits.output_mb, manifest.output_mb);
  take(limits.storage_mb, manifest.storage_mb);

  ELASTOS_RETURN_IF_ERROR(CheckPositive("memory_mb", limits.memory_mb));
  ELASTOS_RETURN_IF_ERROR(CheckPositive("wall_ms", limits.wall_ms));
  ELASTOS_RETURN_IF_ERROR(CheckPositive("cpu_ms", limits.cpu_ms));
  ELASTOS_RETURN_IF_ERROR(CheckPositive("output_mb", limits.output_mb));
  ELASTOS_RETURN_IF_ERROR(CheckPositive("storage_mb", limits.storage_mb));
  if (limits.fuel) ELASTOS_RETURN_IF_ERROR(CheckPositive("fuel", *limits.fuel));
  if (limits.memory_mb > kMaxMemoryMb) {
    return InvalidArgument("limit_invalid",
                           fmt::format("resource_limits.memory_mb {} is above the 4096 MiB a wasm32 "
                                       "module can address",
                                       limits.memory_mb));
  }

  ELASTOS_RETURN_IF_ERROR(Lower("memory-mb", limits.memory_mb, overrides.memory_mb));
  ELASTOS_RETURN_IF_ERROR(Lower("wall-ms", limits.wall_ms, overrides.wall_ms));
  ELASTOS_RETURN_IF_ERROR(Lower("cpu-ms", limits.cpu_ms, overrides.cpu_ms));
  ELASTOS_RETURN_IF_ERROR(Lower("output-mb", limits.output_mb, overrides.output_mb));
  ELASTOS_RETURN_IF_ERROR(Lower("storage-mb", limits.storage_mb, overrides.storage_mb));
  if (overrides.fuel) {
    if (limits.fuel) {
      ELASTOS_RETURN_IF_ERROR(Lower("fuel", *limits.fuel, overrides.fuel));
    } else {
      // Metering an unmetered capsule only takes authority away, so it is always allowed.
      ELASTOS_RETURN_IF_ERROR(CheckPositive("fuel", *overrides.fuel));
      limits.fuel = overrides.fuel;
    }
  }
  return limits;
}

}  // namespace elastos::compute
