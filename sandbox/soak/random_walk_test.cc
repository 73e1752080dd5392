// The random walk's checker and a short walk: forged observations are
// refused, a real walk of a few thousand steps holds every invariant, the
// same seed replays the same walk, and bugs planted in the database are
// caught at the step they were planted, with the seed and step reported.
#include "sandbox/soak/random_walk.h"

#include <gtest/gtest.h>

#include <string>

namespace vkspay::sandbox::walk {
namespace {

OrderView Paid(int64_t total, int64_t refunded, int64_t refunds) {
  OrderView v;
  v.out_trade_no = "T1";
  v.status = refunds > 0 ? "REFUND" : "SUCCESS";
  v.total_fee = total;
  v.refunded_fee = refunded;
  v.refund_count = refunds;
  v.paid_at = 1'764'300'000;
  v.transaction_id = "4200000000000000000000000001";
  v.refunds_sum = refunded;
  v.refunds_rows = refunds;
  v.payment_events = 1;
  v.refund_events = refunds;
  return v;
}

OrderView Unpaid(const char* status) {
  OrderView v;
  v.out_trade_no = "T1";
  v.status = status;
  v.total_fee = 100;
  return v;
}

TEST(WalkChecker, LegalTransitionsFollowTheOrderLifecycle) {
  EXPECT_TRUE(IsLegalTransition("NOTPAY", "SUCCESS"));
  EXPECT_TRUE(IsLegalTransition("NOTPAY", "CLOSED"));
  EXPECT_TRUE(IsLegalTransition("NOTPAY", "PAYERROR"));
  EXPECT_TRUE(IsLegalTransition("SUCCESS", "REFUND"));
  EXPECT_TRUE(IsLegalTransition("REFUND", "REFUND"));
  EXPECT_FALSE(IsLegalTransition("CLOSED", "SUCCESS"));
  EXPECT_FALSE(IsLegalTransition("CLOSED", "NOTPAY"));
  EXPECT_FALSE(IsLegalTransition("PAYERROR", "SUCCESS"));
  EXPECT_FALSE(IsLegalTransition("SUCCESS", "NOTPAY"));
  EXPECT_FALSE(IsLegalTransition("REFUND", "SUCCESS"));
  EXPECT_FALSE(IsLegalTransition("SUCCESS", "CLOSED"));
}

TEST(WalkChecker, AcceptsAConsistentHistory) {
  const OrderView a = Unpaid("NOTPAY");
  const OrderView b = Paid(100, 0, 0);
  const OrderView c = Paid(100, 30, 1);
  const OrderView d = Paid(100, 100, 2);
  EXPECT_EQ(CheckOrderTransition(nullptr, &a), "");
  EXPECT_EQ(CheckOrderTransition(&a, &b), "");
  EXPECT_EQ(CheckOrderTransition(&b, &c), "");
  EXPECT_EQ(CheckOrderTransition(&c, &d), "");
}

TEST(WalkChecker, RefusesAForgedIllegalTransition) {
  const OrderView closed = Unpaid("CLOSED");
  const OrderView paid = Paid(100, 0, 0);
  EXPECT_EQ(CheckOrderTransition(&closed, &paid), "order T1: illegal transition CLOSED -> SUCCESS");
  const OrderView reopened = Unpaid("NOTPAY");
  EXPECT_EQ(CheckOrderTransition(&closed, &reopened),
            "order T1: illegal transition CLOSED -> NOTPAY");
}

TEST(WalkChecker, RefusesRefundsAboveThePaidAmount) {
  OrderView v = Paid(100, 101, 2);
  EXPECT_EQ(CheckOrderView(v),
            "order T1 (REFUND): refunds of 101 fen exceed the paid amount 100 fen");
}

TEST(WalkChecker, RefusesARefundedTotalThatGoesDown) {
  const OrderView before = Paid(100, 50, 2);
  const OrderView after = Paid(100, 30, 1);
  EXPECT_EQ(CheckOrderTransition(&before, &after),
            "order T1: refunded total went down from 50 fen to 30 fen");
}

TEST(WalkChecker, RefusesRefundRowsThatDisagreeWithRefundedFee) {
  OrderView v = Paid(100, 50, 2);
  v.refunds_sum = 40;
  EXPECT_EQ(CheckOrderView(v),
            "order T1 (REFUND): its refunds add up to 40 fen but refunded_fee is 50 fen");
}

TEST(WalkChecker, WantsExactlyOnePaymentEventPerPaidOrder) {
  OrderView two = Paid(100, 0, 0);
  two.payment_events = 2;
  EXPECT_EQ(CheckOrderView(two),
            "order T1 (SUCCESS): paid, with 2 payment events in the outbox (want exactly 1)");
  OrderView none = Paid(100, 0, 0);
  none.payment_events = 0;
  EXPECT_NE(CheckOrderView(none), "");
  OrderView unpaid = Unpaid("NOTPAY");
  unpaid.payment_events = 1;
  EXPECT_EQ(CheckOrderView(unpaid), "order T1 (NOTPAY): unpaid, with 1 payment events");
}

TEST(WalkChecker, WantsOneRefundEventPerRefund) {
  OrderView v = Paid(100, 50, 2);
  v.refund_events = 1;
  EXPECT_EQ(CheckOrderView(v), "order T1 (REFUND): 2 refunds but 1 refund events in the outbox");
}

TEST(WalkChecker, RefusesAVanishedOrderAndAChangedAmount) {
  const OrderView a = Unpaid("NOTPAY");
  EXPECT_EQ(CheckOrderTransition(&a, nullptr), "order T1 vanished from the database");
  OrderView b = a;
  b.total_fee = 200;
  EXPECT_EQ(CheckOrderTransition(&a, &b), "order T1: total_fee changed from 100 fen to 200 fen");
}

TEST(RandomWalk, AShortWalkHoldsEveryInvariant) {
  WalkOptions o;
  o.seed = 20261201;
  o.steps = 5000;
  o.full_check_every = 500;
  const WalkResult r = RunRandomWalk(o);
  ASSERT_TRUE(r.ok) << Summary(r);
  EXPECT_EQ(r.steps_run, 5000);
  EXPECT_EQ(r.integrity, "ok");
  // The walk really went everywhere.
  for (const char* op : {"webpay.new", "webpay.again", "micropay.new", "pay.success", "pay.fail",
                         "pay.cancel", "clock.expire", "refund.partial", "refund.full",
                         "refund.over_limit", "refund.duplicate_same", "query.order",
                         "query.refund", "notify.ack", "notify.fail", "restart"}) {
    EXPECT_GT(r.op_counts.count(op) ? r.op_counts.at(op) : 0, 0) << op << "\n" << Summary(r);
  }
  for (const char* answer : {"SUCCESS", "ORDER_CLOSED", "ORDER_PAID", "ORDER_NOT_PAID",
                             "REFUND_EXCEEDS_PAID", "OUT_REFUND_NO_USED", "REFUND_NOT_ALLOWED",
                             "notify.acked", "notify.failed", "notify.blocked"}) {
    EXPECT_GT(r.answers.count(answer) ? r.answers.at(answer) : 0, 0) << answer << "\n"
                                                                     << Summary(r);
  }
  EXPECT_GT(r.refunds, 0);
}

TEST(RandomWalk, TheSameSeedReplaysTheSameWalk) {
  WalkOptions o;
  o.seed = 99;
  o.steps = 800;
  const WalkResult a = RunRandomWalk(o);
  const WalkResult b = RunRandomWalk(o);
  ASSERT_TRUE(a.ok) << Summary(a);
  EXPECT_EQ(a.op_counts, b.op_counts);
  EXPECT_EQ(a.answers, b.answers);
  EXPECT_EQ(a.orders, b.orders);
  EXPECT_EQ(a.refunds, b.refunds);
}

// Each planted bug must be reported at exactly the step it was planted, with
// the seed and the replay command.
struct PlantCase {
  Plant plant;
  const char* says;
};
void PrintTo(const PlantCase& c, std::ostream* os) { *os << ToString(c.plant); }

class PlantedBug : public ::testing::TestWithParam<PlantCase> {};

TEST_P(PlantedBug, IsCaughtAtTheStepItWasPlanted) {
  WalkOptions o;
  o.seed = 5;
  o.steps = 3000;
  o.full_check_every = 0;
  o.plant = GetParam().plant;
  o.plant_at_step = 200;
  const WalkResult r = RunRandomWalk(o);
  ASSERT_FALSE(r.ok) << "not caught: " << Summary(r);
  ASSERT_GT(r.planted_step, 0) << r.violation;
  EXPECT_EQ(r.failed_step, r.planted_step) << r.violation;
  EXPECT_NE(r.violation.find(GetParam().says), std::string::npos) << r.violation;
  EXPECT_NE(r.violation.find("seed=5 step=" + std::to_string(r.planted_step)), std::string::npos)
      << r.violation;
  EXPECT_NE(r.violation.find("random_walk --seed 5 --steps " + std::to_string(r.planted_step)),
            std::string::npos)
      << r.violation;
}

INSTANTIATE_TEST_SUITE_P(
    AllKinds, PlantedBug,
    ::testing::Values(PlantCase{Plant::kReopenOrder, "illegal transition"},
                      PlantCase{Plant::kSecondPaymentEvent, "2 payment events"},
                      PlantCase{Plant::kLoseRefund, "its refunds add up to"},
                      PlantCase{Plant::kShrinkRefundedFee, "refunded total went down"},
                      PlantCase{Plant::kDropPaymentEvent, "0 payment events"}),
    [](const ::testing::TestParamInfo<PlantCase>& p) {
      std::string name(ToString(p.param.plant));
      for (char& c : name) {
        if (c == '-') c = '_';
      }
      return name;
    });

}  // namespace
}  // namespace vkspay::sandbox::walk
