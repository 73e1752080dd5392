#include "vkspay/protocol/amount.h"

#include <gtest/gtest.h>

namespace vkspay {
namespace {

TEST(Amount, ParsesNumbersAsJavaScriptRendersThem) {
  EXPECT_EQ(*ParseYuan("total_fee", Value(0.01)), 1);
  EXPECT_EQ(*ParseYuan("total_fee", Value(100.0)), 10000);
  EXPECT_EQ(*ParseYuan("total_fee", Value(1.5)), 150);
  EXPECT_EQ(*ParseYuan("total_fee", Value(12.34)), 1234);
  EXPECT_EQ(*ParseYuan("total_fee", Value(1000000.0)), 100000000);
}

TEST(Amount, ParsesNumericStrings) {
  EXPECT_EQ(*ParseYuan("total_fee", Value(std::string("0.01"))), 1);
  EXPECT_EQ(*ParseYuan("total_fee", Value(std::string("0.10"))), 10);
  EXPECT_EQ(*ParseYuan("total_fee", Value(std::string("10"))), 1000);
}

TEST(Amount, RefusesWhatIsNotPlainYuanWithTwoDecimals) {
  const char* bad[] = {"", "abc", "1.005", "0.001", "-1", "+1", "01", "1e2", " 1",
                       "1 ", "1.", ".5", "0", "0.00", "1,5", "１", "0x10"};
  for (const char* b : bad) {
    auto r = ParseYuan("total_fee", Value(std::string(b)));
    ASSERT_FALSE(r.ok()) << b;
    EXPECT_EQ(r.status().code(), ErrorCode::kInvalidAmount) << b;
    EXPECT_NE(r.status().message().find("total_fee"), std::string::npos) << b;
  }
  EXPECT_FALSE(ParseYuan("total_fee", Value(1e-7)).ok());    // "1e-7"
  EXPECT_FALSE(ParseYuan("total_fee", Value(1e21)).ok());    // "1e+21"
  EXPECT_FALSE(ParseYuan("total_fee", Value(-0.0)).ok());    // "0"
  EXPECT_FALSE(ParseYuan("total_fee", Value(0.1 + 0.2)).ok());
  EXPECT_FALSE(ParseYuan("total_fee", Value(true)).ok());
  EXPECT_FALSE(ParseYuan("total_fee", Value(nullptr)).ok());
}

TEST(Amount, EnforcesTheMaximum) {
  EXPECT_TRUE(ParseYuan("total_fee", Value(1000000.0)).ok());
  auto r = ParseYuan("total_fee", Value(1000000.01));
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("1000000"), std::string::npos);
  EXPECT_FALSE(ParseYuan("total_fee", Value(std::string("99999999999999999999999"))).ok());
  EXPECT_EQ(*ParseYuanText("x", "5", /*max_fen=*/500), 500);
  EXPECT_FALSE(ParseYuanText("x", "5.01", /*max_fen=*/500).ok());
}

// Regression (found by fuzz/amount_fuzz, corpus yuan_overflow_huge_max_fen):
// with a large max_fen (the configurable max_total_fee), the digit loop and
// yuan * 100 overflowed int64 (undefined behaviour) instead of refusing.
TEST(Amount, HugeLimitsNeverOverflow) {
  const int64_t kMax = INT64_MAX;
  EXPECT_EQ(*ParseYuanText("x", "92233720368547758.07", kMax), kMax);
  auto over = ParseYuanText("x", "92233720368547758.08", kMax);
  ASSERT_FALSE(over.ok());
  EXPECT_EQ(over.status().code(), ErrorCode::kInvalidAmount);
  EXPECT_FALSE(ParseYuanText("x", "92233720368547759", kMax).ok());
  EXPECT_FALSE(ParseYuanText("x", "99999999999999999999999999999999", kMax).ok());
  EXPECT_EQ(*ParseYuanText("x", "0.99", /*max_fen=*/99), 99);
  EXPECT_FALSE(ParseYuanText("x", "1", /*max_fen=*/99).ok());
  EXPECT_FALSE(ParseYuanText("x", "0.01", /*max_fen=*/0).ok());
}

TEST(Amount, FormatsLikeJavaScript) {
  EXPECT_EQ(FormatYuan(1), "0.01");
  EXPECT_EQ(FormatYuan(10), "0.1");
  EXPECT_EQ(FormatYuan(150), "1.5");
  EXPECT_EQ(FormatYuan(10000), "100");
  EXPECT_EQ(FormatYuan(1234), "12.34");
  EXPECT_EQ(YuanJson(1).dump(), "0.01");
  EXPECT_EQ(YuanJson(10000).dump(), "100");
  EXPECT_EQ(YuanJson(1234).dump(), "12.34");
}

TEST(Amount, FormatThenParseRoundTrips) {
  for (int64_t fen = 1; fen < 100000; fen += 7) {
    EXPECT_EQ(*ParseYuanText("f", FormatYuan(fen)), fen);
    EXPECT_EQ(*ParseYuan("f", Value(YuanJson(fen).get<double>())), fen);
  }
}

}  // namespace
}  // namespace vkspay
