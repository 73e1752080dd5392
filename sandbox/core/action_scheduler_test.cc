// ActionScheduler and the buyer paths that schedule actions (ActAsBuyer with
// pay.userpaying), on an in-memory store and a FakeClock.
#include "sandbox/core/action_scheduler.h"

#include <gtest/gtest.h>

#include "sandbox/core/payments.h"
#include "sandbox/faults/fault_engine.h"

namespace vkspay::sandbox {
namespace {

constexpr int64_t kStartUs = 1'764'300'000'000'000;

class ActionSchedulerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    store_ = OpenSqliteStore(SqliteStoreOptions{}).value();
    config_ = SandboxConfig::Demo();
    ctx_ = SandboxContext{&config_, store_.get(), &clock_, &rng_, nullptr, nullptr, &engine_};
  }
  void CreateOrder(const std::string& no, const std::string& attach = "") {
    Order o;
    o.merchantno = "10001";
    o.out_trade_no = no;
    o.trade_type = "webpay";
    o.total_fee = 1;
    o.attach = attach;
    o.notify_url = "http://127.0.0.1:9/notify";
    o.expires_at = clock_.NowSeconds() + 7200;
    ASSERT_TRUE(store_->CreateOrder(o, true, clock_.NowSeconds()).ok());
  }
  std::string Status(const std::string& no) {
    return std::string(ToString(store_->GetOrder("10001", no, clock_.NowSeconds())->status));
  }

  FakeClock clock_{kStartUs};
  SeededRandom rng_{3};
  FaultEngine engine_{clock_, FaultEngineOptions{}};
  SandboxConfig config_;
  std::unique_ptr<Store> store_;
  SandboxContext ctx_;
};

TEST_F(ActionSchedulerTest, CashierPaymentWithUserPayingWaitsThenTakesTheDirectedOutcome) {
  CreateOrder("U1", "sandbox:pay=userpaying:5s:fail");
  StatusOr<Order> paying = ActAsBuyer(ctx_, "10001", "U1", "auto", PayOutcome::kSuccess);
  ASSERT_TRUE(paying.ok()) << paying.status().ToString();
  EXPECT_EQ(paying->status, OrderStatus::kUserPaying);
  std::vector<ScheduledAction> actions = store_->ListActions("10001", "U1").value();
  ASSERT_EQ(actions.size(), 1u);
  EXPECT_EQ(actions[0].outcome, PayOutcome::kFail);
  EXPECT_EQ(actions[0].due_us, kStartUs + 5'000'000);
  EXPECT_EQ(actions[0].note, "pay.userpaying (attach)");

  ActionScheduler scheduler(store_.get(), &clock_);
  clock_.AdvanceMicros(4'999'999);
  EXPECT_EQ(scheduler.ApplyDueNow(), 0);
  EXPECT_EQ(Status("U1"), "USERPAYING");
  clock_.AdvanceMicros(1);
  EXPECT_EQ(scheduler.ApplyDueNow(), 1);
  EXPECT_EQ(Status("U1"), "PAYERROR");
}

TEST_F(ActionSchedulerTest, TimeScaleShortensTheWait) {
  config_.settings.time_scale = 0.01;
  CreateOrder("U2", "sandbox:pay=userpaying:100s");
  ASSERT_TRUE(ActAsBuyer(ctx_, "10001", "U2", "wxpay", PayOutcome::kSuccess).ok());
  EXPECT_EQ(store_->ListActions("10001", "U2")->at(0).due_us, kStartUs + 1'000'000);
}

TEST_F(ActionSchedulerTest, StartAppliesWhatIsOverdueBeforeReturning) {
  CreateOrder("U3", "sandbox:pay=userpaying:5s");
  ASSERT_TRUE(ActAsBuyer(ctx_, "10001", "U3", "wxpay", PayOutcome::kSuccess).ok());
  clock_.AdvanceSeconds(60);  // the sandbox was down meanwhile
  ActionScheduler scheduler(store_.get(), &clock_);
  scheduler.Start();
  EXPECT_EQ(Status("U3"), "SUCCESS");
  scheduler.Stop();
}

TEST_F(ActionSchedulerTest, WithoutFaultsTheBuyerPaysAtOnce) {
  CreateOrder("P1");
  StatusOr<Order> paid = ActAsBuyer(ctx_, "10001", "P1", "alipay", PayOutcome::kSuccess);
  ASSERT_TRUE(paid.ok());
  EXPECT_EQ(paid->status, OrderStatus::kSuccess);
  EXPECT_TRUE(store_->ListActions("", "")->empty());
}

}  // namespace
}  // namespace vkspay::sandbox
