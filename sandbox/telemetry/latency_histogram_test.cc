#include "sandbox/telemetry/latency_histogram.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <random>
#include <vector>

namespace vkspay::sandbox {
namespace {

TEST(LatencyHistogram, EveryValueLandsInABucketThatHoldsIt) {
  for (int64_t v : {int64_t{0}, int64_t{1}, int64_t{255}, int64_t{256}, int64_t{257}, int64_t{511},
                    int64_t{512}, int64_t{1000}, int64_t{20'000}, int64_t{999'999},
                    int64_t{1'000'000}, int64_t{3'600'000'000}, LatencyHistogram::kMaxValue}) {
    const size_t i = LatencyHistogram::IndexOf(v);
    EXPECT_LE(LatencyHistogram::LowestOf(i), v) << v;
    EXPECT_GE(LatencyHistogram::HighestOf(i), v) << v;
    // Buckets tile the line: the next one starts right after.
    EXPECT_EQ(LatencyHistogram::LowestOf(i + 1), LatencyHistogram::HighestOf(i) + 1) << v;
  }
}

TEST(LatencyHistogram, RelativeErrorIsBoundedByOneIn128) {
  for (size_t i = LatencyHistogram::kLinearLimit; i < 4000; ++i) {
    const double lo = static_cast<double>(LatencyHistogram::LowestOf(i));
    const double width = static_cast<double>(LatencyHistogram::HighestOf(i)) - lo + 1;
    ASSERT_LE(width / lo, 1.0 / 128 + 1e-12) << i;
  }
  // Below 256 µs every value is exact.
  EXPECT_EQ(LatencyHistogram::HighestOf(LatencyHistogram::IndexOf(200)), 200);
}

TEST(LatencyHistogram, PercentilesAreWithinTheErrorOfTheExactOnes) {
  std::mt19937_64 rng(7);
  std::lognormal_distribution<double> dist(8, 2);  // µs, a long tail
  std::vector<int64_t> values;
  LatencyHistogram h;
  for (int i = 0; i < 100'000; ++i) {
    const auto v = static_cast<int64_t>(dist(rng));
    values.push_back(v);
    h.Record(v);
  }
  std::sort(values.begin(), values.end());
  for (double q : {0.5, 0.9, 0.99, 0.999, 1.0}) {
    const auto rank = static_cast<size_t>(std::ceil(q * static_cast<double>(values.size())));
    const int64_t exact = values[rank - 1];
    const int64_t got = h.ValueAt(q);
    EXPECT_GE(got, exact) << q;
    EXPECT_LE(static_cast<double>(got), static_cast<double>(exact) * (1 + 1.0 / 128) + 1) << q;
  }
  EXPECT_EQ(h.count(), 100'000);
  EXPECT_EQ(h.max(), values.back());
  EXPECT_EQ(h.ValueAt(1.0), values.back());
}

TEST(LatencyHistogram, JsonRoundTripAndWindowSubtraction) {
  LatencyHistogram before;
  before.Record(100, 3);
  before.Record(20'000, 2);
  LatencyHistogram now = before;
  now.Record(5'000'000);
  now.Record(100);
  const LatencyHistogram copy = LatencyHistogram::FromJson(now.ToJson());
  EXPECT_EQ(copy.count(), now.count());
  EXPECT_EQ(copy.max(), now.max());
  EXPECT_DOUBLE_EQ(copy.mean(), now.mean());
  EXPECT_EQ(copy.ValueAt(0.5), now.ValueAt(0.5));

  LatencyHistogram window = copy;
  window.Subtract(LatencyHistogram::FromJson(before.ToJson()));
  EXPECT_EQ(window.count(), 2);
  EXPECT_EQ(window.ValueAt(0.5), 100);
  EXPECT_GE(window.ValueAt(1.0), 5'000'000);
  EXPECT_LE(window.ValueAt(1.0), 5'000'000 * 129 / 128);
}

TEST(LatencyHistogram, EmptyAndOutOfRange) {
  LatencyHistogram h;
  EXPECT_EQ(h.ValueAt(0.99), 0);
  EXPECT_TRUE(h.Buckets().empty());
  h.Record(-5);
  h.Record(int64_t{1} << 50);
  EXPECT_EQ(h.count(), 2);
  EXPECT_EQ(h.ValueAt(0.0), 0);
  EXPECT_EQ(h.max(), LatencyHistogram::kMaxValue);
  EXPECT_EQ(LatencyHistogram::FromJson(nlohmann::json("junk")).count(), 0);
}

}  // namespace
}  // namespace vkspay::sandbox
