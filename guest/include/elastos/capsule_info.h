// elastos/capsule_info.h — who this capsule is, from the environment the runtime gives it.
//
// The runtime sets ELASTOS_CAPSULE_NAME (the manifest name), ELASTOS_CAPSULE_ID (this instance;
// the holder bound into its tokens) and ELASTOS_CARRIER_FDS ("in,out": the carrier descriptors,
// docs/protocol.md §1). These are facts for the capsule's own use; they are not credentials —
// the runtime knows which capsule is on which carrier without being told.
//
// Thread-safety: plain values; FromEnvironment reads the environment (not thread-safe against a
// concurrent setenv, like getenv itself).
#pragma once

#include <cstdlib>
#include <optional>
#include <string>
#include <string_view>

#include "elastos/error.h"

namespace elastos::sdk {

// Where the runtime preopens the capsule's private directory.
inline constexpr const char* kDataDir = "/data";

struct CarrierFds {
  int in = -1;   // responses from the runtime are read here
  int out = -1;  // requests to the runtime are written here
};

// Parses "in,out" (two non-negative decimal fds). Error: failed_precondition / bad_carrier_fds.
inline Result<CarrierFds> ParseCarrierFds(std::string_view spec) {
  auto bad = [&] {
    return MakeError(ErrorCode::kFailedPrecondition, "bad_carrier_fds",
                     "ELASTOS_CARRIER_FDS='" + std::string(spec) + "' is not of the form IN,OUT");
  };
  auto parse = [](std::string_view s, int* out) {
    if (s.empty() || s.size() > 9) return false;  // ≤ 9 digits cannot overflow int
    int v = 0;
    for (char c : s) {
      if (c < '0' || c > '9') return false;
      v = v * 10 + (c - '0');
    }
    *out = v;
    return true;
  };
  const std::size_t comma = spec.find(',');
  if (comma == std::string_view::npos) return bad();
  CarrierFds fds;
  if (!parse(spec.substr(0, comma), &fds.in) || !parse(spec.substr(comma + 1), &fds.out))
    return bad();
  return fds;
}

struct CapsuleInfo {
  std::string name;  // ELASTOS_CAPSULE_NAME; empty when not set
  std::string id;    // ELASTOS_CAPSULE_ID; empty when not set
  // ELASTOS_CARRIER_FDS as given; nullopt when the variable is absent (not under the runtime).
  std::optional<std::string> carrier_fds;

  // True when the runtime provided a carrier, i.e. RuntimeClient::Connect() can work.
  bool under_runtime() const { return carrier_fds.has_value(); }

  static CapsuleInfo FromEnvironment() {
    CapsuleInfo info;
    if (const char* v = std::getenv("ELASTOS_CAPSULE_NAME")) info.name = v;
    if (const char* v = std::getenv("ELASTOS_CAPSULE_ID")) info.id = v;
    if (const char* v = std::getenv("ELASTOS_CARRIER_FDS")) info.carrier_fds = std::string(v);
    return info;
  }
};

}  // namespace elastos::sdk
