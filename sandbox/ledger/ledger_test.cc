// The payment rules against an in-memory LedgerTxn: no SQLite, so these
// tests say what the ledger decides, whatever store runs it.
#include "sandbox/ledger/ledger.h"

#include <gtest/gtest.h>

#include <map>
#include <string>
#include <utility>
#include <vector>

namespace vkspay::sandbox {
namespace {

// Rows in maps; every call does what the interface says. `fail_inserts`
// makes the next InsertNotification fail, as a database error would.
class MemoryTxn final : public LedgerTxn {
 public:
  StatusOr<Order> LoadOrder(std::string_view m, std::string_view o) override {
    auto it = orders.find({std::string(m), std::string(o)});
    if (it == orders.end()) return OrderNotExistError(m, o);
    return it->second;
  }
  StatusOr<Order> LoadOrderByToken(std::string_view token) override {
    for (const auto& [key, o] : orders) {
      if (o.cashier_token == token) return o;
    }
    return Status(ErrorCode::kOrderNotExist, "no order with that token");
  }
  StatusOr<Refund> LoadRefund(std::string_view m, std::string_view no) override {
    auto it = refunds.find({std::string(m), std::string(no)});
    if (it == refunds.end()) return RefundNotExistError(m, no);
    return it->second;
  }
  StatusOr<int64_t> SumProcessingRefunds(std::string_view m, std::string_view o) override {
    int64_t sum = 0;
    for (const auto& [key, r] : refunds) {
      if (r.merchantno == m && r.out_trade_no == o && r.status == RefundStatus::kProcessing) {
        sum += r.refund_fee;
      }
    }
    return sum;
  }
  Status InsertOrder(const Order& o) override {
    orders[{o.merchantno, o.out_trade_no}] = o;
    return Status::Ok();
  }
  Status UpdateOrder(const Order& o) override {
    auto it = orders.find({o.merchantno, o.out_trade_no});
    if (it == orders.end()) return Status(ErrorCode::kInternal, "update of a missing order");
    it->second = o;
    return Status::Ok();
  }
  Status InsertRefund(const Refund& r) override {
    refunds[{r.merchantno, r.out_refund_no}] = r;
    return Status::Ok();
  }
  Status UpdateRefund(const Refund& r) override {
    refunds[{r.merchantno, r.out_refund_no}] = r;
    return Status::Ok();
  }
  StatusOr<std::string> InsertNotification(const NewNotification& n) override {
    if (fail_inserts) return Status(ErrorCode::kInternal, "disk full");
    notifications.push_back(n);
    return "N" + std::to_string(notifications.size());
  }
  Status InsertAction(const ScheduledAction& a, int64_t) override {
    ScheduledAction copy = a;
    copy.id = ++last_action_id;
    actions[copy.id] = copy;
    return Status::Ok();
  }
  StatusOr<bool> DeleteAction(int64_t id) override { return actions.erase(id) == 1; }
  Status MoveLateSuccess(std::string_view m, std::string_view o, int64_t base_us) override {
    for (auto& [id, a] : actions) {
      if (a.kind == ActionKind::kLateSuccess && a.merchantno == m && a.out_trade_no == o) {
        a.due_us = base_us + a.delay_us;
      }
    }
    return Status::Ok();
  }

  std::map<std::pair<std::string, std::string>, Order> orders;
  std::map<std::pair<std::string, std::string>, Refund> refunds;
  std::vector<NewNotification> notifications;
  std::map<int64_t, ScheduledAction> actions;
  int64_t last_action_id = 0;
  bool fail_inserts = false;
};

constexpr int64_t kNow = 1'790'000'000;

Order NewOrder(std::string out_trade_no, int64_t fee, int64_t expires_at = kNow + 7200) {
  Order o;
  o.merchantno = "10001";
  o.out_trade_no = std::move(out_trade_no);
  o.trade_type = "webpay";
  o.total_fee = fee;
  o.notify_url = "http://127.0.0.1:9000/notify";
  o.attach = "a1";
  o.expires_at = expires_at;
  return o;
}

class LedgerTest : public ::testing::Test {
 protected:
  StatusOr<CreateOrderResult> Create(const Order& o, bool must_be_new = false) {
    LedgerEffects fx;
    return ledger.CreateOrder(txn, fx, o, must_be_new, kNow, {});
  }
  StatusOr<Order> Pay(std::string_view no, PayOutcome outcome = PayOutcome::kSuccess,
                      int64_t now = kNow, LedgerEffects* fx_out = nullptr) {
    LedgerEffects fx;
    StatusOr<Order> r = ledger.Pay(txn, fx, "10001", no, outcome, "wxpay", "4200000001", now);
    if (fx_out != nullptr) *fx_out = fx;
    return r;
  }
  StatusOr<RefundResult> RefundOf(std::string_view no, int64_t fee,
                                  std::optional<std::string> out_refund_no = std::nullopt,
                                  const ScheduledAction* then = nullptr) {
    LedgerEffects fx;
    return ledger.CreateRefund(txn, fx, "10001", no, out_refund_no,
                               "R-gen-" + std::to_string(++generated_), fee, kNow, then);
  }

  Ledger ledger;
  MemoryTxn txn;
  int generated_ = 0;
};

TEST_F(LedgerTest, CreateIsIdempotentForTheSameAmountOnly) {
  ASSERT_TRUE(Create(NewOrder("T1", 100)).ok());
  StatusOr<CreateOrderResult> again = Create(NewOrder("T1", 100));
  ASSERT_TRUE(again.ok()) << again.status().ToString();
  EXPECT_FALSE(again->created);
  StatusOr<CreateOrderResult> other = Create(NewOrder("T1", 200));
  EXPECT_EQ(other.status().code(), ErrorCode::kOutTradeNoUsed);
  EXPECT_NE(other.status().message().find("金额 1 元"), std::string::npos) << other.status().message();
  EXPECT_EQ(Create(NewOrder("T1", 100), /*must_be_new=*/true).status().code(),
            ErrorCode::kOutTradeNoUsed);
  EXPECT_EQ(txn.orders.size(), 1u);
}

TEST_F(LedgerTest, RefusesANonPositiveAmountWithoutWriting) {
  StatusOr<CreateOrderResult> r = Create(NewOrder("T0", 0));
  EXPECT_EQ(r.status().code(), ErrorCode::kInvalidAmount);
  EXPECT_TRUE(txn.orders.empty());
}

TEST_F(LedgerTest, PaymentWritesExactlyOneOutboxRow) {
  ASSERT_TRUE(Create(NewOrder("T2", 1250)).ok());
  LedgerEffects fx;
  StatusOr<Order> paid = Pay("T2", PayOutcome::kSuccess, kNow, &fx);
  ASSERT_TRUE(paid.ok()) << paid.status().ToString();
  EXPECT_EQ(paid->status, OrderStatus::kSuccess);
  EXPECT_TRUE(fx.notified);
  ASSERT_EQ(txn.notifications.size(), 1u);
  const NewNotification& n = txn.notifications[0];
  EXPECT_EQ(n.type, "payment");
  EXPECT_EQ(n.content.total_fee, 1250);
  EXPECT_EQ(n.content.status, "SUCCESS");
  EXPECT_EQ(n.content.attach, "a1");
  EXPECT_EQ(n.first_attempt_us, kNow * 1'000'000);
  // Paying again is refused and writes nothing.
  EXPECT_EQ(Pay("T2").status().code(), ErrorCode::kOrderPaid);
  EXPECT_EQ(txn.notifications.size(), 1u);
}

TEST_F(LedgerTest, FailedAndCancelledPaymentsNotifyNobody) {
  ASSERT_TRUE(Create(NewOrder("T3", 100)).ok());
  ASSERT_TRUE(Create(NewOrder("T4", 100)).ok());
  EXPECT_EQ(Pay("T3", PayOutcome::kFail)->status, OrderStatus::kPayError);
  EXPECT_EQ(Pay("T4", PayOutcome::kCancel)->status, OrderStatus::kClosed);
  EXPECT_TRUE(txn.notifications.empty());
  EXPECT_EQ(Pay("T3").status().code(), ErrorCode::kOrderPayError);
  EXPECT_EQ(Pay("T4").status().code(), ErrorCode::kOrderClosed);
}

TEST_F(LedgerTest, AnExpiredOrderIsClosedAndTheCloseIsKept) {
  ASSERT_TRUE(Create(NewOrder("T5", 100, kNow + 10)).ok());
  LedgerEffects fx;
  StatusOr<Order> r = Pay("T5", PayOutcome::kSuccess, kNow + 10, &fx);
  EXPECT_EQ(r.status().code(), ErrorCode::kOrderClosed);
  EXPECT_TRUE(fx.keep_writes_on_error);
  EXPECT_FALSE(fx.notified);
  const Order& stored = txn.orders.at({"10001", "T5"});
  EXPECT_EQ(stored.status, OrderStatus::kClosed);
  EXPECT_EQ(stored.closed_at, kNow + 10);
}

TEST_F(LedgerTest, RefundsNeverAddUpToMoreThanWasPaid) {
  ASSERT_TRUE(Create(NewOrder("T6", 100)).ok());
  EXPECT_EQ(RefundOf("T6", 10).status().code(), ErrorCode::kRefundNotAllowed);  // unpaid
  ASSERT_TRUE(Pay("T6").ok());
  StatusOr<RefundResult> first = RefundOf("T6", 30);
  ASSERT_TRUE(first.ok()) << first.status().ToString();
  EXPECT_EQ(first->order.refunded_fee, 30);
  EXPECT_EQ(first->order.status, OrderStatus::kRefund);
  StatusOr<RefundResult> over = RefundOf("T6", 71);
  EXPECT_EQ(over.status().code(), ErrorCode::kRefundExceedsPaid);
  EXPECT_NE(over.status().message().find("0.71"), std::string::npos) << over.status().message();
  StatusOr<RefundResult> rest = RefundOf("T6", 70);
  ASSERT_TRUE(rest.ok());
  EXPECT_EQ(rest->order.refunded_fee, 100);
  EXPECT_EQ(rest->order.refund_count, 2);
  EXPECT_EQ(txn.notifications.size(), 3u);  // the payment and two refunds
  EXPECT_EQ(txn.notifications.back().type, "refund");
  EXPECT_EQ(txn.notifications.back().content.refund_fee, 70);
}

TEST_F(LedgerTest, ARequestedRefundNumberIsIdempotentAndNotReusable) {
  ASSERT_TRUE(Create(NewOrder("T7", 100)).ok());
  ASSERT_TRUE(Create(NewOrder("T8", 100)).ok());
  ASSERT_TRUE(Pay("T7").ok());
  ASSERT_TRUE(Pay("T8").ok());
  ASSERT_TRUE(RefundOf("T7", 40, "R1").ok());
  StatusOr<RefundResult> again = RefundOf("T7", 40, "R1");
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->order.refunded_fee, 40);  // not refunded twice
  EXPECT_EQ(RefundOf("T7", 41, "R1").status().code(), ErrorCode::kOutRefundNoUsed);
  EXPECT_EQ(RefundOf("T8", 40, "R1").status().code(), ErrorCode::kOutRefundNoUsed);
  EXPECT_EQ(txn.notifications.size(), 3u);
}

TEST_F(LedgerTest, AProcessingRefundHoldsItsAmountUntilItsOutcome) {
  ASSERT_TRUE(Create(NewOrder("T9", 100)).ok());
  ASSERT_TRUE(Pay("T9").ok());
  ScheduledAction then;
  then.outcome = PayOutcome::kSuccess;
  then.due_us = (kNow + 5) * 1'000'000;
  StatusOr<RefundResult> processing = RefundOf("T9", 60, "RP", &then);
  ASSERT_TRUE(processing.ok());
  EXPECT_EQ(processing->refund.status, RefundStatus::kProcessing);
  EXPECT_EQ(processing->order.refunded_fee, 0);
  EXPECT_EQ(RefundOf("T9", 41).status().code(), ErrorCode::kRefundExceedsPaid);
  ASSERT_EQ(txn.actions.size(), 1u);
  const ScheduledAction action = txn.actions.begin()->second;
  EXPECT_EQ(action.kind, ActionKind::kRefundOutcome);
  EXPECT_EQ(action.out_refund_no, "RP");

  LedgerEffects fx;
  ASSERT_TRUE(ledger.ApplyAction(txn, fx, action, then.due_us).ok());
  EXPECT_TRUE(fx.notified);
  EXPECT_EQ(txn.refunds.at({"10001", "RP"}).status, RefundStatus::kSuccess);
  EXPECT_EQ(txn.orders.at({"10001", "T9"}).refunded_fee, 60);
  const size_t rows = txn.notifications.size();
  // Applied once: the same action again is gone, and changes nothing.
  LedgerEffects again;
  ASSERT_TRUE(ledger.ApplyAction(txn, again, action, then.due_us).ok());
  EXPECT_FALSE(again.notified);
  EXPECT_EQ(txn.orders.at({"10001", "T9"}).refunded_fee, 60);
  EXPECT_EQ(txn.notifications.size(), rows);
}

TEST_F(LedgerTest, ADatabaseErrorInTheOutboxFailsThePayment) {
  ASSERT_TRUE(Create(NewOrder("T10", 100)).ok());
  txn.fail_inserts = true;
  LedgerEffects fx;
  StatusOr<Order> r = Pay("T10", PayOutcome::kSuccess, kNow, &fx);
  EXPECT_EQ(r.status().code(), ErrorCode::kInternal);
  // kInternal is never kept: the store rolls the order's change back.
  EXPECT_FALSE(fx.keep_writes_on_error);
}

TEST_F(LedgerTest, TheNotifyPlannerDecidesTheFirstAttempt) {
  ledger.SetNotifyPlanner([](const Order& o, const Refund*) {
    NotifyFaultPlan plan;
    plan.plan_json = R"({"delay_ms":1500})";
    plan.first_attempt_us = (o.paid_at + 2) * 1'000'000;
    return plan;
  });
  ASSERT_TRUE(Create(NewOrder("T11", 100)).ok());
  ASSERT_TRUE(Pay("T11").ok());
  ASSERT_EQ(txn.notifications.size(), 1u);
  EXPECT_EQ(txn.notifications[0].first_attempt_us, (kNow + 2) * 1'000'000);
  EXPECT_EQ(txn.notifications[0].fault_plan, R"({"delay_ms":1500})");
}

}  // namespace
}  // namespace vkspay::sandbox
