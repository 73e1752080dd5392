// The pure parts of `vkspay-bench merchant`: flag checks, the ramp's
// schedule and the ledger that voids a run.
#include "bench/merchant.h"

#include <gtest/gtest.h>

namespace vkspay::bench {
namespace {

MerchantOptions Open(double rate, double duration_s) {
  MerchantOptions o;
  o.notify_url = "http://127.0.0.1:9100/notify";
  o.rate = rate;
  o.duration_s = duration_s;
  return o;
}

TEST(MerchantFlags, RateSpecs) {
  double a = 0, b = 0;
  EXPECT_TRUE(ParseRateSpec("500", &a, &b));
  EXPECT_EQ(a, 500);
  EXPECT_EQ(b, 0);
  EXPECT_TRUE(ParseRateSpec("100..1000", &a, &b));
  EXPECT_EQ(a, 100);
  EXPECT_EQ(b, 1000);
  for (const char* bad : {"", "fast", "100..", "..100", "1e2x", "100...200"}) {
    EXPECT_FALSE(ParseRateSpec(bad, &a, &b)) << bad;
  }
}

TEST(MerchantFlags, ErrorBudgets) {
  double v = 0;
  bool pct = false;
  EXPECT_TRUE(ParseErrorBudget("12", &v, &pct));
  EXPECT_EQ(v, 12);
  EXPECT_FALSE(pct);
  EXPECT_TRUE(ParseErrorBudget("0.5%", &v, &pct));
  EXPECT_EQ(v, 0.5);
  EXPECT_TRUE(pct);
  for (const char* bad : {"", "%", "-1", "101%", "ten"})
    EXPECT_FALSE(ParseErrorBudget(bad, &v, &pct)) << bad;
}

TEST(MerchantFlags, EachMistakeNamesItsFlag) {
  EXPECT_EQ(ValidateMerchantOptions(Open(100, 10)), "");
  struct Case {
    MerchantOptions o;
    std::string flag;
  };
  std::vector<Case> cases;
  MerchantOptions o = Open(100, 10);
  o.concurrency = 4;
  cases.push_back({o, "exactly one of"});
  o = Open(100, 10);
  o.warmup_s = 10;
  cases.push_back({o, "--warmup"});
  o = Open(100, 10);
  o.duplicates = 1.5;
  cases.push_back({o, "--duplicates"});
  o = Open(100, 10);
  o.total_fee = "0.001";
  cases.push_back({o, "--total-fee"});
  o = Open(100, 10);
  o.count = 5;
  cases.push_back({o, "one of --duration"});
  o = Open(100, 0);
  o.rate_to = 300;
  o.step = 100;
  cases.push_back({o, "--step-duration"});
  o = Open(100, 10);
  o.sandbox_listen = "0.0.0.0:8080";
  cases.push_back({o, "--sandbox-listen"});
  o = Open(100, 10);
  o.base_url = "http://192.168.1.5:8080";
  cases.push_back({o, "--base-url"});
  for (const Case& c : cases) {
    const std::string e = ValidateMerchantOptions(c.o);
    EXPECT_NE(e.find(c.flag), std::string::npos) << "\"" << e << "\" should name " << c.flag;
  }
}

TEST(MerchantSchedule, ARampRisesStepByStep) {
  MerchantOptions o = Open(100, 0);
  o.rate_to = 300;
  o.step = 100;
  o.step_duration_s = 2;
  ASSERT_EQ(ValidateMerchantOptions(o), "");
  const std::vector<RateStep> steps = PlanSteps(o);
  ASSERT_EQ(steps.size(), 3u);
  EXPECT_EQ(steps[0].count, 200);
  EXPECT_EQ(steps[1].count, 400);
  EXPECT_EQ(steps[2].first, 600);
  EXPECT_DOUBLE_EQ(ScheduledAt(steps, 0), 0);
  EXPECT_DOUBLE_EQ(ScheduledAt(steps, 199), 1.99);
  EXPECT_DOUBLE_EQ(ScheduledAt(steps, 200), 2.0);
  EXPECT_DOUBLE_EQ(ScheduledAt(steps, 600), 4.0);
  EXPECT_NEAR(ScheduledAt(steps, 1199), 4.0 + 599.0 / 300, 1e-9);
  // A constant rate is one step; --count sets its length.
  MerchantOptions c = Open(50, 0);
  c.count = 25;
  const std::vector<RateStep> one = PlanSteps(c);
  ASSERT_EQ(one.size(), 1u);
  EXPECT_EQ(one[0].count, 25);
  EXPECT_DOUBLE_EQ(one[0].duration_s, 0.5);
}

TEST(MerchantLedger, BalancesOrSaysWhyItIsVoid) {
  LedgerCounts c;
  c.scheduled = 10;
  c.acked = 7;
  c.failed = 1;
  c.pending = 1;
  c.dropped = 1;
  EXPECT_TRUE(BalanceLedger(c)["balanced"].get<bool>());
  c.have_sandbox = true;
  c.sandbox_acked = 7;
  c.sandbox_failed = 1;
  c.sandbox_pending = 1;
  EXPECT_TRUE(BalanceLedger(c)["balanced"].get<bool>());

  LedgerCounts lost = c;
  lost.feed_missed = 3;
  Json j = BalanceLedger(lost);
  EXPECT_FALSE(j["balanced"].get<bool>());
  EXPECT_NE(j["void_reasons"][0].get<std::string>().find("feed"), std::string::npos);

  LedgerCounts disagree = c;
  disagree.sandbox_acked = 8;  // an ack the bench never saw
  j = BalanceLedger(disagree);
  EXPECT_FALSE(j["balanced"].get<bool>());
  EXPECT_NE(j["void_reasons"][0].get<std::string>().find("acked"), std::string::npos);

  LedgerCounts twice = c;
  twice.double_acks = 1;
  EXPECT_FALSE(BalanceLedger(twice)["balanced"].get<bool>());
  LedgerCounts sum = c;
  sum.scheduled = 11;
  EXPECT_FALSE(BalanceLedger(sum)["balanced"].get<bool>());
}

}  // namespace
}  // namespace vkspay::bench
