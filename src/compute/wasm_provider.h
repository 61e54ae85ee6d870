// The WASM substrate: each instance is one `elastos-worker` process (fork+exec) that sandboxes
// itself and runs the guest on the interpreter or a compiled object (compute/worker).
//
// The runtime does not trust the worker to enforce its own limits: every instance has a
// wall-clock backstop here that SIGKILLs the worker a grace period after wall_ms, so a guest that
// escaped the in-process checks (or a wedged worker) still cannot outlive its limit.
//
// Thread-safety: a WasmProvider may be shared; each Instance is used from one thread, except
// Stop, which may be called from any thread.
#pragma once

#include <chrono>
#include <filesystem>
#include <memory>

#include "compute/compute_provider.h"

namespace elastos::compute {

struct WasmProviderOptions {
  std::filesystem::path worker;  // the elastos-worker executable
  // Time past wall_ms before the backstop kills the worker. The worker stops the guest itself at
  // wall_ms; the grace covers its reporting and a loaded machine.
  std::chrono::milliseconds backstop_grace{2000};
};

class WasmProvider final : public ComputeProvider {
 public:
  explicit WasmProvider(WasmProviderOptions options) : options_(std::move(options)) {}
  Result<std::unique_ptr<Instance>> Load(const LaunchConfig& config) override;

  // elastos-worker beside the running executable, or $ELASTOS_WORKER if set.
  static std::filesystem::path DefaultWorkerPath();

 private:
  WasmProviderOptions options_;
};

}  // namespace elastos::compute
