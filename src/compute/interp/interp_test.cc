// The interpreter tier against small WAT guests (testdata/, compiled by wat2wasm at build time).
// The engine is tested alone: a recording WASI host stands in for wasi::Host::Create so output and
// host-side endings are observable without the filesystem.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cstring>
#include <fstream>
#include <iterator>
#include <string>
#include <thread>
#include <vector>

#include "compute/engine.h"
#include "compute/wasi/wasi.h"

namespace elastos::compute {
namespace {

std::vector<std::uint8_t> ReadGuest(const std::string& name) {
  std::ifstream in(std::string(ELASTOS_TEST_GUESTS) + "/" + name + ".wasm", std::ios::binary);
  EXPECT_TRUE(in.good()) << "missing test guest " << name;
  return {std::istreambuf_iterator<char>(in), {}};
}

// Implements the few WASI calls the test guests make; every other call answers ENOSYS.
class RecordingHost final : public wasi::Host {
 public:
  static constexpr std::uint32_t kEfault = 21, kEnosys = 52, kEbadf = 8;

  // Ends the run with resource_exhausted/output_limit once more than `limit` bytes were written.
  explicit RecordingHost(std::uint64_t output_limit = UINT64_MAX) : output_limit_(output_limit) {}

  std::uint32_t Call(wasi::Function fn, const std::uint64_t* args, wasi::Memory memory) override {
    ++calls_;
    switch (fn) {
      case wasi::Function::kProcExit:
        finished_ = true;
        exit_code_ = static_cast<std::uint32_t>(args[0]);
        return 0;
      case wasi::Function::kFdWrite:
        return FdWrite(args, memory);
      default:
        return kEnosys;
    }
  }
  bool finished() const override { return finished_; }
  std::uint32_t exit_code() const override { return exit_code_; }
  const Status& fatal() const override { return fatal_; }
  std::uint64_t output_bytes() const override { return output_.size(); }

  const std::string& output() const { return output_; }
  int calls() const { return calls_; }
  // Makes fd_write request a wall interrupt, as if the limit passed during the call.
  void InterruptOnWrite() { interrupt_on_write_ = true; }

 private:
  std::uint32_t FdWrite(const std::uint64_t* args, wasi::Memory memory) {
    if (interrupt_on_write_) RequestInterrupt(InterruptReason::kWall);
    if (args[0] != 1 && args[0] != 2) return kEbadf;
    const std::uint64_t iovs = args[1], count = args[2], nwritten = args[3];
    if (iovs + count * 8 > memory.size || nwritten + 4 > memory.size) return kEfault;
    std::uint32_t total = 0;
    for (std::uint64_t i = 0; i < count; ++i) {
      std::uint32_t buf, len;
      std::memcpy(&buf, memory.data + iovs + i * 8, 4);
      std::memcpy(&len, memory.data + iovs + i * 8 + 4, 4);
      if (std::uint64_t{buf} + len > memory.size) return kEfault;
      output_.append(reinterpret_cast<const char*>(memory.data + buf), len);
      total += len;
    }
    std::memcpy(memory.data + nwritten, &total, 4);
    if (output_.size() > output_limit_) {
      finished_ = true;
      fatal_ = ResourceExhausted("output_limit", "the guest wrote more than its output limit");
    }
    return 0;
  }

  std::uint64_t output_limit_;
  std::string output_;
  bool finished_ = false;
  std::uint32_t exit_code_ = 0;
  Status fatal_;
  int calls_ = 0;
  bool interrupt_on_write_ = false;
};

// The interrupt flag is process-global and latches its first reason; each test starts clear.
class InterpTest : public ::testing::Test {
 protected:
  void SetUp() override { __atomic_store_n(&elastos_guest_interrupt, 0, __ATOMIC_SEQ_CST); }
  void TearDown() override { __atomic_store_n(&elastos_guest_interrupt, 0, __ATOMIC_SEQ_CST); }

  static Outcome RunGuest(const std::string& name, EngineOptions options = {},
                          RecordingHost* host = nullptr, std::unique_ptr<Engine>* keep = nullptr) {
    std::vector<std::uint8_t> wasm = ReadGuest(name);
    auto engine = LoadInterpreter(wasm.data(), wasm.size(), options);
    EXPECT_TRUE(engine.ok()) << engine.status().ToString();
    if (!engine.ok()) return {};
    RecordingHost local;
    Outcome outcome = (*engine)->Run(host ? *host : local);
    if (keep) *keep = std::move(engine).value();
    return outcome;
  }

  static Status LoadStatus(const std::string& name, EngineOptions options = {}) {
    std::vector<std::uint8_t> wasm = ReadGuest(name);
    auto engine = LoadInterpreter(wasm.data(), wasm.size(), options);
    return engine.status();
  }
};

TEST_F(InterpTest, HelloWritesThroughFdWriteAndExitsZero) {
  RecordingHost host;
  std::unique_ptr<Engine> engine;
  Outcome outcome = RunGuest("hello", {}, &host, &engine);
  EXPECT_EQ(outcome.kind, OutcomeKind::kExited);
  EXPECT_EQ(outcome.exit_code, 0);
  EXPECT_EQ(host.output(), "hello\n");
  EXPECT_EQ(engine->tier(), "interp");
  EXPECT_EQ(engine->memory_pages(), 1u);
  ASSERT_TRUE(engine->fuel_used().has_value());
  EXPECT_GT(*engine->fuel_used(), 0u);
}

TEST_F(InterpTest, ProcExitCodePassesThroughAndStopsTheGuest) {
  Outcome outcome = RunGuest("exit42");
  EXPECT_EQ(outcome.kind, OutcomeKind::kExited);
  EXPECT_EQ(outcome.exit_code, 42);
  EXPECT_EQ(outcome.reason, "exited");  // not trap_unreachable: nothing ran after proc_exit
}

TEST_F(InterpTest, StartReturningIsExitZero) {
  Outcome outcome = RunGuest("empty");
  EXPECT_EQ(outcome.kind, OutcomeKind::kExited);
  EXPECT_EQ(outcome.exit_code, 0);
}

TEST_F(InterpTest, StartSectionRunsBeforeStart) {
  RecordingHost host;
  Outcome outcome = RunGuest("start_section", {}, &host);
  EXPECT_EQ(outcome.kind, OutcomeKind::kExited);
  EXPECT_EQ(host.output(), "start\nmain\n");
}

TEST_F(InterpTest, WallInterruptStopsAnInfiniteLoop) {
  std::thread watchdog([] {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    RequestInterrupt(InterruptReason::kWall);
  });
  auto started = std::chrono::steady_clock::now();
  Outcome outcome = RunGuest("spin");
  auto took = std::chrono::steady_clock::now() - started;
  watchdog.join();
  EXPECT_EQ(outcome.kind, OutcomeKind::kLimit);
  EXPECT_EQ(outcome.reason, "wall_limit");
  EXPECT_LT(took, std::chrono::seconds(10));  // it ends at all, even on a loaded machine
}

TEST_F(InterpTest, AnInterruptDuringTheLastHostCallStillEndsAsTheLimit) {
  // The WASI host ends blocking calls with EINTR once an interrupt is pending; a guest that then
  // returns at once did not finish on its own.
  RecordingHost host;
  host.InterruptOnWrite();
  Outcome outcome = RunGuest("hello", {}, &host);
  EXPECT_EQ(outcome.kind, OutcomeKind::kLimit);
  EXPECT_EQ(outcome.reason, "wall_limit");
}

TEST_F(InterpTest, CpuInterruptIsReportedAsCpuLimit) {
  RequestInterrupt(InterruptReason::kCpu);
  RequestInterrupt(InterruptReason::kWall);  // the first reason wins
  Outcome outcome = RunGuest("spin");
  EXPECT_EQ(outcome.kind, OutcomeKind::kLimit);
  EXPECT_EQ(outcome.reason, "cpu_limit");
}

TEST_F(InterpTest, FuelIsAnExactInstructionBudget) {
  // Find the smallest budget that completes the fixed loop; the limit is exact if one instruction
  // less runs out and the same budget always completes.
  auto completes = [](std::uint64_t fuel) {
    EngineOptions options;
    options.fuel = fuel;
    Outcome outcome = RunGuest("count", options);
    return outcome.kind == OutcomeKind::kExited;
  };
  std::uint64_t low = 1, high = 1'000'000;
  ASSERT_TRUE(completes(high));
  while (low < high) {
    std::uint64_t mid = low + (high - low) / 2;
    if (completes(mid)) {
      high = mid;
    } else {
      low = mid + 1;
    }
  }
  const std::uint64_t needed = low;
  EXPECT_GE(needed, 1000u * 4);  // at least four instructions per iteration
  EXPECT_LE(needed, 1000u * 12);
  EXPECT_TRUE(completes(needed));

  EngineOptions options;
  options.fuel = needed - 1;
  std::unique_ptr<Engine> engine;
  Outcome outcome = RunGuest("count", options, nullptr, &engine);
  EXPECT_EQ(outcome.kind, OutcomeKind::kLimit);
  EXPECT_EQ(outcome.reason, "fuel_exhausted");
  EXPECT_EQ(engine->fuel_used(), needed - 1);
}

TEST_F(InterpTest, FuelAlsoMetersAnInfiniteLoop) {
  EngineOptions options;
  options.fuel = 2'000'000;
  std::unique_ptr<Engine> engine;
  Outcome outcome = RunGuest("spin", options, nullptr, &engine);
  EXPECT_EQ(outcome.reason, "fuel_exhausted");
  EXPECT_EQ(engine->fuel_used(), 2'000'000u);
}

TEST_F(InterpTest, GrowPastTheCapReturnsMinusOneInsideTheGuest) {
  EngineOptions options;
  options.max_memory_pages = 5;
  std::unique_ptr<Engine> engine;
  Outcome outcome = RunGuest("grow_probe", options, nullptr, &engine);
  // The guest saw -1 and exited 0: a refusal it coped with is not a limit.
  EXPECT_EQ(outcome.kind, OutcomeKind::kExited);
  EXPECT_EQ(outcome.exit_code, 0);
  EXPECT_EQ(engine->memory_pages(), 1u);

  options.max_memory_pages = 11;
  outcome = RunGuest("grow_probe", options, nullptr, &engine);
  EXPECT_EQ(outcome.exit_code, 3);  // the grow succeeded
  EXPECT_EQ(engine->memory_pages(), 11u);
}

TEST_F(InterpTest, MemoryBombIsReportedAsMemoryLimit) {
  EngineOptions options;
  options.max_memory_pages = 64;
  std::unique_ptr<Engine> engine;
  Outcome outcome = RunGuest("membomb", options, nullptr, &engine);
  EXPECT_EQ(outcome.kind, OutcomeKind::kLimit);
  EXPECT_EQ(outcome.reason, "memory_limit");
  EXPECT_NE(outcome.message.find("resource_limits.memory_mb"), std::string::npos);
  EXPECT_NE(outcome.message.find("4 MiB"), std::string::npos) << outcome.message;
  // 1 + 3 * 16 = 49 pages; the next +16 would pass 64.
  EXPECT_EQ(engine->memory_pages(), 49u);
}

TEST_F(InterpTest, TheModulesOwnMaximumIsNotAMemoryLimit) {
  EngineOptions options;
  options.max_memory_pages = 64;
  Outcome outcome = RunGuest("membomb_own_max", options);
  EXPECT_EQ(outcome.kind, OutcomeKind::kTrap);
  EXPECT_EQ(outcome.reason, "trap_unreachable");
}

TEST_F(InterpTest, InitialMemoryAboveTheCapIsRefused) {
  EngineOptions options;
  options.max_memory_pages = 50;
  Status status = LoadStatus("big_memory", options);
  EXPECT_EQ(status.reason(), "memory_too_large");
  EXPECT_NE(status.message().find("100 pages"), std::string::npos) << status.message();
  options.max_memory_pages = 100;
  EXPECT_TRUE(LoadStatus("big_memory", options).ok());
}

struct TrapCase {
  const char* guest;
  const char* reason;
};

class InterpTrapTest : public InterpTest, public ::testing::WithParamInterface<TrapCase> {};

TEST_P(InterpTrapTest, TrapIsMappedToItsReason) {
  Outcome outcome = RunGuest(GetParam().guest);
  EXPECT_EQ(outcome.kind, OutcomeKind::kTrap);
  EXPECT_EQ(outcome.reason, GetParam().reason) << outcome.message;
  EXPECT_EQ(outcome.message.rfind("the guest trapped: ", 0), 0u) << outcome.message;
}

INSTANTIATE_TEST_SUITE_P(Traps, InterpTrapTest,
                         ::testing::Values(TrapCase{"oob", "trap_out_of_bounds"},
                                           TrapCase{"recurse", "trap_stack_exhausted"},
                                           TrapCase{"unreachable", "trap_unreachable"},
                                           TrapCase{"divzero", "trap_divide_by_zero"},
                                           TrapCase{"overflow", "trap_integer_overflow"},
                                           TrapCase{"conversion", "trap_invalid_conversion"},
                                           TrapCase{"indirect", "trap_indirect_call"}),
                         [](const auto& info) { return std::string(info.param.guest); });

TEST_F(InterpTest, RecursionDepthIsWellAboveWabtsDefault) {
  // WABT's own default is 1638 frames; the engine reserves its own depth (up to 65536).
  std::unique_ptr<Engine> engine;
  Outcome outcome = RunGuest("recurse", {}, nullptr, &engine);
  EXPECT_EQ(outcome.reason, "trap_stack_exhausted");
  EXPECT_GT(*engine->fuel_used(), 65536u * 4 - 10'000);
}

TEST_F(InterpTest, HostOutputLimitEndsTheRunAsALimit) {
  RecordingHost host(/*output_limit=*/100);
  Outcome outcome = RunGuest("write_loop", {}, &host);
  EXPECT_EQ(outcome.kind, OutcomeKind::kLimit);
  EXPECT_EQ(outcome.reason, "output_limit");
  EXPECT_EQ(host.output().size(), 101u);  // the guest was stopped at the call that passed it
}

TEST_F(InterpTest, UnknownImportIsRefusedByName) {
  Status status = LoadStatus("env_import");
  EXPECT_EQ(status.reason(), "unknown_import");
  EXPECT_NE(status.message().find("env.foo"), std::string::npos) << status.message();
}

TEST_F(InterpTest, MemoryImportIsRefused) {
  Status status = LoadStatus("memory_import");
  EXPECT_EQ(status.reason(), "unknown_import");
  EXPECT_NE(status.message().find("env.memory"), std::string::npos) << status.message();
}

TEST_F(InterpTest, WasiImportWithTheWrongSignatureIsRefused) {
  Status status = LoadStatus("bad_signature");
  EXPECT_EQ(status.reason(), "import_signature");
  EXPECT_NE(status.message().find("wasi_snapshot_preview1.fd_write"), std::string::npos)
      << status.message();
  EXPECT_NE(status.message().find("(i32, i32, i32, i32) -> (i32)"), std::string::npos)
      << status.message();
}

TEST_F(InterpTest, ModuleWithoutStartIsRefused) {
  EXPECT_EQ(LoadStatus("no_start").reason(), "no_start");
}

TEST_F(InterpTest, MalformedBytesAreRefused) {
  const std::uint8_t garbage[] = {0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00, 0x01, 0xff};
  auto engine = LoadInterpreter(garbage, sizeof garbage, {});
  ASSERT_FALSE(engine.ok());
  EXPECT_EQ(engine.status().reason(), "module_invalid");
  EXPECT_EQ(engine.status().code(), Code::kInvalidArgument);

  const std::uint8_t not_wasm[] = {'h', 'e', 'l', 'l', 'o'};
  EXPECT_EQ(LoadInterpreter(not_wasm, sizeof not_wasm, {}).status().reason(), "module_invalid");
  EXPECT_EQ(LoadInterpreter(nullptr, 0, {}).status().reason(), "module_invalid");
}

TEST_F(InterpTest, AnEngineRunsOnce) {
  std::vector<std::uint8_t> wasm = ReadGuest("empty");
  auto engine = LoadInterpreter(wasm.data(), wasm.size(), {});
  ASSERT_TRUE(engine.ok());
  RecordingHost host;
  EXPECT_EQ((*engine)->Run(host).kind, OutcomeKind::kExited);
  EXPECT_EQ((*engine)->Run(host).kind, OutcomeKind::kRefused);
}

}  // namespace
}  // namespace elastos::compute
