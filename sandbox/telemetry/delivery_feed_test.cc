#include "sandbox/telemetry/delivery_feed.h"

#include <gtest/gtest.h>

#include <thread>

namespace vkspay::sandbox {
namespace {

using std::chrono::milliseconds;

DeliveryEvent Event(const std::string& no) {
  DeliveryEvent e;
  e.out_trade_no = no;
  e.outcome = "acked";
  return e;
}

TEST(DeliveryFeed, ReadsWhatCameAfterInOrder) {
  DeliveryFeed feed(8);
  const DeliveryFeed::Page start = feed.Read(-1, 100, milliseconds(0));
  EXPECT_EQ(start.next, 0);
  for (int i = 0; i < 5; ++i) feed.Add(Event("O" + std::to_string(i)));
  DeliveryFeed::Page p = feed.Read(start.next, 3, milliseconds(0));
  ASSERT_EQ(p.events.size(), 3u);
  EXPECT_EQ(p.events[0].seq, 1);
  EXPECT_EQ(p.events[2].out_trade_no, "O2");
  EXPECT_EQ(p.next, 3);
  EXPECT_EQ(p.missed, 0);
  p = feed.Read(p.next, 100, milliseconds(0));
  ASSERT_EQ(p.events.size(), 2u);
  EXPECT_EQ(p.events[1].out_trade_no, "O4");
  EXPECT_EQ(p.next, 5);
  // "From now on" skips what is there.
  EXPECT_EQ(feed.Read(-1, 100, milliseconds(0)).next, 5);
}

TEST(DeliveryFeed, ASlowReaderIsToldWhatItMissed) {
  DeliveryFeed feed(4);
  for (int i = 0; i < 10; ++i) feed.Add(Event("O" + std::to_string(i)));
  const DeliveryFeed::Page p = feed.Read(0, 100, milliseconds(0));
  EXPECT_EQ(p.missed, 6);  // 1..6 were overwritten; 7..10 remain
  ASSERT_EQ(p.events.size(), 4u);
  EXPECT_EQ(p.events.front().seq, 7);
  EXPECT_EQ(p.events.front().out_trade_no, "O6");
  EXPECT_EQ(p.next, 10);
}

TEST(DeliveryFeed, ALongPollWakesOnTheNextEvent) {
  DeliveryFeed feed;
  std::thread writer([&feed] {
    std::this_thread::sleep_for(milliseconds(50));
    feed.Add(Event("late"));
  });
  // Waits far longer than the writer needs: woken by the event, it returns
  // long before the wait is over.
  const auto t0 = std::chrono::steady_clock::now();
  const DeliveryFeed::Page p = feed.Read(0, 100, milliseconds(30'000));
  writer.join();
  EXPECT_LT(std::chrono::steady_clock::now() - t0, std::chrono::seconds(10));
  ASSERT_EQ(p.events.size(), 1u);
  EXPECT_EQ(p.events[0].out_trade_no, "late");
}

TEST(DeliveryFeed, CloseReleasesWaitersAndAStaleCursorStartsOver) {
  DeliveryFeed feed;
  std::thread closer([&feed] {
    std::this_thread::sleep_for(milliseconds(20));
    feed.Close();
  });
  const auto t0 = std::chrono::steady_clock::now();
  const DeliveryFeed::Page p = feed.Read(0, 100, milliseconds(30'000));
  closer.join();
  EXPECT_LT(std::chrono::steady_clock::now() - t0, std::chrono::seconds(10));
  EXPECT_TRUE(p.events.empty());
  feed.Add(Event("x"));
  // A cursor from an earlier process (beyond the newest seq) reads from now.
  EXPECT_EQ(feed.Read(99, 100, milliseconds(0)).next, 1);
  EXPECT_EQ(DeliveryEventJson(feed.Read(0, 1, milliseconds(0)).events[0])["outcome"], "acked");
}

}  // namespace
}  // namespace vkspay::sandbox
