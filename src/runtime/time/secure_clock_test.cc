#include "runtime/time/secure_clock.h"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <fstream>
#include <set>
#include <thread>

#include "common/testing/fault_env.h"
#include "common/testing/temp_dir.h"

namespace elastos::runtime {
namespace {

namespace fs = std::filesystem;
using elastos::testing::FaultInjectionEnv;

class SecureClockTest : public ::testing::Test {
 protected:
  void SetUp() override { env_.SetUnixSeconds(1'700'000'000); }

  // Dropping the object without any shutdown step is exactly what kill -9 does to it: the
  // clock has no close, so the reservation on disk is all a restart gets.
  std::unique_ptr<SecureClock> Open(SecureClock::Options options = {}) {
    auto c = SecureClock::Open(env_, path_, options);
    EXPECT_TRUE(c.ok()) << c.status().ToString();
    return c.ok() ? std::move(c).value() : nullptr;
  }
  SecureTimestamp Now(SecureClock& c) {
    auto t = c.Now();
    EXPECT_TRUE(t.ok()) << t.status().ToString();
    return t.ok() ? *t : SecureTimestamp{};
  }

  std::unique_ptr<Env> posix_ = NewPosixEnv();
  FaultInjectionEnv env_{posix_.get()};
  elastos::testing::TempDir tmp_;
  fs::path dir_ = tmp_.path(), path_ = dir_ / "clock";
};

TEST_F(SecureClockTest, StrictlyIncreasingAndFollowsTheWallClock) {
  auto clock = Open();
  SecureTimestamp last = Now(*clock);
  EXPECT_EQ(last.unix_secs, 1'700'000'000u);
  EXPECT_GT(last.seq, 0u);
  for (int i = 0; i < 10'000; ++i) {
    if (i % 1000 == 0) env_.AdvanceUnixSeconds(1);
    const SecureTimestamp t = Now(*clock);
    ASSERT_GT(t, last);
    ASSERT_GT(t.seq, last.seq);
    last = t;
  }
  EXPECT_EQ(last.unix_secs, 1'700'000'010u);
  EXPECT_EQ(clock->WallUnixSeconds(), 1'700'000'010);
}

TEST_F(SecureClockTest, WallClockGoingBackNeverYieldsASmallerTimestamp) {
  auto clock = Open();
  const SecureTimestamp a = Now(*clock);
  env_.SetUnixSeconds(1'600'000'000);  // back ~3 years
  const SecureTimestamp b = Now(*clock);
  EXPECT_GT(b, a);
  EXPECT_EQ(b.unix_secs, a.unix_secs);                       // held, not rewound
  EXPECT_EQ(clock->WallUnixSeconds(), 1'600'000'000);        // the raw wall clock is still reported
  EXPECT_EQ(clock->MonotonicUnixSeconds(), 1'700'000'000u);  // but expiry checks use this
  env_.SetUnixSeconds(1'700'000'005);
  EXPECT_EQ(Now(*clock).unix_secs, 1'700'000'005u);
}

TEST_F(SecureClockTest, RestartWithClockSetBackStillMovesForward) {
  SecureTimestamp last;
  {
    auto clock = Open();
    env_.SetUnixSeconds(1'800'000'000);
    for (int i = 0; i < 100; ++i) last = Now(*clock);
  }  // "killed"
  env_.SetUnixSeconds(1'000'000'000);
  auto clock = Open();
  const SecureTimestamp t = Now(*clock);
  EXPECT_GT(t, last);
  EXPECT_EQ(t.unix_secs, 1'800'000'000u);
  EXPECT_GT(t.seq, last.seq);
  EXPECT_EQ(clock->MonotonicUnixSeconds(), 1'800'000'000u);
}

TEST_F(SecureClockTest, SeqSurvivesRestartsWithoutCleanClose) {
  SecureTimestamp last;
  for (int life = 0; life < 5; ++life) {
    auto clock = Open({.seq_block = 64});
    for (int i = 0; i < 100 + life * 37; ++i) {  // ends at different points within a block
      const SecureTimestamp t = Now(*clock);
      ASSERT_GT(t, last) << "life " << life;
      last = t;
    }
  }
}

TEST_F(SecureClockTest, HotPathRarelyTouchesDisk) {
  auto clock = Open();
  const auto before = env_.syncs();
  for (int i = 0; i < 10'000; ++i) Now(*clock);  // fixed wall clock: only seq blocks cost a write
  EXPECT_EQ(env_.syncs() - before, 3u);          // ceil(10000 / 4096)

  // Each new wall-clock second costs one write with the default (exact) unix reservation…
  const auto mid = env_.syncs();
  for (int s = 0; s < 10; ++s) {
    env_.AdvanceUnixSeconds(1);
    for (int i = 0; i < 10; ++i) Now(*clock);
  }
  EXPECT_EQ(env_.syncs() - mid, 10u);
}

TEST_F(SecureClockTest, UnixReservationTradesWritesForHeadroom) {
  SecureTimestamp last;
  {
    auto clock = Open({.unix_reserve_secs = 60});
    const auto before = env_.syncs();
    for (int s = 0; s < 30; ++s) {
      env_.AdvanceUnixSeconds(1);
      last = Now(*clock);
    }
    EXPECT_EQ(env_.syncs() - before, 1u);
  }
  // A restart resumes at the reservation: ahead of the wall clock by at most the headroom.
  auto clock = Open({.unix_reserve_secs = 60});
  const SecureTimestamp t = Now(*clock);
  EXPECT_GT(t, last);
  EXPECT_LE(t.unix_secs, last.unix_secs + 60);
}

TEST_F(SecureClockTest, UnpersistableReservationIsAnErrorNotATimestamp) {
  auto clock = Open({.seq_block = 8});
  const SecureTimestamp first = Now(*clock);  // reserves seq 1..8
  env_.FailWrites(true);
  // Within the reservation the hot path needs no disk.
  for (int i = 0; i < 7; ++i) ASSERT_TRUE(clock->Now().ok());
  auto failed = clock->Now();  // needs a new block
  ASSERT_FALSE(failed.ok());
  EXPECT_EQ(failed.status().reason(), "io_error");
  env_.FailWrites(false);
  env_.FailSyncs(true);
  env_.AdvanceUnixSeconds(1);  // a new second also needs a reservation
  EXPECT_FALSE(clock->Now().ok());
  env_.FailSyncs(false);
  const SecureTimestamp after = Now(*clock);
  EXPECT_GT(after, first);
  EXPECT_EQ(after.seq, first.seq + 8);  // the failed calls consumed nothing
  // And a restart resumes above everything handed out.
  clock.reset();
  auto again = Open({.seq_block = 8});
  EXPECT_GT(Now(*again), after);
}

TEST_F(SecureClockTest, ThreadsGetDistinctIncreasingTimestamps) {
  auto clock = Open();
  constexpr int kThreads = 8, kEach = 2000;
  std::vector<std::vector<SecureTimestamp>> got(kThreads);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kEach; ++i) {
        auto ts = clock->Now();
        ASSERT_TRUE(ts.ok());
        if (!got[t].empty()) {
          ASSERT_GT(*ts, got[t].back());
        }
        got[t].push_back(*ts);
      }
    });
  }
  for (auto& th : threads) th.join();
  std::set<std::uint64_t> seqs;
  for (const auto& v : got)
    for (const auto& ts : v) seqs.insert(ts.seq);
  EXPECT_EQ(seqs.size(), static_cast<std::size_t>(kThreads * kEach));
}

TEST_F(SecureClockTest, CorruptOrNewerStateIsRefusedNotReset) {
  const auto write = [&](const std::string& text) {
    std::ofstream(path_, std::ios::binary | std::ios::trunc) << text;
  };
  const auto reason = [&] {
    auto c = SecureClock::Open(env_, path_);
    return c.ok() ? std::string("ok") : c.status().reason();
  };
  write("elastos.secure-clock/v1 1700000000 4097\n");
  EXPECT_EQ(reason(), "ok");
  write("elastos.secure-clock/v2 1700000000 4097\n");
  EXPECT_EQ(reason(), "secure_clock_too_new");
  for (const char* bad :
       {"", "garbage\n", "elastos.secure-clock/v1 1700000000\n", "elastos.secure-clock/v1 17 4097",
        "elastos.secure-clock/v1 -1 4097\n", "elastos.secure-clock/v1 1 0\n",
        "elastos.secure-clock/v1 01 5\n", "elastos.secure-clock/v1 1 5 6\n"}) {
    write(bad);
    EXPECT_EQ(reason(), "secure_clock_corrupt") << bad;
  }
}

TEST_F(SecureClockTest, StateFileIsPrivate) {
  auto clock = Open();
  Now(*clock);
  EXPECT_EQ(fs::status(path_).permissions() & fs::perms::all,
            fs::perms::owner_read | fs::perms::owner_write);
}

}  // namespace
}  // namespace elastos::runtime
