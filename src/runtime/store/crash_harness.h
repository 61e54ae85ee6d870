// Test support for kill -9 tests: run a helper executable, SIGKILL it at a chosen moment, and
// collect the lines it had written to stdout by then — its "acknowledged" log.
//
// The helper protocol: after each operation returns OK, the helper writes one line (< PIPE_BUF
// bytes, in a single write(2), so a line is in the pipe whole or not at all) describing it. The
// test then reopens the durable state and checks every acknowledged operation survived. Used by
// store_crash_test with store_crash_child; meant to be reused for the capability manager.
//
// Thread-safety: RunAndKill may be called from one thread at a time per child.
#pragma once

#include <array>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"
#include "runtime/store/capability_store.h"

namespace elastos::runtime::testing {

// A helper executable built next to the running test binary (CMake puts both in build/tests/).
std::filesystem::path HelperPath(std::string_view name);

struct ChildRun {
  std::vector<std::string> lines;  // complete lines written before the kill (or exit)
  bool killed = false;             // true: SIGKILLed by us; false: it exited first
  int exit_code = -1;              // when it exited on its own
};

// Runs `argv` (argv[0] = executable path) with stdout piped to us and SIGKILLs it `kill_after`
// after the start — or, when `start_marker` is given, after the child wrote that line (so slow
// startups, e.g. under sanitizers, do not eat the budget) — unless it exits first. The child
// also dies if the test process dies.
Result<ChildRun> RunAndKill(const std::vector<std::string>& argv,
                            std::chrono::microseconds kill_after,
                            std::string_view start_marker = {});

// The use-limited tokens store_crash_child consumes: token i has id {0xC0, i, 0…} and
// max_uses kCrashUseMax[i].
inline constexpr std::array<std::uint32_t, 8> kCrashUseMax = {1, 2, 3, 5, 10, 50, 200, 1000};
inline TokenId CrashUseTokenId(std::size_t i) {
  TokenId id{};
  id[0] = 0xC0;
  id[1] = static_cast<std::uint8_t>(i);
  return id;
}

}  // namespace elastos::runtime::testing
