#include "sandbox/dashboard/dashboard_params.h"

#include <gtest/gtest.h>

#include "vkspay/protocol/amount.h"

namespace vkspay::sandbox::dashboard {
namespace {

httplib::Params P(std::initializer_list<std::pair<const std::string, std::string>> kv) {
  return httplib::Params(kv);
}

class ParamsTest : public ::testing::Test {
 protected:
  SandboxConfig config_ = SandboxConfig::Demo();
};

TEST_F(ParamsTest, OrdersQueryDefaults) {
  StatusOr<OrdersQuery> q = ParseOrdersQuery(P({}), config_);
  ASSERT_TRUE(q.ok()) << q.status().ToString();
  EXPECT_EQ(q->merchantno, "");
  EXPECT_FALSE(q->status.has_value());
  EXPECT_EQ(q->out_trade_no, "");
  EXPECT_EQ(q->page, 1);
  EXPECT_EQ(q->size, kDefaultPageSize);
  EXPECT_FALSE(q->live);
}

TEST_F(ParamsTest, OrdersQueryReadsEveryFilter) {
  StatusOr<OrdersQuery> q = ParseOrdersQuery(P({{"merchantno", "10001"},
                                                {"status", "SUCCESS"},
                                                {"out_trade_no", "T-1"},
                                                {"page", "3"},
                                                {"size", "20"},
                                                {"live", "1"}}),
                                             config_);
  ASSERT_TRUE(q.ok()) << q.status().ToString();
  EXPECT_EQ(q->merchantno, "10001");
  EXPECT_EQ(q->status, OrderStatus::kSuccess);
  EXPECT_EQ(q->out_trade_no, "T-1");
  EXPECT_EQ(q->page, 3);
  EXPECT_EQ(q->size, 20);
  EXPECT_TRUE(q->live);
}

TEST_F(ParamsTest, EmptyValuesMeanAll) {
  // What the filter form sends when "all" is chosen.
  StatusOr<OrdersQuery> q =
      ParseOrdersQuery(P({{"merchantno", ""}, {"status", ""}, {"out_trade_no", ""}}), config_);
  ASSERT_TRUE(q.ok()) << q.status().ToString();
  EXPECT_EQ(q->merchantno, "");
  EXPECT_FALSE(q->status.has_value());
}

void ExpectError(const Status& st, ErrorCode code, const std::string& fragment) {
  EXPECT_EQ(st.code(), code) << st.ToString();
  EXPECT_NE(st.message().find(fragment), std::string::npos) << st.message();
}

TEST_F(ParamsTest, BadPageNamesPageAndQuotesIt) {
  for (const char* bad : {"0", "-1", "abc", "1.5", "1e3", " 2", "99999999999999999999"}) {
    StatusOr<OrdersQuery> q = ParseOrdersQuery(P({{"page", bad}}), config_);
    ASSERT_FALSE(q.ok()) << bad;
    ExpectError(q.status(), ErrorCode::kInvalidField,
                std::string("page must be a whole number from 1 to 1000000, got \"") + bad);
  }
}

TEST_F(ParamsTest, BadSizeIsRefused) {
  StatusOr<OrdersQuery> q = ParseOrdersQuery(P({{"size", "501"}}), config_);
  ASSERT_FALSE(q.ok());
  ExpectError(q.status(), ErrorCode::kInvalidField, "size must be a whole number from 1 to 500");
}

TEST_F(ParamsTest, BadStatusListsTheStates) {
  StatusOr<OrdersQuery> q = ParseOrdersQuery(P({{"status", "paid"}}), config_);
  ASSERT_FALSE(q.ok());
  ExpectError(
      q.status(), ErrorCode::kInvalidField,
      "status must be NOTPAY, USERPAYING, SUCCESS, REFUND, CLOSED or PAYERROR, got \"paid\"");
}

TEST_F(ParamsTest, UnknownMerchantListsTheConfiguredOnes) {
  StatusOr<OrdersQuery> q = ParseOrdersQuery(P({{"merchantno", "99999"}}), config_);
  ASSERT_FALSE(q.ok());
  ExpectError(q.status(), ErrorCode::kInvalidField,
              "merchantno \"99999\" is not a configured merchant (configured: 10001");
}

TEST_F(ParamsTest, LongOutTradeNoIsRefused) {
  StatusOr<OrdersQuery> q = ParseOrdersQuery(P({{"out_trade_no", std::string(65, 'x')}}), config_);
  ASSERT_FALSE(q.ok());
  ExpectError(q.status(), ErrorCode::kInvalidField,
              "out_trade_no must be at most 64 bytes, got 65");
}

TEST_F(ParamsTest, LiveMustBeZeroOrOne) {
  StatusOr<OrdersQuery> q = ParseOrdersQuery(P({{"live", "yes"}}), config_);
  ASSERT_FALSE(q.ok());
  ExpectError(q.status(), ErrorCode::kInvalidField, "live must be 0 or 1, got \"yes\"");
}

TEST_F(ParamsTest, NotificationsQuery) {
  StatusOr<NotificationsQuery> q =
      ParseNotificationsQuery(P({{"state", "failed"}, {"limit", "5"}}), config_);
  ASSERT_TRUE(q.ok()) << q.status().ToString();
  EXPECT_EQ(q->state, NotifyState::kFailed);
  EXPECT_EQ(q->limit, 5);
  StatusOr<NotificationsQuery> bad = ParseNotificationsQuery(P({{"state", "lost"}}), config_);
  ASSERT_FALSE(bad.ok());
  ExpectError(bad.status(), ErrorCode::kInvalidField,
              "state must be pending, acked, failed or blocked, got \"lost\"");
  bad = ParseNotificationsQuery(P({{"limit", "0"}}), config_);
  ASSERT_FALSE(bad.ok());
  ExpectError(bad.status(), ErrorCode::kInvalidField,
              "limit must be a whole number from 1 to 1000");
}

TEST_F(ParamsTest, OrderKeyFillsTheOnlyMerchant) {
  StatusOr<OrderKey> key = ParseOrderKey(P({{"out_trade_no", "T1"}}), config_);
  ASSERT_TRUE(key.ok()) << key.status().ToString();
  EXPECT_EQ(key->merchantno, "10001");
  EXPECT_EQ(key->out_trade_no, "T1");
}

TEST_F(ParamsTest, OrderKeyNeedsOutTradeNo) {
  StatusOr<OrderKey> key = ParseOrderKey(P({{"merchantno", "10001"}}), config_);
  ASSERT_FALSE(key.ok());
  ExpectError(key.status(), ErrorCode::kMissingField, "out_trade_no is required");
}

TEST_F(ParamsTest, OrderKeyNeedsMerchantWhenSeveral) {
  Merchant second = config_.merchants[0];
  second.merchantno = "10002";
  config_.merchants.push_back(second);
  StatusOr<OrderKey> key = ParseOrderKey(P({{"out_trade_no", "T1"}}), config_);
  ASSERT_FALSE(key.ok());
  ExpectError(key.status(), ErrorCode::kMissingField,
              "merchantno is required when several merchants are configured");
}

TEST_F(ParamsTest, RefundForm) {
  StatusOr<RefundForm> f =
      ParseRefundForm(P({{"refund_fee", "0.5"}, {"out_refund_no", "R-1"}}), vkspay::kDefaultMaxFen);
  ASSERT_TRUE(f.ok()) << f.status().ToString();
  EXPECT_EQ(f->fee_fen, 50);
  EXPECT_EQ(f->out_refund_no, "R-1");
  f = ParseRefundForm(P({{"refund_fee", "1"}, {"out_refund_no", ""}}), vkspay::kDefaultMaxFen);
  ASSERT_TRUE(f.ok());
  EXPECT_FALSE(f->out_refund_no.has_value());
}

TEST_F(ParamsTest, RefundFormRefusesBadInput) {
  StatusOr<RefundForm> f = ParseRefundForm(P({}), vkspay::kDefaultMaxFen);
  ASSERT_FALSE(f.ok());
  ExpectError(f.status(), ErrorCode::kMissingField, "refund_fee is required");
  f = ParseRefundForm(P({{"refund_fee", "0.001"}}), vkspay::kDefaultMaxFen);
  ASSERT_FALSE(f.ok());
  EXPECT_EQ(f.status().code(), ErrorCode::kInvalidAmount) << f.status().ToString();
  EXPECT_NE(f.status().message().find("refund_fee"), std::string::npos) << f.status().message();
  f = ParseRefundForm(P({{"refund_fee", "1"}, {"out_refund_no", "<x>"}}), vkspay::kDefaultMaxFen);
  ASSERT_FALSE(f.ok());
  ExpectError(f.status(), ErrorCode::kInvalidField,
              "out_refund_no must be 1-64 letters, digits or _-|*, got \"<x>\"");
}

TEST_F(ParamsTest, AdvanceSeconds) {
  StatusOr<int64_t> us = ParseAdvanceSeconds(P({{"seconds", "1.5"}}));
  ASSERT_TRUE(us.ok()) << us.status().ToString();
  EXPECT_EQ(*us, 1'500'000);
  us = ParseAdvanceSeconds(P({{"seconds", "3600"}}));
  ASSERT_TRUE(us.ok());
  EXPECT_EQ(*us, 3'600'000'000);
  us = ParseAdvanceSeconds(P({}));
  ASSERT_FALSE(us.ok());
  ExpectError(us.status(), ErrorCode::kMissingField, "seconds is required");
  for (const char* bad : {"-1", "abc", "1e3", "inf", "nan", "0x10", "1.2.3", ".5", "400000000"}) {
    us = ParseAdvanceSeconds(P({{"seconds", bad}}));
    ASSERT_FALSE(us.ok()) << bad;
    ExpectError(us.status(), ErrorCode::kInvalidField,
                std::string("seconds must be a number >= 0 (fractions allowed, at most ten "
                            "years), got \"") +
                    bad);
  }
}

TEST(UrlEncode, EncodesEverythingButUnreserved) {
  EXPECT_EQ(UrlEncode("Az09-_.~"), "Az09-_.~");
  EXPECT_EQ(UrlEncode("a b&c=d/\"><"), "a%20b%26c%3Dd%2F%22%3E%3C");
  EXPECT_EQ(UrlEncode("中"), "%E4%B8%AD");
}

}  // namespace
}  // namespace vkspay::sandbox::dashboard
