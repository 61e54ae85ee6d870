// Every limit of the message bus refuses with its own reason rather than dropping anything.
#include "runtime/messaging/message_bus.h"

#include <gtest/gtest.h>

#include <thread>

namespace elastos::runtime {
namespace {

using namespace std::chrono_literals;

TEST(MessageBusTest, DeliversOldestFirstWithTheSendersRuntimeIdentity) {
  MessageBus bus;
  bus.Register("a-1", "a");
  bus.Register("b-1", "b");
  ASSERT_TRUE(bus.Send("a-1", "a", "b-1", ToBytes("one"), std::nullopt, 10).ok());
  ASSERT_TRUE(bus.Send("a-1", "a", "b-1", ToBytes("two"), 1, 11).ok());
  auto got = bus.Receive("b-1", 10, 0ms);
  ASSERT_TRUE(got.ok());
  ASSERT_EQ(got->size(), 2u);
  EXPECT_EQ((*got)[0].payload, ToBytes("one"));
  EXPECT_EQ((*got)[1].from, "a-1");
  EXPECT_EQ((*got)[1].reply_to, 1u);
  EXPECT_TRUE(bus.Receive("b-1", 10, 0ms)->empty());
}

TEST(MessageBusTest, ResolvesNamesOnlyWhenUnambiguous) {
  MessageBus bus;
  bus.Register("a-1", "a");
  EXPECT_EQ(bus.Resolve("a")->first, "a-1");
  EXPECT_EQ(bus.Resolve("a-1")->second, "a");
  bus.Register("a-2", "a");
  EXPECT_EQ(bus.Resolve("a").status().reason(), "ambiguous_recipient");
  EXPECT_EQ(bus.Resolve("nobody").status().reason(), "no_such_capsule");
}

TEST(MessageBusTest, EveryLimitRefusesWithItsReason) {
  MessageBusOptions small;
  small.max_payload = 8;
  small.max_inbox = 2;
  small.rate_per_second = 3;
  MessageBus bus(small);
  bus.Register("a-1", "a");
  bus.Register("b-1", "b");
  EXPECT_EQ(bus.Send("a-1", "a", "b-1", Bytes(9), std::nullopt, 0).status().reason(), "payload_too_large");
  ASSERT_TRUE(bus.Send("a-1", "a", "b-1", Bytes(8), std::nullopt, 0).ok());
  ASSERT_TRUE(bus.Send("a-1", "a", "b-1", Bytes(1), std::nullopt, 0).ok());
  EXPECT_EQ(bus.Send("a-1", "a", "b-1", Bytes(1), std::nullopt, 0).status().reason(), "inbox_full");
  // The refused send still spent from the budget of 3: the next one is rate limited.
  EXPECT_EQ(bus.Send("a-1", "a", "b-1", Bytes(1), std::nullopt, 0).status().reason(), "rate_limited");
  ASSERT_EQ(bus.Receive("b-1", 10, 0ms)->size(), 2u);  // nothing was dropped
  bus.Unregister("b-1");
  EXPECT_EQ(bus.Receive("b-1", 1, 0ms).status().reason(), "not_running");
}

TEST(MessageBusTest, UnregisteringWakesAWaitingReceiver) {
  MessageBus bus;
  bus.Register("b-1", "b");
  std::thread t([&] {
    std::this_thread::sleep_for(100ms);
    bus.Unregister("b-1");
  });
  auto got = bus.Receive("b-1", 1, 20s);
  t.join();
  EXPECT_EQ(got.status().reason(), "not_running");
}

}  // namespace
}  // namespace elastos::runtime
