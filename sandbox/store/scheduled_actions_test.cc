// Scheduled actions (fault injection that acts later: USERPAYING, late
// success, PROCESSING refunds), the fault header kept with an order, and the
// refund_first release, on the SQLite store.
#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <memory>
#include <string>

#include "sandbox/store/store.h"

namespace vkspay::sandbox {
namespace {

constexpr int64_t kNow = 1'764'300'000;
constexpr int64_t kUs = 1'000'000;

Order MakeOrder(const std::string& out_trade_no, int64_t total_fee = 100) {
  Order o;
  o.merchantno = "10001";
  o.out_trade_no = out_trade_no;
  o.trade_type = "micropay";
  o.total_fee = total_fee;
  o.pay_chnl = "wxpay";
  o.notify_url = "http://127.0.0.1:9/notify";
  o.created_at = kNow;
  o.expires_at = kNow + 7200;
  return o;
}

ScheduledAction Action(ActionKind kind, int64_t due_s, PayOutcome outcome = PayOutcome::kSuccess) {
  ScheduledAction a;
  a.kind = kind;
  a.due_us = due_s * kUs;
  a.outcome = outcome;
  a.channel = "wxpay";
  a.transaction_id = "4200000000000000000000000042";
  a.note = "test";
  return a;
}

std::unique_ptr<Store> Open(const std::string& path = ":memory:") {
  SqliteStoreOptions options;
  options.path = path;
  StatusOr<std::unique_ptr<Store>> store = OpenSqliteStore(options);
  EXPECT_TRUE(store.ok()) << store.status().ToString();
  return store.ok() ? std::move(store).value() : nullptr;
}

class ActionsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    store_ = Open();
    ASSERT_NE(store_, nullptr);
    store_->SetOutboxObserver([this] { ++observed_; });
  }
  std::string Status(const std::string& no, int64_t now = kNow) {
    StatusOr<Order> o = store_->GetOrder("10001", no, now);
    return o.ok() ? std::string(ToString(o->status)) : o.status().ToString();
  }
  size_t Notifications(const std::string& no) {
    NotificationFilter f;
    f.out_trade_no = no;
    return store_->ListNotifications(f).value().size();
  }
  Order CreatePaid(const std::string& no, int64_t fee = 100) {
    EXPECT_TRUE(store_->CreateOrder(MakeOrder(no, fee), true, kNow).ok());
    return store_->CompletePayment("10001", no, PayOutcome::kSuccess, "wxpay", "4200", kNow)
        .value();
  }

  std::unique_ptr<Store> store_;
  int observed_ = 0;
};

TEST(ActionStrings, KindsAndOutcomesRoundTrip) {
  for (ActionKind k :
       {ActionKind::kPayOutcome, ActionKind::kLateSuccess, ActionKind::kRefundOutcome}) {
    EXPECT_EQ(ParseActionKind(ToString(k)), k);
  }
  for (PayOutcome o : {PayOutcome::kSuccess, PayOutcome::kFail, PayOutcome::kCancel}) {
    EXPECT_EQ(ParsePayOutcomeName(ToString(o)), o);
  }
  EXPECT_FALSE(ParseActionKind("later").has_value());
}

TEST_F(ActionsTest, FaultHeaderIsKeptWithTheOrder) {
  Order o = MakeOrder("H1");
  o.fault_header = "notify=dup";
  ASSERT_TRUE(store_->CreateOrder(o, true, kNow).ok());
  EXPECT_EQ(store_->GetOrder("10001", "H1", kNow)->fault_header, "notify=dup");
}

TEST_F(ActionsTest, UserPayingStaysUntilDueThenSucceedsWithItsNotification) {
  ASSERT_TRUE(store_->CreateOrder(MakeOrder("U1"), true, kNow).ok());
  StatusOr<Order> paying =
      store_->StartUserPaying("10001", "U1", Action(ActionKind::kPayOutcome, kNow + 5), kNow);
  ASSERT_TRUE(paying.ok()) << paying.status().ToString();
  EXPECT_EQ(paying->status, OrderStatus::kUserPaying);
  EXPECT_EQ(Notifications("U1"), 0u);

  AppliedActions early = store_->ApplyDueActions((kNow + 4) * kUs).value();
  EXPECT_EQ(early.applied, 0);
  EXPECT_EQ(early.next_due_us, (kNow + 5) * kUs);
  EXPECT_EQ(Status("U1", kNow + 4), "USERPAYING");

  AppliedActions due = store_->ApplyDueActions((kNow + 5) * kUs).value();
  EXPECT_EQ(due.applied, 1);
  EXPECT_FALSE(due.next_due_us.has_value());
  Order paid = store_->GetOrder("10001", "U1", kNow + 5).value();
  EXPECT_EQ(paid.status, OrderStatus::kSuccess);
  EXPECT_EQ(paid.paid_at, kNow + 5);
  EXPECT_EQ(paid.transaction_id, "4200000000000000000000000042");
  EXPECT_EQ(Notifications("U1"), 1u);
  EXPECT_EQ(observed_, 1);
  EXPECT_TRUE(store_->ListActions("10001", "U1")->empty());
}

TEST_F(ActionsTest, UserPayingThenFailIsPayErrorWithoutNotification) {
  ASSERT_TRUE(store_->CreateOrder(MakeOrder("U2"), true, kNow).ok());
  ASSERT_TRUE(store_
                  ->StartUserPaying("10001", "U2",
                                    Action(ActionKind::kPayOutcome, kNow + 1, PayOutcome::kFail),
                                    kNow)
                  .ok());
  ASSERT_EQ(store_->ApplyDueActions((kNow + 1) * kUs)->applied, 1);
  EXPECT_EQ(Status("U2"), "PAYERROR");
  EXPECT_EQ(Notifications("U2"), 0u);
}

TEST_F(ActionsTest, BuyerFinishingFirstMakesTheActionMoot) {
  ASSERT_TRUE(store_->CreateOrder(MakeOrder("U3"), true, kNow).ok());
  ASSERT_TRUE(store_
                  ->StartUserPaying("10001", "U3",
                                    Action(ActionKind::kPayOutcome, kNow + 5, PayOutcome::kFail),
                                    kNow)
                  .ok());
  ASSERT_TRUE(
      store_->CompletePayment("10001", "U3", PayOutcome::kSuccess, "wxpay", "42", kNow + 1).ok());
  ASSERT_EQ(store_->ApplyDueActions((kNow + 5) * kUs)->applied, 1);
  EXPECT_EQ(Status("U3"), "SUCCESS");
  EXPECT_EQ(Notifications("U3"), 1u);
}

TEST_F(ActionsTest, StartUserPayingOnPaidOrderIsOrderPaid) {
  CreatePaid("U4");
  StatusOr<Order> r =
      store_->StartUserPaying("10001", "U4", Action(ActionKind::kPayOutcome, kNow + 5), kNow);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), ErrorCode::kOrderPaid);
  EXPECT_TRUE(store_->ListActions("10001", "U4")->empty());
}

TEST_F(ActionsTest, LateSuccessPaysTheExpiredOrderAfterItsDelay) {
  ScheduledAction late = Action(ActionKind::kLateSuccess, kNow + 7200 + 10);
  late.merchantno = "10001";
  late.out_trade_no = "L1";
  late.delay_us = 10 * kUs;
  ASSERT_TRUE(store_->CreateOrderWithActions(MakeOrder("L1"), true, kNow, {late}).ok());
  ASSERT_EQ(store_->ApplyDueActions((kNow + 7205) * kUs)->applied, 0);
  EXPECT_EQ(Status("L1", kNow + 7205), "CLOSED");
  EXPECT_EQ(Notifications("L1"), 0u);
  ASSERT_EQ(store_->ApplyDueActions((kNow + 7210) * kUs)->applied, 1);
  Order o = store_->GetOrder("10001", "L1", kNow + 7210).value();
  EXPECT_EQ(o.status, OrderStatus::kSuccess);
  EXPECT_EQ(o.closed_at, kNow + 7200);  // it was closed first
  EXPECT_EQ(o.paid_at, kNow + 7210);
  EXPECT_EQ(Notifications("L1"), 1u);
}

TEST_F(ActionsTest, LateSuccessCountsFromACancel) {
  ScheduledAction late = Action(ActionKind::kLateSuccess, kNow + 7200 + 10);
  late.merchantno = "10001";
  late.out_trade_no = "L2";
  late.delay_us = 10 * kUs;
  ASSERT_TRUE(store_->CreateOrderWithActions(MakeOrder("L2"), true, kNow, {late}).ok());
  ASSERT_TRUE(store_->CompletePayment("10001", "L2", PayOutcome::kCancel, "", "", kNow + 100).ok());
  EXPECT_EQ(store_->ListActions("10001", "L2")->at(0).due_us, (kNow + 110) * kUs);
  ASSERT_EQ(store_->ApplyDueActions((kNow + 110) * kUs)->applied, 1);
  EXPECT_EQ(Status("L2", kNow + 110), "SUCCESS");
}

TEST_F(ActionsTest, LateSuccessLeavesAPaidOrderAlone) {
  ScheduledAction late = Action(ActionKind::kLateSuccess, kNow + 10);
  late.merchantno = "10001";
  late.out_trade_no = "L3";
  ASSERT_TRUE(store_->CreateOrderWithActions(MakeOrder("L3"), true, kNow, {late}).ok());
  ASSERT_TRUE(
      store_->CompletePayment("10001", "L3", PayOutcome::kSuccess, "wxpay", "1", kNow).ok());
  ASSERT_EQ(store_->ApplyDueActions((kNow + 10) * kUs)->applied, 1);
  EXPECT_EQ(Notifications("L3"), 1u);  // only the real payment's
}

TEST_F(ActionsTest, ProcessingRefundHoldsItsAmountUntilItSucceeds) {
  CreatePaid("R1", 100);
  const int notes_before = observed_;
  StatusOr<Refund> r =
      store_->CreateProcessingRefund("10001", "R1", std::string("RF1"), "", 60, kNow,
                                     Action(ActionKind::kRefundOutcome, kNow + 10));
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->status, RefundStatus::kProcessing);
  EXPECT_EQ(observed_, notes_before);  // no notification yet
  // 60 of 100 are spoken for: another 50 would over-refund.
  StatusOr<Refund> over = store_->CreateRefund("10001", "R1", std::string("RF2"), "", 50, kNow);
  ASSERT_FALSE(over.ok());
  EXPECT_EQ(over.status().code(), ErrorCode::kRefundExceedsPaid);
  EXPECT_NE(over.status().message().find("退款处理中 0.6"), std::string::npos)
      << over.status().message();
  Order o = store_->GetOrder("10001", "R1", kNow).value();
  EXPECT_EQ(o.status, OrderStatus::kSuccess);
  EXPECT_EQ(o.refunded_fee, 0);
  EXPECT_EQ(store_->GetRefund("10001", "R1", "RF1")->status, RefundStatus::kProcessing);

  ASSERT_EQ(store_->ApplyDueActions((kNow + 10) * kUs)->applied, 1);
  o = store_->GetOrder("10001", "R1", kNow).value();
  EXPECT_EQ(o.status, OrderStatus::kRefund);
  EXPECT_EQ(o.refunded_fee, 60);
  EXPECT_EQ(o.refund_count, 1);
  Refund done = store_->GetRefund("10001", "R1", "RF1").value();
  EXPECT_EQ(done.status, RefundStatus::kSuccess);
  EXPECT_EQ(done.success_at, kNow + 10);
  NotificationFilter f;
  f.out_trade_no = "R1";
  std::vector<Notification> ns = store_->ListNotifications(f).value();
  ASSERT_EQ(ns.size(), 2u);
  EXPECT_EQ(ns[0].type, "refund");
  EXPECT_NE(ns[0].payload.find("\"refund_status\":\"SUCCESS\""), std::string::npos)
      << ns[0].payload;
}

TEST_F(ActionsTest, FailedProcessingRefundFreesItsAmountAndIsNotified) {
  CreatePaid("R2", 100);
  ASSERT_TRUE(
      store_
          ->CreateProcessingRefund("10001", "R2", std::string("RF1"), "", 100, kNow,
                                   Action(ActionKind::kRefundOutcome, kNow + 1, PayOutcome::kFail))
          .ok());
  ASSERT_EQ(store_->ApplyDueActions((kNow + 1) * kUs)->applied, 1);
  EXPECT_EQ(store_->GetRefund("10001", "R2", "RF1")->status, RefundStatus::kFail);
  EXPECT_EQ(store_->GetOrder("10001", "R2", kNow)->status, OrderStatus::kSuccess);
  NotificationFilter f;
  f.out_trade_no = "R2";
  std::vector<Notification> ns = store_->ListNotifications(f).value();
  ASSERT_EQ(ns.size(), 2u);
  EXPECT_NE(ns[0].payload.find("\"refund_status\":\"FAIL\""), std::string::npos) << ns[0].payload;
  // The whole amount is refundable again.
  EXPECT_TRUE(store_->CreateRefund("10001", "R2", std::string("RF2"), "", 100, kNow + 2).ok());
}

TEST_F(ActionsTest, RepeatedProcessingRefundRequestSchedulesNothingMore) {
  CreatePaid("R3", 100);
  const ScheduledAction then = Action(ActionKind::kRefundOutcome, kNow + 5);
  ASSERT_TRUE(
      store_->CreateProcessingRefund("10001", "R3", std::string("RF1"), "", 10, kNow, then).ok());
  StatusOr<Refund> again =
      store_->CreateProcessingRefund("10001", "R3", std::string("RF1"), "", 10, kNow, then);
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->status, RefundStatus::kProcessing);
  EXPECT_EQ(store_->ListActions("10001", "R3")->size(), 1u);
}

TEST_F(ActionsTest, ResetRemovesScheduledActions) {
  ASSERT_TRUE(store_->CreateOrder(MakeOrder("X1"), true, kNow).ok());
  ASSERT_TRUE(
      store_->StartUserPaying("10001", "X1", Action(ActionKind::kPayOutcome, kNow + 5), kNow).ok());
  ASSERT_TRUE(store_->Reset().ok());
  EXPECT_TRUE(store_->ListActions("", "")->empty());
  EXPECT_EQ(store_->ApplyDueActions((kNow + 5) * kUs)->applied, 0);
}

TEST(ActionsPersistence, AnOverdueActionAppliesAfterAReopen) {
  std::string dir = ::testing::TempDir() + "vkspay_actions_XXXXXX";
  ASSERT_NE(mkdtemp(dir.data()), nullptr);
  const std::string path = dir + "/store.db";
  {
    std::unique_ptr<Store> store = Open(path);
    ASSERT_TRUE(store->CreateOrder(MakeOrder("P1"), true, kNow).ok());
    ASSERT_TRUE(
        store->StartUserPaying("10001", "P1", Action(ActionKind::kPayOutcome, kNow + 5), kNow)
            .ok());
  }
  {
    std::unique_ptr<Store> store = Open(path);
    std::vector<ScheduledAction> pending = store->ListActions("10001", "P1").value();
    ASSERT_EQ(pending.size(), 1u);
    EXPECT_EQ(pending[0].kind, ActionKind::kPayOutcome);
    EXPECT_EQ(pending[0].note, "test");
    EXPECT_EQ(store->ApplyDueActions((kNow + 60) * kUs)->applied, 1);
    EXPECT_EQ(store->GetOrder("10001", "P1", kNow + 60)->status, OrderStatus::kSuccess);
  }
  std::error_code ec;
  std::filesystem::remove_all(dir, ec);
}

TEST_F(ActionsTest, ReleaseHeldPaymentMakesOnlyAHeldPaymentDue) {
  store_->SetNotifyPlanner([](const Order&, const Refund* refund) {
    NotifyFaultPlan p;
    if (refund == nullptr) {
      p.plan_json = R"({"refund_first_hold_s":60})";
      p.first_attempt_us = (kNow + 60) * kUs;
    }
    return p;
  });
  CreatePaid("F1");
  NotificationFilter f;
  f.out_trade_no = "F1";
  ASSERT_EQ(store_->ListNotifications(f)->at(0).next_attempt_us, (kNow + 60) * kUs);
  const int before = observed_;
  EXPECT_EQ(store_->ReleaseHeldPayment("10001", "F1", (kNow + 2) * kUs).value(), 1);
  EXPECT_EQ(observed_, before + 1);
  EXPECT_EQ(store_->ListNotifications(f)->at(0).next_attempt_us, (kNow + 2) * kUs);
  EXPECT_EQ(store_->ReleaseHeldPayment("10001", "F1", (kNow + 3) * kUs).value(), 0);
}

}  // namespace
}  // namespace vkspay::sandbox
