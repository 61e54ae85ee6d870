// The interpreter tier: LoadInterpreter (compute/engine.h) on the WABT 1.0.32 interpreter.
//
// Compiled as C++17 (see CMakeLists.txt): WABT's interp headers do not compile with g++ 12 in
// C++20 mode (research/wasm-engines.md).
//
// Why this file reaches into four private WABT members. WABT's public API runs a function to
// completion with no hook, and it gives no way to see a refused memory.grow. We need:
//   * Thread::PushCall + Thread::Run(n): exact fuel and interrupt checks between slices;
//   * Thread::frames_: the call-depth limit is the capacity the Thread reserves (1638 frames by
//     default, far below what native code allows), so we reserve our own before the first call;
//   * Istream::data_ and Instance::funcs_: every `memory.grow` in the compiled code is rewritten
//     into a call of our own host function (same encoding size, same instruction count), which
//     grows the memory itself and therefore knows when, and by how much, the cap refused a grow;
//   * Memory::data_: linear memory is a std::vector, whose growth by doubling would briefly hold
//     old + 2x new bytes; reserving the capped size once keeps the host footprint at the cap.
// The members are named through the explicit-instantiation rule (legal C++, no `#define private`),
// and the static_assert below pins the WABT version whose internals this was checked against.
#include <wabt/binary-reader.h>
#include <wabt/config.h>
#include <wabt/error.h>
#include <wabt/feature.h>
#include <wabt/interp/binary-reader-interp.h>
#include <wabt/interp/interp.h>
#include <wabt/opcode.h>

#include <algorithm>
#include <cstring>
#include <exception>
#include <limits>
#include <new>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "compute/engine.h"
#include "compute/wasi/wasi.h"

namespace elastos::compute {
namespace {

namespace wi = wabt::interp;

constexpr bool SameText(const char* a, const char* b) {
  for (; *a != '\0' && *a == *b; ++a, ++b) {
  }
  return *a == *b;
}
static_assert(SameText(WABT_VERSION_STRING, "1.0.32"),
              "interp_engine.cc relies on WABT 1.0.32 internals (Thread::PushCall, frames_, "
              "Istream::data_, Instance::funcs_, Memory::data_); re-audit them before upgrading");

// ---- Named access to private WABT members (see the file comment) ----

template <typename Tag, typename Tag::type kMember>
struct PrivateMember {
  friend typename Tag::type Get(Tag) { return kMember; }
};

struct ThreadPushCall {
  using type = wi::RunResult (wi::Thread::*)(const wi::DefinedFunc&, wi::Trap::Ptr*);
  friend type Get(ThreadPushCall);
};
template struct PrivateMember<ThreadPushCall, &wi::Thread::PushCall>;

struct ThreadFrames {
  using type = std::vector<wi::Frame> wi::Thread::*;
  friend type Get(ThreadFrames);
};
template struct PrivateMember<ThreadFrames, &wi::Thread::frames_>;

struct IstreamData {
  using type = wi::Buffer wi::Istream::*;
  friend type Get(IstreamData);
};
template struct PrivateMember<IstreamData, &wi::Istream::data_>;

struct InstanceFuncs {
  using type = wi::RefVec wi::Instance::*;
  friend type Get(InstanceFuncs);
};
template struct PrivateMember<InstanceFuncs, &wi::Instance::funcs_>;

struct MemoryData {
  using type = wi::Buffer wi::Memory::*;
  friend type Get(MemoryData);
};
template struct PrivateMember<MemoryData, &wi::Memory::data_>;

// ---- Limits ----

constexpr std::uint64_t kPageBytes = 65536;
constexpr std::uint32_t kMaxPages32 = 65536;  // a 32-bit memory addresses at most 4 GiB
// Instructions per Thread::Run slice: the interrupt flag is polled between slices, so this is the
// interrupt latency (about 0.1 ms at the interpreter's ~120 M instructions/s) and the granularity
// at which fuel_used is charged.
constexpr int kSliceInstructions = 10'000;
// Call depth. Each frame's locals live on WABT's value stack (16 bytes per value), so the depth is
// also bounded by a value-stack budget: a module with huge frames gets fewer of them rather than
// letting recursion allocate gigabytes in the worker.
constexpr std::uint32_t kMaxCallDepth = 65'536;
constexpr std::uint32_t kMinCallDepth = 256;
constexpr std::uint64_t kValueStackBudget = 4u << 20;  // values (64 MiB)
constexpr std::uint64_t kOperandAllowance = 64;        // operand-stack values assumed per frame
// Locals per function. The binary format declares locals as (count, type) runs, so a few bytes can
// ask for 2^32 of them and WABT allocates the value stack for all at each call. 50 000 is the limit
// web engines enforce; compilers stay far below it.
constexpr std::uint64_t kMaxLocalsPerFunction = 50'000;
// Table elements (8-byte refs), for the same reason: a table's initial size is allocated whole at
// instantiation.
constexpr std::uint64_t kMaxTableElements = 1u << 20;

constexpr const char kWasiModule[] = "wasi_snapshot_preview1";
// The trap message our host functions use to unwind the guest after proc_exit or a fatal host
// limit; the engine then asks the host how the run ended.
constexpr const char kHostFinishedTrap[] = "elastos: the host ended the run";

std::string Mib(std::uint64_t pages) {
  std::uint64_t bytes = pages * kPageBytes;
  if (bytes % (1u << 20) == 0) return std::to_string(bytes >> 20) + " MiB";
  return std::to_string(bytes >> 10) + " KiB";
}

// The core-wasm signature of an import as FunctionInfo spells it: 'i'/'I' per parameter.
std::optional<std::string> ParamLetters(const wi::ValueTypes& types) {
  std::string letters;
  for (const wabt::Type& type : types) {
    if (type == wabt::Type::I32) {
      letters += 'i';
    } else if (type == wabt::Type::I64) {
      letters += 'I';
    } else {
      return std::nullopt;
    }
  }
  return letters;
}

std::string DescribeSignature(const wi::FuncType& type) {
  std::string out = "(";
  for (std::size_t i = 0; i < type.params.size(); ++i) {
    out += (i ? ", " : "") + wi::GetName(type.params[i]);
  }
  out += ") -> (";
  for (std::size_t i = 0; i < type.results.size(); ++i) {
    out += (i ? ", " : "") + wi::GetName(type.results[i]);
  }
  return out + ")";
}

std::string DescribeSignature(const wasi::FunctionInfo& info) {
  std::string out = "(";
  for (std::size_t i = 0; i < info.params.size(); ++i) {
    out += i ? ", " : "";
    out += info.params[i] == 'I' ? "i64" : "i32";
  }
  return out + (info.returns_errno ? ") -> (i32)" : ") -> ()");
}

// Maps WABT's trap text onto the stable reasons of Outcome. WABT 1.0.32's messages: "out of bounds
// memory access: …" (loads, stores, memory.fill/copy/init, data segments), "out of bounds table
// access: …", "call stack exhausted", "unreachable executed", "integer divide by zero", "integer
// overflow", "invalid conversion to integer", "indirect call signature mismatch", "undefined table
// index", "uninitialized table element". Table bounds go with memory bounds as wasm2c does, so both
// tiers give the same reason.
const char* TrapReason(const std::string& message) {
  struct Rule {
    const char* text;
    const char* reason;
  };
  static constexpr Rule kRules[] = {
      {"out of bounds memory access", "trap_out_of_bounds"},
      {"out of bounds table access", "trap_out_of_bounds"},
      {"stack exhausted", "trap_stack_exhausted"},
      {"unreachable", "trap_unreachable"},
      {"integer divide by zero", "trap_divide_by_zero"},
      {"integer overflow", "trap_integer_overflow"},
      {"invalid conversion", "trap_invalid_conversion"},
      {"indirect call", "trap_indirect_call"},
      {"undefined table index", "trap_indirect_call"},
      {"uninitialized table element", "trap_indirect_call"},
  };
  for (const Rule& rule : kRules) {
    if (message.find(rule.text) != std::string::npos) return rule.reason;
  }
  return "trap_other";
}

Status Refuse(const char* reason, std::string message) {
  return InvalidArgument(reason, std::move(message));
}

// What LoadInterpreter learned about the module and kept for Run.
struct LoadedModule {
  wi::ModuleDesc desc;
  std::vector<const wasi::FunctionInfo*> imports;  // one per import, all functions
  wi::Index start_export = 0;                      // index into desc.exports of `_start`
  std::optional<wi::Index> start_section;          // function index of the start section
  std::uint32_t memory_cap_pages = 0;              // the cap actually applied
  std::uint32_t module_max_pages = kMaxPages32;    // what the module itself allows
  bool has_memory = false;
  std::uint32_t call_depth = kMinCallDepth;
  // Index the memory.grow host function takes in the instance's function space; nullopt if the
  // module has no memory or its code could not be patched (RedirectMemoryGrow).
  std::optional<wi::Index> grow_hook_index;
};

Status CheckImports(LoadedModule& m) {
  for (const wi::ImportDesc& import : m.desc.imports) {
    const wi::ImportType& type = import.type;
    std::string name = type.module + "." + type.name;
    // Threat: a module that imports anything we do not implement ourselves would get it from
    // nowhere (instantiation fails) or, worse, from a future binding we add by accident. Only the
    // WASI functions the host implements, with their exact core types, are linkable.
    if (type.type->kind != wabt::ExternalKind::Func) {
      return Refuse("unknown_import",
                    "the module imports " + name + " (a " + wi::GetName(type.type->kind) +
                        "); only wasi_snapshot_preview1 functions can be imported");
    }
    const wasi::FunctionInfo* info = type.module == kWasiModule ? wasi::Lookup(type.name) : nullptr;
    if (info == nullptr) {
      return Refuse("unknown_import", "the module imports " + name +
                                          ", which the runtime does not provide (only "
                                          "wasi_snapshot_preview1 functions can be imported)");
    }
    const auto& func = *wabt::cast<wi::FuncType>(type.type.get());
    std::optional<std::string> letters = ParamLetters(func.params);
    bool results_match = info->returns_errno
                             ? func.results.size() == 1 && func.results[0] == wabt::Type::I32
                             : func.results.empty();
    if (!letters || *letters != info->params || !results_match) {
      return Refuse("import_signature", "the module imports " + name + " as " +
                                            DescribeSignature(func) + ", but WASI defines it as " +
                                            DescribeSignature(*info));
    }
    m.imports.push_back(info);
  }
  return OkStatus();
}

Status CheckMemoryAndTables(LoadedModule& m, std::uint32_t cap) {
  m.memory_cap_pages = cap;
  if (m.desc.memories.size() > 1) {
    return Refuse("module_invalid", "the module declares more than one memory");
  }
  for (wi::MemoryDesc& memory : m.desc.memories) {
    wabt::Limits& limits = memory.type.limits;
    if (limits.is_64 || limits.is_shared) {
      return Refuse("module_invalid", "64-bit and shared memories are not supported");
    }
    m.has_memory = true;
    if (limits.has_max) m.module_max_pages = static_cast<std::uint32_t>(limits.max);
    if (limits.initial > cap) {
      return Refuse("memory_too_large", "the module's initial memory is " +
                                            std::to_string(limits.initial) + " pages (" +
                                            Mib(limits.initial) + "), above the cap of " +
                                            std::to_string(cap) + " pages (" + Mib(cap) +
                                            "); raise resource_limits.memory_mb");
    }
    // The cap becomes the memory's declared maximum, so memory.grow past it fails inside the
    // guest (-1, a normal out-of-memory) instead of growing the worker.
    if (!limits.has_max || limits.max > cap) {
      limits.has_max = true;
      limits.max = cap;
    }
  }
  for (wi::TableDesc& table : m.desc.tables) {
    wabt::Limits& limits = table.type.limits;
    if (limits.initial > kMaxTableElements) {
      return Refuse("table_too_large",
                    "the module's table starts with " + std::to_string(limits.initial) +
                        " elements; the limit is " + std::to_string(kMaxTableElements));
    }
    if (!limits.has_max || limits.max > kMaxTableElements) {
      limits.has_max = true;
      limits.max = kMaxTableElements;
    }
  }
  return OkStatus();
}

Status CheckFunctions(LoadedModule& m) {
  std::uint64_t widest = 0;
  for (std::size_t i = 0; i < m.desc.funcs.size(); ++i) {
    const wi::FuncDesc& func = m.desc.funcs[i];
    std::uint64_t locals = 0;
    for (const wi::LocalDesc& run : func.locals) locals += run.count;
    if (locals > kMaxLocalsPerFunction) {
      return Refuse("module_invalid", "function " + std::to_string(m.imports.size() + i) +
                                          " declares " + std::to_string(locals) +
                                          " locals; the limit is " +
                                          std::to_string(kMaxLocalsPerFunction));
    }
    widest = std::max(widest, locals + func.type.params.size());
  }
  std::uint64_t depth = kValueStackBudget / (widest + kOperandAllowance);
  m.call_depth =
      static_cast<std::uint32_t>(std::clamp<std::uint64_t>(depth, kMinCallDepth, kMaxCallDepth));

  const wi::Index func_imports = static_cast<wi::Index>(m.imports.size());
  bool found = false;
  for (wi::Index i = 0; i < m.desc.exports.size(); ++i) {
    const wi::ExportDesc& exp = m.desc.exports[i];
    if (exp.type.name != "_start") continue;
    found = true;
    const bool is_func = exp.type.type->kind == wabt::ExternalKind::Func;
    const bool defined = is_func && exp.index >= func_imports;
    const wi::FuncDesc* func = defined ? &m.desc.funcs[exp.index - func_imports] : nullptr;
    if (func == nullptr || !func->type.params.empty() || !func->type.results.empty()) {
      return Refuse("no_start",
                    "the module's _start export must be a function defined in the module that "
                    "takes and returns nothing");
    }
    m.start_export = i;
  }
  if (!found) {
    return Refuse("no_start",
                  "the module exports no _start function (build it as a WASI command, e.g. "
                  "clang --target=wasm32-wasi)");
  }
  // The start section would run inside Instance::Instantiate, unmetered and before the grow hook
  // exists; Run calls it itself, through the same metered loop as _start.
  if (!m.desc.starts.empty()) {
    m.start_section = m.desc.starts.front().func_index;
    m.desc.starts.clear();
  }
  return OkStatus();
}

// Rewrites every `memory.grow` in the compiled code into a call of the host function that the
// instance will have at index `hook` (see the file comment). Both instructions are one opcode plus
// one u32 immediate, so no offsets move and the instruction count (fuel) is unchanged. Each patch
// is read back through WABT's own decoder; if the encoding is not what we expect, nothing is
// patched and the engine falls back to inferring cap refusals from the final memory size.
bool RedirectMemoryGrow(wi::Istream& istream, wi::Index hook) {
  std::vector<wi::Istream::Offset> sites;
  for (wi::Istream::Offset pc = 0; pc < istream.end();) {
    wi::Istream::Offset at = pc;
    if (istream.Read(&pc).op == wabt::Opcode::MemoryGrow) sites.push_back(at);
  }
  wi::Buffer& data = istream.*Get(IstreamData{});
  const wi::Buffer original = sites.empty() ? wi::Buffer() : data;
  for (wi::Istream::Offset at : sites) {
    wi::Istream::Offset next = at;
    istream.Read(&next);
    const auto opcode = static_cast<wi::Istream::SerializedOpcode>(wabt::Opcode::InterpCallImport);
    if (next - at != sizeof(opcode) + sizeof(hook)) {
      data = original;
      return false;
    }
    std::memcpy(&data[at], &opcode, sizeof(opcode));
    std::memcpy(&data[at + sizeof(opcode)], &hook, sizeof(hook));
    wi::Istream::Offset check = at;
    wi::Instr instr = istream.Read(&check);
    if (instr.op != wabt::Opcode::InterpCallImport || instr.imm_u32 != hook || check != next) {
      data = original;
      return false;
    }
  }
  return true;
}

class InterpEngine final : public Engine {
 public:
  InterpEngine(LoadedModule loaded, const EngineOptions& options)
      : loaded_(std::move(loaded)), options_(options) {}

  std::string_view tier() const override { return "interp"; }
  std::uint64_t memory_pages() const override { return memory_ ? memory_->PageSize() : 0; }
  std::optional<std::uint64_t> fuel_used() const override {
    return ran_ ? std::optional<std::uint64_t>(charged_) : std::nullopt;
  }

  Outcome Run(wasi::Host& host) override {
    if (ran_) {
      return MakeOutcome(OutcomeKind::kRefused, "engine_reused",
                         "an interpreter engine runs its module once");
    }
    ran_ = true;
    try {
      return RunGuest(host);
    } catch (const std::bad_alloc&) {
      // The worker's own allocation failed (value stack, tables, memory): the process memory
      // limit (cgroup or RLIMIT_AS) is what stopped it.
      return MakeOutcome(OutcomeKind::kLimit, "memory_limit",
                         "the worker's memory limit stopped the guest (its linear memory was at " +
                             std::to_string(memory_pages()) +
                             " pages); raise resource_limits.memory_mb");
    } catch (const std::exception& e) {
      // No exception may escape into the worker's report path; this one is our failure, not the
      // guest's.
      return MakeOutcome(OutcomeKind::kRefused, "internal",
                         std::string("the interpreter failed: ") + e.what());
    }
  }

 private:
  wabt::Features features_;
  LoadedModule loaded_;
  EngineOptions options_;
  bool ran_ = false;
  std::uint64_t charged_ = 0;
  // Declared before the references into it, so they are released first.
  std::optional<wi::Store> store_;
  wi::Module::Ptr module_;
  wi::Instance::Ptr instance_;
  std::vector<wi::HostFunc::Ptr> host_funcs_;
  wi::Memory* memory_ = nullptr;  // owned by store_, rooted through instance_
  // Set by the grow hook when the cap (not the module's own maximum) refused a memory.grow.
  bool cap_refused_grow_ = false;
  std::uint64_t refused_at_pages_ = 0, refused_delta_ = 0;

  wasi::Memory GuestMemory() {
    if (memory_ == nullptr) return {};
    return {memory_->UnsafeData(), memory_->ByteSize()};
  }

  Outcome MemoryLimitOutcome(const std::string& what) {
    std::string message = what + "; its memory cap is " + Mib(loaded_.memory_cap_pages) + " (" +
                          std::to_string(loaded_.memory_cap_pages) + " pages)";
    if (cap_refused_grow_) {
      message += ": memory.grow by " + std::to_string(refused_delta_) + " pages was refused at " +
                 std::to_string(refused_at_pages_) + " pages";
    }
    return MakeOutcome(OutcomeKind::kLimit, "memory_limit",
                       message + "; raise resource_limits.memory_mb");
  }

  wi::HostFunc::Ptr MakeWasiImport(wi::Store& store, const wi::FuncType& type,
                                   const wasi::FunctionInfo& info, wasi::Host& host) {
    const wasi::Function fn = info.function;
    const wi::ValueTypes params = type.params;
    return wi::HostFunc::New(
        store, type,
        [this, &host, fn, params](wi::Thread& thread, const wi::Values& args, wi::Values& results,
                                  wi::Trap::Ptr* out_trap) -> wabt::Result {
          // The widest WASI function (path_open) takes 9 arguments; CheckImports matched every
          // import against the table, so `params` is never longer.
          std::uint64_t raw[16] = {};
          for (std::size_t i = 0; i < params.size() && i < 16; ++i) {
            raw[i] = params[i] == wabt::Type::I64 ? args[i].Get<wi::u64>()
                                                  : std::uint64_t{args[i].Get<wi::u32>()};
          }
          std::uint32_t errno_value = host.Call(fn, raw, GuestMemory());
          if (host.finished()) {
            *out_trap = wi::Trap::New(thread.store(), kHostFinishedTrap);
            return wabt::Result::Error;
          }
          if (!results.empty()) results[0] = wi::Value::Make(errno_value);
          return wabt::Result::Ok;
        });
  }

  // What every `memory.grow` became (RedirectMemoryGrow): grows memory 0 and, on refusal, notes
  // whether our cap or the module's own maximum refused it.
  wi::HostFunc::Ptr MakeGrowHook(wi::Store& store) {
    wi::FuncType type({wabt::Type::I32}, {wabt::Type::I32});
    return wi::HostFunc::New(
        store, type,
        [this](wi::Thread&, const wi::Values& args, wi::Values& results,
               wi::Trap::Ptr*) -> wabt::Result {
          const std::uint64_t delta = args[0].Get<wi::u32>();
          const std::uint64_t old_pages = memory_->PageSize();
          if (wabt::Succeeded(memory_->Grow(delta))) {
            results[0] = wi::Value::Make(static_cast<wi::u32>(old_pages));
            return wabt::Result::Ok;
          }
          const std::uint64_t wanted = old_pages + delta;
          if (wanted > loaded_.memory_cap_pages && wanted <= loaded_.module_max_pages) {
            cap_refused_grow_ = true;
            refused_at_pages_ = old_pages;
            refused_delta_ = delta;
          }
          results[0] = wi::Value::Make(static_cast<wi::s32>(-1));
          return wabt::Result::Ok;
        });
  }

  Outcome TrapOutcome(const wi::Trap::Ptr& trap) {
    std::string text = trap ? trap->message() : std::string("unknown trap");
    return MakeOutcome(OutcomeKind::kTrap, TrapReason(text), "the guest trapped: " + text);
  }

  Outcome RunGuest(wasi::Host& host) {
    store_.emplace(features_);
    wi::Store& store = *store_;
    module_ = wi::Module::New(store, std::move(loaded_.desc));

    wi::RefVec imports;
    for (std::size_t i = 0; i < loaded_.imports.size(); ++i) {
      const auto& type = *wabt::cast<wi::FuncType>(module_->import_types()[i].type.get());
      host_funcs_.push_back(MakeWasiImport(store, type, *loaded_.imports[i], host));
      imports.push_back(host_funcs_.back().ref());
    }

    wi::Trap::Ptr trap;
    instance_ = wi::Instance::Instantiate(store, module_.ref(), imports, &trap);
    if (!instance_) return TrapOutcome(trap);  // e.g. a data segment out of bounds
    wi::Instance& instance = *instance_.get();

    if (loaded_.has_memory) {
      memory_ = store.UnsafeGet<wi::Memory>(instance.memories()[0]).get();
      // One allocation of the capped size: growth within it never copies (see file comment). If
      // the reservation itself fails, growth falls back to the vector's own doubling.
      std::uint64_t reserve =
          std::min<std::uint64_t>(loaded_.memory_cap_pages, loaded_.module_max_pages) * kPageBytes;
      try {
        (memory_->*Get(MemoryData{})).reserve(reserve);
      } catch (const std::exception&) {
      }
    }
    if (loaded_.grow_hook_index) {
      wi::RefVec& funcs = instance.*Get(InstanceFuncs{});
      if (funcs.size() != *loaded_.grow_hook_index) {
        return MakeOutcome(OutcomeKind::kRefused, "internal",
                           "the interpreter's function space is not laid out as expected");
      }
      host_funcs_.push_back(MakeGrowHook(store));
      funcs.push_back(host_funcs_.back().ref());
    }

    wi::Thread thread(store);
    // The depth limit is the frame vector's capacity (see file comment); no frame exists yet.
    (thread.*Get(ThreadFrames{})).reserve(loaded_.call_depth);

    std::vector<wi::DefinedFunc::Ptr> entry_points;
    if (loaded_.start_section) {
      entry_points.push_back(
          store.UnsafeGet<wi::DefinedFunc>(instance.funcs()[*loaded_.start_section]));
    }
    entry_points.push_back(
        store.UnsafeGet<wi::DefinedFunc>(instance.exports()[loaded_.start_export]));

    Outcome outcome = MakeOutcome(OutcomeKind::kExited, "", "");
    for (const wi::DefinedFunc::Ptr& func : entry_points) {
      outcome = RunToEnd(thread, *func, host);
      if (outcome.kind != OutcomeKind::kExited || !outcome.reason.empty()) break;
    }
    if (outcome.kind == OutcomeKind::kExited && outcome.reason.empty()) {
      outcome.reason = "exited";
      outcome.message = "the guest returned from _start";
    }
    return outcome;
  }

  // Runs one function to its end in fuel-metered slices. Returns kExited with an empty reason when
  // it simply returned (the caller decides what that means).
  Outcome RunToEnd(wi::Thread& thread, const wi::DefinedFunc& func, wasi::Host& host) {
    wi::Trap::Ptr trap;
    wi::RunResult result = (thread.*Get(ThreadPushCall{}))(func, &trap);
    while (result == wi::RunResult::Ok) {
      if (std::optional<Outcome> limit = InterruptOutcome()) return *limit;
      std::uint64_t slice = kSliceInstructions;
      if (options_.fuel) {
        std::uint64_t left = *options_.fuel - charged_;
        if (left == 0) {
          return MakeOutcome(OutcomeKind::kLimit, "fuel_exhausted",
                             "the guest executed its fuel of " + std::to_string(*options_.fuel) +
                                 " instructions; raise resource_limits.fuel");
        }
        slice = std::min(slice, left);
      }
      result = thread.Run(static_cast<int>(slice), &trap);
      charged_ += slice;
    }
    // A limit the host enforced ends the run as that limit.
    if (host.finished() && !host.fatal().ok()) {
      return MakeOutcome(OutcomeKind::kLimit, host.fatal().reason(), host.fatal().message());
    }
    // An interrupt that arrived during the last slice still counts: blocking host calls end with
    // EINTR once it is pending, so whatever the guest did next (return, exit with an error, trap)
    // happened because the limit passed.
    if (std::optional<Outcome> limit = InterruptOutcome()) return *limit;
    if (result == wi::RunResult::Return) return MakeOutcome(OutcomeKind::kExited, "", "");

    // A trap: either the guest called proc_exit or it trapped.
    // proc_exit's code is a u32; the report keeps it as an int (two's complement for >= 2^31).
    Outcome outcome =
        host.finished()
            ? MakeOutcome(OutcomeKind::kExited, "exited",
                          "the guest called proc_exit(" + std::to_string(host.exit_code()) + ")",
                          static_cast<int>(host.exit_code()))
            : TrapOutcome(trap);
    // A guest that fails right after the cap refused it memory failed because of the cap: say so,
    // with the fix. (A guest that copes with the refusal and exits 0 succeeded.)
    const bool failed = outcome.kind == OutcomeKind::kTrap ||
                        (outcome.kind == OutcomeKind::kExited && outcome.exit_code != 0);
    if (failed && CapRefusedGrow()) {
      return MemoryLimitOutcome("the guest failed after its memory reached the cap");
    }
    return outcome;
  }

  bool CapRefusedGrow() const {
    if (cap_refused_grow_) return true;
    // Without the grow hook (RedirectMemoryGrow declined), infer it: memory is at the cap and the
    // module itself would have allowed more.
    return !loaded_.grow_hook_index && memory_ != nullptr &&
           memory_->PageSize() >= loaded_.memory_cap_pages &&
           loaded_.memory_cap_pages < loaded_.module_max_pages;
  }
};

}  // namespace

Result<std::unique_ptr<Engine>> LoadInterpreter(const std::uint8_t* wasm, std::size_t size,
                                                const EngineOptions& options) {
  LoadedModule loaded;
  wabt::Features features;  // MVP + the finished proposals WABT enables by default
  wabt::Errors errors;
  // Validation is part of reading (WABT's SharedValidator); stop at the first error.
  wabt::ReadBinaryOptions read_options(features, nullptr, /*read_debug_names=*/false,
                                       /*stop_on_first_error=*/true,
                                       /*fail_on_custom_section_error=*/false);
  if (wabt::Failed(wabt::interp::ReadBinaryInterp("guest.wasm", wasm, size, read_options, &errors,
                                                  &loaded.desc))) {
    std::string detail = "unknown error";
    if (!errors.empty()) {
      detail = errors.front().message;
      if (errors.front().loc.offset != wabt::kInvalidOffset) {
        detail += " (at byte " + std::to_string(errors.front().loc.offset) + ")";
      }
    }
    return Refuse("module_invalid", "the module is not valid WebAssembly: " + detail);
  }

  const std::uint32_t cap = std::min(options.max_memory_pages, kMaxPages32);
  ELASTOS_RETURN_IF_ERROR(CheckImports(loaded));
  ELASTOS_RETURN_IF_ERROR(CheckMemoryAndTables(loaded, cap));
  ELASTOS_RETURN_IF_ERROR(CheckFunctions(loaded));

  if (loaded.has_memory) {
    const auto hook = static_cast<wi::Index>(loaded.imports.size() + loaded.desc.funcs.size());
    if (RedirectMemoryGrow(loaded.desc.istream, hook)) loaded.grow_hook_index = hook;
  }
  return std::unique_ptr<Engine>(std::make_unique<InterpEngine>(std::move(loaded), options));
}

}  // namespace elastos::compute
