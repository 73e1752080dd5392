#include "sandbox/api/replay_cache.h"

#include <gtest/gtest.h>

namespace vkspay::sandbox {
namespace {

TEST(ReplayCache, RefusesTheSameRequestTwice) {
  ReplayCache cache(300);
  EXPECT_TRUE(cache.Remember("10001", "aaaa", 1000, 1000));
  EXPECT_FALSE(cache.Remember("10001", "aaaa", 1000, 1001));
  EXPECT_TRUE(cache.Remember("10002", "aaaa", 1000, 1001));  // other merchant
  EXPECT_TRUE(cache.Remember("10001", "bbbb", 1000, 1001));
}

TEST(ReplayCache, ForgetsTimestampsThatLeftTheWindow) {
  ReplayCache cache(300);
  EXPECT_TRUE(cache.Remember("10001", "aaaa", 1000, 1000));
  EXPECT_TRUE(cache.Remember("10001", "cccc", 1400, 1400));  // drops bucket 1000
  EXPECT_EQ(cache.size(), 1u);
}

// Many requests in one second: every one is remembered (the table grows
// without losing any) and every one is then refused as a replay.
TEST(ReplayCache, RemembersEveryRequestOfABusySecond) {
  ReplayCache cache(300);
  constexpr int kRequests = 100'000;
  for (int i = 0; i < kRequests; ++i) {
    ASSERT_TRUE(cache.Remember("10001", "sign-" + std::to_string(i), 5000, 5000)) << i;
  }
  EXPECT_EQ(cache.size(), static_cast<size_t>(kRequests));
  for (int i = 0; i < kRequests; i += 997) {
    EXPECT_FALSE(cache.Remember("10001", "sign-" + std::to_string(i), 5000, 5000)) << i;
  }
  EXPECT_EQ(cache.size(), static_cast<size_t>(kRequests));
}

// The memory bound the header promises: at most 22 bytes a request once a
// bucket holds more than a handful (a node-based set took 40 and more).
TEST(ReplayCache, TakesAtMostTwentyTwoBytesARequest) {
  ReplayCache cache(300);
  constexpr int kPerSecond = 5000;
  for (int s = 0; s < 20; ++s) {
    for (int i = 0; i < kPerSecond; ++i) {
      cache.Remember("10001", std::to_string(s) + "/" + std::to_string(i), 9000 + s, 9000 + s);
    }
  }
  EXPECT_EQ(cache.size(), 20u * kPerSecond);
  EXPECT_LE(cache.bytes(), 22u * cache.size()) << cache.bytes() << " bytes";
  // Once their second left the window, the buckets are gone with their bytes.
  cache.Remember("10001", "late", 9500, 9500);
  EXPECT_EQ(cache.size(), 1u);
  EXPECT_LE(cache.bytes(), 1024u);
}

}  // namespace
}  // namespace vkspay::sandbox
