// store_crash_child DB_PATH SEED — test helper for store_crash_test (not installed).
//
// Opens the CapabilityStore at DB_PATH and performs a long random sequence of AdvanceEpoch,
// Revoke and ConsumeUse until killed. Before each operation it writes "try <op>" and after it
// returns, one of
//     ok epoch <n>          ok revoke <id>          ok use <id> <count>
//     exhausted <id> <count>
// each line in one write(2), so the parent's log is exactly what was acknowledged. Exits 2 on
// any unexpected error (the parent treats that as a failure).
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <random>
#include <string>

#include "common/env.h"
#include "runtime/store/capability_store.h"
#include "runtime/store/crash_harness.h"

namespace {

using elastos::runtime::CapabilityStore;
using elastos::runtime::TokenId;
using elastos::runtime::TokenIdHex;

void Emit(const std::string& line) {
  const std::string out = line + "\n";
  if (::write(STDOUT_FILENO, out.data(), out.size()) != static_cast<ssize_t>(out.size()))
    std::_Exit(3);
}

[[noreturn]] void Fail(const elastos::Status& s) {
  std::fprintf(stderr, "store_crash_child: %s\n", s.ToString().c_str());
  std::_Exit(2);
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 3) {
    std::fprintf(stderr, "usage: store_crash_child DB_PATH SEED\n");
    return 1;
  }
  auto env = elastos::NewPosixEnv();
  auto opened = CapabilityStore::Open(*env, argv[1]);
  if (!opened.ok()) Fail(opened.status());
  CapabilityStore& store = **opened;
  Emit("open");

  std::mt19937_64 rng(std::strtoull(argv[2], nullptr, 10));
  for (int i = 0; i < 1'000'000; ++i) {
    const auto pick = rng() % 10;
    if (pick < 2) {
      Emit("try epoch");
      auto e = store.AdvanceEpoch();
      if (!e.ok()) Fail(e.status());
      Emit("ok epoch " + std::to_string(*e));
    } else if (pick < 6) {
      TokenId id;
      for (auto& b : id) b = static_cast<std::uint8_t>(rng());
      id[0] = 0x5e;  // never one of the use-limited ids
      Emit("try revoke " + TokenIdHex(id));
      if (auto s = store.Revoke(id, "crash test"); !s.ok()) Fail(s);
      Emit("ok revoke " + TokenIdHex(id));
    } else {
      const std::size_t t = rng() % elastos::runtime::testing::kCrashUseMax.size();
      const TokenId id = elastos::runtime::testing::CrashUseTokenId(t);
      Emit("try use " + TokenIdHex(id));
      auto n = store.ConsumeUse(id, elastos::runtime::testing::kCrashUseMax[t]);
      if (n.ok()) {
        Emit("ok use " + TokenIdHex(id) + " " + std::to_string(*n));
      } else if (n.status().reason() == "use_limit_exceeded") {
        Emit("exhausted " + TokenIdHex(id) + " " + std::to_string(store.UseCount(id)));
      } else {
        Fail(n.status());
      }
    }
  }
  return 0;
}
