#include "sandbox/store/sqlite_store.h"

#include <gtest/gtest.h>
#include <sqlite3.h>
#include <stdlib.h>

#include <atomic>
#include <cctype>
#include <condition_variable>
#include <mutex>
#include <set>
#include <filesystem>
#include <functional>
#include <latch>
#include <memory>
#include <string>
#include <thread>
#include <tuple>
#include <vector>

#include "sandbox/store/store.h"
#include "vkspay/protocol/clock.h"
#include "vkspay/protocol/notification.h"

namespace vkspay::sandbox {
namespace {

constexpr int64_t kNow = 1'764'300'000;  // 2025-11-28 11:20:00 +08:00
constexpr int64_t kTtl = 7200;

auto Tie(const Order& o) {
  return std::tie(o.merchantno, o.out_trade_no, o.trade_type, o.total_fee, o.pay_chnl, o.subject,
                  o.body, o.attach, o.notify_url, o.return_url, o.client_ip, o.auth_code,
                  o.cashier_token, o.status, o.transaction_id, o.created_at, o.expires_at,
                  o.paid_at, o.closed_at, o.refunded_fee, o.refund_count);
}
auto Tie(const Refund& r) {
  return std::tie(r.merchantno, r.out_trade_no, r.out_refund_no, r.refund_fee, r.status,
                  r.created_at, r.success_at);
}

Order MakeOrder(std::string out_trade_no, int64_t total_fee = 100,
                std::string merchantno = "10001") {
  Order o;
  o.merchantno = std::move(merchantno);
  o.out_trade_no = out_trade_no;
  o.trade_type = "webpay";
  o.total_fee = total_fee;
  o.pay_chnl = "auto";
  o.subject = "测试商品";
  o.body = "一杯咖啡";
  o.attach = "a=1&b=2";
  o.notify_url = "http://127.0.0.1:9/notify";
  o.return_url = "http://127.0.0.1:9/return";
  o.cashier_token = "tok-" + o.merchantno + "-" + out_trade_no;
  o.created_at = kNow;
  o.expires_at = kNow + kTtl;
  return o;
}

std::unique_ptr<Store> OpenOrDie(const std::string& path) {
  SqliteStoreOptions options;
  options.path = path;
  StatusOr<std::unique_ptr<Store>> store = OpenSqliteStore(options);
  EXPECT_TRUE(store.ok()) << store.status().ToString();
  if (!store.ok()) return nullptr;
  return std::move(store).value();
}

// A raw connection for inspecting (or sabotaging) a database file.
class RawDb {
 public:
  explicit RawDb(const std::string& path) {
    EXPECT_EQ(sqlite3_open(path.c_str(), &db_), SQLITE_OK);
    sqlite3_busy_timeout(db_, 5000);
  }
  ~RawDb() { sqlite3_close(db_); }
  // The first column of the first row, as text ("" if none).
  std::string Query(const std::string& sql) {
    sqlite3_stmt* stmt = nullptr;
    EXPECT_EQ(sqlite3_prepare_v2(db_, sql.c_str(), -1, &stmt, nullptr), SQLITE_OK)
        << sqlite3_errmsg(db_);
    std::string out;
    if (sqlite3_step(stmt) == SQLITE_ROW && sqlite3_column_text(stmt, 0) != nullptr) {
      out = reinterpret_cast<const char*>(sqlite3_column_text(stmt, 0));
    }
    sqlite3_finalize(stmt);
    return out;
  }
  // Every row, columns joined by '|', rows by '\n'.
  std::string Dump(const std::string& sql) {
    sqlite3_stmt* stmt = nullptr;
    EXPECT_EQ(sqlite3_prepare_v2(db_, sql.c_str(), -1, &stmt, nullptr), SQLITE_OK)
        << sqlite3_errmsg(db_);
    std::string out;
    while (sqlite3_step(stmt) == SQLITE_ROW) {
      for (int i = 0; i < sqlite3_column_count(stmt); ++i) {
        const unsigned char* t = sqlite3_column_text(stmt, i);
        out += t != nullptr ? reinterpret_cast<const char*>(t) : "NULL";
        out += '|';
      }
      out += '\n';
    }
    sqlite3_finalize(stmt);
    return out;
  }
  void Exec(const std::string& sql) {
    EXPECT_EQ(sqlite3_exec(db_, sql.c_str(), nullptr, nullptr, nullptr), SQLITE_OK)
        << sqlite3_errmsg(db_);
  }

 private:
  sqlite3* db_ = nullptr;
};

// A fresh directory per test, removed afterwards.
class TempDir {
 public:
  TempDir() {
    std::string tmpl = ::testing::TempDir() + "vkspay_store_XXXXXX";
    EXPECT_NE(mkdtemp(tmpl.data()), nullptr);
    path_ = tmpl;
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  std::string File(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

// Every StoreTest runs twice: on an in-memory database (reads share the
// writer's connection) and on a file (reads go through the reader pool).
class StoreTest : public ::testing::TestWithParam<bool> {
 protected:
  void SetUp() override {
    store_ = OpenOrDie(GetParam() ? dir_.File("store.db") : ":memory:");
    ASSERT_NE(store_, nullptr);
  }

  Order Create(const Order& o) {
    StatusOr<CreateOrderResult> r = store_->CreateOrder(o, /*must_be_new=*/true, kNow);
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    return r.ok() ? r->order : Order{};
  }
  Order CreatePaid(const std::string& out_trade_no, int64_t total_fee = 100) {
    Create(MakeOrder(out_trade_no, total_fee));
    StatusOr<Order> paid = store_->CompletePayment("10001", out_trade_no, PayOutcome::kSuccess,
                                                   "wxpay", "4200000001", kNow + 10);
    EXPECT_TRUE(paid.ok()) << paid.status().ToString();
    return paid.ok() ? *paid : Order{};
  }
  StatusOr<Refund> DoRefund(const std::string& out_trade_no, const std::string& out_refund_no,
                            int64_t fee) {
    return store_->CreateRefund("10001", out_trade_no, out_refund_no, "unused", fee, kNow + 20);
  }

  TempDir dir_;
  std::unique_ptr<Store> store_;
};

// --- status names ---

TEST(StoreStrings, OrderStatusNamesRoundTrip) {
  const std::pair<OrderStatus, std::string_view> cases[] = {
      {OrderStatus::kNotPay, "NOTPAY"},   {OrderStatus::kUserPaying, "USERPAYING"},
      {OrderStatus::kSuccess, "SUCCESS"}, {OrderStatus::kRefund, "REFUND"},
      {OrderStatus::kClosed, "CLOSED"},   {OrderStatus::kPayError, "PAYERROR"},
  };
  for (const auto& [status, name] : cases) {
    EXPECT_EQ(ToString(status), name);
    EXPECT_EQ(ParseOrderStatus(name), status);
  }
}

TEST(StoreStrings, ParseOrderStatusRefusesUnknownNames) {
  EXPECT_EQ(ParseOrderStatus(""), std::nullopt);
  EXPECT_EQ(ParseOrderStatus("notpay"), std::nullopt);
  EXPECT_EQ(ParseOrderStatus("PAID"), std::nullopt);
}

TEST(StoreStrings, RefundStatusNames) {
  EXPECT_EQ(ToString(RefundStatus::kSuccess), "SUCCESS");
  EXPECT_EQ(ToString(RefundStatus::kProcessing), "PROCESSING");
  EXPECT_EQ(ToString(RefundStatus::kFail), "FAIL");
}

// --- CreateOrder ---

TEST_P(StoreTest, CreateOrderInsertsNotPayAndReadsBackEveryField) {
  Order in = MakeOrder("T1");
  in.client_ip = "10.0.0.1";
  in.auth_code = "134567890123456789";
  in.status = OrderStatus::kSuccess;  // ignored: a new order is always NOTPAY
  in.paid_at = 5;
  StatusOr<CreateOrderResult> r = store_->CreateOrder(in, true, kNow);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_TRUE(r->created);
  Order expected = in;
  expected.status = OrderStatus::kNotPay;
  expected.paid_at = 0;
  EXPECT_EQ(Tie(r->order), Tie(expected));
  StatusOr<Order> got = store_->GetOrder("10001", "T1", kNow);
  ASSERT_TRUE(got.ok()) << got.status().ToString();
  EXPECT_EQ(Tie(*got), Tie(expected));
}

TEST_P(StoreTest, CreateOrderWithoutCreatedAtUsesNow) {
  Order in = MakeOrder("T1");
  in.created_at = 0;
  StatusOr<CreateOrderResult> r = store_->CreateOrder(in, true, kNow + 3);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->order.created_at, kNow + 3);
}

TEST_P(StoreTest, CreateOrderAgainWithSameAmountReturnsExistingUnpaidOrder) {
  Order first = Create(MakeOrder("T1"));
  Order again = MakeOrder("T1");
  again.subject = "另一个标题";
  again.cashier_token = "another-token";
  StatusOr<CreateOrderResult> r = store_->CreateOrder(again, false, kNow + 60);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_FALSE(r->created);
  EXPECT_EQ(Tie(r->order), Tie(first));
}

TEST_P(StoreTest, CreateOrderMustBeNewRejectsExistingOutTradeNo) {
  Create(MakeOrder("T1"));
  StatusOr<CreateOrderResult> r = store_->CreateOrder(MakeOrder("T1"), true, kNow);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), ErrorCode::kOutTradeNoUsed);
  EXPECT_NE(r.status().message().find("T1"), std::string::npos) << r.status().message();
}

TEST_P(StoreTest, CreateOrderWithAnotherAmountIsOutTradeNoUsed) {
  Create(MakeOrder("T1", 100));
  StatusOr<CreateOrderResult> r = store_->CreateOrder(MakeOrder("T1", 200), false, kNow);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), ErrorCode::kOutTradeNoUsed);
  EXPECT_EQ(r.status().message(),
            "out_trade_no=T1 已用于金额 1 元的订单, 本次 total_fee 为 2 元");
}

TEST_P(StoreTest, CreateOrderOnPaidOrderIsOrderPaid) {
  CreatePaid("T1");
  StatusOr<CreateOrderResult> r = store_->CreateOrder(MakeOrder("T1"), false, kNow);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), ErrorCode::kOrderPaid);
}

TEST_P(StoreTest, CreateOrderOnRefundedOrderIsOrderPaid) {
  CreatePaid("T1");
  ASSERT_TRUE(DoRefund("T1", "R1", 10).ok());
  StatusOr<CreateOrderResult> r = store_->CreateOrder(MakeOrder("T1"), false, kNow);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), ErrorCode::kOrderPaid);
}

TEST_P(StoreTest, CreateOrderOnCancelledOrderIsOrderClosed) {
  Create(MakeOrder("T1"));
  ASSERT_TRUE(store_->CompletePayment("10001", "T1", PayOutcome::kCancel, "", "", kNow + 1).ok());
  StatusOr<CreateOrderResult> r = store_->CreateOrder(MakeOrder("T1"), false, kNow + 2);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), ErrorCode::kOrderClosed);
}

TEST_P(StoreTest, CreateOrderOnFailedOrderIsOrderClosed) {
  Create(MakeOrder("T1"));
  ASSERT_TRUE(store_->CompletePayment("10001", "T1", PayOutcome::kFail, "", "", kNow + 1).ok());
  StatusOr<CreateOrderResult> r = store_->CreateOrder(MakeOrder("T1"), false, kNow + 2);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), ErrorCode::kOrderClosed);
}

TEST_P(StoreTest, CreateOrderOnExpiredUnpaidOrderIsOrderClosedAndClosesIt) {
  Create(MakeOrder("T1"));
  StatusOr<CreateOrderResult> r = store_->CreateOrder(MakeOrder("T1"), false, kNow + kTtl);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), ErrorCode::kOrderClosed);
  // Read at an earlier `now`: only a stored close can make it CLOSED.
  StatusOr<Order> got = store_->GetOrder("10001", "T1", kNow);
  ASSERT_TRUE(got.ok()) << got.status().ToString();
  EXPECT_EQ(got->status, OrderStatus::kClosed);
  EXPECT_EQ(got->closed_at, kNow + kTtl);
}

TEST_P(StoreTest, CreateOrderWithTakenCashierTokenIsOutTradeNoUsed) {
  Create(MakeOrder("T1"));
  Order other = MakeOrder("T2");
  other.cashier_token = MakeOrder("T1").cashier_token;
  StatusOr<CreateOrderResult> r = store_->CreateOrder(other, true, kNow);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), ErrorCode::kOutTradeNoUsed);
  EXPECT_EQ(store_->GetOrder("10001", "T2", kNow).status().code(), ErrorCode::kOrderNotExist);
}

TEST_P(StoreTest, OrdersWithoutCashierTokenDoNotCollide) {
  Order a = MakeOrder("M1");
  Order b = MakeOrder("M2");
  a.trade_type = b.trade_type = "micropay";
  a.cashier_token.clear();
  b.cashier_token.clear();
  Create(a);
  Order created = Create(b);
  EXPECT_EQ(created.cashier_token, "");
  StatusOr<Order> got = store_->GetOrder("10001", "M2", kNow);
  ASSERT_TRUE(got.ok()) << got.status().ToString();
  EXPECT_EQ(got->cashier_token, "");
}

TEST_P(StoreTest, SameOutTradeNoUnderAnotherMerchantIsAnotherOrder) {
  Create(MakeOrder("T1", 100, "10001"));
  Order other = Create(MakeOrder("T1", 300, "10002"));
  EXPECT_EQ(other.total_fee, 300);
  EXPECT_EQ(store_->GetOrder("10001", "T1", kNow)->total_fee, 100);
  EXPECT_EQ(store_->GetOrder("10002", "T1", kNow)->total_fee, 300);
}

TEST_P(StoreTest, CreateOrderRefusesNonPositiveAmount) {
  StatusOr<CreateOrderResult> r = store_->CreateOrder(MakeOrder("T1", 0), true, kNow);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), ErrorCode::kInvalidAmount);
}

// --- GetOrder ---

TEST_P(StoreTest, GetMissingOrderIsOrderNotExistNamingIt) {
  StatusOr<Order> r = store_->GetOrder("10001", "NOPE-42", kNow);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), ErrorCode::kOrderNotExist);
  EXPECT_NE(r.status().message().find("NOPE-42"), std::string::npos) << r.status().message();
}

TEST_P(StoreTest, GetOrderJustBeforeExpiryStaysNotPay) {
  Create(MakeOrder("T1"));
  StatusOr<Order> r = store_->GetOrder("10001", "T1", kNow + kTtl - 1);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->status, OrderStatus::kNotPay);
  EXPECT_EQ(r->closed_at, 0);
}

TEST_P(StoreTest, GetOrderClosesExpiredNotPayOrderAtItsExpiry) {
  Create(MakeOrder("T1"));
  StatusOr<Order> r = store_->GetOrder("10001", "T1", kNow + kTtl + 500);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->status, OrderStatus::kClosed);
  EXPECT_EQ(r->closed_at, kNow + kTtl);
  // The close was written, not just computed.
  StatusOr<Order> earlier = store_->GetOrder("10001", "T1", kNow);
  ASSERT_TRUE(earlier.ok());
  EXPECT_EQ(earlier->status, OrderStatus::kClosed);
}

TEST_P(StoreTest, GetOrderNeverExpiresPaidOrder) {
  CreatePaid("T1");
  StatusOr<Order> r = store_->GetOrder("10001", "T1", kNow + 10 * kTtl);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->status, OrderStatus::kSuccess);
}

TEST_P(StoreTest, GetOrderByTokenFindsTheOrder) {
  Order o = Create(MakeOrder("T1"));
  StatusOr<Order> r = store_->GetOrderByToken(o.cashier_token, kNow);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(Tie(*r), Tie(o));
}

TEST_P(StoreTest, GetOrderByTokenClosesExpiredOrder) {
  Order o = Create(MakeOrder("T1"));
  StatusOr<Order> r = store_->GetOrderByToken(o.cashier_token, kNow + kTtl);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->status, OrderStatus::kClosed);
  EXPECT_EQ(r->closed_at, kNow + kTtl);
}

TEST_P(StoreTest, GetOrderByUnknownTokenIsOrderNotExist) {
  Create(MakeOrder("T1"));
  EXPECT_EQ(store_->GetOrderByToken("nope", kNow).status().code(), ErrorCode::kOrderNotExist);
  EXPECT_EQ(store_->GetOrderByToken("", kNow).status().code(), ErrorCode::kOrderNotExist);
}

// --- CompletePayment ---

TEST_P(StoreTest, SuccessfulPaymentRecordsChannelTransactionAndTime) {
  Create(MakeOrder("T1"));
  StatusOr<Order> r = store_->CompletePayment("10001", "T1", PayOutcome::kSuccess, "alipay",
                                              "2025112822001", kNow + 30);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->status, OrderStatus::kSuccess);
  EXPECT_EQ(r->pay_chnl, "alipay");
  EXPECT_EQ(r->transaction_id, "2025112822001");
  EXPECT_EQ(r->paid_at, kNow + 30);
  StatusOr<Order> got = store_->GetOrder("10001", "T1", kNow + 31);
  ASSERT_TRUE(got.ok());
  EXPECT_EQ(Tie(*got), Tie(*r));
}

TEST_P(StoreTest, FailedPaymentMakesPayError) {
  Create(MakeOrder("T1"));
  StatusOr<Order> r =
      store_->CompletePayment("10001", "T1", PayOutcome::kFail, "wxpay", "", kNow + 30);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->status, OrderStatus::kPayError);
  EXPECT_EQ(r->closed_at, kNow + 30);
  EXPECT_EQ(r->paid_at, 0);
}

TEST_P(StoreTest, CancelledPaymentClosesOrder) {
  Create(MakeOrder("T1"));
  StatusOr<Order> r =
      store_->CompletePayment("10001", "T1", PayOutcome::kCancel, "wxpay", "", kNow + 30);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->status, OrderStatus::kClosed);
  EXPECT_EQ(r->closed_at, kNow + 30);
}

TEST_P(StoreTest, PayingMissingOrderIsOrderNotExist) {
  StatusOr<Order> r =
      store_->CompletePayment("10001", "GONE", PayOutcome::kSuccess, "wxpay", "4200", kNow);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), ErrorCode::kOrderNotExist);
  EXPECT_NE(r.status().message().find("GONE"), std::string::npos);
}

TEST_P(StoreTest, PayingPaidOrderIsOrderPaid) {
  CreatePaid("T1");
  StatusOr<Order> r =
      store_->CompletePayment("10001", "T1", PayOutcome::kSuccess, "wxpay", "4201", kNow + 40);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), ErrorCode::kOrderPaid);
  EXPECT_EQ(store_->GetOrder("10001", "T1", kNow)->transaction_id, "4200000001");
}

TEST_P(StoreTest, PayingClosedOrderIsOrderClosed) {
  Create(MakeOrder("T1"));
  ASSERT_TRUE(store_->CompletePayment("10001", "T1", PayOutcome::kCancel, "", "", kNow).ok());
  StatusOr<Order> r =
      store_->CompletePayment("10001", "T1", PayOutcome::kSuccess, "wxpay", "4200", kNow + 1);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), ErrorCode::kOrderClosed);
}

TEST_P(StoreTest, PayingFailedOrderIsOrderPayError) {
  Create(MakeOrder("T1"));
  ASSERT_TRUE(store_->CompletePayment("10001", "T1", PayOutcome::kFail, "", "", kNow).ok());
  StatusOr<Order> r =
      store_->CompletePayment("10001", "T1", PayOutcome::kSuccess, "wxpay", "4200", kNow + 1);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), ErrorCode::kOrderPayError);
}

TEST_P(StoreTest, PayingExpiredOrderIsOrderClosedAndClosesIt) {
  Create(MakeOrder("T1"));
  StatusOr<Order> r =
      store_->CompletePayment("10001", "T1", PayOutcome::kSuccess, "wxpay", "4200", kNow + kTtl);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), ErrorCode::kOrderClosed);
  StatusOr<Order> got = store_->GetOrder("10001", "T1", kNow);
  ASSERT_TRUE(got.ok());
  EXPECT_EQ(got->status, OrderStatus::kClosed);
  EXPECT_EQ(got->closed_at, kNow + kTtl);
  EXPECT_EQ(got->transaction_id, "");
}

TEST_P(StoreTest, PayingJustBeforeExpirySucceeds) {
  Create(MakeOrder("T1"));
  StatusOr<Order> r = store_->CompletePayment("10001", "T1", PayOutcome::kSuccess, "wxpay", "4200",
                                              kNow + kTtl - 1);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->status, OrderStatus::kSuccess);
}

// --- CreateRefund ---

TEST_P(StoreTest, RefundMarksOrderRefundAndRecordsIt) {
  CreatePaid("T1", 100);
  StatusOr<Refund> r = DoRefund("T1", "R1", 40);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->merchantno, "10001");
  EXPECT_EQ(r->out_trade_no, "T1");
  EXPECT_EQ(r->out_refund_no, "R1");
  EXPECT_EQ(r->refund_fee, 40);
  EXPECT_EQ(r->status, RefundStatus::kSuccess);
  EXPECT_EQ(r->created_at, kNow + 20);
  EXPECT_EQ(r->success_at, kNow + 20);
  StatusOr<Order> o = store_->GetOrder("10001", "T1", kNow);
  ASSERT_TRUE(o.ok());
  EXPECT_EQ(o->status, OrderStatus::kRefund);
  EXPECT_EQ(o->refunded_fee, 40);
  EXPECT_EQ(o->refund_count, 1);
}

TEST_P(StoreTest, RefundUsesGeneratedNumberWhenNoneRequested) {
  CreatePaid("T1");
  StatusOr<Refund> r = store_->CreateRefund("10001", "T1", std::nullopt, "R10001-GEN1", 10, kNow);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->out_refund_no, "R10001-GEN1");
  EXPECT_TRUE(store_->GetRefund("10001", "T1", "R10001-GEN1").ok());
}

TEST_P(StoreTest, PartialRefundsAddUpAndListOldestFirst) {
  CreatePaid("T1", 100);
  ASSERT_TRUE(store_->CreateRefund("10001", "T1", "R2", "", 30, kNow + 1).ok());
  ASSERT_TRUE(store_->CreateRefund("10001", "T1", "R1", "", 50, kNow + 2).ok());
  StatusOr<Order> o = store_->GetOrder("10001", "T1", kNow);
  ASSERT_TRUE(o.ok());
  EXPECT_EQ(o->refunded_fee, 80);
  EXPECT_EQ(o->refund_count, 2);
  StatusOr<std::vector<Refund>> list = store_->ListRefunds("10001", "T1");
  ASSERT_TRUE(list.ok());
  ASSERT_EQ(list->size(), 2u);
  EXPECT_EQ((*list)[0].out_refund_no, "R2");
  EXPECT_EQ((*list)[1].out_refund_no, "R1");
}

TEST_P(StoreTest, RefundBeyondWhatRemainsIsRefundExceedsPaidWithAmounts) {
  CreatePaid("T1", 100);
  ASSERT_TRUE(DoRefund("T1", "R1", 60).ok());
  StatusOr<Refund> r = DoRefund("T1", "R2", 50);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), ErrorCode::kRefundExceedsPaid);
  EXPECT_EQ(r.status().message(), "订单金额 1 元, 已退 0.6 元, 本次申请 0.5 元");
}

TEST_P(StoreTest, FullRefundIsAllowedAndThenNothingMore) {
  CreatePaid("T1", 100);
  ASSERT_TRUE(DoRefund("T1", "R1", 100).ok());
  EXPECT_EQ(DoRefund("T1", "R2", 1).status().code(), ErrorCode::kRefundExceedsPaid);
}

TEST_P(StoreTest, RefusedRefundChangesNothing) {
  CreatePaid("T1", 100);
  ASSERT_TRUE(DoRefund("T1", "R1", 60).ok());
  Order before = *store_->GetOrder("10001", "T1", kNow);
  ASSERT_FALSE(DoRefund("T1", "R2", 41).ok());
  EXPECT_EQ(Tie(*store_->GetOrder("10001", "T1", kNow)), Tie(before));
  EXPECT_EQ(store_->ListRefunds("10001", "T1")->size(), 1u);
  EXPECT_EQ(store_->GetRefund("10001", "T1", "R2").status().code(), ErrorCode::kRefundNotExist);
}

TEST_P(StoreTest, RefundOfUnpaidOrderIsRefundNotAllowed) {
  Create(MakeOrder("T1"));
  EXPECT_EQ(DoRefund("T1", "R1", 10).status().code(), ErrorCode::kRefundNotAllowed);
}

TEST_P(StoreTest, RefundOfClosedOrderIsRefundNotAllowed) {
  Create(MakeOrder("T1"));
  ASSERT_TRUE(store_->CompletePayment("10001", "T1", PayOutcome::kCancel, "", "", kNow).ok());
  EXPECT_EQ(DoRefund("T1", "R1", 10).status().code(), ErrorCode::kRefundNotAllowed);
}

TEST_P(StoreTest, RefundOfMissingOrderIsOrderNotExist) {
  StatusOr<Refund> r = DoRefund("GONE", "R1", 10);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), ErrorCode::kOrderNotExist);
  EXPECT_NE(r.status().message().find("GONE"), std::string::npos);
}

TEST_P(StoreTest, RefundOfNonPositiveAmountIsInvalidAmount) {
  CreatePaid("T1");
  EXPECT_EQ(DoRefund("T1", "R1", 0).status().code(), ErrorCode::kInvalidAmount);
}

TEST_P(StoreTest, RepeatedRefundRequestReturnsTheSameRefundOnce) {
  CreatePaid("T1", 100);
  StatusOr<Refund> first = DoRefund("T1", "R1", 30);
  ASSERT_TRUE(first.ok());
  StatusOr<Refund> again = store_->CreateRefund("10001", "T1", "R1", "ignored", 30, kNow + 999);
  ASSERT_TRUE(again.ok()) << again.status().ToString();
  EXPECT_EQ(Tie(*again), Tie(*first));
  StatusOr<Order> o = store_->GetOrder("10001", "T1", kNow);
  EXPECT_EQ(o->refunded_fee, 30);
  EXPECT_EQ(o->refund_count, 1);
}

TEST_P(StoreTest, RepeatedRefundRequestIsIdempotentEvenWhenFullyRefunded) {
  CreatePaid("T1", 100);
  ASSERT_TRUE(DoRefund("T1", "R1", 100).ok());
  EXPECT_TRUE(DoRefund("T1", "R1", 100).ok());
}

TEST_P(StoreTest, RefundNumberWithAnotherAmountIsOutRefundNoUsed) {
  CreatePaid("T1", 100);
  ASSERT_TRUE(DoRefund("T1", "R1", 30).ok());
  EXPECT_EQ(DoRefund("T1", "R1", 31).status().code(), ErrorCode::kOutRefundNoUsed);
}

TEST_P(StoreTest, RefundNumberOfAnotherOrderIsOutRefundNoUsed) {
  CreatePaid("T1", 100);
  CreatePaid("T2", 100);
  ASSERT_TRUE(DoRefund("T1", "R1", 30).ok());
  EXPECT_EQ(DoRefund("T2", "R1", 30).status().code(), ErrorCode::kOutRefundNoUsed);
  EXPECT_EQ(store_->GetOrder("10001", "T2", kNow)->refunded_fee, 0);
}

TEST_P(StoreTest, GeneratedRefundNumberCollisionIsOutRefundNoUsed) {
  CreatePaid("T1", 100);
  ASSERT_TRUE(store_->CreateRefund("10001", "T1", std::nullopt, "RGEN", 30, kNow).ok());
  // Same order and amount, but nobody asked for RGEN: not a retry.
  EXPECT_EQ(store_->CreateRefund("10001", "T1", std::nullopt, "RGEN", 30, kNow).status().code(),
            ErrorCode::kOutRefundNoUsed);
  EXPECT_EQ(store_->GetOrder("10001", "T1", kNow)->refunded_fee, 30);
}

TEST_P(StoreTest, RefundNumbersAreScopedByMerchant) {
  CreatePaid("T1", 100);
  Create(MakeOrder("T1", 100, "10002"));
  ASSERT_TRUE(
      store_->CompletePayment("10002", "T1", PayOutcome::kSuccess, "wxpay", "4200", kNow).ok());
  ASSERT_TRUE(DoRefund("T1", "R1", 30).ok());
  EXPECT_TRUE(store_->CreateRefund("10002", "T1", "R1", "", 30, kNow).ok());
}

// --- GetRefund / ListRefunds ---

TEST_P(StoreTest, GetRefundReturnsIt) {
  CreatePaid("T1");
  StatusOr<Refund> created = DoRefund("T1", "R1", 10);
  ASSERT_TRUE(created.ok());
  StatusOr<Refund> got = store_->GetRefund("10001", "T1", "R1");
  ASSERT_TRUE(got.ok()) << got.status().ToString();
  EXPECT_EQ(Tie(*got), Tie(*created));
}

TEST_P(StoreTest, GetRefundUnderAnotherOrderIsRefundNotExist) {
  CreatePaid("T1");
  CreatePaid("T2");
  ASSERT_TRUE(DoRefund("T1", "R1", 10).ok());
  EXPECT_EQ(store_->GetRefund("10001", "T2", "R1").status().code(), ErrorCode::kRefundNotExist);
}

TEST_P(StoreTest, GetMissingRefundIsRefundNotExist) {
  CreatePaid("T1");
  StatusOr<Refund> r = store_->GetRefund("10001", "T1", "NOPE");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), ErrorCode::kRefundNotExist);
  EXPECT_NE(r.status().message().find("NOPE"), std::string::npos);
  EXPECT_NE(r.status().message().find("T1"), std::string::npos);
}

TEST_P(StoreTest, ListRefundsOfOrderWithoutRefundsIsEmpty) {
  CreatePaid("T1");
  StatusOr<std::vector<Refund>> list = store_->ListRefunds("10001", "T1");
  ASSERT_TRUE(list.ok());
  EXPECT_TRUE(list->empty());
}

// --- ListOrders ---

std::vector<std::string> Names(const StatusOr<std::vector<Order>>& orders) {
  std::vector<std::string> out;
  EXPECT_TRUE(orders.ok()) << orders.status().ToString();
  if (orders.ok()) {
    for (const Order& o : *orders) out.push_back(o.merchantno + "/" + o.out_trade_no);
  }
  return out;
}

class ListOrdersTest : public StoreTest {
 protected:
  void SetUp() override {
    StoreTest::SetUp();
    // Created out of time order; T3 and T4 share a second.
    for (auto [name, merchant, at] :
         {std::tuple{"T2", "10001", kNow + 2}, std::tuple{"T1", "10001", kNow + 1},
          std::tuple{"T3", "10002", kNow + 3}, std::tuple{"T4", "10001", kNow + 3}}) {
      Order o = MakeOrder(name, 100, merchant);
      o.created_at = at;
      Create(o);
    }
    ASSERT_TRUE(
        store_->CompletePayment("10001", "T2", PayOutcome::kSuccess, "wxpay", "4200", kNow).ok());
  }
};

TEST_P(ListOrdersTest, ListsAllNewestFirst) {
  EXPECT_EQ(Names(store_->ListOrders({})),
            (std::vector<std::string>{"10001/T4", "10002/T3", "10001/T2", "10001/T1"}));
}

TEST_P(ListOrdersTest, FiltersByMerchant) {
  OrderFilter f;
  f.merchantno = "10001";
  EXPECT_EQ(Names(store_->ListOrders(f)),
            (std::vector<std::string>{"10001/T4", "10001/T2", "10001/T1"}));
}

TEST_P(ListOrdersTest, FiltersByStatus) {
  OrderFilter f;
  f.status = OrderStatus::kSuccess;
  EXPECT_EQ(Names(store_->ListOrders(f)), (std::vector<std::string>{"10001/T2"}));
  f.status = OrderStatus::kNotPay;
  f.merchantno = "10001";
  EXPECT_EQ(Names(store_->ListOrders(f)), (std::vector<std::string>{"10001/T4", "10001/T1"}));
}

TEST_P(ListOrdersTest, FiltersByOutTradeNo) {
  Order other = MakeOrder("T1", 100, "10002");
  other.created_at = kNow + 5;
  Create(other);
  OrderFilter f;
  f.out_trade_no = "T1";
  EXPECT_EQ(Names(store_->ListOrders(f)), (std::vector<std::string>{"10002/T1", "10001/T1"}));
  f.merchantno = "10001";
  EXPECT_EQ(Names(store_->ListOrders(f)), (std::vector<std::string>{"10001/T1"}));
  // Combined with a status it matches none: T1 is unpaid.
  f.merchantno.clear();
  f.status = OrderStatus::kSuccess;
  EXPECT_TRUE(Names(store_->ListOrders(f)).empty());
  f.status = OrderStatus::kNotPay;
  EXPECT_EQ(Names(store_->ListOrders(f)), (std::vector<std::string>{"10002/T1", "10001/T1"}));
  // Exact match only: a prefix is not a match.
  f = OrderFilter{};
  f.out_trade_no = "T";
  EXPECT_TRUE(Names(store_->ListOrders(f)).empty());
}

TEST_P(ListOrdersTest, PagesWithLimitAndOffset) {
  OrderFilter f;
  f.limit = 2;
  EXPECT_EQ(Names(store_->ListOrders(f)), (std::vector<std::string>{"10001/T4", "10002/T3"}));
  f.offset = 2;
  EXPECT_EQ(Names(store_->ListOrders(f)), (std::vector<std::string>{"10001/T2", "10001/T1"}));
  f.offset = 4;
  EXPECT_TRUE(Names(store_->ListOrders(f)).empty());
}

// --- Reset ---

TEST_P(StoreTest, ResetDeletesEveryOrderAndRefund) {
  CreatePaid("T1");
  ASSERT_TRUE(DoRefund("T1", "R1", 10).ok());
  Create(MakeOrder("T2"));
  ASSERT_TRUE(store_->Reset().ok());
  EXPECT_TRUE(store_->ListOrders({})->empty());
  EXPECT_TRUE(store_->ListRefunds("10001", "T1")->empty());
  EXPECT_EQ(store_->GetOrder("10001", "T1", kNow).status().code(), ErrorCode::kOrderNotExist);
  // The numbers are free again.
  Create(MakeOrder("T1"));
}

// --- database errors ---

TEST(SqliteStoreErrors, FailureMidTransactionIsInternalAndRollsBack) {
  TempDir dir;
  const std::string path = dir.File("store.db");
  std::unique_ptr<Store> store = OpenOrDie(path);
  ASSERT_NE(store, nullptr);
  Order o = MakeOrder("T1");
  ASSERT_TRUE(store->CreateOrder(o, true, kNow).ok());
  ASSERT_TRUE(
      store->CompletePayment("10001", "T1", PayOutcome::kSuccess, "wxpay", "4200", kNow).ok());
  // The refund row is inserted first; then the order update fails.
  RawDb raw(path);
  raw.Exec(
      "CREATE TRIGGER sabotage BEFORE UPDATE ON orders WHEN NEW.status = 'REFUND' "
      "BEGIN SELECT RAISE(ABORT, 'injected failure'); END");

  StatusOr<Refund> r = store->CreateRefund("10001", "T1", "R1", "", 10, kNow);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), ErrorCode::kInternal);
  EXPECT_NE(r.status().message().find("injected failure"), std::string::npos)
      << r.status().message();
  EXPECT_TRUE(store->ListRefunds("10001", "T1")->empty());
  EXPECT_EQ(store->GetOrder("10001", "T1", kNow)->refunded_fee, 0);

  // No transaction was left open: once the fault is gone, writes work again.
  raw.Exec("DROP TRIGGER sabotage");
  EXPECT_TRUE(store->CreateRefund("10001", "T1", "R1", "", 10, kNow).ok());
}

TEST(SqliteStoreErrors, CreateAndPayIsOneTransaction) {
  TempDir dir;
  const std::string path = dir.File("store.db");
  std::unique_ptr<Store> store = OpenOrDie(path);
  ASSERT_NE(store, nullptr);
  RawDb raw(path);
  raw.Exec(
      "CREATE TRIGGER sabotage BEFORE UPDATE ON orders WHEN NEW.status = 'SUCCESS' "
      "BEGIN SELECT RAISE(ABORT, 'injected failure'); END");
  PaymentStep pay;
  pay.channel = "wxpay";
  pay.transaction_id = "4200";
  Order o = MakeOrder("M1");
  o.trade_type = "micropay";
  StatusOr<CreateOrderResult> r = store->CreateAndPay(o, false, kNow, {}, pay);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), ErrorCode::kInternal);
  // The payment failed, so the order was never created either.
  EXPECT_TRUE(store->ListOrders({})->empty());
  EXPECT_TRUE(store->ListNotifications({})->empty());

  raw.Exec("DROP TRIGGER sabotage");
  r = store->CreateAndPay(o, false, kNow, {}, pay);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_TRUE(r->created);
  EXPECT_EQ(r->order.status, OrderStatus::kSuccess);
  EXPECT_EQ(r->order.transaction_id, "4200");
  EXPECT_EQ(store->ListNotifications({})->size(), 1u);
}

TEST(SqliteStoreRefunds, CreateRefundWithOrderReturnsTheOrderAsCommitted) {
  std::unique_ptr<Store> store = OpenOrDie(":memory:");
  ASSERT_NE(store, nullptr);
  ASSERT_TRUE(store->CreateOrder(MakeOrder("T1"), true, kNow).ok());
  ASSERT_TRUE(
      store->CompletePayment("10001", "T1", PayOutcome::kSuccess, "wxpay", "4200", kNow).ok());
  StatusOr<RefundResult> r =
      store->CreateRefundWithOrder("10001", "T1", std::string("R1"), "", 30, kNow, nullptr);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->refund.refund_fee, 30);
  EXPECT_EQ(r->order.refunded_fee, 30);
  EXPECT_EQ(r->order.status, OrderStatus::kRefund);
  // An idempotent repeat returns the order too.
  r = store->CreateRefundWithOrder("10001", "T1", std::string("R1"), "", 30, kNow, nullptr);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->order.refunded_fee, 30);
  EXPECT_EQ(r->order.refund_count, 1);
}

// The background checkpointer: many commits from two threads (the WAL passes
// the checkpoint threshold many times) all succeed, the WAL is gone after
// close, and every row is there after reopening. StartupSalt counts the rows
// found at open.
TEST(SqliteStoreCheckpoint, ManyCommitsFromTwoThreadsAllPersist) {
  TempDir dir;
  const std::string path = dir.File("store.db");
  constexpr int kPerThread = 1500;
  {
    std::unique_ptr<Store> store = OpenOrDie(path);
    ASSERT_NE(store, nullptr);
    EXPECT_EQ(store->StartupSalt(), 0);
    std::atomic<int> failures{0};
    auto write = [&](int t) {
      for (int i = 0; i < kPerThread; ++i) {
        Order o = MakeOrder("C" + std::to_string(t) + "-" + std::to_string(i));
        o.body = std::string(2000, 'x');  // about half a page per order
        if (!store->CreateOrder(o, true, kNow).ok()) ++failures;
      }
    };
    std::thread a(write, 0), b(write, 1);
    a.join();
    b.join();
    EXPECT_EQ(failures.load(), 0);
  }
  EXPECT_FALSE(std::filesystem::exists(path + "-wal"));
  std::unique_ptr<Store> again = OpenOrDie(path);
  ASSERT_NE(again, nullptr);
  EXPECT_EQ(again->StartupSalt(), 2 * kPerThread);
  OrderFilter all;
  all.limit = 10 * kPerThread;
  EXPECT_EQ(again->ListOrders(all)->size(), size_t{2 * kPerThread});
}

// --- opening and migrations ---

TEST(SqliteStoreOpen, NewFileIsMigratedToLatestVersionInWalMode) {
  TempDir dir;
  const std::string path = dir.File("store.db");
  ASSERT_NE(OpenOrDie(path), nullptr);
  RawDb raw(path);
  EXPECT_EQ(raw.Query("PRAGMA user_version"), std::to_string(internal::SqliteSchemaVersion()));
  EXPECT_EQ(raw.Query("PRAGMA journal_mode"), "wal");
  EXPECT_GE(internal::SqliteSchemaVersion(), 1);
}

TEST(SqliteStoreOpen, ReopeningMigratedDatabaseChangesNothing) {
  TempDir dir;
  const std::string path = dir.File("store.db");
  {
    std::unique_ptr<Store> store = OpenOrDie(path);
    ASSERT_NE(store, nullptr);
    ASSERT_TRUE(store->CreateOrder(MakeOrder("T1"), true, kNow).ok());
  }
  RawDb raw(path);
  const std::string schema = raw.Dump("SELECT type, name, sql FROM sqlite_master ORDER BY name");
  // Hold the write lock: reopening must not need it, or it would time out.
  raw.Exec("BEGIN IMMEDIATE");
  {
    std::unique_ptr<Store> store = OpenOrDie(path);
    ASSERT_NE(store, nullptr);
    EXPECT_TRUE(store->GetOrder("10001", "T1", kNow).ok());
  }
  raw.Exec("COMMIT");
  EXPECT_EQ(raw.Dump("SELECT type, name, sql FROM sqlite_master ORDER BY name"), schema);
  EXPECT_EQ(raw.Query("PRAGMA user_version"), std::to_string(internal::SqliteSchemaVersion()));
}

TEST(SqliteStoreOpen, DatabaseFromANewerVersionIsRefused) {
  TempDir dir;
  const std::string path = dir.File("store.db");
  {
    RawDb raw(path);
    raw.Exec("PRAGMA user_version = " + std::to_string(internal::SqliteSchemaVersion() + 1));
  }
  SqliteStoreOptions options;
  options.path = path;
  StatusOr<std::unique_ptr<Store>> store = OpenSqliteStore(options);
  ASSERT_FALSE(store.ok());
  EXPECT_EQ(store.status().code(), ErrorCode::kInternal);
  EXPECT_NE(store.status().message().find(path), std::string::npos) << store.status().message();
}

TEST(SqliteStoreOpen, UnopenablePathIsInternalNamingIt) {
  TempDir dir;
  SqliteStoreOptions options;
  options.path = dir.File("no-such-dir/store.db");
  StatusOr<std::unique_ptr<Store>> store = OpenSqliteStore(options);
  ASSERT_FALSE(store.ok());
  EXPECT_EQ(store.status().code(), ErrorCode::kInternal);
  EXPECT_NE(store.status().message().find(options.path), std::string::npos)
      << store.status().message();
}

TEST(SqliteStoreOpen, UnknownSynchronousModeIsInvalidField) {
  SqliteStoreOptions options;
  options.synchronous = "SOMETIMES";
  StatusOr<std::unique_ptr<Store>> store = OpenSqliteStore(options);
  ASSERT_FALSE(store.ok());
  EXPECT_EQ(store.status().code(), ErrorCode::kInvalidField);
}

TEST(SqliteStoreOpen, FullSynchronousModeIsAccepted) {
  SqliteStoreOptions options;
  options.synchronous = "FULL";
  EXPECT_TRUE(OpenSqliteStore(options).ok());
}

// --- persistence ---

TEST(SqliteStorePersistence, ReopenedFileReadsBackEverything) {
  TempDir dir;
  const std::string path = dir.File("store.db");
  std::vector<Order> orders;
  std::vector<Refund> refunds;
  {
    std::unique_ptr<Store> store = OpenOrDie(path);
    ASSERT_NE(store, nullptr);
    Order micro = MakeOrder("M1", 2345);
    micro.trade_type = "micropay";
    micro.cashier_token.clear();
    micro.client_ip = "192.168.1.8";
    micro.auth_code = "284567890123456789";
    micro.pay_chnl = "alipay";
    micro.attach = "含 \"引号\" 与 'quotes' 和 emoji 😀";
    for (const Order& o : {MakeOrder("T1", 100), MakeOrder("T2", 5000), MakeOrder("T3", 1),
                           MakeOrder("T4", 700), micro}) {
      ASSERT_TRUE(store->CreateOrder(o, true, kNow).ok());
    }
    ASSERT_TRUE(
        store->CompletePayment("10001", "T1", PayOutcome::kSuccess, "wxpay", "4201", kNow + 5)
            .ok());
    ASSERT_TRUE(
        store->CompletePayment("10001", "T2", PayOutcome::kSuccess, "alipay", "2202", kNow + 6)
            .ok());
    ASSERT_TRUE(store->CompletePayment("10001", "T3", PayOutcome::kFail, "", "", kNow + 7).ok());
    ASSERT_TRUE(
        store->CompletePayment("10001", "M1", PayOutcome::kSuccess, "alipay", "2203", kNow + 8)
            .ok());
    ASSERT_TRUE(store->CreateRefund("10001", "T2", "R1", "", 1000, kNow + 10).ok());
    ASSERT_TRUE(store->CreateRefund("10001", "T2", std::nullopt, "RG", 4000, kNow + 11).ok());
    ASSERT_TRUE(store->CreateRefund("10001", "M1", "R3", "", 45, kNow + 12).ok());
    ASSERT_TRUE(store->GetOrder("10001", "T4", kNow + kTtl).ok());  // closes T4

    StatusOr<std::vector<Order>> all = store->ListOrders({});
    ASSERT_TRUE(all.ok());
    orders = *all;
    for (const Order& o : orders) {
      StatusOr<std::vector<Refund>> of_order = store->ListRefunds(o.merchantno, o.out_trade_no);
      ASSERT_TRUE(of_order.ok());
      refunds.insert(refunds.end(), of_order->begin(), of_order->end());
    }
  }
  ASSERT_EQ(orders.size(), 5u);
  ASSERT_EQ(refunds.size(), 3u);

  std::unique_ptr<Store> store = OpenOrDie(path);
  ASSERT_NE(store, nullptr);
  StatusOr<std::vector<Order>> all = store->ListOrders({});
  ASSERT_TRUE(all.ok());
  ASSERT_EQ(all->size(), orders.size());
  for (size_t i = 0; i < orders.size(); ++i) {
    EXPECT_EQ(Tie((*all)[i]), Tie(orders[i]));
    StatusOr<Order> one = store->GetOrder(orders[i].merchantno, orders[i].out_trade_no, kNow);
    ASSERT_TRUE(one.ok());
    EXPECT_EQ(Tie(*one), Tie(orders[i]));
  }
  for (const Refund& r : refunds) {
    StatusOr<Refund> got = store->GetRefund(r.merchantno, r.out_trade_no, r.out_refund_no);
    ASSERT_TRUE(got.ok()) << got.status().ToString();
    EXPECT_EQ(Tie(*got), Tie(r));
  }
  store.reset();
  RawDb raw(path);
  EXPECT_EQ(raw.Query("PRAGMA integrity_check"), "ok");
  EXPECT_EQ(raw.Query("PRAGMA foreign_key_check"), "");
}

// --- concurrent refunds ---

constexpr int kThreads = 16;
constexpr int kAttemptsPerThread = 40;
constexpr int64_t kRaceTotal = 1500;

// 16 threads refund one order as fast as they can with amounts of 1 to 5 fen
// (about 1900 fen asked in all), then keep asking for 1 fen until refused.
// Successful refunds must add up to exactly total_fee: never more (the sum
// check is serialised), never less (every refusal was a real one).
void RunRefundRace(const std::string& path, const std::function<Store*(int)>& store_for) {
  std::unique_ptr<Store> setup = OpenOrDie(path);
  ASSERT_NE(setup, nullptr);
  ASSERT_TRUE(setup->CreateOrder(MakeOrder("RACE", kRaceTotal), true, kNow).ok());
  ASSERT_TRUE(
      setup->CompletePayment("10001", "RACE", PayOutcome::kSuccess, "wxpay", "4200", kNow).ok());

  std::atomic<int64_t> refunded{0};
  std::atomic<int64_t> successes{0};
  std::atomic<int> unexpected{0};
  std::latch start(kThreads);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      Store* store = store_for(t);
      start.arrive_and_wait();
      if (store == nullptr) return;
      auto attempt = [&](const std::string& no, int64_t fee) {
        StatusOr<Refund> r = store->CreateRefund("10001", "RACE", no, "", fee, kNow + 1);
        if (r.ok()) {
          refunded += fee;
          ++successes;
          return true;
        }
        if (r.status().code() != ErrorCode::kRefundExceedsPaid) {
          ADD_FAILURE() << r.status().ToString();
          ++unexpected;
        }
        return false;
      };
      const std::string prefix = "R" + std::to_string(t) + "-";
      for (int i = 0; i < kAttemptsPerThread; ++i) {
        attempt(prefix + std::to_string(i), (t + i) % 5 + 1);
      }
      for (int i = 0; unexpected == 0; ++i) {
        if (!attempt(prefix + "tail-" + std::to_string(i), 1)) break;
      }
    });
  }
  for (std::thread& th : threads) th.join();

  EXPECT_EQ(unexpected.load(), 0);
  EXPECT_EQ(refunded.load(), kRaceTotal);
  StatusOr<Order> o = setup->GetOrder("10001", "RACE", kNow);
  ASSERT_TRUE(o.ok());
  EXPECT_EQ(o->refunded_fee, kRaceTotal);
  EXPECT_EQ(o->refund_count, successes.load());
  StatusOr<std::vector<Refund>> list = setup->ListRefunds("10001", "RACE");
  ASSERT_TRUE(list.ok());
  int64_t listed = 0;
  for (const Refund& r : *list) listed += r.refund_fee;
  EXPECT_EQ(listed, kRaceTotal);
  EXPECT_EQ(static_cast<int64_t>(list->size()), successes.load());
  setup.reset();
  RawDb raw(path);
  EXPECT_EQ(raw.Query("PRAGMA integrity_check"), "ok");
}

TEST(SqliteStoreConcurrency, RefundsThroughOneSharedStoreNeverExceedTotal) {
  TempDir dir;
  const std::string path = dir.File("store.db");
  std::unique_ptr<Store> shared = OpenOrDie(path);
  ASSERT_NE(shared, nullptr);
  RunRefundRace(path, [&](int) { return shared.get(); });
}

TEST(SqliteStoreConcurrency, RefundsThroughSeparateConnectionsNeverExceedTotal) {
  TempDir dir;
  const std::string path = dir.File("store.db");
  std::vector<std::unique_ptr<Store>> stores(kThreads);
  RunRefundRace(path, [&](int t) {
    stores[static_cast<size_t>(t)] = OpenOrDie(path);  // opened concurrently
    return stores[static_cast<size_t>(t)].get();
  });
}

// --- notifications (the outbox) ---

std::vector<Notification> AllNotifications(Store& store) {
  NotificationFilter all;
  all.limit = -1;
  StatusOr<std::vector<Notification>> list = store.ListNotifications(all);
  EXPECT_TRUE(list.ok()) << list.status().ToString();
  return list.ok() ? *list : std::vector<Notification>{};
}

bool IsNotifyId(const std::string& id) {
  if (id.size() != 33 || id[0] != 'N') return false;
  for (size_t i = 1; i < id.size(); ++i) {
    if (!std::isxdigit(static_cast<unsigned char>(id[i])) || std::isupper(id[i])) return false;
  }
  return true;
}

TEST(StoreStrings, NotifyStateNamesRoundTrip) {
  for (auto [state, name] : {std::pair{NotifyState::kPending, "pending"},
                             std::pair{NotifyState::kAcked, "acked"},
                             std::pair{NotifyState::kFailed, "failed"},
                             std::pair{NotifyState::kBlocked, "blocked"}}) {
    EXPECT_EQ(ToString(state), name);
    EXPECT_EQ(ParseNotifyState(name), state);
  }
  EXPECT_EQ(ParseNotifyState("PENDING"), std::nullopt);
}

TEST_P(StoreTest, NotifyPlannerPlanIsStoredWithTheRowAndDelaysTheFirstAttempt) {
  std::vector<std::string> asked;
  store_->SetNotifyPlanner([&asked](const Order& o, const Refund* r) {
    asked.push_back(o.out_trade_no + (r != nullptr ? "/" + r->out_refund_no : ""));
    NotifyFaultPlan plan;
    plan.plan_json = R"({"copies":2})";
    plan.first_attempt_us = (kNow + 10) * 1'000'000 + 250'000;
    return plan;
  });
  CreatePaid("T1", 1234);
  ASSERT_TRUE(store_->CreateRefund("10001", "T1", std::string("R-1"), "unused", 10, kNow + 20).ok());
  EXPECT_EQ(asked, (std::vector<std::string>{"T1", "T1/R-1"}));
  std::vector<Notification> all = AllNotifications(*store_);
  ASSERT_EQ(all.size(), 2u);
  for (const Notification& n : all) EXPECT_EQ(n.fault_plan, R"({"copies":2})");
  const Notification& payment = all[0].type == "payment" ? all[0] : all[1];
  const Notification& refund = all[0].type == "payment" ? all[1] : all[0];
  EXPECT_EQ(payment.next_attempt_us, (kNow + 10) * 1'000'000 + 250'000);
  // A planned time already past never makes a row due before it was written.
  EXPECT_EQ(refund.next_attempt_us, (kNow + 20) * 1'000'000);
}

TEST_P(StoreTest, WithoutAPlannerNotificationsHaveNoFaultPlan) {
  CreatePaid("T1", 1234);
  EXPECT_EQ(AllNotifications(*store_)[0].fault_plan, "");
}

TEST_P(StoreTest, PaymentWritesOnePendingPaymentNotificationDueAtOnce) {
  CreatePaid("T1", 1234);
  std::vector<Notification> all = AllNotifications(*store_);
  ASSERT_EQ(all.size(), 1u);
  const Notification& n = all[0];
  EXPECT_EQ(n.type, "payment");
  EXPECT_TRUE(IsNotifyId(n.notify_id)) << n.notify_id;
  EXPECT_EQ(n.merchantno, "10001");
  EXPECT_EQ(n.out_trade_no, "T1");
  EXPECT_EQ(n.out_refund_no, "");
  EXPECT_EQ(n.notify_url, "http://127.0.0.1:9/notify");
  EXPECT_EQ(n.delivered_to, "");
  EXPECT_EQ(n.state, NotifyState::kPending);
  EXPECT_EQ(n.attempts, 0);
  EXPECT_EQ(n.total_attempts, 0);
  EXPECT_EQ(n.next_attempt_us, (kNow + 10) * 1'000'000);
  EXPECT_EQ(n.created_at, kNow + 10);
  EXPECT_EQ(n.acked_at, 0);

  StatusOr<NotificationContent> c = ParseNotificationPayload(n.payload);
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->notify_type, "payment");
  EXPECT_EQ(c->notify_id, n.notify_id);
  EXPECT_EQ(c->merchantno, "10001");
  EXPECT_EQ(c->out_trade_no, "T1");
  EXPECT_EQ(c->transaction_id, "4200000001");
  EXPECT_EQ(c->total_fee, 1234);
  EXPECT_EQ(c->pay_chnl, "wxpay");
  EXPECT_EQ(c->status, "SUCCESS");
  EXPECT_EQ(c->time_end, FormatDisplayTime(kNow + 10));
  EXPECT_EQ(c->attach, "a=1&b=2");
  // The payload is exactly the content fields, as strings.
  EXPECT_EQ(n.payload, NotificationFields(*c).ToJson());
}

TEST_P(StoreTest, FailedOrCancelledPaymentWritesNoNotification) {
  Create(MakeOrder("T1"));
  Create(MakeOrder("T2"));
  ASSERT_TRUE(store_->CompletePayment("10001", "T1", PayOutcome::kFail, "", "", kNow).ok());
  ASSERT_TRUE(store_->CompletePayment("10001", "T2", PayOutcome::kCancel, "", "", kNow).ok());
  EXPECT_TRUE(AllNotifications(*store_).empty());
}

TEST_P(StoreTest, PayingTwiceLeavesExactlyOnePaymentNotification) {
  CreatePaid("T1");
  EXPECT_EQ(store_->CompletePayment("10001", "T1", PayOutcome::kSuccess, "wxpay", "x", kNow + 11)
                .status()
                .code(),
            ErrorCode::kOrderPaid);
  EXPECT_EQ(AllNotifications(*store_).size(), 1u);
}

TEST_P(StoreTest, EachNewRefundWritesOneRefundNotificationAndRepeatsWriteNone) {
  CreatePaid("T1", 100);
  ASSERT_TRUE(DoRefund("T1", "R1", 10).ok());
  ASSERT_TRUE(DoRefund("T1", "R1", 10).ok());  // idempotent repeat
  ASSERT_TRUE(DoRefund("T1", "R2", 20).ok());
  EXPECT_FALSE(DoRefund("T1", "R3", 1000).ok());  // refused: nothing written
  std::vector<Notification> all = AllNotifications(*store_);
  ASSERT_EQ(all.size(), 3u);  // newest first
  EXPECT_EQ(all[0].type, "refund");
  EXPECT_EQ(all[0].out_refund_no, "R2");
  EXPECT_EQ(all[1].type, "refund");
  EXPECT_EQ(all[1].out_refund_no, "R1");
  EXPECT_EQ(all[2].type, "payment");
  StatusOr<NotificationContent> c = ParseNotificationPayload(all[1].payload);
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->notify_type, "refund");
  EXPECT_EQ(c->out_refund_no, "R1");
  EXPECT_EQ(c->refund_fee, 10);
  EXPECT_EQ(c->refund_status, "SUCCESS");
  EXPECT_EQ(c->time_refund, FormatDisplayTime(kNow + 20));
  EXPECT_EQ(c->status, "REFUND");
  EXPECT_EQ(c->total_fee, 100);
  std::set<std::string> ids;
  for (const Notification& n : all) ids.insert(n.notify_id);
  EXPECT_EQ(ids.size(), 3u);
}

TEST_P(StoreTest, ObserverHearsEveryCommitThatMakesANotificationDue) {
  int calls = 0;
  store_->SetOutboxObserver([&] { ++calls; });
  Create(MakeOrder("T1"));
  EXPECT_EQ(calls, 0);
  CreatePaid("T2");
  EXPECT_EQ(calls, 1);
  ASSERT_TRUE(DoRefund("T2", "R1", 10).ok());
  EXPECT_EQ(calls, 2);
  ASSERT_TRUE(DoRefund("T2", "R1", 10).ok());  // repeat: nothing new
  EXPECT_EQ(calls, 2);
  ASSERT_TRUE(store_->ResendNotification("1", kNow * 1'000'000).ok());
  EXPECT_EQ(calls, 3);
}

TEST(SqliteStoreOutbox, PaymentAndItsNotificationCommitTogetherOrNotAtAll) {
  TempDir dir;
  const std::string path = dir.File("store.db");
  std::unique_ptr<Store> store = OpenOrDie(path);
  ASSERT_NE(store, nullptr);
  ASSERT_TRUE(store->CreateOrder(MakeOrder("T1"), true, kNow).ok());
  RawDb raw(path);
  raw.Exec(
      "CREATE TRIGGER sabotage BEFORE INSERT ON notifications "
      "BEGIN SELECT RAISE(ABORT, 'injected outbox failure'); END");

  StatusOr<Order> paid =
      store->CompletePayment("10001", "T1", PayOutcome::kSuccess, "wxpay", "4200", kNow);
  ASSERT_FALSE(paid.ok());
  EXPECT_EQ(paid.status().code(), ErrorCode::kInternal);
  EXPECT_NE(paid.status().message().find("injected outbox failure"), std::string::npos);
  EXPECT_EQ(store->GetOrder("10001", "T1", kNow)->status, OrderStatus::kNotPay);
  EXPECT_EQ(raw.Query("SELECT count(*) FROM notifications"), "0");

  raw.Exec("DROP TRIGGER sabotage");
  ASSERT_TRUE(
      store->CompletePayment("10001", "T1", PayOutcome::kSuccess, "wxpay", "4200", kNow).ok());
  EXPECT_EQ(raw.Query("SELECT count(*) FROM notifications"), "1");
}

TEST(SqliteStoreOutbox, RefundAndItsNotificationCommitTogetherOrNotAtAll) {
  TempDir dir;
  const std::string path = dir.File("store.db");
  std::unique_ptr<Store> store = OpenOrDie(path);
  ASSERT_NE(store, nullptr);
  ASSERT_TRUE(store->CreateOrder(MakeOrder("T1"), true, kNow).ok());
  ASSERT_TRUE(
      store->CompletePayment("10001", "T1", PayOutcome::kSuccess, "wxpay", "4200", kNow).ok());
  RawDb raw(path);
  raw.Exec(
      "CREATE TRIGGER sabotage BEFORE INSERT ON notifications WHEN NEW.type = 'refund' "
      "BEGIN SELECT RAISE(ABORT, 'injected outbox failure'); END");
  StatusOr<Refund> r = store->CreateRefund("10001", "T1", "R1", "", 10, kNow);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), ErrorCode::kInternal);
  EXPECT_TRUE(store->ListRefunds("10001", "T1")->empty());
  EXPECT_EQ(store->GetOrder("10001", "T1", kNow)->status, OrderStatus::kSuccess);
  EXPECT_EQ(raw.Query("SELECT count(*) FROM notifications WHERE type = 'refund'"), "0");
}

TEST_P(StoreTest, ClaimReturnsDueRowsInDueOrderSkippingExcludedAndGivesNextDue) {
  for (const char* no : {"T1", "T2", "T3"}) CreatePaid(no);
  std::vector<Notification> all = AllNotifications(*store_);  // T3, T2, T1
  ASSERT_EQ(all.size(), 3u);
  // Make T2 due later than the others.
  NotifyAttempt a;
  a.notification_id = all[1].id;
  a.at_us = (kNow + 10) * 1'000'000;
  a.url = "http://127.0.0.1:9/notify";
  a.http_status = 500;
  NotifyUpdate u;
  u.expected_attempts = 0;
  u.state = NotifyState::kPending;
  u.next_attempt_us = (kNow + 25) * 1'000'000;
  u.now = kNow + 10;
  ASSERT_TRUE(store_->RecordNotifyAttempt(a, u).ok());

  const int64_t now_us = (kNow + 10) * 1'000'000;
  StatusOr<DueNotifications> due = store_->ClaimDueNotifications(now_us, 10, {});
  ASSERT_TRUE(due.ok()) << due.status().ToString();
  ASSERT_EQ(due->due.size(), 2u);
  EXPECT_EQ(due->due[0].out_trade_no, "T1");
  EXPECT_EQ(due->due[1].out_trade_no, "T3");
  EXPECT_EQ(due->next_due_us, (kNow + 25) * 1'000'000);

  due = store_->ClaimDueNotifications(now_us, 10, {all[2].id});  // T1 in flight
  ASSERT_TRUE(due.ok());
  ASSERT_EQ(due->due.size(), 1u);
  EXPECT_EQ(due->due[0].out_trade_no, "T3");

  due = store_->ClaimDueNotifications(now_us, 1, {});
  ASSERT_TRUE(due.ok());
  ASSERT_EQ(due->due.size(), 1u);
  EXPECT_EQ(due->next_due_us, now_us);  // more are due already

  due = store_->ClaimDueNotifications((kNow + 25) * 1'000'000, 10, {all[0].id, all[2].id});
  ASSERT_TRUE(due.ok());
  ASSERT_EQ(due->due.size(), 1u);
  EXPECT_EQ(due->due[0].out_trade_no, "T2");
  EXPECT_EQ(due->next_due_us, std::nullopt);
}

TEST_P(StoreTest, TheOutboxCursorReadsOnlyRowsBehindIt) {
  CreatePaid("T1", 100);
  CreatePaid("T2", 100);
  const int64_t now_us = (kNow + 10) * 1'000'000;
  StatusOr<DueNotifications> first = store_->ClaimDueNotifications(now_us, 10, {});
  ASSERT_TRUE(first.ok()) << first.status().ToString();
  ASSERT_EQ(first->due.size(), 2u);
  ASSERT_TRUE(first->last.has_value());
  EXPECT_EQ(first->last->id, first->due[1].id);
  EXPECT_EQ(first->last->due_us, first->due[1].next_attempt_us);

  // Nothing new behind the cursor: nothing read, no position.
  StatusOr<DueNotifications> again = store_->ClaimDueNotifications(now_us, 10, {}, first->last);
  ASSERT_TRUE(again.ok());
  EXPECT_TRUE(again->due.empty());
  EXPECT_FALSE(again->last.has_value());

  // A new payment lands behind it; the held T1 and T2 are not read again.
  CreatePaid("T3", 100);
  StatusOr<DueNotifications> next = store_->ClaimDueNotifications(now_us, 10, {}, first->last);
  ASSERT_TRUE(next.ok());
  ASSERT_EQ(next->due.size(), 1u);
  EXPECT_EQ(next->due[0].out_trade_no, "T3");

  // A retry of T1 due later is behind the cursor too, once it is due.
  NotifyAttempt a;
  a.notification_id = first->due[0].id;
  a.at_us = now_us;
  a.url = "http://127.0.0.1:9/notify";
  a.http_status = 500;
  NotifyUpdate u;
  u.state = NotifyState::kPending;
  u.next_attempt_us = now_us + 15'000'000;
  u.now = kNow + 10;
  ASSERT_TRUE(store_->RecordNotifyAttempt(a, u).ok());
  StatusOr<DueNotifications> early = store_->ClaimDueNotifications(now_us, 10, {}, next->last);
  ASSERT_TRUE(early.ok());
  EXPECT_TRUE(early->due.empty());
  EXPECT_EQ(early->next_due_us, now_us + 15'000'000);
  StatusOr<DueNotifications> retry =
      store_->ClaimDueNotifications(now_us + 15'000'000, 10, {}, next->last);
  ASSERT_TRUE(retry.ok());
  ASSERT_EQ(retry->due.size(), 1u);
  EXPECT_EQ(retry->due[0].out_trade_no, "T1");
}

// Group commit: many threads write at once; each write's refusal (a taken
// out_trade_no, an over-refund) touches only that write, and every accepted
// write is there, exactly once, after a reopen.
TEST(SqliteStoreGroupCommit, ConcurrentWritesAndRefusalsLeaveExactlyTheAcceptedOnes) {
  TempDir dir;
  const std::string path = dir.File("store.db");
  constexpr int kWriters = 8;
  constexpr int kPerWriter = 150;
  std::atomic<int> created{0};
  std::atomic<int> refused{0};
  std::atomic<int> unexpected{0};
  {
    std::unique_ptr<Store> store = OpenOrDie(path);
    ASSERT_NE(store, nullptr);
    std::latch start(kWriters);
    std::vector<std::thread> threads;
    for (int t = 0; t < kWriters; ++t) {
      threads.emplace_back([&, t] {
        start.arrive_and_wait();
        for (int i = 0; i < kPerWriter; ++i) {
          // Every third order number is shared by all writers: one wins.
          const std::string no = i % 3 == 0 ? "SHARED-" + std::to_string(i)
                                            : "W" + std::to_string(t) + "-" + std::to_string(i);
          Order o = MakeOrder(no, 100 + i);
          o.cashier_token = "tok-" + std::to_string(t) + "-" + std::to_string(i);
          StatusOr<CreateOrderResult> r = store->CreateOrder(o, /*must_be_new=*/true, kNow);
          if (r.ok()) {
            ++created;
            // Pay it and refund more than was paid: refused, the payment stays.
            if (!store->CompletePayment("10001", no, PayOutcome::kSuccess, "wxpay", "42", kNow)
                     .ok() ||
                store->CreateRefund("10001", no, std::nullopt, "RG-" + no, 101 + i, kNow)
                        .status()
                        .code() != ErrorCode::kRefundExceedsPaid) {
              ++unexpected;
            }
          } else if (r.status().code() == ErrorCode::kOutTradeNoUsed) {
            ++refused;
          } else {
            ADD_FAILURE() << r.status().ToString();
            ++unexpected;
          }
        }
      });
    }
    for (std::thread& th : threads) th.join();
  }
  EXPECT_EQ(unexpected.load(), 0);
  const int shared = (kPerWriter + 2) / 3;
  EXPECT_EQ(created.load(), kWriters * (kPerWriter - shared) + shared);
  EXPECT_EQ(refused.load(), (kWriters - 1) * shared);
  RawDb raw(path);
  EXPECT_EQ(raw.Query("SELECT count(*) FROM orders"), std::to_string(created.load()));
  EXPECT_EQ(raw.Query("SELECT count(*) FROM orders WHERE status = 'SUCCESS'"),
            std::to_string(created.load()));
  EXPECT_EQ(raw.Query("SELECT count(*) FROM notifications WHERE type = 'payment'"),
            std::to_string(created.load()));
  EXPECT_EQ(raw.Query("SELECT count(*) FROM refunds"), "0");
  EXPECT_EQ(raw.Query("PRAGMA integrity_check"), "ok");
}

// Reads run on their own connections: while a write is inside its
// transaction (here: stopped in the notify planner, which runs under the
// writer's lock), orders can still be read.
TEST(SqliteStoreReaders, ReadsDoNotWaitForTheWriter) {
  TempDir dir;
  std::unique_ptr<Store> store = OpenOrDie(dir.File("store.db"));
  ASSERT_NE(store, nullptr);
  ASSERT_TRUE(store->CreateOrder(MakeOrder("READ-ME"), true, kNow).ok());
  ASSERT_TRUE(store->CreateOrder(MakeOrder("PAY-ME"), true, kNow).ok());
  std::mutex mu;
  std::condition_variable cv;
  bool in_txn = false;
  bool release = false;
  bool waited_out = false;
  store->SetNotifyPlanner([&](const Order&, const Refund*) {
    std::unique_lock<std::mutex> lock(mu);
    in_txn = true;
    cv.notify_all();
    // Ran out only if the reads below waited for this transaction.
    waited_out = !cv.wait_for(lock, std::chrono::seconds(10), [&] { return release; });
    return NotifyFaultPlan{};
  });
  std::thread writer([&] {
    EXPECT_TRUE(
        store->CompletePayment("10001", "PAY-ME", PayOutcome::kSuccess, "wxpay", "42", kNow).ok());
  });
  {
    std::unique_lock<std::mutex> lock(mu);
    ASSERT_TRUE(cv.wait_for(lock, std::chrono::seconds(10), [&] { return in_txn; }));
  }
  // The writer is stopped inside its transaction until `release`.
  StatusOr<Order> read = store->GetOrder("10001", "READ-ME", kNow);
  StatusOr<Order> before = store->GetOrder("10001", "PAY-ME", kNow);
  {
    std::lock_guard<std::mutex> lock(mu);
    release = true;
  }
  cv.notify_all();
  writer.join();
  ASSERT_TRUE(read.ok()) << read.status().ToString();
  EXPECT_FALSE(waited_out) << "the reads waited for the writer";
  ASSERT_TRUE(before.ok());
  EXPECT_EQ(before->status, OrderStatus::kNotPay);  // the uncommitted payment is not seen
  EXPECT_EQ(store->GetOrder("10001", "PAY-ME", kNow)->status, OrderStatus::kSuccess);
}

TEST_P(StoreTest, RecordedAttemptsAreLoggedAndMoveTheState) {
  CreatePaid("T1");
  const Notification n = AllNotifications(*store_)[0];
  NotifyAttempt a;
  a.notification_id = n.id;
  a.at_us = 5;
  a.url = "http://127.0.0.1:7000/forward";
  a.http_status = 500;
  a.latency_us = 1200;
  a.response_head = std::string(300, 'x');
  NotifyUpdate u;
  u.state = NotifyState::kPending;
  u.next_attempt_us = 99;
  u.now = kNow + 11;
  u.last_error = "HTTP 500";
  ASSERT_TRUE(store_->RecordNotifyAttempt(a, u).ok());

  a.at_us = 100;
  a.http_status = 200;
  a.response_head = kNotifyAckBody;
  a.acked = true;
  u.expected_attempts = 1;
  u.state = NotifyState::kAcked;
  u.now = kNow + 20;
  u.last_error = "";
  ASSERT_TRUE(store_->RecordNotifyAttempt(a, u).ok());

  StatusOr<Notification> got = store_->GetNotification(std::to_string(n.id));
  ASSERT_TRUE(got.ok()) << got.status().ToString();
  EXPECT_EQ(got->state, NotifyState::kAcked);
  EXPECT_EQ(got->attempts, 2);
  EXPECT_EQ(got->total_attempts, 2);
  EXPECT_EQ(got->acked_at, kNow + 20);
  EXPECT_EQ(got->updated_at, kNow + 20);
  EXPECT_EQ(got->delivered_to, "http://127.0.0.1:7000/forward");
  EXPECT_EQ(got->notify_url, "http://127.0.0.1:9/notify");
  // By notify_id too.
  EXPECT_EQ(store_->GetNotification(n.notify_id)->id, n.id);

  StatusOr<std::vector<NotifyAttempt>> log = store_->ListNotifyAttempts(n.id);
  ASSERT_TRUE(log.ok());
  ASSERT_EQ(log->size(), 2u);
  EXPECT_EQ((*log)[0].n, 1);
  EXPECT_EQ((*log)[0].at_us, 5);
  EXPECT_EQ((*log)[0].http_status, 500);
  EXPECT_EQ((*log)[0].latency_us, 1200);
  EXPECT_EQ((*log)[0].response_head, std::string(256, 'x'));  // capped
  EXPECT_FALSE((*log)[0].acked);
  EXPECT_EQ((*log)[1].n, 2);
  EXPECT_TRUE((*log)[1].acked);
  EXPECT_EQ((*log)[1].response_head, kNotifyAckBody);
}

TEST_P(StoreTest, AttemptFromAnOlderSeriesIsLoggedButDoesNotUndoAResend) {
  CreatePaid("T1");
  const Notification n = AllNotifications(*store_)[0];
  NotifyAttempt a;
  a.notification_id = n.id;
  NotifyUpdate u;
  u.expected_attempts = 3;  // the dispatcher saw another series
  u.state = NotifyState::kFailed;
  ASSERT_TRUE(store_->RecordNotifyAttempt(a, u).ok());
  StatusOr<Notification> got = store_->GetNotification(n.notify_id);
  EXPECT_EQ(got->state, NotifyState::kPending);
  EXPECT_EQ(got->attempts, 0);
  EXPECT_EQ(got->total_attempts, 1);
  EXPECT_EQ(store_->ListNotifyAttempts(n.id)->size(), 1u);
}

TEST_P(StoreTest, RecordingForAVanishedNotificationIsNotFound) {
  NotifyAttempt a;
  a.notification_id = 42;
  EXPECT_EQ(store_->RecordNotifyAttempt(a, NotifyUpdate{}).code(), ErrorCode::kNotFound);
  EXPECT_EQ(store_->GetNotification("42").status().code(), ErrorCode::kNotFound);
  EXPECT_EQ(store_->GetNotification("Nnope").status().code(), ErrorCode::kNotFound);
}

TEST_P(StoreTest, ResendStartsANewSeriesDueNow) {
  CreatePaid("T1");
  const Notification n = AllNotifications(*store_)[0];
  NotifyAttempt a;
  a.notification_id = n.id;
  NotifyUpdate u;
  u.state = NotifyState::kFailed;
  u.now = kNow + 30;
  u.last_error = "HTTP 500";
  ASSERT_TRUE(store_->RecordNotifyAttempt(a, u).ok());
  StatusOr<Notification> again = store_->ResendNotification(n.notify_id, 7'000'000);
  ASSERT_TRUE(again.ok()) << again.status().ToString();
  EXPECT_EQ(again->state, NotifyState::kPending);
  EXPECT_EQ(again->attempts, 0);
  EXPECT_EQ(again->total_attempts, 1);
  EXPECT_EQ(again->next_attempt_us, 7'000'000);
  EXPECT_EQ(again->last_error, "HTTP 500");  // kept until the next attempt
  EXPECT_EQ(store_->ResendNotification("999", 0).status().code(), ErrorCode::kNotFound);
}

TEST_P(StoreTest, ResendAllTakesOneStateChangedSinceATime) {
  for (const char* no : {"T1", "T2", "T3", "T4"}) CreatePaid(no);
  std::vector<Notification> all = AllNotifications(*store_);  // T4..T1
  auto finish = [&](const Notification& n, NotifyState state, int64_t at) {
    NotifyAttempt a;
    a.notification_id = n.id;
    NotifyUpdate u;
    u.state = state;
    u.now = at;
    ASSERT_TRUE(store_->RecordNotifyAttempt(a, u).ok());
  };
  finish(all[3], NotifyState::kFailed, kNow + 100);   // T1: failed early
  finish(all[2], NotifyState::kFailed, kNow + 200);   // T2: failed later
  finish(all[1], NotifyState::kBlocked, kNow + 200);  // T3: blocked
  finish(all[0], NotifyState::kAcked, kNow + 200);    // T4: acked

  StatusOr<int64_t> n = store_->ResendNotifications(NotifyState::kFailed, kNow + 150, 1);
  ASSERT_TRUE(n.ok());
  EXPECT_EQ(*n, 1);
  EXPECT_EQ(store_->GetNotification(all[2].notify_id)->state, NotifyState::kPending);
  EXPECT_EQ(store_->GetNotification(all[3].notify_id)->state, NotifyState::kFailed);

  n = store_->ResendNotifications(NotifyState::kBlocked, 0, 1);
  ASSERT_TRUE(n.ok());
  EXPECT_EQ(*n, 1);
  EXPECT_EQ(store_->ResendNotifications(NotifyState::kAcked, 0, 1).status().code(),
            ErrorCode::kInvalidField);

  StatusOr<std::map<NotifyState, int64_t>> counts = store_->CountNotifications();
  ASSERT_TRUE(counts.ok());
  EXPECT_EQ((*counts)[NotifyState::kPending], 2);
  EXPECT_EQ((*counts)[NotifyState::kFailed], 1);
  EXPECT_EQ((*counts)[NotifyState::kAcked], 1);
  EXPECT_EQ((*counts)[NotifyState::kBlocked], 0);
}

TEST_P(StoreTest, ListNotificationsFiltersByMerchantOrderAndState) {
  CreatePaid("T1");
  CreatePaid("T2");
  ASSERT_TRUE(DoRefund("T1", "R1", 10).ok());
  Order other = MakeOrder("T1", 100, "20002");
  ASSERT_TRUE(store_->CreateOrder(other, true, kNow).ok());
  ASSERT_TRUE(
      store_->CompletePayment("20002", "T1", PayOutcome::kSuccess, "alipay", "x", kNow).ok());

  NotificationFilter f;
  f.merchantno = "10001";
  EXPECT_EQ(store_->ListNotifications(f)->size(), 3u);
  f.out_trade_no = "T1";
  EXPECT_EQ(store_->ListNotifications(f)->size(), 2u);
  f.merchantno.clear();
  EXPECT_EQ(store_->ListNotifications(f)->size(), 3u);
  f.state = NotifyState::kAcked;
  EXPECT_TRUE(store_->ListNotifications(f)->empty());
  NotificationFilter limited;
  limited.limit = 2;
  EXPECT_EQ(store_->ListNotifications(limited)->size(), 2u);
}

TEST_P(StoreTest, ResetDeletesNotificationsAndNeverReusesTheirIds) {
  CreatePaid("T1");
  const std::string first = AllNotifications(*store_)[0].notify_id;
  ASSERT_TRUE(store_->Reset().ok());
  EXPECT_TRUE(AllNotifications(*store_).empty());
  CreatePaid("T1");
  std::vector<Notification> all = AllNotifications(*store_);
  ASSERT_EQ(all.size(), 1u);
  EXPECT_NE(all[0].notify_id, first);
  // Same database, same salt: only the id part differs.
  EXPECT_EQ(all[0].notify_id.substr(0, 17), first.substr(0, 17));
}

TEST(SqliteStoreOutbox, DatabasesGetDifferentNotifyIdSalts) {
  std::unique_ptr<Store> a = OpenOrDie(":memory:");
  std::unique_ptr<Store> b = OpenOrDie(":memory:");
  for (Store* s : {a.get(), b.get()}) {
    ASSERT_TRUE(s->CreateOrder(MakeOrder("T1"), true, kNow).ok());
    ASSERT_TRUE(s->CompletePayment("10001", "T1", PayOutcome::kSuccess, "wxpay", "x", kNow).ok());
  }
  EXPECT_NE(AllNotifications(*a)[0].notify_id, AllNotifications(*b)[0].notify_id);
}

TEST(SqliteStoreOpen, VersionOneDatabaseIsMigratedAndKeepsItsOrders) {
  TempDir dir;
  const std::string path = dir.File("store.db");
  {
    RawDb raw(path);
    raw.Exec(std::string(internal::SqliteMigrations()[0]));
    raw.Exec("PRAGMA user_version = 1");
    raw.Exec(
        "INSERT INTO orders VALUES ('10001', 'OLD', 'webpay', 100, 'auto', '', '', '', "
        "'http://127.0.0.1:9/n', '', '', '', 'tok', 'NOTPAY', '', 1, 0, 0, 0, 0, 0)");
  }
  std::unique_ptr<Store> store = OpenOrDie(path);
  ASSERT_NE(store, nullptr);
  ASSERT_TRUE(
      store->CompletePayment("10001", "OLD", PayOutcome::kSuccess, "wxpay", "x", kNow).ok());
  EXPECT_EQ(AllNotifications(*store).size(), 1u);
}


std::string DatabaseName(const ::testing::TestParamInfo<bool>& info) {
  return info.param ? "File" : "Memory";
}
INSTANTIATE_TEST_SUITE_P(Db, StoreTest, ::testing::Bool(), DatabaseName);
INSTANTIATE_TEST_SUITE_P(Db, ListOrdersTest, ::testing::Bool(), DatabaseName);

}  // namespace
}  // namespace vkspay::sandbox
