#include "sandbox/core/sandbox_clock.h"

#include <gtest/gtest.h>

namespace vkspay::sandbox {
namespace {

TEST(SandboxClock, IsTheBaseClockPlusWhatWasAdvanced) {
  FakeClock base(1'000'000);
  SandboxClock clock(&base);
  EXPECT_EQ(clock.NowMicros(), 1'000'000);
  ASSERT_TRUE(clock.AdvanceMicros(2'500'000).ok());
  EXPECT_EQ(clock.NowMicros(), 3'500'000);
  EXPECT_EQ(clock.offset_us(), 2'500'000);
  base.AdvanceSeconds(1);
  EXPECT_EQ(clock.NowMicros(), 4'500'000);
  EXPECT_EQ(clock.NowSeconds(), 4);
}

TEST(SandboxClock, RefusesToGoBackwards) {
  FakeClock base;
  SandboxClock clock(&base);
  EXPECT_EQ(clock.AdvanceMicros(-1).code(), ErrorCode::kInvalidField);
  EXPECT_EQ(clock.offset_us(), 0);
}

TEST(SandboxClock, TellsEveryObserverAfterEachAdvance) {
  FakeClock base;
  SandboxClock clock(&base);
  int a = 0;
  int64_t seen = 0;
  clock.AddObserver([&] { ++a; });
  clock.AddObserver([&] { seen = clock.offset_us(); });
  ASSERT_TRUE(clock.AdvanceMicros(0).ok());
  ASSERT_TRUE(clock.AdvanceMicros(7).ok());
  EXPECT_EQ(a, 2);
  EXPECT_EQ(seen, 7);  // observers run after the clock moved
}

// A conformance run advanced the clock ~26 h and nothing could put it back:
// every later request with a real timestamp was TIMESTAMP_EXPIRED.
TEST(SandboxClock, ResetPutsTheOffsetBackToZeroAndTellsTheObservers) {
  FakeClock base(1'000'000);
  SandboxClock clock(&base);
  int calls = 0;
  clock.AddObserver([&] { ++calls; });
  ASSERT_TRUE(clock.AdvanceMicros(93'600'000'000).ok());
  EXPECT_EQ(clock.ResetOffset(), 93'600'000'000);
  EXPECT_EQ(clock.offset_us(), 0);
  EXPECT_EQ(clock.NowMicros(), 1'000'000);
  EXPECT_EQ(calls, 2);
  EXPECT_EQ(clock.ResetOffset(), 0);  // nothing to remove: observers left alone
  EXPECT_EQ(calls, 2);
}

}  // namespace
}  // namespace vkspay::sandbox
