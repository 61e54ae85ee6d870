// LoadAot (compute/engine.h): runs an object built by AotCache inside the worker.
//
// The object's WASI import thunks are compiled into it (aot_abi.h) and reach the host through one
// callback, so the worker needs no per-import symbols. What the object does resolve against the
// worker executable are wasm2c's runtime (wabt's libwasm-rt-impl: trap, memory and table
// functions) and `elastos_guest_interrupt`; the worker must be linked with ENABLE_EXPORTS
// (-rdynamic) for that, which LoadAot checks up front.
//
// Run the guest on the thread that will handle its faults: wasm-rt's SIGSEGV handler turns a
// guard-page fault into a trap by siglongjmp to the wasm_rt_impl_try() in Run. We classify a
// fault next to the faulting thread's stack pointer as stack exhaustion ourselves, so this works
// on the main thread and on pthreads alike (wasm-rt alone reports a pthread's PROT_NONE guard
// page as out-of-bounds).
//
// wasm-rt's state is process-global (one trap jmp_buf, one signal handler), so at most one AOT
// engine exists per process at a time.
#include <dlfcn.h>
#include <signal.h>
#include <sys/ucontext.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <cstdlib>
#include <mutex>
#include <new>

#include "compute/aot/aot_abi.h"
#include "compute/engine.h"

// wasm-rt-impl.h is not installed under /usr/include; CMake adds /usr/share/wabt/wasm2c. It
// gives wasm_rt_impl_try(), which must be expanded in the frame that stays live while the guest
// runs (AotEngine::Execute).
#include <wasm-rt-impl.h>

namespace elastos::compute {
namespace {

constexpr std::uint32_t kWasmPageBytes = 65536;
// wasm-rt 1.0.32 keeps a memory's byte size in a uint32_t, which wraps to 0 at 65536 pages (and
// then every bulk-memory bounds check misfires). Capping one page short keeps it exact.
constexpr std::uint32_t kMaxCapPages = 65535;
// A fault this close to the stack pointer is the stack running into its guard: a call pushes at
// sp-8, and -fstack-clash-protection probes each new page of a frame at or just above sp. Guest
// memory (its own 8 GiB reservation) and host data are never that close to a thread's sp.
constexpr std::uintptr_t kStackFaultBelow = 256 * 1024;
constexpr std::uintptr_t kStackFaultAbove = 64 * 1024;

std::atomic<bool> g_engine_live{false};
// Set while guest code (or a host call made from it) is on the stack, i.e. while a trap has a
// live wasm_rt_impl_try() to return to, together with the thread that runs it.
volatile sig_atomic_t g_guest_running = 0;
volatile pid_t g_guest_tid = 0;

struct sigaction g_wasm_rt_segv_action;  // wasm-rt's handler, to which other faults go
struct sigaction g_wasm_rt_bus_action;

std::uintptr_t StackPointer(void* context) {
  const auto* uc = static_cast<const ucontext_t*>(context);
#if defined(__x86_64__)
  return static_cast<std::uintptr_t>(uc->uc_mcontext.gregs[REG_RSP]);
#elif defined(__aarch64__)
  return static_cast<std::uintptr_t>(uc->uc_mcontext.sp);
#else
#error "StackPointer: unsupported architecture"
#endif
}

void FaultHandler(int sig, siginfo_t* info, void* context) {
  if (!g_guest_running || ::gettid() != g_guest_tid) {
    // A fault in the worker itself, outside the guest or on another thread (the watchdog):
    // there is no trap frame to return to. Restore the default action and let the fault happen
    // again, so the worker dies of it visibly instead of jumping into a dead or foreign frame.
    ::signal(sig, SIG_DFL);
    return;
  }
  const auto addr = reinterpret_cast<std::uintptr_t>(info->si_addr);
  const std::uintptr_t sp = StackPointer(context);
  if (addr + kStackFaultBelow >= sp && addr <= sp + kStackFaultAbove) {
    wasm_rt_trap(WASM_RT_TRAP_EXHAUSTION);
  }
  const struct sigaction& next = sig == SIGBUS ? g_wasm_rt_bus_action : g_wasm_rt_segv_action;
  next.sa_sigaction(sig, info, context);
}

// wasm_rt_init() installs wasm-rt's SIGSEGV/SIGBUS handler and an alternate signal stack for the
// calling thread. We put our classifier in front of its handler, once per process.
Status InitRuntimeOnce() {
  static std::once_flag once;
  static Status status;
  std::call_once(once, [] {
    wasm_rt_init();
    struct sigaction ours {};
    if (::sigaction(SIGSEGV, nullptr, &g_wasm_rt_segv_action) != 0 ||
        ::sigaction(SIGBUS, nullptr, &g_wasm_rt_bus_action) != 0 ||
        (g_wasm_rt_segv_action.sa_flags & SA_SIGINFO) == 0) {
      status = Internal("aot_runtime_init_failed", "wasm-rt did not install its fault handler");
      return;
    }
    ours.sa_sigaction = FaultHandler;
    ours.sa_flags = SA_SIGINFO | SA_ONSTACK;
    sigemptyset(&ours.sa_mask);
    if (::sigaction(SIGSEGV, &ours, nullptr) != 0 || ::sigaction(SIGBUS, &ours, nullptr) != 0) {
      status = Internal("aot_runtime_init_failed", "could not install the fault classifier");
    }
  });
  return status;
}

// A fault handler needs an alternate stack when the fault is the stack overflowing. wasm_rt_init
// gives one only to the thread that called it; Run may be on another.
void EnsureSignalStack() {
  stack_t current;
  if (::sigaltstack(nullptr, &current) == 0 && (current.ss_flags & SS_DISABLE) == 0) return;
  static thread_local std::unique_ptr<char[]> stack;
  const std::size_t size =
      std::max<std::size_t>(static_cast<std::size_t>(::sysconf(_SC_SIGSTKSZ)), 64 * 1024);
  stack = std::make_unique<char[]>(size);
  stack_t ss{};
  ss.ss_sp = stack.get();
  ss.ss_size = size;
  ::sigaltstack(&ss, nullptr);
}

struct ObjectSymbols {
  const std::uint32_t* abi_version = nullptr;
  const elastos_aot_module_info_t* module_info = nullptr;
  elastos_aot_instantiate_fn instantiate = nullptr;
  elastos_aot_start_fn start = nullptr;
  elastos_aot_memory_fn memory = nullptr;
  elastos_aot_grow_refused_fn grow_refused = nullptr;
  elastos_aot_free_fn free = nullptr;
};

const char* TrapReason(int trap) {
  switch (trap) {
    case WASM_RT_TRAP_OOB:
      return "trap_out_of_bounds";
    case WASM_RT_TRAP_EXHAUSTION:
      return "trap_stack_exhausted";
    case WASM_RT_TRAP_UNREACHABLE:
      return "trap_unreachable";
    case WASM_RT_TRAP_DIV_BY_ZERO:
      return "trap_divide_by_zero";
    case WASM_RT_TRAP_INT_OVERFLOW:
      return "trap_integer_overflow";
    case WASM_RT_TRAP_INVALID_CONVERSION:
      return "trap_invalid_conversion";
    case WASM_RT_TRAP_CALL_INDIRECT:
      return "trap_indirect_call";
    default:
      return "trap_other";
  }
}

class AotEngine final : public Engine {
 public:
  AotEngine(void* handle, ObjectSymbols symbols, std::uint32_t cap_pages)
      : handle_(handle), sym_(symbols), cap_pages_(cap_pages) {
    bridge_.call = &AotEngine::HostCall;
    bridge_.ctx = this;
  }
  ~AotEngine() override {
    sym_.free();
    ::dlclose(handle_);
    g_engine_live.store(false);
  }
  AotEngine(const AotEngine&) = delete;
  AotEngine& operator=(const AotEngine&) = delete;

  Outcome Run(wasi::Host& host) override;
  std::string_view tier() const override { return "aot"; }
  std::uint64_t memory_pages() const override { return pages_; }
  std::optional<std::uint64_t> fuel_used() const override { return std::nullopt; }

 private:
  static std::uint32_t HostCall(void* ctx, std::uint32_t fn, const std::uint64_t* args,
                                std::uint32_t nargs, int* stop) noexcept;
  // The guest part of Run, kept free of objects with destructors: a trap longjmps into it.
  int Execute();
  Outcome Classify(int trap, wasi::Host& host);

  void* handle_;
  ObjectSymbols sym_;
  std::uint32_t cap_pages_;
  elastos_aot_host_t bridge_{};
  wasi::Host* host_ = nullptr;
  bool ran_ = false;
  std::uint64_t pages_ = 0;
  int instantiate_result_ = -1;  // -1 until instantiation returned
  const char* host_failure_ = nullptr;
};

std::uint32_t AotEngine::HostCall(void* ctx, std::uint32_t fn, const std::uint64_t* args,
                                  std::uint32_t nargs, int* stop) noexcept {
  auto* self = static_cast<AotEngine*>(ctx);
  constexpr std::uint32_t kEnosys = 52, kEio = 29;
  // The thunk and the table were generated from the same wasi::Functions(); a disagreement means
  // an object built against another table: never pass such arguments to the host.
  if (fn >= static_cast<std::uint32_t>(wasi::kFunctionCount) ||
      nargs != wasi::Functions()[fn].params.size()) {
    self->host_failure_ = "the object called a WASI function with the wrong arity";
    *stop = 1;
    return kEnosys;
  }
  const elastos_aot_memory_view_t view = self->sym_.memory();
  std::uint32_t result;
  try {
    result = self->host_->Call(static_cast<wasi::Function>(fn), args,
                               wasi::Memory{view.data, view.size});
  } catch (const std::bad_alloc&) {
    self->host_failure_ = "the host ran out of memory";
    *stop = 1;
    return kEio;
  } catch (...) {
    // Nothing may unwind through the guest's C frames.
    self->host_failure_ = "the host failed with an exception";
    *stop = 1;
    return kEio;
  }
  if (self->host_->finished() || PendingInterrupt() != InterruptReason::kNone) *stop = 1;
  return result;
}

int AotEngine::Execute() {
  const int trap = wasm_rt_impl_try();
  if (trap == 0) {
    g_guest_tid = ::gettid();
    g_guest_running = 1;
    instantiate_result_ = sym_.instantiate(&bridge_, cap_pages_);
    if (instantiate_result_ == ELASTOS_AOT_OK) sym_.start();
  }
  g_guest_running = 0;
  return trap;
}

Outcome AotEngine::Run(wasi::Host& host) {
  if (ran_)
    return MakeOutcome(OutcomeKind::kRefused, "engine_reused", "an AOT engine runs its guest once");
  ran_ = true;
  host_ = &host;
  EnsureSignalStack();
  const int trap = Execute();
  pages_ = sym_.memory().pages;
  return Classify(trap, host);
}

// Same order and vocabulary as the interpreter tier (compute/interp), so a guest's outcome does not
// depend on the tier that ran it.
Outcome AotEngine::Classify(int trap, wasi::Host& host) {
  if (instantiate_result_ == ELASTOS_AOT_ERR_BUSY) {
    return MakeOutcome(OutcomeKind::kRefused, "aot_busy", "the AOT object already holds an instance");
  }
  if (instantiate_result_ == ELASTOS_AOT_ERR_NO_MEMORY_HOOK) {
    return MakeOutcome(OutcomeKind::kRefused, "aot_memory_hook_missing",
                "the object's memory bypassed the cap hook; refusing to run it");
  }
  if (host_failure_ != nullptr) return MakeOutcome(OutcomeKind::kTrap, "trap_other", host_failure_);
  // A limit the host enforced ends the run as that limit.
  if (host.finished() && !host.fatal().ok()) {
    return MakeOutcome(OutcomeKind::kLimit, host.fatal().reason(), host.fatal().message());
  }
  // An interrupt that is pending counts whatever the guest did last: blocking host calls end with
  // EINTR once it is set, so a return, an error exit or a trap after it happened because the
  // limit passed. (Our polls trap with "unreachable", which is covered here too.)
  if (std::optional<Outcome> limit = InterruptOutcome()) return *limit;
  if (trap == WASM_RT_TRAP_NONE) {
    return MakeOutcome(OutcomeKind::kExited, "exited", "the guest returned from _start");
  }
  const Outcome outcome =
      host.finished()
          // proc_exit's code is a u32; the report keeps it as an int (two's complement >= 2^31).
          ? MakeOutcome(OutcomeKind::kExited, "exited",
                 "the guest called proc_exit(" + std::to_string(host.exit_code()) + ")",
                 static_cast<int>(host.exit_code()))
          : MakeOutcome(OutcomeKind::kTrap, TrapReason(trap),
                 std::string("the guest trapped: ") +
                     wasm_rt_strerror(static_cast<wasm_rt_trap_t>(trap)));
  // A guest that fails right after the cap refused it memory (malloc returned NULL and it exited
  // 1, or aborted) failed because of the cap. One that copes and exits 0 succeeded.
  const bool failed = outcome.kind == OutcomeKind::kTrap || outcome.exit_code != 0;
  if (failed && sym_.grow_refused() != 0) {
    const std::uint64_t bytes = std::uint64_t{cap_pages_} * kWasmPageBytes;
    return MakeOutcome(OutcomeKind::kLimit, "memory_limit",
                "the guest failed after its memory reached the cap; its memory cap is " +
                    (bytes % (1u << 20) == 0 ? std::to_string(bytes >> 20) + " MiB"
                                             : std::to_string(bytes >> 10) + " KiB") +
                    " (" + std::to_string(cap_pages_) + " pages); raise resource_limits.memory_mb");
  }
  return outcome;
}

template <typename T>
Status Resolve(void* handle, const char* name, T& out) {
  void* sym = ::dlsym(handle, name);
  if (sym == nullptr) {
    return FailedPrecondition("aot_abi_mismatch",
                              std::string("the AOT object lacks ") + name + "; rebuild it");
  }
  out = reinterpret_cast<T>(sym);
  return OkStatus();
}

}  // namespace

Result<std::unique_ptr<Engine>> LoadAot(const std::string& object_path,
                                        const EngineOptions& options) {
  // Running a metered guest unmetered would lift its limit silently.
  if (options.fuel) {
    return InvalidArgument("fuel_unsupported",
                           "the AOT tier cannot count fuel; run metered guests on the interpreter");
  }
  // The object's undefined symbols resolve against this executable. Check for them here to give
  // the fix instead of dlopen's "undefined symbol".
  if (::dlsym(RTLD_DEFAULT, "wasm_rt_trap") == nullptr ||
      ::dlsym(RTLD_DEFAULT, "elastos_guest_interrupt") == nullptr) {
    return FailedPrecondition(
        "aot_runtime_not_exported",
        "this executable does not export wasm-rt and elastos_guest_interrupt; "
        "link it with ENABLE_EXPORTS (-rdynamic)");
  }
  if (g_engine_live.exchange(true)) {
    return FailedPrecondition("aot_engine_busy", "an AOT engine already exists in this process");
  }
  struct LiveGuard {
    bool armed = true;
    ~LiveGuard() {
      if (armed) g_engine_live.store(false);
    }
  } live;

  ELASTOS_RETURN_IF_ERROR(InitRuntimeOnce());
  void* handle = ::dlopen(object_path.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (handle == nullptr) {
    const char* err = ::dlerror();
    return FailedPrecondition("aot_load_failed", err != nullptr ? err : "dlopen failed");
  }
  ObjectSymbols sym;
  Status s = Resolve(handle, ELASTOS_AOT_SYM_ABI_VERSION, sym.abi_version);
  if (s.ok() && *sym.abi_version != ELASTOS_AOT_ABI_VERSION) {
    s = FailedPrecondition("aot_abi_mismatch",
                           "the AOT object has ABI version " + std::to_string(*sym.abi_version) +
                               ", this worker speaks " + std::to_string(ELASTOS_AOT_ABI_VERSION));
  }
  if (s.ok()) s = Resolve(handle, ELASTOS_AOT_SYM_MODULE_INFO, sym.module_info);
  if (s.ok()) s = Resolve(handle, ELASTOS_AOT_SYM_INSTANTIATE, sym.instantiate);
  if (s.ok()) s = Resolve(handle, ELASTOS_AOT_SYM_START, sym.start);
  if (s.ok()) s = Resolve(handle, ELASTOS_AOT_SYM_MEMORY, sym.memory);
  if (s.ok()) s = Resolve(handle, ELASTOS_AOT_SYM_GROW_REFUSED, sym.grow_refused);
  if (s.ok()) s = Resolve(handle, ELASTOS_AOT_SYM_FREE, sym.free);

  const std::uint32_t cap = std::min(options.max_memory_pages, kMaxCapPages);
  if (s.ok() && sym.module_info->has_memory && sym.module_info->initial_pages > cap) {
    s = InvalidArgument("memory_too_large",
                        "the module needs " + std::to_string(sym.module_info->initial_pages) +
                            " pages of memory at start; the cap is " + std::to_string(cap));
  }
  if (!s.ok()) {
    ::dlclose(handle);
    return s;
  }
  live.armed = false;
  return std::unique_ptr<Engine>(std::make_unique<AotEngine>(handle, sym, cap));
}

}  // namespace elastos::compute
