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

}  // namespace
}  // namespace vkspay::sandbox
