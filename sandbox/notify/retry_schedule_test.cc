#include "sandbox/notify/retry_schedule.h"

#include <gtest/gtest.h>

#include <numeric>

namespace vkspay::sandbox {
namespace {

double Total(const RetrySchedule& s) {
  return std::accumulate(s.waits_s.begin(), s.waits_s.end(), 0.0);
}

TEST(RetrySchedule, VksPayIsWeChatPaysPublishedSchedule) {
  RetrySchedule s = *ScheduleForProfile("vkspay");
  EXPECT_EQ(s.waits_s, (std::vector<double>{15, 15, 30, 180, 600, 1200, 1800, 1800, 1800, 3600,
                                            10800, 10800, 10800, 21600, 21600}));
  EXPECT_EQ(s.max_attempts(), 16);
  EXPECT_EQ(Total(s), 24 * 3600 + 4 * 60);
  EXPECT_EQ(s.Describe(), "15s, 15s, 30s, 3m, 10m, 20m, 30m, 30m, 30m, 1h, 3h, 3h, 3h, 6h, 6h");
}

TEST(RetrySchedule, AlipayProfile) {
  RetrySchedule s = *ScheduleForProfile("alipay");
  EXPECT_EQ(s.waits_s, (std::vector<double>{240, 600, 600, 3600, 7200, 21600, 54000}));
  EXPECT_EQ(s.max_attempts(), 8);
}

TEST(RetrySchedule, FastProfile) {
  RetrySchedule s = *ScheduleForProfile("fast");
  EXPECT_EQ(s.waits_s, (std::vector<double>{1, 2, 5, 10}));
  EXPECT_EQ(s.Describe(), "1s, 2s, 5s, 10s");
}

TEST(RetrySchedule, CustomProfileUsesTheGivenList) {
  RetrySchedule s = *ScheduleForProfile("custom", {0.5, 90});
  EXPECT_EQ(s.max_attempts(), 3);
  EXPECT_EQ(s.Describe(), "0.5s, 90s");
  EXPECT_EQ(ScheduleForProfile("custom").status().code(), ErrorCode::kInvalidField);
}

TEST(RetrySchedule, UnknownProfileIsInvalidField) {
  StatusOr<RetrySchedule> s = ScheduleForProfile("wechat");
  EXPECT_EQ(s.status().code(), ErrorCode::kInvalidField);
  EXPECT_NE(s.status().message().find("wechat"), std::string::npos);
}

TEST(RetrySchedule, DelayAfterEachFailedAttemptThenNone) {
  RetrySchedule s = *ScheduleForProfile("fast");
  EXPECT_EQ(s.DelayAfter(1, 1.0), 1'000'000);
  EXPECT_EQ(s.DelayAfter(2, 1.0), 2'000'000);
  EXPECT_EQ(s.DelayAfter(3, 1.0), 5'000'000);
  EXPECT_EQ(s.DelayAfter(4, 1.0), 10'000'000);
  EXPECT_EQ(s.DelayAfter(5, 1.0), std::nullopt);  // the fifth was the last
  EXPECT_EQ(s.DelayAfter(0, 1.0), std::nullopt);
}

TEST(RetrySchedule, TimeScaleMultipliesEveryDelay) {
  RetrySchedule s = *ScheduleForProfile("vkspay");
  EXPECT_EQ(s.DelayAfter(1, 0.001), 15'000);
  EXPECT_EQ(s.DelayAfter(15, 0.001), 21'600'000);
  EXPECT_EQ(s.DelayAfter(4, 0.5), 90'000'000);
  // 0.001 turns the whole day (24 h 4 m) into about 87 s.
  int64_t sum = 0;
  for (int64_t k = 1; k < s.max_attempts(); ++k) sum += *s.DelayAfter(k, 0.001);
  EXPECT_EQ(sum, 86'640'000);
}

}  // namespace
}  // namespace vkspay::sandbox
