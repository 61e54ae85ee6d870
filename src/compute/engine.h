// What runs a WASM module inside the worker process. Two engines implement it: the WABT
// interpreter (instant start, exact fuel) and wasm2c objects compiled ahead of time (native speed).
// Both bind the module's imports to one wasi::Host and report the same outcomes, so a guest
// behaves identically on either tier.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "common/status.h"
#include "compute/wasi/wasi.h"

namespace elastos::compute {

// How a run ended, as the worker reports it and `elastos capsule run` maps it to exit codes
// (DESIGN.md §6): kExited passes the guest's code through, kLimit = 124, kRefused = 125,
// kTrap = 126.
enum class OutcomeKind { kExited, kLimit, kRefused, kTrap };

struct Outcome {
  OutcomeKind kind = OutcomeKind::kExited;
  int exit_code = 0;  // the guest's code for kExited
  // kExited: exited.
  // kLimit: wall_limit, cpu_limit, fuel_exhausted, memory_limit, output_limit, storage_limit.
  // kTrap: trap_out_of_bounds, trap_stack_exhausted, trap_unreachable, trap_divide_by_zero,
  //        trap_integer_overflow, trap_invalid_conversion, trap_indirect_call, trap_other.
  // kRefused: module_invalid, unknown_import, no_start, …
  std::string reason;
  std::string message;  // one line for a human
};

inline Outcome MakeOutcome(OutcomeKind kind, std::string reason, std::string message, int exit_code = 0) {
  Outcome o;
  o.kind = kind;
  o.exit_code = exit_code;
  o.reason = std::move(reason);
  o.message = std::move(message);
  return o;
}

// Why the run was interrupted from outside the guest (by the worker's watchdog or a signal).
enum class InterruptReason : int { kNone = 0, kWall = 1, kCpu = 2 };

struct EngineOptions {
  // Cap on linear memory, in 64 KiB pages; the guest's memory.grow past it returns -1 (a real OOM
  // inside the guest). A module whose initial memory exceeds it is refused.
  std::uint32_t max_memory_pages = 65536;
  // Exact instruction budget (interpreter tier only); nullopt = unmetered.
  std::optional<std::uint64_t> fuel;
};

// A worker runs one guest per process, so the interrupt flag is process-global: the watchdog
// thread and the SIGXCPU handler set it, AOT code polls it at loop heads (the generated C names the
// symbol directly, so it is a plain C int accessed with __atomic builtins), and the interpreter
// polls it between instruction slices.
extern "C" int elastos_guest_interrupt;  // an InterruptReason
// Async-signal-safe. The first reason wins.
void RequestInterrupt(InterruptReason reason);
InterruptReason PendingInterrupt();
// The limit outcome (wall_limit / cpu_limit) of a pending interrupt, the same on both tiers;
// nullopt when none is pending.
std::optional<Outcome> InterruptOutcome();

class Engine {
 public:
  virtual ~Engine() = default;
  // Instantiates the module with its imports bound to `host` and runs `_start`. Returns when the
  // guest returns, calls proc_exit, traps, hits a limit or is interrupted.
  virtual Outcome Run(wasi::Host& host) = 0;
  // "interp" or "aot".
  virtual std::string_view tier() const = 0;
  // Linear-memory pages at the end of the run (for the report); 0 before Run.
  virtual std::uint64_t memory_pages() const = 0;
  // Instructions executed (interpreter) — nullopt where not counted. The interpreter charges them
  // in slices of 10 000: exact when the fuel runs out or an interrupt stops the run between
  // slices; a run that ends inside a slice is charged the whole slice (deterministic).
  virtual std::optional<std::uint64_t> fuel_used() const = 0;
};

// Reads and validates `wasm` with WABT. Refuses (kRefused via Status reason module_invalid /
// unknown_import / import_signature / no_start / memory_too_large) a module that is malformed,
// imports anything but wasi_snapshot_preview1 functions with their exact signatures, has no
// `_start`, or whose initial memory exceeds the cap.
// (Pointer and size rather than std::span: the WABT adapter is compiled as C++17, see
// research/wasm-engines.md.)
Result<std::unique_ptr<Engine>> LoadInterpreter(const std::uint8_t* wasm, std::size_t size,
                                                const EngineOptions& options);

// Loads a wasm2c object built by AotCompiler (compute/aot) with dlopen. The caller has verified it.
Result<std::unique_ptr<Engine>> LoadAot(const std::string& object_path,
                                        const EngineOptions& options);

}  // namespace elastos::compute
