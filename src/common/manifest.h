// CapsuleManifest: the parsed and validated `capsule.json` (schema `elastos.capsule/v1`).
//
// The manifest is untrusted input until the capsule's signature has been checked, and even then it
// is only a *request*: permissions listed here are what the capsule may ask the shell for, never
// what it holds. Parse() is therefore strict: unknown fields, duplicate JSON keys, wrong types,
// out-of-range numbers and unsafe paths are all refused, each with an error that names the field.
// The reference runtime's field names are accepted as aliases so its manifests load; ToJson()
// writes the canonical (seed) names. The format is described in docs/formats/manifest.md.
//
// Every error is InvalidArgument with reason `manifest_invalid`.
//
// Thread-safety: plain values; Parse() and the free functions are pure and thread-safe.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"

namespace elastos {

inline constexpr std::string_view kManifestSchema = "elastos.capsule/v1";
inline constexpr std::size_t kMaxManifestSize = 1 << 20;  // 1 MiB of JSON text

enum class CapsuleType { kWasm, kVm, kData, kAgent };
std::string_view CapsuleTypeName(CapsuleType type);  // "wasm", "vm", "data", "agent"

// The actions a capability token can carry (DESIGN.md §3).
enum class Action { kRead, kWrite, kExecute, kMessage, kDelete, kAdmin };
std::string_view ActionName(Action action);  // "read", "write", …
// Exact, lowercase names only. Error: InvalidArgument, reason `unknown_action`.
Result<Action> ParseAction(std::string_view name);

// One requested scope. `resource` is a URI (localhost://, elastos:// or https://), exact or a
// prefix pattern ending in `/*`.
struct Permission {
  std::string resource;
  std::vector<Action> actions;  // empty = all actions the shell is willing to grant
  bool operator==(const Permission&) const = default;
};

struct ResourceLimits {
  std::optional<std::uint64_t> memory_mb, cpu_ms, wall_ms, fuel, output_mb, storage_mb;
  std::optional<bool> network;
  // Reference fields that are accepted and kept (so ToJson round-trips) but not enforced.
  std::optional<std::uint64_t> cpu_shares;
  std::optional<bool> gpu;
  // Names of the requested limits the runtime does not enforce ("cpu_shares", "gpu"), for
  // `capsule inspect` and launch logs to report.
  std::vector<std::string> not_enforced;
  bool operator==(const ResourceLimits&) const = default;
};

enum class DependencyKind {
  kCapsule,
  kExternal
};  // external = a host component (reference `requires`)
std::string_view DependencyKindName(DependencyKind kind);  // "capsule", "external"

struct Dependency {
  std::string name;
  std::optional<std::string> version;  // an exact semantic version
  std::optional<std::string> cid;      // a CIDv0 or CIDv1 string (shape checked, not resolved)
  DependencyKind kind = DependencyKind::kCapsule;
  bool operator==(const Dependency&) const = default;
};

struct MicrovmConfig {
  std::optional<std::uint32_t> vcpus;
  std::optional<std::string> kernel;     // relative path inside the capsule
  std::optional<std::string> boot_args;  // extra kernel parameters; `elastos.*` ones are reserved
  // Reference fields, accepted and kept; whether they are honoured is up to the microVM bridge.
  std::optional<std::uint16_t> http_port;
  std::optional<std::string> rootfs_cid, kernel_cid;
  std::optional<std::uint64_t> rootfs_size, persistent_storage_mb;
  bool operator==(const MicrovmConfig&) const = default;
};

struct CapsuleManifest {
  std::string name, version;
  CapsuleType type = CapsuleType::kWasm;
  std::string entry;  // empty only for data capsules without one
  std::optional<std::string> description, author, provides, viewer;
  std::vector<Permission> permissions;
  ResourceLimits limits;
  std::optional<MicrovmConfig> microvm;
  std::vector<Dependency> dependencies;
  std::map<std::string, std::string> providers;  // URI scheme → source (reference data capsules)
  // Things accepted but ignored or mapped loosely (e.g. a legacy `signature`); not part of the
  // manifest's meaning, so neither ToJson() nor operator== looks at them.
  std::vector<std::string> warnings;

  // Parses and validates `json_text`. Error: InvalidArgument / `manifest_invalid`.
  static Result<CapsuleManifest> Parse(std::string_view json_text);
  // Canonical form: seed field names, fixed field order, 2-space indent, no trailing newline.
  // Parse(ToJson()) yields a manifest equal to *this.
  std::string ToJson() const;

  bool operator==(const CapsuleManifest& other) const;
};

// [a-z0-9][a-z0-9._-]{0,63}
bool IsValidCapsuleName(std::string_view name);
// Semantic Versioning 2.0.0: MAJOR.MINOR.PATCH[-prerelease][+build], no leading zeros in numeric
// identifiers, at most 128 characters.
bool IsValidSemver(std::string_view version);
// A relative path that stays inside the directory it is joined to: not empty, not absolute, no
// `\`, no NUL or other control characters, no empty, `.` or `..` segments.
bool IsSafeRelativePath(std::string_view path);

}  // namespace elastos
