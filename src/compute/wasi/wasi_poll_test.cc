// poll_oneoff: clock sleeps (how wasi-libc's sleep() works), descriptor readiness, and the
// interrupt.
#include <gtest/gtest.h>
#include <time.h>
#include <unistd.h>

#include <chrono>
#include <thread>
#include <vector>

#include "compute/wasi/wasi_test_util.h"

namespace elastos::compute::wasi::testing {
namespace {

using std::chrono::milliseconds;
using std::chrono::steady_clock;

constexpr std::uint64_t kMs = 1'000'000;

struct Event {
  std::uint64_t userdata;
  std::uint16_t error;
  std::uint8_t type;
  std::uint64_t nbytes;
  std::uint16_t flags;
};

class WasiPollTest : public WasiTest {
 protected:
  // Room for up to 8 subscriptions and events.
  void SetUp() override {
    WasiTest::SetUp();
    in_ = guest_.Alloc(48 * 8);
    out_ = guest_.Alloc(32 * 8);
    nevents_ = guest_.Alloc(4);
  }
  void Clock(int k, std::uint64_t userdata, std::uint32_t id, std::uint64_t timeout,
             std::uint16_t flags = 0) {
    const std::uint32_t at = in_ + 48 * k;
    guest_.Set<std::uint64_t>(at, userdata);
    guest_.Set<std::uint8_t>(at + 8, abi::kEventClock);
    guest_.Set<std::uint32_t>(at + 16, id);
    guest_.Set<std::uint64_t>(at + 24, timeout);
    guest_.Set<std::uint64_t>(at + 32, 1000);  // precision: ignored
    guest_.Set<std::uint16_t>(at + 40, flags);
  }
  void Fd(int k, std::uint64_t userdata, std::uint8_t type, std::uint32_t fd) {
    const std::uint32_t at = in_ + 48 * k;
    guest_.Set<std::uint64_t>(at, userdata);
    guest_.Set<std::uint8_t>(at + 8, type);
    guest_.Set<std::uint32_t>(at + 16, fd);
  }
  std::uint32_t Poll(std::uint32_t n, std::vector<Event>* events) {
    const std::uint32_t e = Call(Function::kPollOneoff, {in_, out_, n, nevents_});
    events->clear();
    if (e != 0) return e;
    const auto count = guest_.Get<std::uint32_t>(nevents_);
    for (std::uint32_t k = 0; k < count; ++k) {
      const std::uint32_t at = out_ + 32 * k;
      events->push_back({guest_.Get<std::uint64_t>(at), guest_.Get<std::uint16_t>(at + 8),
                         guest_.Get<std::uint8_t>(at + 10), guest_.Get<std::uint64_t>(at + 16),
                         guest_.Get<std::uint16_t>(at + 24)});
    }
    return e;
  }
  static std::uint64_t RealtimeNow() {
    struct timespec ts;
    ::clock_gettime(CLOCK_REALTIME, &ts);
    return static_cast<std::uint64_t>(ts.tv_sec) * 1'000'000'000 + ts.tv_nsec;
  }

  std::uint32_t in_ = 0, out_ = 0, nevents_ = 0;
};

TEST_F(WasiPollTest, RelativeClockSleepsAndReportsTheUserdata) {
  Start();
  Clock(0, 0xC0FFEE, abi::kClockMonotonic, 20 * kMs);
  const auto start = steady_clock::now();
  std::vector<Event> events;
  ASSERT_EQ(Poll(1, &events), 0u);
  const auto slept = steady_clock::now() - start;
  EXPECT_GE(slept, milliseconds(20));
  EXPECT_LT(slept, milliseconds(500));
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].userdata, 0xC0FFEEu);
  EXPECT_EQ(events[0].type, abi::kEventClock);
  EXPECT_EQ(events[0].error, 0u);
}

TEST_F(WasiPollTest, AbsoluteClocksOnBothClockIds) {
  Start();
  Clock(0, 1, abi::kClockRealtime, RealtimeNow() + 20 * kMs, abi::kSubclockAbstime);
  auto start = steady_clock::now();
  std::vector<Event> events;
  ASSERT_EQ(Poll(1, &events), 0u);
  EXPECT_GE(steady_clock::now() - start, milliseconds(15));
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].userdata, 1u);

  // A deadline already past returns at once; a relative realtime timeout is a plain duration.
  Clock(0, 2, abi::kClockMonotonic, 1, abi::kSubclockAbstime);
  start = steady_clock::now();
  ASSERT_EQ(Poll(1, &events), 0u);
  EXPECT_LT(steady_clock::now() - start, milliseconds(50));
  ASSERT_EQ(events.size(), 1u);
  Clock(0, 3, abi::kClockRealtime, 10 * kMs);
  ASSERT_EQ(Poll(1, &events), 0u);
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].userdata, 3u);
}

TEST_F(WasiPollTest, OnlyTheClocksThatExpiredFire) {
  Start();
  Clock(0, 1, abi::kClockMonotonic, 5000 * kMs);
  Clock(1, 2, abi::kClockMonotonic, 10 * kMs);
  Clock(2, 3, abi::kClockMonotonic, 0);
  std::vector<Event> events;
  ASSERT_EQ(Poll(3, &events), 0u);  // the zero timeout ends the wait at once
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].userdata, 3u);
  ASSERT_EQ(Poll(2, &events), 0u);  // then the 10 ms one, not the 5 s one
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].userdata, 2u);
}

TEST_F(WasiPollTest, RefusesMalformedCalls) {
  Start();
  std::vector<Event> events;
  EXPECT_EQ(Poll(0, &events), E(Errno::kInval));
  EXPECT_EQ(Call(Function::kPollOneoff, {in_, out_, 4097, nevents_}), E(Errno::kInval));
  Clock(0, 1, abi::kClockProcessCputime, kMs);
  EXPECT_EQ(Poll(1, &events), E(Errno::kInval));
  Clock(0, 1, 9, kMs);
  EXPECT_EQ(Poll(1, &events), E(Errno::kInval));
  Clock(0, 1, abi::kClockMonotonic, kMs, 2);
  EXPECT_EQ(Poll(1, &events), E(Errno::kInval));
  Fd(0, 1, 3, 0);  // no such event type
  EXPECT_EQ(Poll(1, &events), E(Errno::kInval));
  Clock(0, 1, abi::kClockMonotonic, 0);
  const auto end = static_cast<std::uint32_t>(guest_.size());
  EXPECT_EQ(Call(Function::kPollOneoff, {end - 47, out_, 1, nevents_}), E(Errno::kFault));
  EXPECT_EQ(Call(Function::kPollOneoff, {in_, end - 31, 1, nevents_}), E(Errno::kFault));
  EXPECT_EQ(Call(Function::kPollOneoff, {in_, out_, 1, end - 3}), E(Errno::kFault));
  EXPECT_EQ(Call(Function::kPollOneoff, {in_, out_, 0x10000000, nevents_}), E(Errno::kInval));
}

TEST_F(WasiPollTest, PipeWithDataIsReadyAtOnce) {
  Start();
  carrier_in_.Send("hello");
  Fd(0, 7, abi::kEventFdRead, 4);
  Clock(1, 8, abi::kClockMonotonic, 5000 * kMs);
  const auto start = steady_clock::now();
  std::vector<Event> events;
  ASSERT_EQ(Poll(2, &events), 0u);
  EXPECT_LT(steady_clock::now() - start, milliseconds(500));
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].userdata, 7u);
  EXPECT_EQ(events[0].type, abi::kEventFdRead);
  EXPECT_EQ(events[0].error, 0u);
  EXPECT_EQ(events[0].nbytes, 5u);
}

TEST_F(WasiPollTest, WaitsForDataThatArrivesLater) {
  Start();
  Fd(0, 7, abi::kEventFdRead, 0);
  std::thread writer([this] {
    std::this_thread::sleep_for(milliseconds(80));
    stdin_.Send("late");
  });
  const auto start = steady_clock::now();
  std::vector<Event> events;
  ASSERT_EQ(Poll(1, &events), 0u);
  writer.join();
  EXPECT_GE(steady_clock::now() - start, milliseconds(70));
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].nbytes, 4u);
}

TEST_F(WasiPollTest, WritableStreamsAndFilesAreReady) {
  WriteFile(data_ / "f", "0123456789");
  Start();
  std::uint32_t file = 0;
  ASSERT_EQ(Open("f", 0, kOpenRead, &file), 0u);
  Fd(0, 1, abi::kEventFdWrite, 5);
  Fd(1, 2, abi::kEventFdWrite, 1);
  Fd(2, 3, abi::kEventFdRead, file);
  Fd(3, 4, abi::kEventFdRead, 0);  // stdin: nothing to read, so no event
  std::vector<Event> events;
  ASSERT_EQ(Poll(4, &events), 0u);
  ASSERT_EQ(events.size(), 3u);
  EXPECT_EQ(events[0].userdata, 1u);
  EXPECT_EQ(events[0].type, abi::kEventFdWrite);
  EXPECT_EQ(events[1].userdata, 2u);
  EXPECT_EQ(events[2].userdata, 3u);
  EXPECT_EQ(events[2].nbytes, 10u);  // the rest of the file
}

TEST_F(WasiPollTest, BadDescriptorsAreReportedInTheirEvent) {
  Start();
  std::uint32_t file = 0;
  ASSERT_EQ(Open("g", abi::kOflagCreat, kOpenReadWrite, &file), 0u);
  ASSERT_EQ(Call(Function::kFdFdstatSetRights,
                 {file, rights::kRegularFile & ~rights::kPollFdReadwrite, 0}),
            0u);
  Fd(0, 1, abi::kEventFdRead, 99);
  Fd(1, 2, abi::kEventFdRead, file);
  Clock(2, 3, abi::kClockMonotonic, 5000 * kMs);
  std::vector<Event> events;
  ASSERT_EQ(Poll(3, &events), 0u);
  ASSERT_EQ(events.size(), 2u);
  EXPECT_EQ(events[0].userdata, 1u);
  EXPECT_EQ(events[0].error, E(Errno::kBadf));
  EXPECT_EQ(events[1].error, E(Errno::kNotcapable));
}

TEST_F(WasiPollTest, HangupIsFlagged) {
  Start();
  ::close(carrier_in_.write);
  carrier_in_.write = -1;
  Fd(0, 1, abi::kEventFdRead, 4);
  std::vector<Event> events;
  ASSERT_EQ(Poll(1, &events), 0u);
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].flags, abi::kEventFdReadwriteHangup);
  EXPECT_EQ(events[0].nbytes, 0u);
}

TEST_F(WasiPollTest, InterruptEndsALongSleep) {
  Start();
  Clock(0, 1, abi::kClockMonotonic, 10'000 * kMs);
  std::thread watchdog([] {
    std::this_thread::sleep_for(milliseconds(100));
    RequestInterrupt(InterruptReason::kWall);
  });
  const auto start = steady_clock::now();
  std::vector<Event> events;
  EXPECT_EQ(Poll(1, &events), E(Errno::kIntr));
  const auto waited = steady_clock::now() - start;
  watchdog.join();
  EXPECT_GE(waited, milliseconds(90));
  EXPECT_LT(waited, milliseconds(1000));  // noticed within a slice, not after 10 s
}

TEST_F(WasiPollTest, InAndOutMayOverlap) {
  Start();
  Clock(0, 11, abi::kClockMonotonic, 0);
  Clock(1, 22, abi::kClockMonotonic, 0);
  const std::uint32_t e = Call(Function::kPollOneoff, {in_, in_, 2, nevents_});
  ASSERT_EQ(e, 0u);
  ASSERT_EQ(guest_.Get<std::uint32_t>(nevents_), 2u);
  EXPECT_EQ(guest_.Get<std::uint64_t>(in_), 11u);
  EXPECT_EQ(guest_.Get<std::uint64_t>(in_ + 32), 22u);
}

}  // namespace
}  // namespace elastos::compute::wasi::testing
