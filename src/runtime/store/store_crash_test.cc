// kill -9 test of the CapabilityStore: a child process (store_crash_child) changes the store
// and logs each operation after it returns OK; we SIGKILL it at random moments, reopen, and
// check that everything acknowledged survived and nothing beyond the one operation in flight
// appeared.
#include <gtest/gtest.h>
#include <stdlib.h>

#include <cstdio>
#include <map>
#include <random>
#include <set>
#include <sstream>

#include "common/env.h"
#include "runtime/store/capability_store.h"
#include "runtime/store/crash_harness.h"

namespace elastos::runtime {
namespace {

namespace fs = std::filesystem;
using testing::CrashUseTokenId;
using testing::kCrashUseMax;

TEST(StoreCrash, AcknowledgedStateSurvivesKill9) {
  char tmpl[] = "/tmp/elastos-store-crash-XXXXXX";
  ASSERT_NE(::mkdtemp(tmpl), nullptr);
  const fs::path dir = tmpl;
  const fs::path db_path = dir / "state.db";
  const fs::path child = testing::HelperPath("store_crash_child");
  ASSERT_TRUE(fs::exists(child)) << child << " missing: build the store_crash_child target";
  auto env = NewPosixEnv();

  // What the store must hold, from the acknowledged log (and, after each check, from disk).
  std::uint64_t epoch = 0;
  std::set<std::string> revoked;
  std::map<std::string, std::uint32_t> uses;  // hex id → count
  std::map<std::string, std::uint32_t> max_of;
  for (std::size_t i = 0; i < kCrashUseMax.size(); ++i)
    max_of[TokenIdHex(CrashUseTokenId(i))] = kCrashUseMax[i];

  constexpr int kRuns = 220;
  std::mt19937_64 rng(20240601);
  int kills = 0, acknowledged = 0, in_flight_seen = 0;
  for (int run = 0; run < kRuns; ++run) {
    // One run in eight is timed from exec, to also kill during startup and WAL recovery; the
    // rest from the child's "open", mostly short with a tail of longer lives.
    const bool from_exec = rng() % 8 == 0;
    const auto delay = std::chrono::microseconds(from_exec        ? rng() % 20'000
                                                 : rng() % 4 == 0 ? rng() % 60'000
                                                                  : rng() % 15'000);
    auto r = testing::RunAndKill({child.string(), db_path.string(), std::to_string(rng())}, delay,
                                 from_exec ? "" : "open");
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    ASSERT_TRUE(r->killed) << "child exited with " << r->exit_code << " in run " << run;
    ++kills;

    std::string pending;  // the last "try" without its answer: may or may not have committed
    for (const std::string& line : r->lines) {
      std::istringstream in(line);
      std::string word, what, id;
      in >> word;
      if (word == "open") continue;
      if (word == "try") {
        pending = line;
        continue;
      }
      pending.clear();
      ++acknowledged;
      if (word == "exhausted") {
        std::uint32_t count = 0;
        in >> id >> count;
        // Refused only at the limit, never before it.
        EXPECT_EQ(count, max_of.at(id)) << line;
        EXPECT_EQ(uses[id], max_of.at(id)) << line;
        continue;
      }
      ASSERT_EQ(word, "ok") << line;
      in >> what;
      if (what == "epoch") {
        std::uint64_t e = 0;
        in >> e;
        EXPECT_EQ(e, epoch + 1) << line;
        epoch = e;
      } else if (what == "revoke") {
        in >> id;
        revoked.insert(id);
      } else if (what == "use") {
        std::uint32_t count = 0;
        in >> id >> count;
        EXPECT_EQ(count, uses[id] + 1) << line;
        uses[id] = count;
      } else {
        FAIL() << "unexpected line " << line;
      }
    }

    auto reopened = CapabilityStore::Open(*env, db_path);
    ASSERT_TRUE(reopened.ok()) << "run " << run << ": " << reopened.status().ToString();
    CapabilityStore& store = **reopened;
    // Acknowledged ⇒ durable; beyond that, only the one operation in flight may have landed.
    std::istringstream p(pending);
    std::string try_word, pending_op, pending_id;
    p >> try_word >> pending_op >> pending_id;
    if (!pending.empty()) ++in_flight_seen;
    const std::uint64_t epoch_slack = pending_op == "epoch" ? 1 : 0;
    ASSERT_GE(store.epoch(), epoch) << "run " << run;
    ASSERT_LE(store.epoch(), epoch + epoch_slack) << "run " << run;
    epoch = store.epoch();
    for (const std::string& hex : revoked) {
      ASSERT_TRUE(store.IsRevoked(*ParseTokenId(hex)))
          << "acknowledged revocation of " << hex << " lost, run " << run;
    }
    if (pending_op == "revoke" && store.IsRevoked(*ParseTokenId(pending_id)))
      revoked.insert(pending_id);
    for (std::size_t i = 0; i < kCrashUseMax.size(); ++i) {
      const std::string hex = TokenIdHex(CrashUseTokenId(i));
      const std::uint32_t on_disk = store.UseCount(CrashUseTokenId(i));
      const std::uint32_t slack = pending_op == "use" && pending_id == hex ? 1 : 0;
      ASSERT_LE(on_disk, kCrashUseMax[i]) << hex << " run " << run;
      ASSERT_GE(on_disk, uses[hex]) << "acknowledged use of " << hex << " lost, run " << run;
      ASSERT_LE(on_disk, uses[hex] + slack) << hex << " run " << run;
      uses[hex] = on_disk;
    }
  }
  EXPECT_GE(kills, 200);
  // The kills must land in the middle of work, not only during startup. (How much work gets
  // acknowledged depends on the disk's fsync latency, so only a floor is checked.)
  EXPECT_GE(acknowledged, kRuns / 2) << "children acknowledged too little work";
  EXPECT_GE(in_flight_seen, kRuns / 5) << "too few kills landed during an operation";
  std::printf("%d kills, %d landed during an operation, %d operations acknowledged\n", kills,
              in_flight_seen, acknowledged);
  RecordProperty("acknowledged_ops", acknowledged);
  RecordProperty("kills_during_op", in_flight_seen);
  fs::remove_all(dir);
}

}  // namespace
}  // namespace elastos::runtime
